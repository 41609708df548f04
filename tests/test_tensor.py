"""Tensor attributes and conversions against torch: sizes, strides, views, numpy/list/scalar
conversion, .to()/.cpu()/.cuda(), type strings, copy and pickle."""
import copy
import pickle

import numpy as np
import pytest
import torch

import ember
from oracle import assert_same


def _both(code):
    return [eval(code, {"lib": lib, "np": np}) for lib in (ember, torch)]


VIEWS = [
    "lib.arange(24.).reshape(2, 3, 4)", "lib.arange(24.).reshape(2, 3, 4).transpose(0, 2)",
    "lib.arange(24.).reshape(2, 3, 4)[:, 1]", "lib.arange(24.).reshape(2, 3, 4)[..., ::2]",
    "lib.arange(24.).reshape(2, 3, 4)[1:, :, 1:3]", "lib.arange(12.).reshape(3, 4).t()", "lib.tensor(3.)",
    "lib.zeros(0, 3)", "lib.arange(6, dtype=lib.int32).reshape(2, 3)[:, 1:]", "lib.ones(3, 1).expand(3, 4)",
    "lib.arange(10)[2:]", "lib.arange(10)[::-1 if False else 3]", "lib.ones(2, 3, dtype=lib.float16)",
]


@pytest.mark.parametrize("code", VIEWS)
def test_layout_attributes(code):
    e, t = _both(code)
    assert e.shape == t.shape and e.size() == tuple(t.size()) and isinstance(e.shape, ember.Size)
    assert (e.dim(), e.ndim, e.numel(), e.nelement()) == (t.dim(), t.ndim, t.numel(), t.nelement())
    assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()
    assert e.storage_offset() == t.storage_offset()
    assert (e.element_size(), e.itemsize, e.nbytes) == (t.element_size(), t.itemsize, t.nbytes)
    for d in range(-e.dim(), e.dim()):
        assert e.size(d) == t.size(d) and e.stride(d) == t.stride(d)


def test_size_object():
    s = ember.ones(2, 3).shape
    assert repr(s) == "ember.Size([2, 3])" == repr(torch.ones(2, 3).shape).replace("torch.", "ember.")
    assert s == (2, 3) and s.numel() == 6 and isinstance(s[:1], ember.Size) and s[1] == 3
    assert repr(ember.tensor(1.).shape) == "ember.Size([])"
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.ones(2, 3).size(2)


def test_transposes():
    for code in ("lib.arange(6.).reshape(2, 3).T", "lib.arange(24.).reshape(2, 3, 4).mT",
                 "lib.arange(6.).reshape(2, 3).mT"):
        e, t = _both(code)
        assert_same(e, t)
        assert e.stride() == t.stride()


# conversions ----------------------------------------------------------------------------------------

def test_numpy_shares_memory():
    t = ember.zeros(2, 3)
    a = t.numpy()
    a[0, 1] = 5
    assert t[0, 1].item() == 5
    t[1, 2] = 7
    assert a[1, 2] == 7
    v = t.t().numpy()
    assert v.shape == (3, 2) and v[1, 0] == 5
    assert t.numpy().dtype == np.float32 and ember.ones(2, dtype=ember.int64).numpy().dtype == np.int64


