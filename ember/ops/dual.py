"""The dispatcher's forward-mode half: output tangents of a primitive run on dual inputs.

While a forward AD level is active, ``dispatch.execute`` hands each call here. The forward
runs as usual (levels hidden); then, for each level at which some input has a tangent,
the primitive's rule (``@prim.jvp``) computes the output tangents in ember ops with that
level hidden, so a rule sees primals and what it computes is dual at the other levels
(nesting) and records a graph when gradients are on (forward-over-reverse).

A primitive without a rule falls back on its reverse derivative: the vjp ``u -> J^T u`` is
linear in ``u``, so differentiating ``<J^T u, t>`` with respect to ``u`` gives ``J t``
exactly (``transposed_vjp``). In-place writes carry tangents along (``write_tangents``).
"""
from ember._tensor import Tensor
from ember.autograd import forward_ad, grad_mode
from ember.autograd.forward_ad import set_tangent, tangent_of
from ember.autograd.functional_api import grad
from ember.autograd.graph import OpNode
from ember.creation import zeros_like
from ember.ops import dispatch
from ember.ops.dispatch import _fresh, _Scratch, _wrap, check_broadcast, xp_of

_fw = forward_ad.state


class Jvp:
    """What a forward rule reads: ``inputs`` (the primals; Python scalars as given),
    ``tangents`` (None where an input is not dual), ``out`` (the result: a tensor or a tuple),
    ``params`` (the call's keyword parameters) and ``ctx`` (what the forward stashed on it)."""

    __slots__ = ("prim", "ctx", "inputs", "tangents", "out", "params")

    def __init__(self, prim, ctx, inputs, tangents, out, params):
        self.prim, self.ctx, self.inputs, self.tangents, self.out, self.params = prim, ctx, inputs, tangents, out, params

    def tangent(self, i):
        """Input ``i``'s tangent; zeros (0 for a Python scalar) where it has none."""
        t = self.tangents[i]
        if t is not None:
            return t
        x = self.inputs[i]
        return zeros_like(x) if isinstance(x, Tensor) else 0

    def call(self, *inputs):
        """The primitive again, with the same parameters, on other inputs."""
        return self.prim(*inputs, **self.params)


def linear(*positions):
    """The rule of an op linear in the inputs at ``positions`` together (all floating tensor
    and Python number inputs when none are named): the op itself on their tangents."""
    def rule(j):
        args = list(j.inputs)
        for i in positions or [i for i, x in enumerate(args) if _operand(x)]:
            args[i] = j.tangent(i)
        return j.call(*args)
    return rule


def _operand(x):
    if isinstance(x, Tensor):
        return x._dtype.category >= 2
    return isinstance(x, (int, float, complex)) and not isinstance(x, bool)


def product(*positions):
    """The rule of an op linear in each input at ``positions`` separately (matmul, conv):
    the sum over the dual ones of the op with that input replaced by its tangent."""
    def rule(j):
        total = None
        for i in positions:
            if j.tangents[i] is not None:
                args = list(j.inputs)
                args[i] = j.tangents[i]
                term = j.call(*args)
                total = term if total is None else total + term
        return total
    return rule


def elementwise(j):
    """The rule of a real elementwise op (its Jacobian in each input is diagonal, so equal to its
    transpose): the derivative applied to each input's tangent gives that input's term. On
    complex values the generic rule runs instead."""
    if any(isinstance(x, Tensor) and x._dtype.category == 3 for x in j.inputs):
        return transposed_vjp(j)
    shape, total = j.out.shape, None
    for i, t in enumerate(j.tangents):
        if t is not None:
            grads = j.prim.backward(DerivativeCtx(j, i), t.expand(shape) if t.shape != shape else t)
            term = grads[i] if type(grads) is tuple else grads
            if term is not None:
                total = term if total is None else total + term
    return total


class DerivativeCtx:
    """A ctx to run a primitive's derivative from a forward rule: what the forward stashed, the
    tensors the record saves (read from the call), and the input ``wanted`` (all when None)
    needing its gradient."""

    def __init__(self, j, wanted=None):
        prim, outs = j.prim, j.out if type(j.out) is tuple else (j.out,)
        saved = list(j.inputs) if prim.save is True else [j.inputs[i] for i in prim.save]
        if prim.save_output:
            saved += outs if prim.save_output is True else [outs[i] for i in prim.save_output]
        self.saved_tensors = tuple(saved)
        self.needs_input_grad = tuple(wanted is None or i == wanted for i in range(len(j.inputs)))
        self._stash = j.ctx

    def __getattr__(self, name):
        return getattr(self._stash, name)


def differentiable(t):
    """Whether an op on ``t`` needs a derivative: ``t`` requires grad while recording, or is dual."""
    if t._requires_grad and grad_mode.state.enabled:
        return True
    return any(tangent_of(t, level) is not None for level in _fw.active)


def run(prim, inputs, arrays, dev, params):
    active = _fw.active
    found = []
    if prim.backward is not None:
        for level in active:
            tangents = None
            for i, x in enumerate(inputs):
                if isinstance(x, Tensor):
                    t = tangent_of(x, level)
                    if t is not None:
                        if tangents is None:
                            tangents = [None] * len(inputs)
                        tangents[i] = t
            if tangents is not None:
                found.append((level, tangents))
    _fw.active = ()
    try:
        if not found:
            return dispatch.execute(prim, inputs, arrays, dev, params)
        out, ctx = _forward(prim, inputs, arrays, dev, params)
    finally:
        _fw.active = active
    outs = out if type(out) is tuple else (out,)
    if not any(isinstance(o, Tensor) and o._dtype.category >= 2 for o in outs):
        return out
    for level, tangents in found:
        _fw.active = tuple(a for a in active if a is not level)
        try:
            j = Jvp(prim, ctx, inputs, tangents, out, params)
            result = prim.jvp_rule(j) if prim.jvp_rule is not None else transposed_vjp(j)
            _attach(outs, result if type(result) is tuple else (result,), level)
        finally:
            _fw.active = active
    return out


