"""Sampling ops: ``normal`` of tensor means/stds, ``bernoulli``, ``poisson`` and the
in-place samplers (``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``,
``random_``). Their derivative is zero: a sample does not depend smoothly on its
parameters. Generators and the sampling factories (``rand``, ``randn``...) are in
``ember.random``.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.arrays import to_host
from ember.backend.dtype import TORCH_NAMES, by_name
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


def _name_of(x):
    return "bool" if x.dtype.kind == "b" else x.dtype.name


def _np_torch_name(x):
    return TORCH_NAMES[_name_of(x)]


method("uniform_")(_sampler("UniformBackward0", _draw_uniform))
method("normal_")(_sampler("NormalBackward0", _draw_normal))
method("bernoulli_")(_sampler("BernoulliBackward2", _draw_bernoulli))
method("exponential_")(_sampler("ExponentialBackward0", _draw_exponential))
method("random_")(_sampler("RandomBackward0", _draw_random))
for _fn in (bernoulli, multinomial, poisson):
    method(_fn.__name__)(_fn)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_normal, _bernoulli, _poisson, *(PRIMITIVES[f"sample_{n}"] for n in
                                               ("uniform", "normal", "bernoulli", "exponential", "random"))):
    _prim.jvp(lambda j: zeros_like(j.out))
