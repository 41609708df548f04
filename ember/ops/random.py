"""Sampling ops: ``normal`` of tensor means/stds, ``bernoulli``, ``poisson`` and the
in-place samplers (``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``,
``random_``). Their derivative is zero: a sample does not depend smoothly on its
parameters. Generators and the sampling factories (``rand``, ``randn``...) are in
``ember.random``.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import special as scipy_special, to_host
from ember.backend.dtype import CPP_NAMES, TORCH_NAMES, by_name
from ember.creation import _finish, zeros_like
from ember.ops.dispatch import PRIMITIVES, Primitive, apply, primitive
from ember.ops.inplace import inplace
from ember.ops.registry import method
from ember.random import _integers, _not_for, _rng, multinomial, randn


# normal of tensors: three forms, one sampling forward ------------------------------------------------

def _normal_forward(ctx, xp, mean, std, generator):
    shape = np.broadcast_shapes(np.shape(mean), np.shape(std))
    dtype = next(a.dtype for a in (mean, std) if hasattr(a, "dtype"))
    z = _rng(generator).standard_normal(shape, dtype=np.float64 if dtype == np.float64 else np.float32)
    return (mean + std * xp.asarray(z)).astype(dtype, copy=False)


def _zero_grads(ctx, g):
    return tuple(zeros_like(g) if need else None for need in ctx.needs_input_grad)


_normal = Primitive(_normal_forward, "NormalBackward3")
_normal.derivative(_zero_grads)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples: ``normal(mean_tensor, std_tensor)`` (broadcast), ``normal(mean_tensor, 1.0)``
    or ``normal(0.0, 1.0, size=(2, 3))``."""
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mt or st):
        if size is None:
            raise TypeError("normal() with float mean and std needs a size")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        t = randn(size, generator=generator, dtype=dtype, device=device)
        return _finish((t * std + mean)._data, t.dtype, t.device, requires_grad)
    if st and std.numel() and bool((std._host() < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not st and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    ref = mean if mt else std
    if not ref.dtype.is_floating_point:
        raise _not_for(ref.dtype, "normal_kernel_cpu")
    name = "NormalBackward3" if mt and st else "NormalBackward1" if mt else "NormalBackward2"
    return apply(_normal.variant(name), (mean, std), {"generator": generator})


# Bernoulli, multinomial, Poisson ----------------------------------------------------------

def _check_p(p, op):
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op} expects p to be in [0, 1], but got p={p}")


@primitive("BernoulliBackward0")
def _bernoulli(ctx, xp, p, generator):
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise RuntimeError("bernoulli expects all elements of p to be in [0, 1]")
    u = xp.asarray(_rng(generator).random(p.shape))
    return (u < p).astype(p.dtype)


_bernoulli.derivative(_zero_grads)


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples with probabilities ``input`` (or the float ``p``), in ``input``'s dtype.

    >>> ember.bernoulli(ember.full((3,), 0.5))
    """
    if p is not None:
        _check_p(p, "bernoulli_")
        return input.detach().clone().bernoulli_(p, generator=generator)
    if not input.dtype.is_floating_point:
        raise _not_for(input.dtype, "bernoulli_tensor_cpu_p_")
    return apply(_bernoulli, (input,), {"generator": generator})


@primitive("PoissonBackward0")
def _poisson(ctx, xp, rate, generator):
    if bool((rate < 0).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return xp.asarray(_rng(generator).poisson(to_host(rate))).astype(rate.dtype)


_poisson.derivative(_zero_grads)


def poisson(input, generator=None):
    """Poisson samples with rates ``input``: ``ember.poisson(ember.full((3,), 4.0))``."""
    return apply(_poisson, (input,), {"generator": generator})


# Gamma (reparameterised) and binomial ------------------------------------------------------

def _gamma_grad_forward(ctx, xp, alpha, x):
    """d sample / d alpha of a standard-gamma sample ``x`` held at its CDF value (implicit
    reparameterisation): ``-(dF/dalpha) / (dF/dx)``, with dF/dalpha by a central difference."""
    special = scipy_special(np)
    a, v = to_host(alpha).astype(np.float64), to_host(x).astype(np.float64)
    h = 1e-5 * np.maximum(a, 1e-3)
    dcdf_da = (special.gammainc(a + h, v) - special.gammainc(a - h, v)) / (2 * h)
    log_pdf = special.xlogy(a - 1, v) - v - special.gammaln(a)
    return xp.asarray(-dcdf_da / np.exp(log_pdf)).astype(alpha.dtype)


_standard_gamma_grad = Primitive(_gamma_grad_forward, "StandardGammaGradBackward0", name="standard_gamma_grad")


@primitive("StandardGammaBackward0", save=(0,), save_output=True)
def _standard_gamma(ctx, xp, alpha, generator):
    """Samples of Gamma(alpha, 1); the gradient w.r.t. alpha is the implicit reparameterisation."""
    draws = _rng(generator).standard_gamma(to_host(alpha).astype(np.float64))
    return xp.asarray(draws).astype(alpha.dtype)


@_standard_gamma.derivative
def _standard_gamma_backward(ctx, g):
    alpha, x = ctx.saved_tensors
    return (g * _standard_gamma_grad(alpha, x),)


def standard_gamma(alpha, generator=None):
    """Gamma(alpha, 1) samples, differentiable w.r.t. ``alpha`` (``torch._standard_gamma``)."""
    if not alpha.dtype.is_floating_point:
        raise _not_for(alpha.dtype, "gamma_cpu")
    return apply(_standard_gamma, (alpha,), {"generator": generator})


@primitive("BinomialBackward0")
def _binomial(ctx, xp, count, prob, generator):
    if bool(((prob < 0) | (prob > 1)).any()):
        raise RuntimeError("binomial: probabilities must be in [0, 1]")
    n, p = np.broadcast_arrays(to_host(count), to_host(prob))
    return xp.asarray(_rng(generator).binomial(n.astype(np.int64), p)).astype(count.dtype)


_binomial.derivative(_zero_grads)


def binomial(count, prob, generator=None):
    """Binomial samples: successes in ``count`` trials of probability ``prob``.

    >>> ember.binomial(ember.full((3,), 10.0), ember.full((3,), 0.5))
    """
    if count.shape != prob.shape:
        raise RuntimeError(f"binomial: count and prob must have the same shape, got {tuple(count.shape)} "
                           f"and {tuple(prob.shape)}")
    if not count.dtype.is_floating_point:
        raise _not_for(count.dtype, "binomial_cpu")
    return apply(_binomial, (count, prob), {"generator": generator})


# in-place samplers ----------------------------------------------------------------------

def _sampler(node_name, draw):
    """An in-place sampler ``x.name_(*args)``: new values from ``draw(rng, x, *args)``, zero gradient."""
    prim = Primitive(lambda ctx, xp, x, args, generator: xp.asarray(draw(_rng(generator), x, *args)), node_name,
                     name=draw.__name__.replace("_draw", "sample"))
    prim.derivative(_zero_grads)

    def sample_(self, *args, generator=None):
        if self._device.type == "meta":  # no values to draw
            return self
        return inplace(self, lambda t: apply(prim, (t,), {"args": args, "generator": generator}))
    return sample_


def _draw_uniform(rng, x, low=0.0, high=1.0):
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
    if x.dtype.kind not in "f" and x.dtype.name != "bfloat16":
        raise NotImplementedError(f"\"check_uniform_bounds\" not implemented for '{_np_torch_name(x)}'")
    return (low + (high - low) * rng.random(x.shape)).astype(x.dtype)


def _draw_normal(rng, x, mean=0.0, std=1.0):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if x.dtype.kind not in "f" and x.dtype.name != "bfloat16":
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{_np_torch_name(x)}'")
    return (mean + std * rng.standard_normal(x.shape)).astype(x.dtype)


def _draw_bernoulli(rng, x, p=0.5):
    if isinstance(p, Tensor):
        p = p._host()
    else:
        _check_p(p, "bernoulli_")
    return (rng.random(x.shape) < p).astype(x.dtype)


def _draw_exponential(rng, x, lambd=1.0):
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return rng.exponential(1 / lambd, x.shape).astype(x.dtype)


def _draw_random(rng, x, low=None, high=None):
    if low is not None and high is None:
        low, high = 0, low
    if high is None:
        mant = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}.get(x.dtype.name)
        high = 2 ** mant + 1 if mant else (2 if x.dtype.kind == "b" else int(np.iinfo(x.dtype).max) + 1)
    low = 0 if low is None else low
    return _integers(rng, int(low), int(high), x.shape, by_name(_name_of(x)))


def _draw_cauchy(rng, x, median=0.0, sigma=1.0):
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    if x.dtype.kind not in "f" and x.dtype.name != "bfloat16":
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {CPP_NAMES[_name_of(x)]}")
    return (median + sigma * rng.standard_cauchy(x.shape)).astype(x.dtype)


def _draw_log_normal(rng, x, mean=1.0, std=2.0):
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    if x.dtype.kind not in "f" and x.dtype.name != "bfloat16" and x.size:  # the kernel's check: none when empty
        raise NotImplementedError(f"\"log_normal_cpu\" not implemented for '{_np_torch_name(x)}'")
    return rng.lognormal(mean, std, x.shape).astype(x.dtype)


def _draw_geometric(rng, x, p):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if x.dtype.kind == "b" and x.size:
        raise NotImplementedError("\"geometric_cpu\" not implemented for 'Bool'")
    return rng.geometric(p, x.shape).astype(x.dtype)


def _name_of(x):
    return "bool" if x.dtype.kind == "b" else x.dtype.name


def _np_torch_name(x):
    return TORCH_NAMES[_name_of(x)]


method("uniform_")(_sampler("UniformBackward0", _draw_uniform))
method("normal_")(_sampler("NormalBackward0", _draw_normal))
method("bernoulli_")(_sampler("BernoulliBackward2", _draw_bernoulli))
method("exponential_")(_sampler("ExponentialBackward0", _draw_exponential))
method("random_")(_sampler("RandomBackward0", _draw_random))
method("cauchy_")(_sampler("CauchyBackward0", _draw_cauchy))
method("log_normal_")(_sampler("LogNormalBackward0", _draw_log_normal))
method("geometric_")(_sampler("GeometricBackward0", _draw_geometric))
for _fn in (bernoulli, multinomial, poisson):  # binomial is a function only, like torch.binomial
    method(_fn.__name__)(_fn)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_normal, _bernoulli, _poisson, _binomial, *(PRIMITIVES[f"sample_{n}"] for n in
                                               ("uniform", "normal", "bernoulli", "exponential", "random",
                                                "cauchy", "log_normal", "geometric"))):
    _prim.jvp(lambda j: zeros_like(j.out))
_standard_gamma.jvp(lambda j: j.tangent(0) * _standard_gamma_grad(j.inputs[0], j.out))
