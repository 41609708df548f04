"""Gradient hooks on tensors and nodes, and the handle that removes one.

``Tensor.register_hook``, ``Tensor.register_post_accumulate_grad_hook`` and
``Tensor.retain_grad`` are attached here: the tensor core below autograd knows
nothing of graphs.
"""
import weakref

from ember._tensor import Tensor


class RemovableHandle:
    """Returned by every ``register_*hook``: ``handle.remove()`` (or leaving a ``with``) unregisters it.

    ``hooks`` is the container the hook was put in: a dict keyed by this handle's ``id``
    (modules' hooks) or a list holding ``fn`` (the graph's hooks, run in order)."""

    _next_id = 0

    def __init__(self, hooks, fn=None):
        self._hooks, self._fn = hooks, fn
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        if isinstance(self._hooks, dict):
            self._hooks.pop(self.id, None)
        elif self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_hook(self, hook):
    """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:
        if self._hooks is None:
            self._hooks = []
        hooks = self._hooks
    else:
        hooks = self.grad_fn._tensor_pre_hooks(self._output_nr)
        if self._retains_grad:  # retain_grad sees the hooked gradient, as in PyTorch
            hooks.insert(len(hooks) - 1, hook)
            return RemovableHandle(hooks, hook)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` after a leaf's ``.grad`` was accumulated."""
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if self._post_acc_hooks is None:
        self._post_acc_hooks = []
    self._post_acc_hooks.append(hook)
    return RemovableHandle(self._post_acc_hooks, hook)


def retain_grad(self):
    """Keep this non-leaf tensor's gradient in ``.grad`` on backward."""
    if self.grad_fn is None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        return
    if self._retains_grad:
        return
    ref = weakref.ref(self)

    def keep(grad):
        t = ref()
        if t is not None:
            t.grad = grad.detach() if t.grad is None else t.grad + grad.detach()
    self.grad_fn._tensor_pre_hooks(self._output_nr).append(keep)
    self._retains_grad = True


Tensor.register_hook = register_hook
Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
Tensor.retain_grad = retain_grad
