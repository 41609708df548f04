"""Random numbers: generators and seeding, sampling factories (``rand``, ``randn``,
``randint``, ``randperm``, ``normal``, ``bernoulli``, ``multinomial``, ``poisson``)
and the in-place samplers (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``).

Samples are drawn on the host from a ``numpy.random.Generator(PCG64)`` and moved
to the tensor's device. ember does not reproduce PyTorch's random streams, only
their distributions, shapes, dtypes and seeding behaviour.
"""
import os

import numpy as np

from ember._tensor import Tensor
from ember.backend import get_default_dtype, to_device, to_dtype
from ember.backend.dtype import bool_, float64, int64
from ember.creation import _finish, _size, zeros_like
from ember.ops.dispatch import Primitive, apply, inplace, primitive, xp_of
from ember.ops.registry import method

_DEFAULT_SEED = 67280421310721
_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class Generator:
    """A pseudo-random stream with its own seed and state.

    >>> g = ember.Generator().manual_seed(0)
    >>> ember.rand(2, generator=g).shape
    ember.Size([2])
    """

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator."""
        seed = int(seed)
        if not -2**63 <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed % 2**64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        """Seed from the OS's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The full state as a uint8 tensor (restore it with ``set_state``)."""
        s = self._rng.bit_generator.state
        words = (s["state"]["state"], s["state"]["inc"], s["has_uint32"], s["uinteger"], self._seed)
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return _finish(np.frombuffer(raw, dtype=np.uint8).copy(), _dtype("uint8"), to_device("cpu"), False)

    def set_state(self, new_state):
        if not isinstance(new_state, Tensor) or new_state.dtype.name != "uint8" or new_state.numel() != 80:
            raise RuntimeError("Expected a ember.ByteTensor of 80 bytes from Generator.get_state() as the new state")
        raw = new_state._host().tobytes()
        state, inc, has32, uint32, seed = (int.from_bytes(raw[i:i + 16], "little") for i in range(0, 80, 16))
        bitgen = np.random.PCG64()
        bitgen.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                        "has_uint32": has32, "uinteger": uint32}
        self._rng, self._seed = np.random.Generator(bitgen), seed
        return self

    def __repr__(self):
        return f"<ember.Generator object on {self.device}>"


def _dtype(name):
    from ember.backend.dtype import ALL
    return next(d for d in ALL if d.name == name)


default_generator = Generator()
default_generator.seed()


def manual_seed(seed):
    """Seed the default generator: ``ember.manual_seed(0)`` makes runs repeatable."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _rng(generator):
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"expected an ember.Generator as generator, got {type(generator).__name__}")
    return generator._rng


def _not_for(dtype, kernel):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_TORCH_NAMES[dtype.name]}\'')


def _floats(rng, draw, shape, dtype):
    """Draw ``shape`` floats with ``draw(rng, shape, np_dtype)`` in (at least) float32 and cast."""
    np_dtype = np.float64 if dtype is float64 else np.float32
    return draw(rng, shape, np_dtype).astype(dtype.np, copy=False)


def _factory(draw, kernel):
    def make(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
        dt = get_default_dtype() if dtype is None else to_dtype(dtype)
        if not dt.is_floating_point:
            raise _not_for(dt, kernel)
        dev = to_device(device)
        host = _floats(_rng(generator), draw, _size(size), dt)
        return _finish(xp_of(dev).asarray(host), dt, dev, requires_grad)
    return make


rand = _factory(lambda rng, shape, dt: rng.random(shape, dtype=dt), "check_uniform_bounds")
randn = _factory(lambda rng, shape, dt: rng.standard_normal(shape, dtype=dt), "normal_kernel_cpu")
rand.__name__, randn.__name__ = "rand", "randn"
rand.__doc__ = "Uniform samples in [0, 1): ``ember.rand(2, 3, generator=g)``."
randn.__doc__ = "Standard normal samples: ``ember.randn(2, 3)``."


def _integers(rng, low, high, shape, dtype):
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype is bool_ and (low < 0 or high > 2):
        raise RuntimeError("to - 1 is out of bounds for bool")
    return rng.integers(low, high, size=shape, dtype=np.int64).astype(dtype.np)


def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False, low=None, high=None):
    """Integers in [low, high): ``ember.randint(10, (3,))`` or ``ember.randint(2, 10, (3,))``."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if high is None:
        high = args.pop() if args else None
    if low is None:
        low = args.pop() if args else 0
    if size is None or high is None or args:
        raise TypeError("randint() expects (high, size) or (low, high, size)")
    dt, dev = int64 if dtype is None else to_dtype(dtype), to_device(device)
    host = _integers(_rng(generator), int(low), int(high), _size((size,)), dt)
    return _finish(xp_of(dev).asarray(host), dt, dev, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of ``0 .. n-1``: ``ember.randperm(5)``."""
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt, dev = int64 if dtype is None else to_dtype(dtype), to_device(device)
    host = _rng(generator).permutation(int(n)).astype(dt.np)
    return _finish(xp_of(dev).asarray(host), dt, dev, requires_grad)


def _like(factory):
    def make(input, *args, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        return factory(*args, input.shape, generator=generator, dtype=dtype or input.dtype,
                       device=device or input.device, requires_grad=requires_grad)
    make.__name__ = factory.__name__ + "_like"
    make.__doc__ = f"``{factory.__name__}`` with the shape (and by default dtype and device) of ``input``."
    return make


rand_like, randn_like, randint_like = _like(rand), _like(randn), _like(randint)


# normal: four forms, one sampling forward ------------------------------------------------

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


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices drawn from each row of (unnormalised) probabilities ``input``.

    >>> ember.multinomial(ember.tensor([0.1, 0.9]), 4, replacement=True)
    """
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_TORCH_NAMES[input.dtype.name]}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    p = input._host().astype(np.float64).reshape(-1, n)
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = p.sum(-1, keepdims=True)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rng(generator)
    u = rng.random((p.shape[0], num_samples if replacement else n))
    if replacement:
        cdf = np.cumsum(p / totals, -1)
        idx = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]).clip(max=n - 1)
    else:  # exponential-race keys: the k smallest E/p are a weighted sample without replacement
        with np.errstate(divide="ignore"):
            keys = -np.log1p(-u) / p
        idx = np.argsort(keys, -1, kind="stable")[:, :num_samples]
    idx = idx.reshape(input.shape[:-1] + (num_samples,)).astype(np.int64)
    return _finish(xp_of(input.device).asarray(idx), int64, input.device, False)


@primitive("PoissonBackward0")
def _poisson(ctx, xp, rate, generator):
    if bool((rate < 0).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return xp.asarray(_rng(generator).poisson(rate.get() if xp is not np else rate)).astype(rate.dtype)


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
    return _integers(rng, int(low), int(high), x.shape, _dtype(_name_of(x)))


def _name_of(x):
    return "bool" if x.dtype.kind == "b" else x.dtype.name


def _np_torch_name(x):
    return _TORCH_NAMES[_name_of(x)]


method("uniform_")(_sampler("UniformBackward0", _draw_uniform))
method("normal_")(_sampler("NormalBackward0", _draw_normal))
method("bernoulli_")(_sampler("BernoulliBackward2", _draw_bernoulli))
method("exponential_")(_sampler("ExponentialBackward0", _draw_exponential))
method("random_")(_sampler("RandomBackward0", _draw_random))
for _fn in (bernoulli, multinomial, poisson):
    method(_fn.__name__)(_fn)
del _fn