dispatch.dual_run = run


def _forward(prim, inputs, arrays, dev, params):
    """The result as ``dispatch.execute`` makes it, and the ctx the forward stashed on."""
    if grad_mode.state.enabled and any(getattr(x, "_requires_grad", False) for x in inputs):
        out = dispatch.execute(prim, inputs, arrays, dev, params)
        for o in (out if type(out) is tuple else (out,)):
            if isinstance(o, Tensor) and type(o.grad_fn) is OpNode:
                return out, o.grad_fn
        return out, None
    ctx = _Scratch()
    try:
        out = prim.forward(ctx, xp_of(dev), *arrays, **params)
    except ValueError:
        check_broadcast(arrays)
        raise
    if type(out) is tuple:
        return tuple(_wrap(o, dev, None, i, prim, inputs) for i, o in enumerate(out)), ctx
    return (_wrap(out, dev, None, 0, prim, inputs) if prim.view else _fresh(out, dev, None)), ctx


def _attach(outs, tangents, level):
    for o, t in zip(outs, tangents):
        if t is None or not isinstance(o, Tensor) or o._dtype.category < 2:
            continue
        set_tangent(o, level, fit(t, o))
        node = o.grad_fn
        if type(node) is OpNode and node._saved:  # a saved output is rebuilt from its data: give it the tangents
            node._saved = [(s, v, out + (o._fw_grads,)) if out is not None and len(out) == 5 and out[0] is o._data
                           else (s, v, out) for s, v, out in node._saved]


def fit(tangent, like):
    """``tangent`` with ``like``'s shape, dtype and (for a tensor that is not a view) memory layout."""
    if tangent._data.shape != like._data.shape:
        tangent = tangent.expand(like.shape)
        if like._base is None:
            tangent = tangent.contiguous()
    if tangent._dtype is not like._dtype:
        tangent = tangent.to(like._dtype)
    if hasattr(tangent, "_level"):  # batched by ember.func.vmap (jacfwd's basis): no memory layout of its own
        return tangent
    if like._base is None and tangent._data.strides != like._data.strides and like._data.size > 1:
        xp = xp_of(like._device)
        laid = Tensor._make(xp.empty_like(like._data), like._dtype, like._device)
        if laid._data.strides == like._data.strides:
            tangent = laid.copy_(tangent)
    return tangent


def transposed_vjp(j):
    """The fallback rule: ``J t`` from the reverse derivative, exactly (see the module's docstring)."""
    keep_graph = grad_mode.state.enabled and any(
        getattr(x, "_requires_grad", False) for x in (*j.inputs, *j.tangents))
    with grad_mode.enable_grad():
        ins, wrt, tangents = [], [], []
        for x, t in zip(j.inputs, j.tangents):
            if t is None:
                ins.append(x)
                continue
            a = forward_ad.alias(x, "AliasBackward0")
            a._requires_grad = True
            ins.append(a)
            wrt.append(a)
            tangents.append(t)
        out = j.call(*ins)
        outs = out if type(out) is tuple else (out,)
        diff = [o for o in outs if isinstance(o, Tensor) and o._requires_grad]
        us = [zeros_like(o).requires_grad_() for o in diff]
        vjps = grad(diff, wrt, grad_outputs=us, create_graph=True, allow_unused=True)
        pairs = [(g, t) for g, t in zip(vjps, tangents) if g is not None and g._requires_grad]
        if pairs:
            jvps = grad([g for g, _ in pairs], us, grad_outputs=[t.to(g._dtype) for g, t in pairs],
                        create_graph=keep_graph, allow_unused=True)
        else:
            jvps = (None,) * len(us)
    by_output = dict(zip(map(id, diff), jvps))
    result = []
    for o, primal in zip(outs, j.out if type(j.out) is tuple else (j.out,)):
        if not (isinstance(primal, Tensor) and primal._dtype.category >= 2):
            result.append(None)
            continue
        t = by_output.get(id(o))
        result.append(zeros_like(primal) if t is None else t)
    return tuple(result) if type(j.out) is tuple else result[0]


# in-place writes -------------------------------------------------------------------------

def copy_tangents(src, dst):
    """Give ``dst`` (a stand-in for ``src``'s old value) ``src``'s tangents."""
    for level in _fw.active:
        t = tangent_of(src, level)
        if t is not None:
            set_tangent(dst, level, t)


def write_tangents(dst, src):
    """After ``src``'s values were written into ``dst``'s memory: ``dst``'s tangents take
    ``src``'s, in place where ``dst`` has one (views of it see the change). A view that had
    none makes its base dual first (zeros elsewhere), as in PyTorch."""
    active = _fw.active
    for level in active:
        new, old = tangent_of(src, level), tangent_of(dst, level)
        if new is None and old is None:
            continue
        _fw.active = tuple(a for a in active if a is not level)
        try:
            if old is None and dst._base is not None:
                base = dst._base
                if tangent_of(base, level) is None:
                    set_tangent(base, level, Tensor._make(xp_of(base._device).zeros_like(base._data), base._dtype,
                                                          base._device), late=True)
                old = tangent_of(dst, level)
            if old is None:
                set_tangent(dst, level, fit(new, dst), late=True)
            elif new is None:
                old.zero_()
            else:
                old.copy_(new)
        finally:
            _fw.active = active
