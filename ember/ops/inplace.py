"""In-place ops: ``inplace`` runs an out-of-place op and writes its result into the
tensor, bumping its version; the graph sees the op applied to the old value.

On a view of a tensor with autograd history (PyTorch's CopySlices), ``y[0].mul_(2)``
changes part of ``y``. The graph records it as if ``y`` were rebuilt: the view's old
values are gathered from ``y``'s old history, the op runs on them, and a ``CopySlices``
node puts the result back. Its backward sends the gradient of the written region
through the op and the rest of the gradient to ``y``'s old history. The view's own
``grad_fn`` becomes a fresh view of the new ``y`` (``AsStridedBackward0``).

A view is located inside its base by the logical (C-order) flat indices of its
elements, found from the two arrays' memory layouts, so any chain of views
(slices, transposes, reshapes) is handled the same way.
"""
import sys

from ember._tensor import Tensor
from ember.autograd import forward_ad, grad_mode
from ember.creation import zeros
from ember.ops import dispatch, dual
from ember.ops.dispatch import primitive, xp_of
from ember.ops.dual import linear

_state = grad_mode.state
_dual = forward_ad.state


@primitive("AsStridedBackward0", name="flat_gather")
def _gather(ctx, xp, x, idx):
    ctx.idx, ctx.shape = idx, x.shape
    return x.reshape(-1)[idx]


@_gather.derivative
def _(ctx, g):
    return _copy_slices(zeros(ctx.shape, dtype=g.dtype, device=g.device), g, idx=ctx.idx)


@primitive("CopySlices")
def _copy_slices(ctx, xp, base, value, idx, written=False):
    """``base`` with ``value`` at the flat positions ``idx``; ``written``: already there."""
    ctx.idx = idx
    if written:
        return base
    out = base.copy()
    out.reshape(-1)[idx] = value
    return out


@_copy_slices.derivative
def _(ctx, g):
    need_base, need_value = ctx.needs_input_grad
    grad_base = _copy_slices(g, 0.0, idx=ctx.idx) if need_base else None
    grad_value = _gather(g, idx=ctx.idx) if need_value else None
    return grad_base, grad_value


def _address(a):
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else a.data.ptr


def _byte_positions(xp, shape, strides, offset=0):
    """The byte offset of every element of a strided layout, in logical order."""
    pos = xp.asarray(offset, dtype=xp.int64)
    for n, s in zip(shape, strides):
        pos = pos[..., None] + xp.arange(n, dtype=xp.int64) * s
    return pos


def flat_index(xp, base, view):
    """For each element of the array ``view`` (which lies in ``base``'s memory), its
    index in ``base`` flattened in C order."""
    offset = _address(view) - _address(base)
    view_pos = _byte_positions(xp, view.shape, view.strides, offset)
    if base.flags.c_contiguous:
        return view_pos // base.itemsize
    base_pos = _byte_positions(xp, base.shape, base.strides).reshape(-1)
    order = xp.argsort(base_pos)
    return order[xp.searchsorted(base_pos[order], view_pos)]


def _history_alias(t):
    """A tensor with ``t``'s memory and current history."""
    alias = Tensor._make(t._data, t._dtype, t._device, t._requires_grad, t.grad_fn, t._output_nr)
    alias._version = t._version
    return alias


def check_view(view):
    """PyTorch's errors for in-place ops on views that autograd cannot track."""
    base = view._base
    if not grad_mode.state.enabled:
        return
    if base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    if base._requires_grad and not view._requires_grad:
        raise RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
            "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
            "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
            "tracked) or both outside (if you want the inplace to be tracked)."
        )


def inplace_on_view(view, fn, args, kwargs, write):
    """Run ``fn`` on ``view``'s values, write the result into its memory with ``write``,
    and record the change on the base as ``CopySlices``."""
    check_view(view)
    base = view._base
    idx = flat_index(xp_of(base._device), base._data, view._data)
    old = _gather(_history_alias(base), idx=idx)
    if _dual.active:
        dual.copy_tangents(view, old)
    out = fn(old, *[old if a is view else a for a in args], **kwargs)
    write(view, out)
    if not out._requires_grad:
        return view
    new_base = _copy_slices(_history_alias(base), out, idx=idx, written=True)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
    regenerate(view, idx)
    return view


def regenerate(view, idx=None):
    """Make ``view``'s grad_fn a fresh view of its base's current history."""
    base = view._base
    if idx is None:
        idx = flat_index(xp_of(base._device), base._data, view._data)
    fresh = _gather(_history_alias(base), idx=idx)
    view.grad_fn, view._output_nr, view._requires_grad = fresh.grad_fn, 0, fresh._requires_grad
    view._view_version = view._version[0]


dispatch.regenerate_view = regenerate


# in-place on any tensor ------------------------------------------------------------------

def _check_leaf(t):
    if t._requires_grad and t.grad_fn is None and _state.enabled:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap the update in `with ember.no_grad():` or operate on x.detach()."
        )


def inplace(self, fn, *args, **kwargs):
    """Run the out-of-place ``fn(self, *args)`` and write its result into ``self``.

    The graph sees the op applied to ``self``'s old value; if the op saved that
    value for backward, the saved alias keeps a copy of the old memory.
    """
    _check_leaf(self)
    records = _state.enabled and (self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args))
    if not records:
        out = fn(self, *args, **kwargs)
        _write(self, out)
        return self
    if self._base is not None:  # a view: the base's history changes too (CopySlices)
        return inplace_on_view(self, fn, args, kwargs, _write)
    old = Tensor._make(self._data, self._dtype, self._device, self._requires_grad, self.grad_fn, self._output_nr)
    old._version = self._version
    if self._fw_grads is not None:
        old._fw_grads = dict(self._fw_grads)
    refs = sys.getrefcount(old)
    out = fn(old, *args, **kwargs)
    if sys.getrefcount(old) > refs:
        old._data = old._data.copy()
        old._version = [self._version[0]]
    _write(self, out)
    if out._requires_grad:
        self.grad_fn, self._output_nr, self._requires_grad = out.grad_fn, out._output_nr, True
    return self


def _write(self, out):
    if not isinstance(out, Tensor):
        raise TypeError("in-place op produced no tensor")
    if dispatch.batching is not None and dispatch.batching.write(self, out):  # vmap: into the batched memory
        self._bump()
        return
    if out._dtype.category > self._dtype.category:
        raise RuntimeError(f"result type {out._dtype.name} can't be cast to the desired output type {self._dtype.name}")
    if out._data.shape != self._data.shape:
        raise RuntimeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(out.shape)}"
        )
    if dispatch.observer is not None:
        dispatch.observer.writing(self, out)
    try:
        self._data[...] = out._data
    except ValueError as e:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location (it is an expanded view). Please clone() the tensor before performing the "
            f"operation. ({e})"
        ) from None
    self._bump()
    if _dual.active:
        dual.write_tangents(self, out)
    if dispatch.observer is not None:
        dispatch.observer.wrote(self, out)

# forward-mode rules (run by ember.ops.dual) --------------------------------------------------

_gather.jvp(linear())
_copy_slices.jvp(lambda j: _copy_slices(j.tangent(0), j.tangent(1), idx=j.params["idx"]))
