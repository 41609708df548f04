"""Forward-mode AD (``ember.autograd.forward_ad``): dual tensors carry a tangent per level.

A dual tensor is an ordinary Tensor whose ``_fw_grads`` maps a live level to its
tangent. The dispatcher (``ember.ops.dual``) computes the output tangents of every
primitive from its forward rule while a level is active; this module holds the
levels, the user-facing API and the tangent bookkeeping.

Unlike PyTorch's, levels nest: a tangent computed at one level is itself an ordinary
tensor, dual at the other live levels (forward-over-forward), and rules are written
in ember ops, so they record graphs too (forward-over-reverse, reverse-over-forward).

>>> with dual_level():
...     y = ember.sin(make_dual(x, v))
...     jvp = unpack_dual(y).tangent      # cos(x) * v
"""
import functools
import weakref
from typing import NamedTuple

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.graph import Node, accumulator
from ember.backend import array_module

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]


class Level:
    """One entered level; its identity keys the tangents (a re-entered index is a new level)."""

    __slots__ = ("index", "duals", "late", "__weakref__")

    def __init__(self, index):
        self.index = index
        self.duals = []  # weak references to the tensors given a tangent at this level
        self.late = {}  # id -> weak reference: tensors made dual by an in-place write (their older views see it)

    def __repr__(self):
        return f"<forward AD level {self.index}>"

    def __deepcopy__(self, memo):  # a deep-copied dual tensor stays dual at the same level
        return self


class _State:
    """``levels``: the entered levels, innermost last. ``active``: those the dispatcher
    propagates now (a rule being computed at a level runs with that level hidden)."""

    def __init__(self):
        self.levels = []
        self.active = ()


state = _State()  # process-wide, like PyTorch's forward AD levels


def enter_dual_level():
    """Enter a new forward AD level and return its index (the default level of this API from now on)."""
    level = Level(len(state.levels))
    state.levels.append(level)
    state.active = (*state.active, level)
    return level.index


def exit_dual_level(*, level=None):
    """Leave the innermost level: every tangent at it is dropped."""
    current = len(state.levels) - 1
    if level is None:
        level = current
    if level != current or current < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    lvl = state.levels.pop()
    state.active = tuple(a for a in state.active if a is not lvl)
    for ref in lvl.duals:
        t = ref()
        if t is not None and t._fw_grads is not None:
            t._fw_grads.pop(lvl, None)
            if not t._fw_grads:
                t._fw_grads = None
    lvl.duals.clear()
    lvl.late.clear()


class dual_level:
    """Context manager (and decorator) entering a level for its block: ``with dual_level(): ...``.

    Leaving the block drops every tangent made at that level."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        return wrapper


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal and its tangent (None when the tensor is not dual)."""

    primal: Tensor
    tangent: Tensor | None


def _level(level, what):
    if level is None:
        level = len(state.levels) - 1
        if level < 0:
            return None
    if not 0 <= level < len(state.levels):
        raise RuntimeError(f"Invalid level given to {what}")
    return state.levels[level]