def test_numpy_requires_grad_error():
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
            x.numpy()
        assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_array_protocol():
    t = ember.arange(6.).reshape(2, 3)
    a = np.asarray(t)
    assert a.shape == (2, 3) and a.dtype == np.float32
    a[0, 0] = 9
    assert t[0, 0].item() == 9
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(ember.ones(2, requires_grad=True)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("code", ["lib.tensor([[1, 2], [3, 4]])", "lib.tensor([1.5, 2.])", "lib.tensor(3)",
                                  "lib.tensor([True])", "lib.zeros(0, 2)", "lib.arange(6.).reshape(2, 3).t()"])
def test_tolist(code):
    e, t = _both(code)
    assert e.tolist() == t.tolist()
    assert type(e.tolist()) is type(t.tolist())


@pytest.mark.parametrize("code", ["lib.tensor(2.5)", "lib.tensor([7])", "lib.tensor([[True]])", "lib.tensor(3)",
                                  "lib.tensor([-1.5], dtype=lib.float64)", "lib.tensor(0.)"])
def test_scalar_conversions(code):
    e, t = _both(code)
    assert e.item() == t.item() and type(e.item()) is type(t.item())
    assert float(e) == float(t) and int(e) == int(t) and bool(e) == bool(t)


def test_scalar_conversion_errors():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
            lib.ones(2).item()
        with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
            bool(lib.ones(2))
        with pytest.raises((RuntimeError, ValueError)):
            float(lib.ones(3))
        with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
            len(lib.tensor(1.))
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            iter(lib.tensor(1.))


def test_len_and_iteration():
    e, t = _both("lib.arange(6).reshape(3, 2)")
    assert len(e) == len(t) == 3
    rows = list(e)
    assert len(rows) == 3 and all(isinstance(r, ember.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [r.tolist() for r in t]
    assert [x.item() for x in ember.arange(3)] == [0, 1, 2]
    assert list(ember.zeros(0, 2)) == []


# dtype / device conversion --------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "lib.tensor([1.7, -2.5]).to(lib.int64)", "lib.tensor([1, 2]).to(lib.float64)", "lib.tensor([0., 2.]).to(lib.bool)",
    "lib.tensor([1.5]).to('cpu')", "lib.tensor([1.5]).to('cpu', lib.float64)", "lib.tensor([1.5]).to(lib.device('cpu'))",
    "lib.tensor([1.5]).to(lib.ones(1, dtype=lib.float16))", "lib.tensor([1.5]).to(dtype=lib.int32)",
    "lib.tensor([1.5]).to(device='cpu', dtype=lib.float64)", "lib.tensor([1.5]).cpu()", "lib.tensor([1, 2]).double()",
    "lib.tensor([1.9]).long()", "lib.tensor([1.9]).int()", "lib.tensor([1]).float()", "lib.tensor([1.]).half()",
    "lib.tensor([0, 1]).bool()", "lib.tensor([300]).byte()", "lib.tensor([1]).short()", "lib.tensor([1]).char()",
    "lib.tensor([1.5]).type(lib.float64)", "lib.tensor([1.5]).type_as(lib.tensor([1]))",
])
def test_to_conversions(code):
    e, t = _both(code)
    assert_same(e, t)


def test_to_returns_self_or_copy():
    x = ember.ones(2)
    assert x.to(ember.float32) is x and x.to("cpu") is x and x.cpu() is x
    y = x.to(ember.float32, copy=True)
    assert y is not x
    y[0] = 3
    assert x[0].item() == 1


def test_to_keeps_autograd():
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.to(lib.float64)
        assert y.grad_fn.name() == "ToCopyBackward0"
        (y * 2).sum().backward()
        assert x.grad.dtype == lib.float32 and x.grad.tolist() == [2.0, 2.0]


def test_cuda_without_gpu_is_a_clear_error():
    if ember.backend.cuda_is_available():
        pytest.skip("a GPU is available")
    for make in (lambda: ember.ones(2).cuda(), lambda: ember.ones(2).to("cuda"), lambda: ember.zeros(2, device="cuda"),
                 lambda: ember.tensor([1.0], device="cuda:1"), lambda: ember.rand(2, device="cuda")):
        with pytest.raises(RuntimeError, match="CUDA"):
            make()


def test_type_strings():
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "bfloat16"):
        e, t = ember.ones(1, dtype=getattr(ember, dtype)), torch.ones(1, dtype=getattr(torch, dtype))
        assert e.type() == t.type().replace("torch.", "ember.")


def test_device_attribute_and_factories():
    for make in (lambda lib: lib.ones(2, device="cpu"), lambda lib: lib.tensor([1], device=lib.device("cpu")),
                 lambda lib: lib.arange(3, device="cpu"), lambda lib: lib.eye(2, device="cpu"),
                 lambda lib: lib.linspace(0, 1, 3, device="cpu"), lambda lib: lib.full((1,), 2, device="cpu"),
                 lambda lib: lib.rand(2, device="cpu"), lambda lib: lib.randint(3, (2,), device="cpu"),
                 lambda lib: lib.zeros_like(lib.ones(1), device="cpu"), lambda lib: lib.randperm(3, device="cpu")):
        e, t = make(ember), make(torch)
        assert e.device == "cpu" and repr(e.device) == repr(t.device) and not e.is_cuda


# copying -------------------------------------------------------------------------------------------

def test_deepcopy():
    x = ember.tensor([[1.0, 2.0]], requires_grad=True)
    x.grad = ember.ones(1, 2)
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf and y.tolist() == x.tolist()
    assert y.grad is not None and y.grad.tolist() == [[1.0, 1.0]]
    y.data[0, 0] = 5
    assert x[0, 0].item() == 1
    pair = copy.deepcopy([x, x])
    assert pair[0] is pair[1]
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(lib.ones(1, requires_grad=True) * 2)


@pytest.mark.parametrize("code", ["lib.tensor([[1.5, 2.]], requires_grad=True)", "lib.arange(5)[::2]",
                                  "lib.tensor(True)", "lib.zeros(0, 3, dtype=lib.float64)"])
def test_pickle_round_trip(code):
    e, _ = _both(code)
    back = pickle.loads(pickle.dumps(e))
    assert back.dtype is e.dtype and back.shape == e.shape and back.tolist() == e.tolist()
    assert back.requires_grad == e.requires_grad and back.device == e.device


@pytest.mark.parametrize("lib", [ember, torch])
def test_as_subclass_shares_data_and_history(lib):
    class Marked(lib.Tensor):
        pass
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).as_subclass(Marked)
    assert type(y) is Marked and y.grad_fn.name() == "AliasBackward0" and y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    base = lib.zeros(3)
    view = base.as_subclass(Marked)
    view[0] = 5.0
    assert base[0].item() == 5.0
    with pytest.raises(TypeError, match="does not inherit from Tensor"):
        base.as_subclass(int)
