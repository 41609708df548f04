"""Joining and splitting: cat, stack, hstack/vstack/dstack, split, chunk, tensor_split,
unbind, narrow, select.

The pieces of split/chunk/unbind are views of the input made by one multi-output node;
its backward puts the gradients of the pieces that were used back together (zeros for
the others), so only the used pieces cost anything.
"""
from ember._tensor import Tensor
from ember.backend.dtype import PROMOTE
from ember.creation import zeros
from ember.ops._dims import wrap_dim
from ember.ops.dispatch import Primitive, apply, primitive
from ember.ops.dual import linear
from ember.ops.registry import public
from ember.ops.shape import atleast_1d, atleast_2d, atleast_3d


def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    return list(tensors)


def _common_dtype(tensors):
    dtype = tensors[0]._dtype
    for t in tensors[1:]:
        dtype = PROMOTE[dtype, t._dtype]
    return dtype


# cat / stack -------------------------------------------------------------------------------

@primitive("CatBackward0")
def _cat(ctx, xp, *arrays, dim, dtype, skip):
    """Concatenate the arrays not marked in ``skip`` (legacy empty vectors, which still get a gradient)."""
    ctx.dim, ctx.sizes = dim, [None if s else a.shape[dim] for a, s in zip(arrays, skip)]
    return xp.concatenate([a for a, s in zip(arrays, skip) if not s], axis=dim, dtype=dtype)


@_cat.derivative
def _(ctx, g):
    grads, start = [], 0
    for size, need in zip(ctx.sizes, ctx.needs_input_grad):
        if size is None:
            grads.append(g.new_zeros(0) if need else None)
            continue
        grads.append(narrow(g, ctx.dim, start, size) if need else None)
        start += size
    return tuple(grads)


@public(method=False, aliases=("concat", "concatenate"))
def cat(tensors, dim=0):
    """Join tensors along an existing ``dim`` (dtypes promote): ``ember.cat([x, y], 1)``."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    dtype = _common_dtype(tensors)
    kept = [(i, t) for i, t in enumerate(tensors) if t.shape != (0,)]  # PyTorch skips legacy empty 1-D tensors
    first = kept[0][1] if kept else tensors[0]
    d = wrap_dim(dim, first.dim())
    for i, t in kept:
        if t.dim() != first.dim():
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.dim()} and {t.dim()}")
        for k in range(first.dim()):
            if k != d and t.shape[k] != first.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {first.shape[k]} but "
                    f"got size {t.shape[k]} for tensor number {i} in the list."
                )
    skip = tuple(bool(kept) and t.shape == (0,) for t in tensors)
    return apply(_cat, tensors, {"dim": d, "dtype": dtype.np, "skip": skip})


@primitive("StackBackward0")
def _stack(ctx, xp, *arrays, dim, dtype):
    ctx.dim = dim
    return xp.stack([a.astype(dtype, copy=False) for a in arrays], axis=dim)


_stack.derivative(lambda ctx, g: unbind(g, ctx.dim))


@public(method=False)
def stack(tensors, dim=0):
    """Join equal-shaped tensors along a new ``dim``: ``ember.stack([x, y]).shape == (2, *x.shape)``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, tensors[0].dim() + 1)
    return apply(_stack, tensors, {"dim": d, "dtype": _common_dtype(tensors).np})


def _stack_like(name, lift, dim_of):
    def fn(tensors):
        tensors = _tensor_list(tensors, name)
        if not tensors:
            raise RuntimeError(f"{name} expects a non-empty TensorList")
        lifted = [lift(t) for t in tensors]
        return cat(lifted, dim_of(lifted))
    fn.__name__ = name
    return fn


hstack = public(method=False)(_stack_like("hstack", atleast_1d, lambda ts: 0 if ts[0].dim() == 1 else 1))
vstack = public(method=False, aliases=("row_stack",))(_stack_like("vstack", atleast_2d, lambda ts: 0))
dstack = public(method=False)(_stack_like("dstack", atleast_3d, lambda ts: 2))
hstack.__doc__ = "Join along dim 1 (dim 0 for vectors): ``ember.hstack([a, b])``."
vstack.__doc__ = "Join as rows (vectors become 1xN): ``ember.vstack([a, b])``."
dstack.__doc__ = "Join along dim 2 after making every tensor at least 3-d: ``ember.dstack([a, b])``."