def make_dual(tensor, tangent, *, level=None):
    """A new tensor aliasing ``tensor`` (a view of it) whose tangent at ``level`` is ``tangent``.

    ``tangent`` is kept as it is when it has ``tensor``'s memory layout, copied into that layout
    otherwise. Backward-differentiable: gradients flow through it to ``tensor``."""
    if level is None and not state.levels:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    lvl = _level(level, "_make_dual")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original Tensor, this is "
            f"not supported. Tensor is of size {list(tensor.shape)} while the given forward gradient is of size "
            f"{list(tangent.shape)}.")
    if tangent._device != tensor._device:
        raise RuntimeError(f"Trying to set a forward gradient on a tensor of device {tensor.device} with a tangent "
                           f"of device {tangent.device}; move the tangent with .to(device) first.")
    if tangent_of(tensor, lvl) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {lvl.index} is not supported.")
    dual = alias(tensor, "MakeDualBackward0")
    set_tangent(dual, lvl, same_layout(tangent, tensor))
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at ``level``: ``primal`` is a view of ``tensor`` without
    that tangent (backward-differentiable), ``tangent`` the tangent itself, or None."""
    if level is not None and not 0 <= level < len(state.levels):
        return UnpackedDualTensor(tensor, None)
    lvl = _level(level, "_unpack_dual")
    if lvl is None:
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_of(tensor, lvl)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    primal = alias(tensor, "AliasBackward0")
    primal._fw_grads[lvl] = None
    return UnpackedDualTensor(primal, tangent)


# tangents ---------------------------------------------------------------------------------

def tangent_of(t, level):
    """``t``'s tangent at ``level``, or None. A view of a base that became dual in place after
    the view was made reads the matching part of the base's tangent."""
    grads = t._fw_grads
    if grads is not None and level in grads:
        return grads[level]  # None: explicitly not dual there (unpack_dual's primal)
    base = t._base
    if base is None or base._fw_grads is None:
        return None
    late = level.late.get(id(base))
    if late is None or late() is not base:
        return None
    base_tangent = base._fw_grads.get(level)
    if base_tangent is None:
        return None
    tangent = _view_in(base_tangent, base._data, t._data)
    if tangent is not None:
        set_tangent(t, level, tangent)
    return tangent


def set_tangent(t, level, tangent, late=False):
    """Make ``t`` dual at ``level``; ``late``: by an in-place write, so views made before see it."""
    grads = t._fw_grads
    if grads is None:
        grads = t._fw_grads = {}
    if level not in grads:
        level.duals.append(weakref.ref(t))
    grads[level] = tangent
    if late:
        level.late[id(t)] = weakref.ref(t)


def _view_in(base_tangent, base, view):
    """The view of ``base_tangent`` lying where ``view`` lies in ``base`` (same layouts), or None."""
    data = base_tangent._data
    if data.strides != base.strides or data.dtype != base.dtype:
        return None
    xp = array_module(base_tangent._device)
    offset = _address(view) - _address(base)
    if offset < 0:
        return None
    strided = xp.lib.stride_tricks.as_strided
    start = strided(data, shape=(offset // data.itemsize + 1,), strides=(data.itemsize,))[offset // data.itemsize:]
    out = strided(start, shape=view.shape, strides=view.strides)
    root = base_tangent._base if base_tangent._base is not None else base_tangent
    return Tensor._make(out, base_tangent._dtype, base_tangent._device, base=root)


def _address(a):
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else a.data.ptr


def same_layout(tangent, primal):
    """``tangent``, or a copy of it laid out in memory like ``primal`` (so views of the two match)."""
    if tangent._data.strides == primal._data.strides or primal._data.size <= 1:
        return tangent
    xp = array_module(primal._device)
    data = xp.empty_like(primal._data, dtype=tangent._data.dtype)
    if data.strides != primal._data.strides:
        return tangent
    data[...] = tangent._data
    out = Tensor._make(data, tangent._dtype, tangent._device)
    if tangent._fw_grads is not None:  # tangents of the tangent at other levels follow it
        out._fw_grads = dict(tangent._fw_grads)
    return out


# aliases ------------------------------------------------------------------------------------

class _AliasNode(Node):
    """The node of an alias (``make_dual``, ``unpack_dual``'s primal): the gradient passes unchanged."""

    def __init__(self, name, source):
        self._name = name
        self.next_functions = ((source.grad_fn, source._output_nr) if source.grad_fn is not None
                               else (accumulator(source), 0),)
        self._meta = ((source._data.shape, source._dtype),)

    def name(self):
        return self._name

    def _backward(self, g):
        return g


def alias(t, node_name):
    """A view of all of ``t`` with its tangents (a copy of the map) and, when recording, a node
    passing gradients to ``t``."""
    base = t._base if t._base is not None else t
    record = grad_mode.state.enabled and t._requires_grad
    out = Tensor._make(t._data, t._dtype, t._device, record, _AliasNode(node_name, t) if record else None, 0, base)
    if record:
        out._view_version = base._version[0]
    if t._fw_grads is not None:
        for level, tangent in t._fw_grads.items():
            set_tangent(out, level, tangent)
    return out
