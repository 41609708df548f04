"""Factories against torch: dtype inference, memory sharing, sizes, ranges, legacy constructors."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_same


def _eval(code, lib):
    return eval(code, {"lib": lib, "np": np})


def _compare(code):
    e, t = _eval(code, ember), _eval(code, torch)
    assert_same(e, t, atol=1e-6, rtol=1e-6)
    return e


TENSOR_CASES = [
    "lib.tensor([True, False])", "lib.tensor([1, 2])", "lib.tensor([1, 2.5])", "lib.tensor([True, 2])",
    "lib.tensor([True, 1.5])", "lib.tensor([[1, 2], [3.0, 4]])", "lib.tensor(3)", "lib.tensor(2.5)", "lib.tensor(True)",
    "lib.tensor([])", "lib.tensor([[], []])", "lib.tensor((1, 2))", "lib.tensor([[lib.tensor(1.), lib.tensor(2.)]])",
    "lib.tensor([lib.tensor(1), lib.tensor(2)])", "lib.tensor([lib.tensor(1., dtype=lib.float64), 2.])",
    "lib.tensor([lib.tensor(1, dtype=lib.int32), 2])",
    "lib.tensor([np.float64(2.)])", "lib.tensor([np.float32(1), 2])", "lib.tensor([np.int32(1), 2])",
    "lib.tensor(np.float64(2.))", "lib.tensor(np.int32(3))", "lib.tensor(np.bool_(True))",
    "lib.tensor(np.array([1, 2], dtype=np.int32))", "lib.tensor(np.array([1., 2.]))", "lib.tensor(np.array(3.0))",
    "lib.tensor(np.array([[1, 2]], dtype=np.uint8))", "lib.tensor(np.array([1., 2.], dtype=np.float16))",
    "lib.tensor(np.arange(6.).reshape(2, 3)[:, ::2])", "lib.tensor([1, 2], dtype=lib.float64)",
    "lib.tensor([1.7, -2.7], dtype=lib.int32)", "lib.tensor([0, 2], dtype=lib.bool)", "lib.tensor([1, 2], dtype=float)",
    "lib.tensor(np.array([1, 2]), dtype=lib.float16)", "lib.tensor(lib.tensor([1, 2]))",
    "lib.tensor([2**62])", "lib.tensor([[[1]], [[2]]])",
]


@pytest.mark.parametrize("code", TENSOR_CASES)
def test_tensor_dtype_inference(code):
    _compare(code)


@pytest.mark.parametrize("code,exc,msg", [
    ("lib.tensor([1], requires_grad=True)", RuntimeError, "floating point"),
    ("lib.tensor([[1], [2, 3]])", ValueError, "expected sequence of length 1 at dim 1 \\(got 2\\)"),
    ("lib.tensor([[1, 2], 3])", TypeError, None),
    ("lib.tensor([1, [2]])", TypeError, None),
    ("lib.tensor([1, 'a'])", TypeError, "invalid data type 'str'"),
    ("lib.tensor([2**63])", ValueError, "Overflow"),
])
def test_tensor_errors(code, exc, msg):
    for lib in (torch, ember):
        with pytest.raises(exc, match=msg):
            _eval(code, lib)


def test_tensor_copies_and_requires_grad():
    a = np.array([1.0, 2.0])
    t = ember.tensor(a, requires_grad=True)
    a[0] = 9
    assert t.tolist() == [1.0, 2.0] and t.requires_grad and t.is_leaf
    src = ember.tensor([1.0, 2.0])
    c = ember.tensor(src)
    c[0] = 5
    assert src.tolist() == [1.0, 2.0]


def test_default_dtype():
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.tensor([1, 2]).dtype is ember.int64
        assert ember.zeros(2).dtype is ember.float64 and ember.arange(0.0, 1.0, 0.5).dtype is ember.float64
        assert ember.full((1,), 2.5).dtype is ember.float64
        assert ember.rand(2).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.0]).dtype is ember.float32
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)


@pytest.mark.parametrize("lib", [ember, torch])
@pytest.mark.filterwarnings("ignore:torch.set_default_tensor_type")  # deprecated (torch warns once per process)
def test_set_default_tensor_type(lib):
    lib.set_default_tensor_type(lib.DoubleTensor)
    try:
        assert lib.get_default_dtype() is lib.float64 and lib.tensor([1.0]).dtype is lib.float64
        lib.set_default_tensor_type("torch.FloatTensor")
        assert lib.get_default_dtype() is lib.float32
        with pytest.raises(TypeError, match="floating-point"):
            lib.set_default_tensor_type(lib.LongTensor)
    finally:
        lib.set_default_dtype(lib.float32)
    with pytest.warns(UserWarning, match="deprecated"):
        ember.set_default_tensor_type(ember.FloatTensor)


# sharing memory -------------------------------------------------------------------------------

def test_from_numpy_shares_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = ember.from_numpy(a)
    assert t.dtype is ember.float64 and tuple(t.shape) == (2, 3)
    t[0, 0] = 42
    assert a[0, 0] == 42
    a[1, 2] = -1
    assert t[1, 2].item() == -1
    t.add_(1)
    assert a[0, 0] == 43
    v = ember.from_numpy(a[:, ::2])
    assert v.stride() == torch.from_numpy(a[:, ::2]).stride() and not v.is_contiguous()
    for dtype in (np.int32, np.uint8, np.bool_, np.float16):
        assert_same(ember.from_numpy(np.zeros(2, dtype)), torch.from_numpy(np.zeros(2, dtype)))


def test_from_numpy_errors():
    with pytest.raises(TypeError, match="expected np.ndarray"):
        ember.from_numpy([1])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        ember.from_numpy(np.array(["a"]))


def test_as_tensor_and_asarray_share_memory():
    for make in (ember.as_tensor, ember.asarray):
        a = np.array([1.0, 2.0])
        t = make(a)
        t[0] = 5
        assert a[0] == 5
    a = np.array([1.0, 2.0])
    for t in (ember.as_tensor(a, dtype=ember.float32), ember.asarray(a, copy=True)):
        t[0] = 7
        assert a[0] == 1
    base = ember.ones(3)
    assert ember.as_tensor(base) is base
    assert ember.asarray([1, 2]).dtype is ember.int64
    assert ember.asarray([1.0], requires_grad=True).requires_grad
    assert_same(ember.as_tensor([1, 2.5]), torch.as_tensor([1, 2.5]))


def test_dlpack_round_trips():
    a = np.arange(4.0)
    t = ember.from_dlpack(a)
    t[0] = 10
    assert a[0] == 10
    back = np.from_dlpack(t)
    t[1] = 11
    assert back[1] == 11
    tt = torch.arange(3, dtype=torch.int32)
    e = ember.from_dlpack(tt)
    assert e.dtype is ember.int32 and e.tolist() == [0, 1, 2]
    e[0] = 9
    assert tt[0].item() == 9
    et = ember.tensor([1.5, 2.5])
    t2 = torch.from_dlpack(et)
    assert t2.dtype == torch.float32 and t2.tolist() == [1.5, 2.5]
    t2[1] = 0
    assert et[1].item() == 0
    with pytest.raises(RuntimeError, match="require gradient"):
        ember.tensor([1.0], requires_grad=True).__dlpack__()


# sized factories ------------------------------------------------------------------------------

SIZED = [
    "lib.zeros(2, 3)", "lib.zeros((2, 3))", "lib.zeros([2, 3])", "lib.zeros(lib.Size([2, 3]))", "lib.zeros(())",
    "lib.zeros([])", "lib.ones(0)", "lib.ones(2, 0, 3)", "lib.ones(2, dtype=lib.int32)", "lib.ones(3, dtype=lib.bool)",
    "lib.zeros(2, dtype=lib.float64)", "lib.empty(2, 3).shape", "lib.empty((4,), dtype=lib.int64).dtype",
    "lib.full((2,), 1.5)", "lib.full((2,), 3)", "lib.full((2,), True)", "lib.full([2, 2], lib.tensor(2.))",
    "lib.full((2,), 3, dtype=lib.float32)", "lib.full((), 2.5)",
    "lib.zeros_like(lib.ones(2, dtype=lib.int32))", "lib.ones_like(lib.ones(2, 3))",
    "lib.zeros_like(lib.ones(2), dtype=lib.float64)", "lib.full_like(lib.ones(2), 7)",
    "lib.full_like(lib.ones(2, dtype=lib.int64), 2.5)", "lib.empty_like(lib.ones(2, dtype=lib.int8)).dtype",
    "lib.ones_like(lib.ones(3, 4)[:, ::2])", "lib.eye(2)", "lib.eye(2, 3)", "lib.eye(3, 2)", "lib.eye(0)",
    "lib.eye(3, dtype=lib.int64)", "lib.eye(2, dtype=lib.bool)",
]


@pytest.mark.parametrize("code", SIZED)
def test_sized_factories(code):
    _compare(code)


@pytest.mark.parametrize("make", ["zeros", "ones", "empty", "full"])
def test_factory_keywords(make):
    args = ((2,), 1.0) if make == "full" else (2,)
    t = getattr(ember, make)(*args, dtype=ember.float64, device="cpu", requires_grad=True)
    assert t.dtype is ember.float64 and t.device == "cpu" and t.requires_grad and t.is_leaf
    t = getattr(ember, make)(*args, device=ember.device("cpu"))
    assert t.device == ember.device("cpu")


@pytest.mark.parametrize("code,msg", [
    ("lib.zeros(-1, 2)", "negative"), ("lib.ones((2, -3))", "negative"), ("lib.empty(-2)", "negative"),
    ("lib.full((-1,), 2.)", "negative"), ("lib.eye(-1)", "n must be greater or equal to 0, got -1"),
    ("lib.eye(2, -1)", "m must be greater or equal to 0, got -1"),
    ("lib.ones(2, requires_grad=True, dtype=lib.int64)", "floating point"),
])
def test_sized_errors(code, msg):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=msg):
            _eval(code, lib)


# ranges -----------------------------------------------------------------------------------------

RANGES = [
    "lib.arange(5)", "lib.arange(1, 4)", "lib.arange(0, 1, 0.25)", "lib.arange(5, 0, -1)", "lib.arange(0., 1, 0.1)",
    "lib.arange(1, 2.5, 0.5)", "lib.arange(0, 10, 3)", "lib.arange(0, -3, -1)", "lib.arange(5, dtype=lib.float32)",
    "lib.arange(-1.5, 1, 0.5)", "lib.arange(0, 1, 0.3)", "lib.arange(lib.tensor(3))", "lib.arange(0.5, 3)",
    "lib.arange(1, 1)", "lib.arange(10, 0, -2.5)", "lib.arange(0, 5, dtype=lib.float64)", "lib.arange(0, 1, 0.1).shape",
    "lib.arange(-3, 3, 0.7)", "lib.arange(0, 2, 0.2, dtype=lib.float64)", "lib.arange(1000) * 0.5",
    "lib.linspace(0, 1, 5)", "lib.linspace(0, 10, 4, dtype=lib.int64)", "lib.linspace(-1, 1, 1)", "lib.linspace(0, 1, 0)",
    "lib.linspace(-2, 2, 5, dtype=lib.int64)", "lib.linspace(3, -3, 7)", "lib.linspace(0, 1, 11, dtype=lib.float64)",
    "lib.linspace(lib.tensor(0.), 2, 3)", "lib.logspace(0, 2, 3)", "lib.logspace(0, 3, 4, base=2)",
    "lib.logspace(-2, 0, 5, dtype=lib.float64)",
]


@pytest.mark.parametrize("code", RANGES)
def test_ranges(code):
    _compare(code)


@pytest.mark.parametrize("code,msg", [
    ("lib.arange(1, 0)", "upper bound and lower bound inconsistent with step sign"),
    ("lib.arange(0, 1, -1)", "upper bound and lower bound inconsistent"),
    ("lib.arange(0, 1, 0)", "step must be nonzero"),
    ("lib.linspace(0, 1, -1)", "number of steps must be non-negative"),
])
def test_range_errors(code, msg):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=msg):
            _eval(code, lib)


# legacy constructors and dtype names -------------------------------------------------------------

LEGACY = [
    "lib.Tensor(2, 3).shape", "lib.Tensor((2, 3))", "lib.Tensor([1, 2])", "lib.Tensor([[1, 2]])", "lib.Tensor().shape",
    "lib.Tensor(lib.Size([2])).shape", "lib.Tensor(np.array([1, 2]))", "lib.FloatTensor([1, 2])",
    "lib.LongTensor([1.7, 2])", "lib.LongTensor(3).shape", "lib.DoubleTensor(2, 2).dtype", "lib.BoolTensor([1, 0])",
    "lib.IntTensor([1, 2])", "lib.HalfTensor([1.5])", "lib.ByteTensor([1, 255])", "lib.CharTensor([-1])",
    "lib.ShortTensor([3])", "lib.FloatTensor().shape", "lib.LongTensor(lib.Size([2, 1])).shape",
]


@pytest.mark.parametrize("code", LEGACY)
def test_legacy_constructors(code):
    _compare(code)


def test_legacy_constructor_errors():
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="data must be a sequence"):
            lib.Tensor(2.5)
        with pytest.raises(TypeError, match="data must be a sequence"):
            lib.FloatTensor(2.5)


@pytest.mark.parametrize("name", ["float", "double", "half", "long", "int", "short", "bool", "uint8", "int8",
                                  "int16", "int32", "int64", "float16", "float32", "float64", "bfloat16"])
def test_dtype_aliases(name):
    assert repr(getattr(ember, name)) == repr(getattr(torch, name)).replace("torch.", "ember.")
    assert getattr(ember, name) is getattr(ember, repr(getattr(torch, name)).split(".")[1])


def test_is_tensor_and_is_floating_point():
    assert ember.is_tensor(ember.ones(1)) and not ember.is_tensor(1) and not ember.is_tensor(np.ones(1))
    for dtype in ("float32", "float64", "float16", "int64", "int32", "bool", "uint8"):
        e, t = ember.ones(1, dtype=getattr(ember, dtype)), torch.ones(1, dtype=getattr(torch, dtype))
        assert ember.is_floating_point(e) == torch.is_floating_point(t) == e.is_floating_point()


def test_bfloat16_through_ml_dtypes():
    e = ember.tensor([1.5, -2.0, 3.25], dtype=ember.bfloat16)
    t = torch.tensor([1.5, -2.0, 3.25], dtype=torch.bfloat16)
    assert e.dtype is ember.bfloat16 and e.element_size() == 2
    assert e.float().tolist() == t.float().tolist()
    assert_same((e * 2).float(), (t * 2).float())
    assert ember.zeros(2, dtype=ember.bfloat16).dtype is ember.bfloat16


# fill_ and zero_ ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "lib.ones(2, 3).fill_(2.5)", "lib.tensor([1, 2]).fill_(2.7)", "lib.tensor([1, 2]).fill_(lib.tensor(2.7))",
    "lib.ones(2, dtype=lib.bool).fill_(0)", "lib.ones(3).fill_(lib.tensor(4, dtype=lib.int32))",
    "lib.ones(2, 2).zero_()", "lib.tensor([1, 2]).zero_()", "lib.ones(4)[::2].fill_(3)", "lib.ones(()).fill_(-1)",
])
def test_fill_and_zero(code):
    _compare(code)


def test_fill_writes_view_into_base_and_bumps_version():
    base = ember.zeros(3, 4)
    v0 = base._version_value
    base[:, 1].fill_(7)
    base.t()[0].zero_()
    assert base._version_value == v0 + 2
    expected = np.zeros((3, 4))
    expected[:, 1] = 7
    np.testing.assert_array_equal(base.numpy(), expected)


def test_fill_autograd_like_torch():
    grads = {}
    for lib in (torch, ember):
        w = lib.ones(3, requires_grad=True)
        v = lib.tensor(2.0, requires_grad=True)
        y = (w * 2).fill_(v)
        z = (w * 3).zero_()
        assert y.grad_fn.name() == "FillBackward3" and z.grad_fn.name() == "ZeroBackward0"
        assert (w * 2).fill_(1.0).grad_fn.name() == "FillBackward2"
        (y * lib.tensor([1.0, 2.0, 3.0]) + z).sum().backward()
        grads[lib.__name__] = (w.grad.tolist(), v.grad.item())
    assert grads["ember"] == grads["torch"]


def test_fill_errors():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="only supports 0-dimension value tensor"):
            lib.ones(2).fill_(lib.ones(2))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.ones(2, requires_grad=True).fill_(1)
