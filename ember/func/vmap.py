"""``vmap``: run a function written for one sample over a whole batch, as one batched computation."""
import functools

from ember._tensor import Tensor
from ember.func import _rules_nn, _rules_pointwise, _rules_shape  # noqa: F401  (register the batching rules)
from ember.func._batched import LEVELS, Batching, BatchedTensor, Level, wrap
from ember.func._pytree import broadcast_prefix, tree_flatten, tree_unflatten
from ember.ops import dispatch
from ember.ops.join import cat

_BATCHING = Batching()


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over a dim of its inputs: ``vmap(ember.dot)(x, y)`` is the row-wise dot
    product of two (B, n) tensors.

    ``in_dims``/``out_dims``: the mapped dim of each input/output (an int, None for an input
    not mapped over, or a nested structure matching the arguments). ``randomness``: 'error'
    (random ops refuse), 'same' (one draw for the batch) or 'different' (a draw per sample).
    ``chunk_size``: map that many samples at a time (less memory), 1 runs a per-sample loop.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        name = getattr(func, "__name__", repr(func))
        flat, spec = tree_flatten(args)
        dims = _in_dims(name, in_dims, args, flat, spec)
        size = _batch_size(name, in_dims, flat, dims)
        if chunk_size is None or chunk_size >= size:
            return _run(func, name, flat, spec, dims, size, kwargs, out_dims, randomness)
        chunks = []
        for start in range(0, size, chunk_size):
            n = min(chunk_size, size - start)
            part = [x.narrow(d, start, n) if d is not None else x for x, d in zip(flat, dims)]
            chunks.append(_run(func, name, part, spec, dims, n, kwargs, out_dims, randomness))
        leaves = [tree_flatten(c)[0] for c in chunks]
        out_spec = tree_flatten(chunks[0])[1]
        odims = broadcast_prefix(out_dims, out_spec, _is_dim)
        joined = [leaves[0][i] if d is None else cat([ls[i] for ls in leaves], dim=d)
                  for i, d in enumerate(odims)]
        return tree_unflatten(joined, out_spec)
    return wrapped


def _is_dim(x):
    return x is None or isinstance(x, int)


def _in_dims(name, in_dims, args, flat, spec):
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                         "to vmap over a function with no inputs. The latter is unsupported.")
    dims = broadcast_prefix(in_dims, spec, _is_dim)
    if dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    out = []
    for x, d in zip(flat, dims):
        if d is not None:
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but "
                                 f"the input is of type {type(x)}. We cannot vmap over non-Tensor arguments, please "
                                 "use None as the respective in_dim")
            n = x.dim()
            if not -n <= d < n:
                raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some input, "
                                 f"but that input is a Tensor of dimensionality {n} so expected in_dim to satisfy "
                                 f"-{n} <= in_dim < {n}.")
            d %= n
        out.append(d)
    return out


def _batch_size(name, in_dims, flat, dims):
    sizes = [x.shape[d] for x, d in zip(flat, dims) if d is not None]
    if not sizes:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): at least one input must be a Tensor "
                         "that is mapped over (in_dims not None for all of them)")
    if len(set(sizes)) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0]


def _run(func, name, flat, spec, dims, size, kwargs, out_dims, randomness):
    level = Level(size, randomness)
    saved = dispatch.batching
    LEVELS.append(level)
    dispatch.batching = _BATCHING
    try:
        inputs = [wrap(x.movedim(d, 0), level) if d is not None else x for x, d in zip(flat, dims)]
        out = func(*tree_unflatten(inputs, spec), **kwargs)
        return _unwrap_outputs(name, out, out_dims, level)
    finally:
        LEVELS.pop()
        dispatch.batching = saved


def _unwrap_outputs(name, out, out_dims, level):
    flat, spec = tree_flatten(out)
    if not isinstance(out_dims, (int, tuple, list)) and out_dims is not None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): expected `out_dims` to be int or a tuple")
    dims = broadcast_prefix(out_dims, spec, _is_dim)
    if dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} but outputs "
                         f"has structure {spec}.")
    result = []
    for x, d in zip(flat, dims):
        if d is None:
            if type(x) is BatchedTensor and x._level is level:
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            result.append(x)
            continue
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(x)}. Did you "
                             "mean to set out_dims= to None for output?")
        value = x._value if type(x) is BatchedTensor and x._level is level else x.unsqueeze(0).expand(level.size, *x.shape)
        n = value.dim()
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        result.append(value.movedim(0, d))
    return tree_unflatten(result, spec)
