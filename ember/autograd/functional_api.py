"""``ember.autograd.backward`` and ``ember.autograd.grad``: argument checks around the engine.
``Tensor.backward`` is attached here."""
from ember._tensor import Tensor, observe_read
from ember.autograd.engine import run_backward
from ember.creation import ones_like, tensor, zeros_like


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _make_grads(outputs, grads):
    grads = (None,) * len(outputs) if grads is None else _as_tuple(grads)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs (got {len(grads)} gradients "
                           f"for {len(outputs)} outputs)")
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (output {i} has shape "
                    f"{list(out.shape)}; pass gradient=... of that shape, or reduce it with .sum() first)"
                )
            g = ones_like(out)
        elif not isinstance(g, Tensor):
            g = tensor(g, dtype=out.dtype, device=out.device)
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape "
                f"of {out.shape}."
            )
        result.append(g)
    return result


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or of ``inputs``)."""
    tensors = _as_tuple(tensors)
    for t in tensors:  # the gradients land in .grad, outside any captured graph: a graph break for ember.compile
        observe_read(t)
    grads = _make_grads(tensors, grad_tensors if grad_variables is None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    captured = run_backward(tensors, grads, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)
    for t, g in zip(inputs or (), captured):
        if t.grad_fn is not None and g is not None and not t._retains_grad:  # the engine did leaves, retain_grad
            g = g if create_graph else g.detach()
            t.grad = g if t.grad is None else t.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    >>> gx, = ember.autograd.grad((x ** 2).sum(), x)
    """
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outputs, grads, retain_graph=retain_graph, create_graph=create_graph,
                            inputs=inputs, accumulate=False)
    result = []
    for t, g in zip(inputs, captured):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = zeros_like(t)
        elif not create_graph:
            g = _detach_primal(g)
        result.append(g)
    return tuple(result)


def _detach_primal(g):
    """``g`` out of the graph, still dual where it is (a gradient computed on dual tensors has tangents)."""
    d = g.detach()
    if g._fw_grads is not None:
        d._fw_grads = dict(g._fw_grads)
    return d


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaf) into each leaf's ``.grad``."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


_tensor_backward.__name__ = "backward"
Tensor.backward = _tensor_backward