# splitting into views ---------------------------------------------------------------------

def _pieces_forward(ctx, xp, x, dim, bounds):
    ctx.dim, ctx.shape = dim, x.shape
    lead = (slice(None),) * dim
    return tuple(x[lead + (slice(a, b),)] for a, b in bounds)


def _pieces_backward(ctx, *grads):
    like = next(g for g in grads if g is not None)
    parts = []
    for g, (a, b) in zip(grads, ctx.bounds):
        if g is None:
            shape = ctx.shape[:ctx.dim] + (b - a,) + ctx.shape[ctx.dim + 1:]
            g = zeros(shape, dtype=like.dtype, device=like.device)
        parts.append(g)
    return cat(parts, ctx.dim)


def _split_forward(ctx, xp, x, dim, bounds):
    ctx.bounds = bounds
    return _pieces_forward(ctx, xp, x, dim, bounds)


_split = Primitive(_split_forward, "SplitBackward0", view=True)
_split.derivative(_pieces_backward)
_split_sizes = _split.variant("SplitWithSizesBackward0")


def _bounds(sizes):
    out, start = [], 0
    for s in sizes:
        out.append((start, start + s))
        start += s
    return tuple(out)


@public
def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces of size ``split_size`` (the last may be smaller) or of the
    listed sizes along ``dim``: ``x.split(2)``, ``x.split([1, 3], dim=1)``."""
    d = wrap_dim(dim, tensor.dim())
    n = tensor.shape[d] if tensor.dim() else 1
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if size and n else [0]
        return apply(_split, (tensor,), {"dim": d, "bounds": _bounds(sizes)})
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {d}), but got split_sizes={sizes}")
    return apply(_split_sizes, (tensor,), {"dim": d, "bounds": _bounds(sizes)})


@public
def chunk(input, chunks, dim=0):
    """Split into at most ``chunks`` equal views (the last may be smaller): ``x.chunk(3, dim=1)``."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[wrap_dim(dim, input.dim())]
    return split(input, -(-n // chunks), dim) if n else split(input, [0] * chunks, dim)


@public
def tensor_split(input, indices_or_sections, dim=0):
    """Views split into ``sections`` near-equal parts or at the given ``indices``: ``x.tensor_split([1, 3])``."""
    d = wrap_dim(dim, input.dim())
    n = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = _bounds(sizes)
    else:
        cuts = [0] + [min(max(int(i) + (n if i < 0 else 0), 0), n) for i in indices_or_sections] + [n]
        bounds = tuple((a, max(a, b)) for a, b in zip(cuts, cuts[1:]))
    return tuple(narrow(input, d, a, b - a) for a, b in bounds)


@primitive("UnbindBackward0", view=True)
def _unbind(ctx, xp, x, dim):
    ctx.dim, ctx.shape = dim, x.shape
    lead = (slice(None),) * dim
    return tuple(x[lead + (i,)] for i in range(x.shape[dim]))


@_unbind.derivative
def _(ctx, *grads):
    like = next(g for g in grads if g is not None)
    shape = ctx.shape[:ctx.dim] + ctx.shape[ctx.dim + 1:]
    return stack([zeros(shape, dtype=like.dtype, device=like.device) if g is None else g for g in grads], ctx.dim)


@public
def unbind(input, dim=0):
    """The slices along ``dim`` as a tuple of views: ``a, b = ember.ones(2, 3).unbind()``."""
    if input.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return apply(_unbind, (input,), {"dim": wrap_dim(dim, input.dim())})


# single views ---------------------------------------------------------------------------

@public
def narrow(input, dim, start, length):
    """The view of ``length`` elements from ``start`` along ``dim``: ``x.narrow(1, 0, 2)``."""
    if input.dim() == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.dim())
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return input[(slice(None),) * d + (slice(start, start + length),)]


@public
def select(input, dim, index):
    """The view at ``index`` along ``dim``, which is removed: ``x.select(1, 0)`` is ``x[:, 0]``."""
    if input.dim() == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.dim())
    n = input.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} "
                         f"at dimension {d}")
    return input[(slice(None),) * d + (index,)]

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_cat, _stack, _split, _unbind):
    _prim.jvp(linear())
