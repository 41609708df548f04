"""ember.profiler: recorded ops match the ops that ran; schedule, tables and Chrome traces as torch's."""
import collections
import gzip
import json

import pytest
import torch

import ember
from ember.ops import dispatch
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule
from ember.profiler.recorder import op_name


def _step(lib, model, opt, x, y):
    opt.zero_grad()
    lib.nn.functional.mse_loss(model(x), y).backward()
    opt.step()


def _setup(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))
    return model, lib.optim.SGD(model.parameters(), lr=0.1), lib.ones(3, 4), lib.zeros(3, 2)


def test_recorded_ops_are_the_ops_that_ran(monkeypatch):
    ran = collections.Counter()
    execute = dispatch.execute

    def counting(prim, inputs, arrays, dev, params):
        ran[op_name(prim)] += 1
        return execute(prim, inputs, arrays, dev, params)

    monkeypatch.setattr(dispatch, "execute", counting)
    model, opt, x, y = _setup(ember)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _step(ember, model, opt, x, y)
    recorded = collections.Counter({e.key: e.count for e in prof.key_averages()
                                    if not e.key.startswith("nn.Module")})
    assert recorded == ran and sum(ran.values()) > 10
    modules = collections.Counter(e.name for e in prof.events() if e.name.startswith("nn.Module"))
    assert modules == {"nn.Module: Sequential": 1, "nn.Module: Linear": 2, "nn.Module: ReLU": 1}
    assert dispatch.run is dispatch.execute  # the interceptor is gone once the profiler stops


def test_matrix_product_counts_match_torch():
    counts = {}
    for lib, prof_mod in ((ember, ember.profiler), (torch, torch.profiler)):
        model, opt, x, y = _setup(lib)
        with prof_mod.profile(activities=[prof_mod.ProfilerActivity.CPU]) as prof:
            _step(lib, model, opt, x, y)
        counts[lib.__name__] = {e.key.removeprefix("aten::"): e.count for e in prof.key_averages()}
    for name in ("addmm", "mm", "relu"):
        assert counts["ember"][name] == counts["torch"][name], name


def test_record_function_nesting_shapes_and_memory():
    @record_function("decorated")
    def f(a):
        return a * 2

    a = ember.ones(4, 5)
    with profile(record_shapes=True, profile_memory=True) as prof:
        with record_function("outer"):
            f(a).sum()
    by_name = {e.name: e for e in prof.events()}
    assert by_name["decorated"].cpu_parent is by_name["outer"]
    assert by_name["mul"].cpu_parent is by_name["decorated"]
    assert by_name["mul"].input_shapes == [[4, 5], []]
    assert by_name["mul"].cpu_memory_usage == 4 * 5 * 4
    assert by_name["outer"].cpu_memory_usage == 4 * 5 * 4 + 4
    outer = by_name["outer"]
    assert outer.self_cpu_time_total == pytest.approx(
        outer.cpu_time_total - sum(c.cpu_time_total for c in outer.cpu_children))
    with record_function("not profiled"):  # no profiler: nothing recorded, nothing raised
        a + 1


def test_table_columns_sorting_and_row_limit():
    with profile(profile_memory=True) as prof:
        for _ in range(3):
            ember.ones(50, 50) @ ember.ones(50, 50)
        ember.ones(2).exp()
    table = prof.key_averages().table(sort_by="count", row_limit=2)
    lines = table.splitlines()
    for column in ("Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "CPU Mem",
                   "# of Calls"):
        assert column in lines[1]
    rows = lines[3:5]
    assert rows[0].split()[0] == "mm" and rows[0].split()[-1] == "3" and len(lines) == 7
    with pytest.raises(AttributeError):
        prof.key_averages().table(sort_by="no_such_column")


def test_schedule_matches_torch_and_traces_are_handed_over_per_cycle():
    kw = dict(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
    ours, theirs = schedule(**kw), torch.profiler.schedule(**kw)
    assert [ours(i).name for i in range(14)] == [theirs(i).name for i in range(14)]
    traces = []
    with profile(schedule=ours, on_trace_ready=lambda p: traces.append(
            [e.name for e in p.events() if e.name.startswith(("ProfilerStep", "exp"))])) as prof:
        for _ in range(12):
            ember.ones(2).exp()
            prof.step()
    # steps 3-4 and 7-8 are recorded (skip 1, wait 1, warmup 1, active 2)
    assert traces == [["ProfilerStep#3", "exp", "ProfilerStep#4", "exp"],
                      ["ProfilerStep#7", "exp", "ProfilerStep#8", "exp"]]
    assert ours(0) is ProfilerAction.NONE


def test_chrome_trace_schema(tmp_path):
    with profile(record_shapes=True) as prof:
        with record_function("block"):
            (ember.ones(3, 3) @ ember.ones(3, 3)).relu()
    for name, opener in (("trace.json", open), ("trace.json.gz", gzip.open)):
        path = tmp_path / name
        prof.export_chrome_trace(str(path))
        with opener(path, "rt") as f:
            doc = json.load(f)
        complete = [e for e in doc["traceEvents"] if e["ph"] == "X"]
        assert {e["name"] for e in complete} >= {"block", "mm", "relu"}
        for e in complete:
            assert isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float)) and e["dur"] >= 0
            assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and isinstance(e["name"], str)
        block = next(e for e in complete if e["name"] == "block")
        mm = next(e for e in complete if e["name"] == "mm")
        assert block["ts"] <= mm["ts"] and mm["ts"] + mm["dur"] <= block["ts"] + block["dur"] + 1e-3
        assert mm["args"]["Input Dims"] == [[3, 3], [3, 3]]


def test_tensorboard_trace_handler_writes_a_trace(tmp_path):
    handler = ember.profiler.tensorboard_trace_handler(str(tmp_path), worker_name="w0")
    with profile(on_trace_ready=handler):
        ember.ones(2) + 1
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("w0.") and path.name.endswith(".pt.trace.json")
    assert any(e.get("name") == "add" for e in json.loads(path.read_text())["traceEvents"])


def test_one_profiler_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="already enabled"):
            profile().start()


def test_autograd_profiler_names():
    with ember.autograd.profiler.profile(record_shapes=True) as prof:
        ember.ones(2, 2).exp()
    assert [e.name for e in prof.function_events] == ["exp"] and "exp" in prof.table()
    with ember.autograd.profiler.profile(enabled=False) as off:
        ember.ones(2).exp()
    assert len(off.function_events) == 0


def test_no_module_binds_the_dispatchers_run_at_import():
    """Interceptors (autocast, the profiler, checkpoint) rebind ``dispatch.run``: a module that imported
    the name would bypass them."""
    import ast
    import pathlib

    root = pathlib.Path(ember.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "ember.ops.dispatch" and \
                    any(a.name == "run" for a in node.names):
                offenders.append(str(path.relative_to(root)))
    assert not offenders
