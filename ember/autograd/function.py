"""Custom differentiable operations: ``ember.autograd.Function``.

A subclass declares a static ``forward`` on tensors and a static ``backward``
that returns one gradient per forward argument. ``apply`` runs the forward with
recording off and records a single node, ``<ClassName>Backward``, which is also
the ``ctx`` both methods receive::

    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    y = Square.apply(ember.tensor([3.0], requires_grad=True))   # y.grad_fn.name() == "SquareBackward"
"""
import functools

from ember._tensor import Tensor
from ember.creation import zeros
from ember.autograd import anomaly, grad_mode
from ember.autograd.graph import Node, accumulator


def _edge(t):
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (accumulator(t), 0)


class FunctionCtx:
    """What ``forward``/``setup_context`` may tell the backward about the call."""

    def save_for_backward(self, *tensors):
        """Keep tensors (inputs, outputs or None) for ``backward`` as ``ctx.saved_tensors``."""
        self._to_save = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that ``forward`` modified in place (and returns)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that get no gradient (indices, masks)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """With False, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """The node (and ctx) of one ``Function.apply`` call."""

    _forward_cls = None
    _to_save = ()
    _dirty = ()
    _non_differentiable = ()
    materialize_grads = True
    needs_input_grad = ()

    def _backward(self, *grads):
        if self.materialize_grads:
            grads = [zeros(m[0], dtype=m[1], device=m[2]) if g is None and m is not None else g
                     for g, m in zip(grads, self._out_meta)]
        result = self._forward_cls.backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        expected = len(self._is_tensor)
        if len(result) != expected:
            if len(result) < expected or any(g is not None for g in result[expected:]):
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {expected}, got {len(result)})")
            result = result[:expected]
        out = []
        for i, (g, is_tensor) in enumerate(zip(result, self._is_tensor)):
            if not is_tensor:
                if g is not None:
                    raise RuntimeError(f"function {self.name()} returned a gradient different than None at position "
                                       f"{i + 1}, but the corresponding forward input was not a Variable")
                continue
            meta = self._meta[len(out)]
            if g is not None and meta is not None and not _expandable(meta[0], g.shape):
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index {len(out)} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(meta[0])}")
            out.append(g)
        return tuple(out)


def _expandable(shape, target):
    """Whether ``shape`` broadcasts to ``target`` (so a gradient of ``target`` sums back to it)."""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named ``<ClassName>Backward``."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class of custom ops: subclass with static ``forward`` and ``backward``, call ``apply``.

    >>> y = Square.apply(x)          # see the module docstring for Square
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Override (with a ``forward`` that takes no ctx) to save state from ``inputs`` and ``output``."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Call it as Cls.apply(...))")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, when an input requires grad, record ``<ClassName>Backward``."""
        record = grad_mode.state.enabled and any(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(record and isinstance(a, Tensor) and a._requires_grad for a in args)
        with grad_mode.no_grad():
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        if not record:
            return out
        outs = _connect(ctx, args, out if isinstance(out, tuple) else (out,))
        return outs if isinstance(out, tuple) else outs[0]


def _connect(node, args, outs):
    """Wire ``node`` between the inputs and the outputs of one recorded call."""
    inputs = [a for a in args if isinstance(a, Tensor)]
    node._is_tensor = [isinstance(a, Tensor) for a in args]
    node.next_functions = tuple(_edge(a) if a._requires_grad else (None, 0) for a in inputs)
    node._meta = [(a._data.shape, a._dtype) if a._requires_grad else None for a in inputs]
    if anomaly.state.enabled:
        anomaly.record(node)
    dirty = {id(t) for t in node._dirty}
    non_diff = {id(t) for t in node._non_differentiable}
    input_ids = {id(a) for a in inputs}
    wired, seen, meta = [], set(), []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            wired.append(o)
            meta.append(None)
            continue
        if id(o) in dirty:
            if o._requires_grad and o.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        elif id(o) in input_ids or id(o) in seen:  # returned unchanged: the output is a new alias
            o = Tensor._make(o._data, o._dtype, o._device, base=o._base if o._base is not None else o)
        seen.add(id(o))
        meta.append((o._data.shape, o._dtype, o._device))
        if o._dtype.category >= 2 and id(outs[i]) not in non_diff:
            o.grad_fn, o._output_nr, o._requires_grad = node, i, True
        else:
            o._requires_grad = False
        wired.append(o)
    node.num_outputs = len(outs)
    node._out_meta = meta
    if node._to_save:
        node._save(node._to_save, [o for o in wired if isinstance(o, Tensor) and o.grad_fn is node])
        del node._to_save
    return tuple(wired)


class _DelayedError(Node):
    """Stands for a backward that cannot itself be differentiated."""

    def _backward(self, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(backward):
    """Decorate a ``backward`` whose own gradient is not defined: it runs with recording
    off, and differentiating its result (``create_graph=True``) raises."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            result = backward(ctx, *grads)
        sources = [g for g in grads if isinstance(g, Tensor) and g._requires_grad]
        if not grad_mode.state.enabled or not sources:
            return result
        node = _DelayedError()
        node.next_functions = tuple(_edge(g) for g in sources)
        node._meta = [(g._data.shape, g._dtype) for g in sources]
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        node.num_outputs = len(outs)
        wrapped = tuple(
            Tensor._make(o._data, o._dtype, o._device, o._dtype.category >= 2, node, i)
            if isinstance(o, Tensor) and o._dtype.category >= 2 else o
            for i, o in enumerate(outs)
        )
        return wrapped[0] if single else wrapped
    return wrapper


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """Legacy wrapper: ``Variable(t, requires_grad=True)`` is a tensor sharing ``t``'s memory."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        return t.requires_grad_(requires_grad) if requires_grad else t
