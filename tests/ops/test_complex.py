"""Complex dtypes: creation, promotion, printing, the complex ops, and conjugate-Wirtinger gradients."""
import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand


def test_creation_and_dtypes():
    assert ember.tensor([1 + 2j]).dtype is ember.complex64 is ember.cfloat
    assert ember.tensor(np.zeros(2, np.complex128)).dtype is ember.complex128 is ember.cdouble
    assert ember.full((2,), 1j).dtype is ember.complex64
    z = ember.zeros(2, dtype=ember.complex64)
    assert z.is_complex() and not z.is_floating_point() and z.dtype.is_complex
    assert ember.randn(3, dtype=ember.complex128).dtype is ember.complex128
    assert ember.tensor([1j]).type() == "ember.ComplexFloatTensor"


@pytest.mark.parametrize("a,b", [("complex64", "float64"), ("complex64", "complex128"), ("float32", "complex64"),
                                 ("int64", "complex64"), ("float16", "complex64")])
def test_promotion(a, b):
    for ta, tb in ((ember.ones(2, dtype=getattr(ember, a)), ember.ones(2, dtype=getattr(ember, b))),):
        want = torch.ones(2, dtype=getattr(torch, a)) + torch.ones(2, dtype=getattr(torch, b))
        assert (ta + tb).dtype.name == str(want.dtype)[6:]
    assert (ember.ones(2) * 1j).dtype is ember.complex64
    assert (ember.ones(2, dtype=ember.float64) * 1j).dtype is ember.complex128
    assert (ember.ones(2, dtype=ember.int32) * (1 + 1j)).dtype is ember.complex64


def test_printing_matches_torch():
    for vals, dt in (([1 + 2j, 3.5 - 1j, 0.1j], "complex64"), ([[1 + 2j, 3 - 1j], [100.25j, -2]], "complex128"),
                     ([1e-5 + 2j, 1], "complex64"), ([1.5 + 2j, -3 - 400j], "complex64"), ([1 + 2j] * 30, "complex64")):
        e = repr(ember.tensor(vals, dtype=getattr(ember, dt)))
        t = repr(torch.tensor(vals, dtype=getattr(torch, dt)))
        assert e == t.replace("torch.", "ember.")
    assert repr(ember.tensor(2 + 1j)) == "tensor(2.+1.j)"


UNARY = ["real", "imag", "conj", "conj_physical", "angle", "abs", "view_as_real", "exp", "sin", "sqrt", "neg"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_unary_values_and_grads(name, layout):
    fn = {"real": lambda lib, z: lib.real(z), "imag": lambda lib, z: lib.imag(z),
          "view_as_real": lambda lib, z: lib.view_as_real(z if z.is_contiguous() else z.contiguous())}.get(
        name, lambda lib, z: getattr(lib, name)(z))
    check(fn, rand(3, 4, dtype=np.complex128), layout=layout, atol=1e-9)


@pytest.mark.parametrize("name", ["real", "conj", "angle", "abs", "exp", "sin", "view_as_real", "imag"])
def test_unary_gradcheck(name):
    fn = {"real": lambda lib, z: z.real, "imag": lambda lib, z: z.imag,
          "view_as_real": lambda lib, z: lib.view_as_real(z)}.get(name, lambda lib, z: getattr(lib, name)(z))
    gradcheck(fn, rand(2, 3, dtype=np.complex128))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "matmul"])
def test_binary_values_grads_and_gradcheck(op):
    a, b = rand(3, 3, dtype=np.complex128, seed=1), rand(3, 3, dtype=np.complex128, seed=2)
    check(lambda lib, x, y: getattr(lib, op)(x, y), a, b, atol=1e-9)
    if op != "matmul":  # mixed real/complex operands promote (matmul refuses them, as in PyTorch)
        check(lambda lib, x, y: getattr(lib, op)(x, y), a, rand(3, 3, dtype=np.float64), atol=1e-9)
    gradcheck(lambda lib, x, y: getattr(lib, op)(x, y), a, b)


def test_constructors_and_views():
    r, t = rand(4, dtype=np.float64, seed=3), rand(4, dtype=np.float64, seed=4)
    check(lambda lib, a, b: lib.polar(a, b), r, t, atol=1e-9)
    check(lambda lib, a, b: lib.complex(a, b), r, t, atol=1e-9)
    check(lambda lib, a: lib.view_as_complex(a), rand(3, 2, dtype=np.float64), atol=1e-9)
    gradcheck(lambda lib, a, b: lib.polar(a, b), np.abs(r) + 0.1, t)  # the modulus is non-negative
    gradcheck(lambda lib, a, b: lib.complex(a, b), r, t)
    gradcheck(lambda lib, a: lib.view_as_complex(a), rand(3, 2, dtype=np.float64))
    z = ember.tensor([1 + 2j, 3 - 4j])
    v = ember.view_as_real(z)
    v[0, 1] = 7.0  # a view: writes show in the complex tensor
    assert z[0].item() == 1 + 7j
    z.real.mul_(2)
    assert z.tolist() == [2 + 7j, 6 - 4j]


def test_conj_bits_and_flags():
    z = ember.tensor([1 + 2j])
    assert not z.is_conj() and not ember.is_conj(z.conj()) and z.resolve_conj() is z and z.resolve_neg() is z
    x = ember.tensor([1.0])
    assert x.conj() is x and x.real is x
    np.testing.assert_array_equal(ember.isreal(ember.tensor([1 + 0j, 1j])).numpy(), [True, False])
    np.testing.assert_array_equal(ember.angle(ember.tensor([-1.0, 0.0, 2.0])).numpy(),
                                  torch.angle(torch.tensor([-1.0, 0.0, 2.0])).numpy())
    m = ember.tensor([[1 + 1j, 2], [3j, 4]])
    np.testing.assert_array_equal(m.mH.numpy(), m.numpy().conj().T)
    np.testing.assert_array_equal(m.H.numpy(), m.numpy().conj().T)
    np.testing.assert_array_equal(ember.adjoint(m).numpy(), m.numpy().conj().T)


def test_requires_grad_and_backward_convention():
    z = ember.tensor([1 + 2j, -1j], requires_grad=True)
    (z.abs() ** 2).sum().backward()  # |z|^2 has gradient 2z under PyTorch's convention
    np.testing.assert_allclose(z.grad.numpy(), 2 * z.detach().numpy())
    with pytest.raises(RuntimeError, match="floating point and complex"):
        ember.tensor([1, 2]).requires_grad_()


def test_gradcheck_catches_a_wrong_complex_gradient():
    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            return z * z

        @staticmethod
        def backward(ctx, g):
            return g * 2  # forgets the conjugate of the derivative 2z

    z = ember.tensor([1 + 2j], dtype=ember.complex128, requires_grad=True)
    assert not ember.autograd.gradcheck(Wrong.apply, (z,), raise_exception=False)


def test_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            lib.imag(lib.ones(2))
        with pytest.raises(RuntimeError, match="Tensor must have a last dimension of size 2"):
            lib.view_as_complex(lib.ones(3, 3))
        with pytest.raises(RuntimeError, match="Tensor must have a last dimension with stride 1"):
            lib.view_as_complex(lib.ones(2, 3).t())
