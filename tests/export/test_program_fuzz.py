"""Hostile and corrupt program files are refused with a clear error naming the file; loading
never runs code (JSON builds only plain values; every op name is checked against the registry)."""
import copy
import io
import json
import struct

import numpy as np
import pytest

import ember
from ember import nn
from ember._checkpoint.safetensors import FormatError
from ember._checkpoint.safetensors import write as write_container
from ember.export import Dim, GraphRunError


def _program_bytes():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)).eval()
    x = ember.randn(2, 1, 6, 6)
    ep = ember.export.export(m, (x,), dynamic_shapes={"input": {0: Dim("batch", min=1, max=8)}})
    buf = io.BytesIO()
    ember.export.save(ep, buf)
    return buf.getvalue(), x, m(x).detach().numpy()


DATA, X, WANT = _program_bytes()


def _split(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def _with_program(change):
    """The file with its program JSON changed by ``change(program)``."""
    header, body = _split(DATA)
    meta = header.pop("__metadata__")
    program = json.loads(meta["program"])
    change(program)
    meta["program"] = json.dumps(program)
    arrays = {}
    for key, info in header.items():
        begin, end = info["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64, "F64": np.float64}[info["dtype"]]
        arrays[key] = np.frombuffer(body[begin:end], dtype=dt).reshape(info["shape"])
    buf = io.BytesIO()
    write_container(buf, arrays, meta)
    return buf.getvalue()


def _load(data, name="hostile.ep"):
    f = io.BytesIO(data)
    f.name = name
    return ember.export.load(f)


def test_round_trip_is_exact():
    np.testing.assert_array_equal(_load(DATA).module()(X).detach().numpy(), WANT)


def _call(p):
    return next(n for n in p["graph"] if n["op"] == "call_function")


def _node(p, op):
    return next(n for n in p["graph"] if n["op"] == op)


HOSTILE = {
    "unknown_op": (lambda p: _call(p).update(target="os.system"), "unknown op 'os.system'"),
    "forward_reference": (lambda p: _call(p).update(args=[{"$node": "output"}]), "not an earlier node"),
    "missing_reference": (lambda p: _call(p).update(args=[{"$node": "nope"}]), "not an earlier node"),
    "missing_weight": (lambda p: _node(p, "get_attr").update(target="not.there"), "not in the weights"),
    "bad_meta_dtype": (lambda p: _call(p)["meta"].update(dtype="complex512"), "malformed shape/dtype"),
    "negative_size": (lambda p: _call(p)["meta"].update(shape=[-1, 2]), "malformed shape/dtype"),
    "unknown_literal_tag": (lambda p: _call(p)["kwargs"].update(stride={"$eval": "__import__('os')"}),
                            "malformed value"),
    "duplicate_name": (lambda p: p["graph"][1].update(name=p["graph"][0]["name"]), "invalid or repeated name"),
    "bad_name": (lambda p: p["graph"][0].update(name="a b"), "invalid or repeated name"),
    "unknown_opcode": (lambda p: _call(p).update(op="call_module"), "unknown kind"),
    "extra_field": (lambda p: _call(p).update(code="print(1)"), "malformed"),
    "output_not_last": (lambda p: p["graph"].insert(0, p["graph"].pop()), "output"),
    "no_output": (lambda p: p["graph"].pop(), "no output node"),
    "bad_in_spec": (lambda p: p.update(in_spec={"$tuple": [{"$tuple": []}, {"$dict": {}}]}), "placeholders"),
    "bad_dynamic": (lambda p: p["dynamic"]["symbols"]["s0"].update(max="big"), "malformed"),
    "unknown_symbol": (lambda p: _call(p)["kwargs"].update(groups={"$sym": [[1, "s9"]], "c": 0}),
                       "malformed symbolic size"),
    "bad_out_index": (lambda p: p["graph"][-1].update(args=[{"$node": _call(p)["name"], "$index": 7}]),
                      "which has 0"),
    "graph_not_list": (lambda p: p.update(graph={"a": 1}), "no node list"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_program_refused(case):
    change, message = HOSTILE[case]
    with pytest.raises(FormatError, match=r"hostile\.ep") as err:
        _load(_with_program(change))
    assert message in str(err.value)


@pytest.mark.parametrize("meta_change, message", [
    (lambda m: m.update(format="ember"), "not an ember program file"),
    (lambda m: m.update(program_format="99"), "unsupported program format version '99'"),
    (lambda m: m.update(program="{not json"), "not valid JSON"),
])
def test_bad_metadata_refused(meta_change, message):
    header, body = _split(DATA)
    meta = header.pop("__metadata__")
    meta_change(meta)
    arrays = {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]],
                               dtype={"F32": np.float32}[v["dtype"]]).reshape(v["shape"]) for k, v in header.items()}
    buf = io.BytesIO()
    write_container(buf, arrays, meta)
    with pytest.raises(FormatError, match=message):
        _load(buf.getvalue())


def test_container_corruption_refused():
    header, body = _split(DATA)
    key = next(k for k in header if k != "__metadata__")
    for change, message in [(lambda h: h[key].update(data_offsets=[0, 10 ** 9]), "data_offsets"),
                            (lambda h: h[key].update(dtype="F99"), "unknown or missing dtype"),
                            (lambda h: h[key].update(shape=[10 ** 6]), "needs")]:
        h = copy.deepcopy(header)
        change(h)
        raw = json.dumps(h).encode()
        with pytest.raises(FormatError, match=message):
            _load(struct.pack("<Q", len(raw)) + raw + body)
    for cut in (0, 5, 8, 100, len(DATA) - 1):
        with pytest.raises(FormatError, match="hostile.ep"):
            _load(DATA[:cut])


def test_checkpoint_loader_names_a_program_file_as_such():
    with pytest.raises(FormatError, match="not an ember program file"):
        _load(ember_checkpoint_bytes())


def ember_checkpoint_bytes():
    buf = io.BytesIO()
    ember.save({"w": ember.ones(2)}, buf)
    return buf.getvalue()


def _outcome(data):
    """Load and run a mutated file: a FormatError on load, or a program that runs or fails
    with an ember error; anything else (a crash inside the loader) fails the test."""
    try:
        program = _load(data)
    except FormatError as e:
        assert "hostile.ep" in str(e)
        return "refused"
    try:
        program.module()(X)
    except (GraphRunError, RuntimeError, TypeError, ValueError):
        return "failed at run"
    return "ran"


def test_byte_mutation_loop():
    rng = np.random.default_rng(1234)
    outcomes = {}
    for _ in range(300):
        data = bytearray(DATA)
        kind = rng.integers(4)
        pos = int(rng.integers(len(data)))
        if kind == 0:
            data[pos] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            data = data[:pos]
        elif kind == 2:
            data[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8))
        else:
            data[pos] = int(rng.integers(256))
        result = _outcome(bytes(data))
        outcomes[result] = outcomes.get(result, 0) + 1
    assert outcomes.get("refused", 0) > 100  # most corruptions are caught at load


