"""In-place fills: ``Tensor.fill_`` and ``Tensor.zero_`` (no gradient reaches the old values)."""
from ember._tensor import Tensor
from ember.creation import zeros_like
from ember.ops.dispatch import primitive
from ember.ops.inplace import inplace
from ember.ops.registry import method


@primitive("FillBackward2")
def _fill(ctx, xp, x, value):
    return xp.full(x.shape, value, dtype=x.dtype)


@primitive("FillBackward3")
def _fill_with_tensor(ctx, xp, x, value):
    return xp.broadcast_to(value.astype(x.dtype), x.shape).copy()


@primitive("ZeroBackward0")
def _zero(ctx, xp, x):
    return xp.zeros_like(x)


_fill.derivative(lambda ctx, g: zeros_like(g))
_zero.derivative(lambda ctx, g: zeros_like(g))


@_fill_with_tensor.derivative
def _(ctx, g):
    need_x, need_value = ctx.needs_input_grad
    return zeros_like(g) if need_x else None, g.sum() if need_value else None


@method("fill_")
def fill_(self, value):
    """Set every element to ``value`` (a number or a 0-d tensor): ``x.fill_(2.5)``."""
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions."
            )
        value = value.to(self._device)
        return inplace(self, lambda t, v: _fill_with_tensor(t, v), value)
    return inplace(self, lambda t: _fill(t, value=value))


@method("zero_")
def zero_(self):
    """Set every element to zero: ``x.zero_()``."""
    return inplace(self, _zero)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_fill.jvp(lambda j: zeros_like(j.out))
_zero.jvp(lambda j: zeros_like(j.out))
_fill_with_tensor.jvp(lambda j: j.tangent(1))
