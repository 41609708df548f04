import numpy as np
import pytest
import torch
from conftest import same_repr

import ember


def names(it):
    return [n for n, _ in it]


@pytest.mark.parametrize("walk", ["named_parameters", "named_buffers", "named_modules", "named_children"])
def test_walk_names_match_torch(nets, walk):
    e, t = nets
    assert names(getattr(e, walk)()) == names(getattr(t, walk)())


@pytest.mark.parametrize("kwargs", [{"prefix": "m"}, {"recurse": False}, {"remove_duplicate": False}])
def test_named_parameters_options(nets, kwargs):
    e, t = nets
    assert names(e.named_parameters(**kwargs)) == names(t.named_parameters(**kwargs))
    assert names(e.named_buffers(**kwargs)) == names(t.named_buffers(**kwargs))


def test_shared_weights_counted_once(nets):
    e, t = nets
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert names(e.named_modules(remove_duplicate=False)) == names(t.named_modules(remove_duplicate=False))


def test_state_dict_keys_and_detached(nets):
    e, t = nets
    sd = e.state_dict()
    assert list(sd) == list(t.state_dict())
    assert "a.tmp" not in sd
    assert all(not v.requires_grad for v in sd.values())
    assert all(v.requires_grad for k, v in e.state_dict(keep_vars=True).items() if k.endswith("w"))
    sd["bias"].add_(3.0)  # detached but sharing memory, as in torch
    np.testing.assert_array_equal(e.bias.detach().cpu().numpy(), [3.0, 3.0])


def test_load_state_dict_round_trip(nets):
    e, t = nets
    for p in t.parameters():
        torch.nn.init.uniform_(p)
    res = e.load_state_dict({k: ember.tensor(v.cpu().numpy()) for k, v in t.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    for (ne, pe), (nt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt
        np.testing.assert_array_equal(pe.detach().cpu().numpy(), pt.detach().cpu().numpy())


def _broken(sd):
    sd.pop("a.w")
    sd["zz"] = sd["bias"] * 0
    sd["bias"] = sd["bias"].new_ones(5)
    return sd


def test_load_state_dict_errors_match_torch(nets):
    e, t = nets
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(_broken(t.state_dict()))
    with pytest.raises(RuntimeError, match=r"Error\(s\) in loading state_dict for Net:\n\tMissing key") as ee:
        e.load_state_dict(_broken(e.state_dict()))
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


def test_load_state_dict_non_strict(nets):
    e, t = nets
    sd_e, sd_t = e.state_dict(), t.state_dict()
    for sd in (sd_e, sd_t):
        sd.pop("a.w")
        sd["zz"] = sd["bias"]
    assert tuple(e.load_state_dict(sd_e, strict=False)) == tuple(t.load_state_dict(sd_t, strict=False))
    sd_e["bias"] = ember.ones(5)
    with pytest.raises(RuntimeError, match="size mismatch for bias"):
        e.load_state_dict(sd_e, strict=False)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        e.load_state_dict([1])


@pytest.mark.cpu_only  # compares with output torch prints for CPU tensors
def test_repr_matches_torch(nets):
    assert same_repr(*nets)


def test_train_eval_propagate(nets):
    e, t = nets
    e.eval(), t.eval()
    assert [m.training for m in e.modules()] == [m.training for m in t.modules()]
    assert not any(m.training for m in e.modules())
    e.seq.train()
    t.seq.train()
    assert [m.training for m in e.modules()] == [m.training for m in t.modules()]
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        e.train(1)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(nets, set_to_none):
    e, t = nets
    for m, lib in ((e, ember), (t, torch)):
        m(lib.ones(2)).sum().backward()
        m.zero_grad(set_to_none=set_to_none)
    ge = [p.grad for p in e.parameters()]
    gt = [p.grad for p in t.parameters()]
    assert [g is None for g in ge] == [g is None for g in gt]
    if not set_to_none:
        assert all(g is None or not g.detach().cpu().numpy().any() for g in ge)


def test_requires_grad_(nets):
    e, _ = nets
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())


def test_to_double_keeps_parameter_identity(nets):
    e, _ = nets
    e(ember.ones(2)).sum().backward()
    before = list(e.parameters())
    assert e.double() is e
    after = list(e.parameters())
    assert all(a is b for a, b in zip(before, after))
    assert all(p.dtype == ember.float64 and isinstance(p, ember.nn.Parameter) for p in after)
    assert e.a.w.grad.dtype == ember.float64 and e.a.rm.dtype == ember.float64
    e.to(ember.float32)
    assert all(p.dtype == ember.float32 for p in e.parameters())
    e.half().float().cpu()
    assert list(e.parameters())[0] is before[0] and before[0].dtype == ember.float32


def test_to_dtype_leaves_integer_buffers(nets):
    e, _ = nets
    e.register_buffer("count", ember.tensor(3))
    e.to(ember.float64)
    assert e.count.dtype == ember.int64
    e.double()
    assert e.count.dtype == ember.int64


def test_forward_hooks_order_and_handles():
    log = {}
    for lib in (ember, torch):
        calls = log[lib.__name__] = []

        class M(lib.nn.Module):
            def forward(self, x):
                calls.append("forward")
                return x + 1

        m = M()
        h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre1"))
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 10,))
        m.register_forward_hook(lambda mod, args, out: calls.append("post1"))
        m.register_forward_hook(lambda mod, args, out: out * 2)
        m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
        m.register_forward_pre_hook(lambda mod, a, kw: calls.append(sorted(kw)), with_kwargs=True)
        calls.append(float(m(lib.tensor(1.0))))
        h1.remove()
        calls.append(float(m(lib.tensor(1.0))))
    assert log["ember"] == log["torch"]
    assert log["ember"][-1] == 22.0


