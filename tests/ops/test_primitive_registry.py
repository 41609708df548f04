"""The primitive registry: one record per computation, each under a unique name."""
import gc
import inspect
import pathlib

import pytest

import ember
from ember.ops.dispatch import Primitive, Variant, primitive
from ember.ops.registry import PRIMITIVES


def test_every_primitive_record_is_registered_under_its_name():
    records = [o for o in gc.get_objects() if type(o) is Primitive]
    assert records and all(PRIMITIVES[p.name] is p for p in records)


def test_no_two_records_share_a_forward_and_derivative():
    seen = {}
    for p in PRIMITIVES.values():
        key = (p.forward, p.backward)
        assert key not in seen, f"{p.name} duplicates {seen[key]}: declare it as a variant"
        seen[key] = p.name


def test_a_taken_name_raises_at_declaration():
    with pytest.raises(ValueError, match="primitive name 'matmul' is taken"):
        primitive("MmBackward0", name="matmul")(lambda ctx, xp, a: a)


def test_variants_record_their_node_names_and_share_the_derivative():
    mm = PRIMITIVES["matmul"]
    assert {"MmBackward0", "BmmBackward0", "DotBackward0", "MvBackward0"} <= set(mm.node_names)
    bmm = mm.named("BmmBackward0")
    assert type(bmm) is Variant and bmm.name == "matmul" and bmm.backward is mm.backward
    assert mm.variant("BmmBackward0") is bmm and mm.variant("MmBackward0") is mm
    a = ember.ones(2, 3, 4, requires_grad=True)
    assert a.bmm(ember.ones(2, 4, 5)).grad_fn.name() == "BmmBackward0"
    assert a[0].mm(ember.ones(4, 5)).grad_fn.name() == "MmBackward0"
    assert a[0, 0].dot(ember.ones(4)).grad_fn.name() == "DotBackward0"


def test_node_name_follows_the_call_form():
    x = ember.ones(3, requires_grad=True)
    assert x.clamp(0, 1).grad_fn.name() == "ClampBackward1"
    assert x.clamp_min(0).grad_fn.name() == "ClampMinBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.sum(0).grad_fn.name() == "SumBackward1"
    assert (2 - x).grad_fn.name() == "RsubBackward1"


def test_every_primitive_is_declared_under_ember_ops():
    ops_dir = pathlib.Path(ember.ops.__file__).parent
    outside = [p.name for p in PRIMITIVES.values() if ops_dir not in pathlib.Path(inspect.getsourcefile(p.forward)).parents]
    assert not outside
