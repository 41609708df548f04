"""Ops that copy elements into a new arrangement or pick a matrix part: diagonal (a view),
diag, diag_embed, trace, tril/triu, repeat/tile, flip, roll."""
from ember.backend.dtype import int64
from ember.creation import eye
from ember.ops._dims import shape_arg, wrap_dim, wrap_dims
from ember.ops.dispatch import Primitive, primitive
from ember.ops.dual import linear
from ember.ops.registry import public


def _diagonal_view(xp, x, offset, dim1, dim2):
    d = xp.diagonal(x, offset, dim1, dim2)
    if getattr(d.flags, "writeable", True) is False and x.flags.writeable:
        d.flags.writeable = True  # NumPy hands out read-only diagonals; ember's views are writable
    return d


@primitive("DiagonalBackward0", view=True)
def _diagonal(ctx, xp, x, offset, dim1, dim2):
    ctx.in_shape, ctx.args = x.shape, (offset, dim1, dim2)
    return _diagonal_view(xp, x, offset, dim1, dim2)


def _diagonal_backward(ctx, g):
    return _diag_scatter(g, shape=ctx.in_shape, args=ctx.args)


_diagonal.derivative(_diagonal_backward)


def _diag_scatter_forward(ctx, xp, g, shape, args):
    """Zeros of ``shape`` with ``g`` on the diagonal ``args = (offset, dim1, dim2)``."""
    ctx.args = args
    out = xp.zeros(shape, dtype=g.dtype)
    _diagonal_view(xp, out, *args)[...] = g
    return out


_diag_scatter = Primitive(_diag_scatter_forward, "DiagonalBackwardBackward0")
_diag_scatter.derivative(lambda ctx, gg: _diagonal(gg, **dict(zip(("offset", "dim1", "dim2"), ctx.args))))
_diag_embed = _diag_scatter.variant("DiagEmbedBackward0")


def _diag_copy_forward(ctx, xp, x, offset, dim1, dim2):
    return _diagonal.forward(ctx, xp, x, offset, dim1, dim2).copy()


_diag_copy = Primitive(_diag_copy_forward, "DiagonalBackward0_copy")
_diag_copy.derivative(_diagonal_backward)


def _diag_dims(n, dim1, dim2):
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@public
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the ``dim1``/``dim2`` planes as a view, moved to the last dim: ``x.diagonal(1)``."""
    d1, d2 = _diag_dims(input.dim(), dim1, dim2)
    return _diagonal(input, offset=offset, dim1=d1, dim2=d2)


@public
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices with the last dim of ``input`` on their diagonal: ``ember.diag_embed(ember.ones(2, 3)).shape == (2, 3, 3)``."""
    n = input.dim() + 1
    d1, d2 = _diag_dims(n, dim1, dim2)
    size = input.shape[-1] + abs(offset) if input.dim() else 1 + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    return _diag_embed(input, shape=shape, args=(offset, d1, d2))


@public
def diag(input, diagonal=0):
    """A vector becomes a diagonal matrix, a matrix gives its diagonal (a copy): ``ember.diag(ember.ones(3))``."""
    if input.dim() == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.dim() != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")
    return _diag_copy(input, offset=diagonal, dim1=0, dim2=1)


@primitive("TraceBackward0")
def _trace(ctx, xp, x, dtype):
    ctx.in_shape = x.shape
    return xp.asarray(xp.trace(x, dtype=dtype))


@_trace.derivative
def _(ctx, g):
    return g * eye(*ctx.in_shape, dtype=g.dtype, device=g.device)


@public
def trace(input):
    """The sum of a matrix's diagonal: ``ember.eye(3).trace()`` is ``3.``."""
    if input.dim() != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.dim()))
    if input._dtype.name == "bool":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return _trace(input, dtype=input._dtype.np if input._dtype.is_floating_point else int64.np)


def _triangle(xp_fn, node):
    @primitive(node, name=xp_fn)
    def tri(ctx, xp, x, diagonal):
        ctx.diagonal = diagonal
        return getattr(xp, xp_fn)(x, diagonal)

    tri.derivative(lambda ctx, g: getattr(g, xp_fn)(ctx.diagonal))
    return tri


_tril, _triu = _triangle("tril", "TrilBackward0"), _triangle("triu", "TriuBackward0")


@public(inplace=True)
def tril(input, diagonal=0):
    """The lower triangle (on and below ``diagonal``) of the last two dims, zeros elsewhere."""
    if input.dim() < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return _tril(input, diagonal=diagonal)


@public(inplace=True)
def triu(input, diagonal=0):
    """The upper triangle (on and above ``diagonal``) of the last two dims: ``x.triu(1)``."""
    if input.dim() < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return _triu(input, diagonal=diagonal)


# copies that rearrange elements ---------------------------------------------------------------

@primitive("RepeatBackward0")
def _repeat(ctx, xp, x, reps):
    ctx.in_shape, ctx.reps = x.shape, reps
    return xp.tile(x, reps)


@_repeat.derivative
def _(ctx, g):
    shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + ctx.in_shape
    pairs = [n for r, s in zip(ctx.reps, shape) for n in (r, s)]
    return g.reshape(pairs).sum(tuple(range(0, len(pairs), 2))).reshape(ctx.in_shape)


@public
def repeat(input, *sizes):
    """Tile ``input`` ``sizes[i]`` times along each dim (extra sizes add leading dims): ``x.repeat(2, 1)``."""
    reps = shape_arg(sizes)
    if len(reps) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(reps)}: {list(reps)}")
    return _repeat(input, reps=reps)


@public
def tile(input, dims):
    """``repeat`` where missing leading repetitions count as 1: ``x.tile((2,))``."""
    reps = shape_arg((dims,) if isinstance(dims, int) else tuple(dims))
    return repeat(input, (1,) * (input.dim() - len(reps)) + reps)


@primitive("FlipBackward0")
def _flip(ctx, xp, x, dims):
    ctx.dims = dims
    return xp.flip(x, dims).copy()


_flip.derivative(lambda ctx, g: _flip(g, dims=ctx.dims))


@public
def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy): ``x.flip(0)``, ``x.flip((0, 1))``."""
    return _flip(input, dims=wrap_dims(shape_arg(dims), input.dim()) if input.dim() else ())


@public
def fliplr(input):
    """Flip the columns (dim 1) of a tensor with at least two dims."""
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@public
def flipud(input):
    """Flip the rows (dim 0) of a tensor with at least one dim."""
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


@primitive("RollBackward0")
def _roll(ctx, xp, x, shifts, dims):
    ctx.shifts, ctx.dims = shifts, dims
    return xp.roll(x, shifts, dims)


_roll.derivative(lambda ctx, g: _roll(g, shifts=tuple(-s for s in ctx.shifts) if ctx.dims is not None
                                      else -ctx.shifts, dims=ctx.dims))


@public
def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (all elements in flat order when None): ``x.roll(1, 0)``."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            shifts = shifts[0]
        return _roll(input, shifts=int(shifts), dims=None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return _roll(input, shifts=shifts, dims=tuple(wrap_dim(d, max(input.dim(), 1)) for d in dims))

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

for _prim in (_diagonal, _diag_copy, _trace, _tril, _triu, _repeat, _flip, _roll):
    _prim.jvp(linear())

_diag_scatter.jvp(linear())