def test_register_errors_match_torch(nets):
    e, t = nets
    for m in (e, t):
        lib = ember if m is e else torch
        for call, exc in [(lambda: m.register_parameter("a.b", None), KeyError),
                          (lambda: m.register_buffer("", None), KeyError),
                          (lambda: m.register_parameter("x", lib.ones(1)), TypeError),
                          (lambda: m.add_module("a2", 3), TypeError),
                          (lambda: setattr(m, "bias", lib.ones(2)), TypeError),
                          (lambda: m.register_buffer("bias", lib.ones(1)), KeyError)]:
            with pytest.raises(exc):
                call()
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        _ = e.nope
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'q'"):
        e.register_parameter("q", _non_leaf())


def _non_leaf():
    p = ember.nn.Parameter(ember.ones(1))
    q = ember.nn.Parameter(ember.ones(1))
    q.grad_fn = (p * 2).grad_fn
    return q


def test_get_submodule_and_parameter(nets):
    e, t = nets
    assert e.get_submodule("seq.1.x") is e.seq[1].x
    assert e.get_submodule("") is e
    assert e.get_parameter("seq.1.x.w") is e.seq[1].x.w
    for m in nets:
        with pytest.raises(AttributeError, match="has no attribute `zz`"):
            m.get_submodule("seq.zz")
        with pytest.raises(AttributeError, match="is not an nn.Parameter"):
            m.get_parameter("a.rm")


def test_setattr_none_and_delattr(nets):
    e, t = nets
    for m in nets:
        m.bias = None
        del m.a
        m.c = 5
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.c == 5 and "c" not in e._modules


def test_buffer_marker_and_reassign():
    m = ember.nn.Module()
    m.b = ember.nn.Buffer(ember.ones(2), persistent=False)
    assert names(m.named_buffers()) == ["b"] and list(m.state_dict()) == []
    m.b = ember.zeros(3)
    assert m.b.shape == (3,) and list(m.state_dict()) == []


def test_apply_visits_children_first(nets):
    order_e, order_t = [], []
    nets[0].apply(lambda m: order_e.append(type(m).__name__))
    nets[1].apply(lambda m: order_t.append(type(m).__name__))
    assert order_e == order_t


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        ember.nn.Module()(1)
