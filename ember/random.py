"""Random numbers: generators and seeding, and the sampling factories (``rand``,
``randn``, ``randint``, ``randperm``, ``multinomial``). The samplers that are ops
(``normal`` of tensors, ``bernoulli``, ``poisson`` and the in-place ``uniform_``,
``normal_``, ``bernoulli_``, ``random_``, ``exponential_``) are in ``ember.ops.random``.

Samples are drawn on the host from a ``numpy.random.Generator(PCG64)`` and moved
to the tensor's device. ember does not reproduce PyTorch's random streams, only
their distributions, shapes, dtypes and seeding behaviour.
"""
import os

import numpy as np

from ember._tensor import Tensor
from ember.backend import array_module, get_default_dtype, to_device, to_dtype
from ember.backend.dtype import bool_, float64, int64, torch_name, uint8
from ember.creation import _finish, _size
from ember.backend.size import allocator_errors, check_count

_DEFAULT_SEED = 67280421310721


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
        return _finish(np.frombuffer(raw, dtype=np.uint8).copy(), uint8, to_device("cpu"), False)

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


default_generator = Generator()
default_generator.seed()
cuda_generators = {}  # GPU index -> its default generator, made on first use


def device_generator(dev):
    """The default generator of a device: each GPU has its own, seeded as torch seeds them."""
    if dev.type != "cuda":
        return default_generator
    gen = cuda_generators.get(dev.index)
    if gen is None:
        gen = cuda_generators[dev.index] = Generator(dev)
        gen.manual_seed(default_generator.initial_seed())
    return gen


def manual_seed(seed):
    """Seed every device's default generator: ``ember.manual_seed(0)`` makes runs repeatable."""
    for gen in cuda_generators.values():
        gen.manual_seed(seed)
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


def _rng(generator, device=None):
    if generator is None:
        return (default_generator if device is None else device_generator(device))._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"expected an ember.Generator as generator, got {type(generator).__name__}")
    return generator._rng


def _not_for(dtype, kernel):
    return NotImplementedError(f'"{kernel}" not implemented for \'{torch_name(dtype)}\'')


def _floats(rng, draw, shape, dtype):
    """Draw ``shape`` floats with ``draw(rng, shape, np_dtype)`` in (at least) float32 and cast."""
    np_dtype = np.float64 if dtype is float64 else np.float32
    return draw(rng, shape, np_dtype).astype(dtype.np, copy=False)


_COMPLEX_SCALE = {"check_uniform_bounds": 1.0, "normal_kernel_cpu": 0.5 ** 0.5}


def _factory(draw, kernel):
    def make(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
        dt = get_default_dtype() if dtype is None else to_dtype(dtype)
        dev = to_device(device)
        if dt.is_complex:  # real and imaginary parts drawn independently (each of variance 1/2 for randn)
            parts = _floats(_rng(generator, dev), draw, _size(size, make.__name__, dt.np) + (2,), dt.to_real())
            host = (parts * _COMPLEX_SCALE[kernel]).view(dt.np)[..., 0]
            return _finish(array_module(dev).asarray(host), dt, dev, requires_grad)
        if not dt.is_floating_point:
            raise _not_for(dt, kernel)
        host = _floats(_rng(generator, dev), draw, _size(size, make.__name__, dt.np), dt)
        return _finish(array_module(dev).asarray(host), dt, dev, requires_grad)
    return make


rand = allocator_errors(_factory(lambda rng, shape, dt: rng.random(shape, dtype=dt), "check_uniform_bounds"), "rand")
randn = allocator_errors(_factory(lambda rng, shape, dt: rng.standard_normal(shape, dtype=dt), "normal_kernel_cpu"),
                         "randn")
rand.__doc__ = "Uniform samples in [0, 1): ``ember.rand(2, 3, generator=g)``."
randn.__doc__ = "Standard normal samples: ``ember.randn(2, 3)``."


def _integers(rng, low, high, shape, dtype):
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype is bool_ and (low < 0 or high > 2):
        raise RuntimeError("to - 1 is out of bounds for bool")
    return rng.integers(low, high, size=shape, dtype=np.int64).astype(dtype.np)


@allocator_errors
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
    host = _integers(_rng(generator, dev), int(low), int(high), _size((size,), "randint", dt.np), dt)
    return _finish(array_module(dev).asarray(host), dt, dev, requires_grad)


@allocator_errors
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of ``0 .. n-1``: ``ember.randperm(5)``."""
    if check_count(n, "randperm", "n") < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt, dev = int64 if dtype is None else to_dtype(dtype), to_device(device)
    host = _rng(generator, dev).permutation(int(n)).astype(dt.np)
    return _finish(array_module(dev).asarray(host), dt, dev, requires_grad)


def _like(factory):
    def make(input, *args, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        return factory(*args, input.shape, generator=generator, dtype=dtype or input.dtype,
                       device=device or input.device, requires_grad=requires_grad)
    make.__name__ = factory.__name__ + "_like"
    make.__doc__ = f"``{factory.__name__}`` with the shape (and by default dtype and device) of ``input``."
    return make


rand_like, randn_like, randint_like = _like(rand), _like(randn), _like(randint)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices drawn from each row of (unnormalised) probabilities ``input``.

    >>> ember.multinomial(ember.tensor([0.1, 0.9]), 4, replacement=True)
    """
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{torch_name(input.dtype)}")
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
    return _finish(array_module(input.device).asarray(idx), int64, input.device, False)