def test_json_mutation_loop():
    """Replace random JSON values of the program with junk of other kinds."""
    rng = np.random.default_rng(99)
    junk = [None, -1, 10 ** 30, 1.5, "x", "", [], {}, [[1]], {"$node": "x"}, {"$tuple": 3}, {"$dtype": "bogus"},
            {"$slice": [1]}, {"$scalar": "a", "dtype": "float32"}, True]
    header, _ = _split(DATA)
    base = json.loads(header["__metadata__"]["program"])
    paths = []

    def walk(v, path):
        paths.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + (i,))
    walk(base, ())
    paths = [p for p in paths if p]
    refused = 0
    for _ in range(300):
        path = paths[int(rng.integers(len(paths)))]
        value = junk[int(rng.integers(len(junk)))]

        def change(p, path=path, value=value):
            target = p
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = copy.deepcopy(value)
        refused += _outcome(_with_program(change)) == "refused"
    assert refused > 150


@pytest.mark.parametrize("value, message", [
    ({"$scalar": 10 ** 30, "dtype": "int8"}, "hostile.ep"),
    ({"$tuple": [{"$tuple": [{"$tuple": []}]}]}, "hostile.ep"),
])
def test_hostile_literals_refused(value, message):
    def change(p):
        _call(p)["kwargs"]["groups"] = value
    data = _with_program(change)
    try:
        program = _load(data)
    except FormatError as e:
        assert message in str(e)
        return
    with pytest.raises(GraphRunError):  # loaded: a wrong parameter fails when the op runs, naming the node
        program.module()(X)


def test_deeply_nested_program_refused():
    with pytest.raises(FormatError, match="hostile.ep"):
        _load(_deeply_nested())


def _deeply_nested():
    """The file with an op parameter nested 100000 lists deep (JSON text built by hand)."""
    header, body = _split(DATA)
    meta = header.pop("__metadata__")
    program = json.loads(meta["program"])
    _call(program)["kwargs"]["groups"] = "@@DEEP@@"
    meta["program"] = json.dumps(program).replace('"@@DEEP@@"', "[" * 100000 + "]" * 100000)
    arrays = {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]],
                               dtype={"F32": np.float32}[v["dtype"]]).reshape(v["shape"]) for k, v in header.items()}
    buf = io.BytesIO()
    write_container(buf, arrays, meta)
    return buf.getvalue()
