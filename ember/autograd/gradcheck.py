"""Finite-difference checks of analytical gradients (use float64 or complex128 inputs).

Complex inputs and outputs are checked as pairs of reals (real, imaginary parts
interleaved): with PyTorch's convention, the gradient that backward returns for a
complex input is ``dL/dx + i dL/dy``, and a grad_output of ``1`` (``1j``) selects
the real (imaginary) part of a complex output as ``L``.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import to_host
from ember.creation import tensor
from ember.autograd.functional_api import grad


class GradcheckError(RuntimeError):
    pass


def _outputs(func, inputs):
    out = func(*inputs)
    out = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in out if isinstance(o, Tensor) and o.dtype.category >= 2]


def _real_flat(a):
    """An array as float64 values, a complex element giving its real and imaginary parts in turn."""
    a = to_host(a)
    if a.dtype.kind == "c":
        return np.array(a, dtype=np.complex128).reshape(-1).view(np.float64)  # a copy: a may alias an input
    return a.astype(np.float64).reshape(-1)


def _numerical(func, inputs, i, eps):
    """d(outputs)/d(inputs[i]) by central differences: a list of (out_numel, in_numel) arrays."""
    x = inputs[i]
    flat = x._data.reshape(-1)
    if not np.shares_memory(flat, x._data) and flat.size:
        raise GradcheckError("gradcheck needs contiguous inputs")
    if flat.dtype.kind == "c":
        flat = flat.view(flat.real.dtype)
    cols = []
    for k in range(flat.size):  # grad mode stays on: func may itself differentiate (gradgradcheck)
        orig = flat[k]
        flat[k] = orig + eps
        plus = [_real_flat(o._data) for o in _outputs(func, inputs)]
        flat[k] = orig - eps
        minus = [_real_flat(o._data) for o in _outputs(func, inputs)]
        flat[k] = orig
        cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(_outputs(func, inputs)) if not cols else len(cols[0])
    return [np.stack([c[j] for c in cols], axis=1) if cols else None for j in range(n_out)]


def _analytical(outputs, inputs, i):
    x = inputs[i]
    width = x.numel() * (2 if x.is_complex() else 1)
    jac = []
    for o in outputs:
        parts = (1, 1j) if o.is_complex() else (1,)
        if not o.requires_grad:  # a constant output (e.g. a materialized zero gradient)
            jac.append(np.zeros((o.numel() * len(parts), width)))
            continue
        rows = []
        flat = o.reshape(-1)
        for j in range(flat.numel()):
            for part in parts:
                seed = tensor(part, dtype=o.dtype, device=o.device)
                g = grad(flat[j], x, seed, retain_graph=True, allow_unused=True)[0]
                if g is not None and x.is_complex() and not g.is_complex():
                    g = g.to(x.dtype)
                rows.append(np.zeros(width) if g is None else _real_flat(g._data))
        jac.append(np.stack(rows) if rows else np.zeros((0, width)))
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """Compare analytical gradients of ``func`` with central differences at ``inputs``.

    >>> ember.autograd.gradcheck(ember.sin, (ember.randn(3, dtype=ember.float64, requires_grad=True),))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff:
        if inputs[i].dtype.name not in ("float64", "complex128"):
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point; "
                          "gradcheck may fail from rounding.", stacklevel=2)
    outputs = _outputs(func, inputs)
    for i in diff:
        numerical = _numerical(func, inputs, i, eps)
        analytical = _analytical(outputs, inputs, i)
        for j, (a, n) in enumerate(zip(analytical, numerical)):
            if n is None or a.size == 0:
                continue
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:\n{n}\nanalytical:\n{a}\n"
                )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """gradcheck of the gradient: checks second derivatives through ``create_graph=True``."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            tensor(rng.standard_normal(o.shape).astype(o._data.dtype), dtype=o.dtype, device=o.device).requires_grad_()
            for o in outputs
        )
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    n = len(inputs)

    def first_grads(*args):
        ins, gouts = args[:n], args[n:]
        outs = _outputs(func, ins)
        diff_ins = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]
        return grad(outs, diff_ins, gouts, create_graph=True, allow_unused=True, materialize_grads=True)

    if not diff:
        return True
    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
