"""Full module backward hooks: identity autograd nodes around a module's tensor inputs and outputs.

The output node sees the gradients w.r.t. the outputs (and runs the backward pre-hooks); the input node
sees the gradients w.r.t. the inputs and runs ``hook(module, grad_input, grad_output)``. Both only exist
for calls of modules that have such hooks."""
import warnings

from ember._tensor import Tensor
from ember.autograd import Function, grad_mode


class BackwardHookFunction(Function):
    """Identity on its tensor arguments whose backward passes the gradients through ``callback``."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(ctx.callback(grads))


def _replace(result, expected, what):
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != expected:
        raise RuntimeError(f"Backward hook returned an invalid number of {what}, got {len(result)}, but expected "
                           f"{expected}")
    return result


def _wrap(values, callback):
    """``values`` (a tuple) with its tensors passed through one BackwardHookFunction node, if any needs grad.

    ``callback`` sees one gradient per value (None for non-tensors) and returns as many."""
    positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
    tensors = [values[i] for i in positions]
    if not grad_mode.state.enabled or not any(t.requires_grad for t in tensors):
        return values, False

    def per_tensor(grads):
        packed = [None] * len(values)
        for i, g in zip(positions, grads):
            packed[i] = g
        result = callback(tuple(packed))
        return [result[i] for i in positions]

    new = list(values)
    for i, t in zip(positions, BackwardHookFunction.apply(per_tensor, *tensors)):
        new[i] = t
    return tuple(new), True


class BackwardHookCall:
    """The hooks of one module call: ``args = call.inputs(args)`` before forward, ``call.outputs(out)`` after."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.inputs_wrapped = False

    def inputs(self, args):
        self.n_inputs = len(args)
        args, self.inputs_wrapped = _wrap(tuple(args), self._run_full_hooks)
        return args

    def outputs(self, output):
        single = not isinstance(output, (tuple, list))
        values = (output,) if single else tuple(output)
        self.no_grad_outputs = [i for i, v in enumerate(values) if isinstance(v, Tensor) and not v.requires_grad]
        values, _ = _wrap(values, self._run_pre_hooks)
        if single:
            return values[0]
        return type(output)(values) if isinstance(output, list) else values

    def _run_pre_hooks(self, grads):
        grads = tuple(None if i in self.no_grad_outputs else g for i, g in enumerate(grads))
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grads)
            if result is not None:
                grads = _replace(result, len(grads), "grad_output")
        self.grad_output = grads
        if not self.inputs_wrapped and self.module._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            none = (None,) * self.n_inputs
            for hook in list(self.module._backward_hooks.values()):
                result = hook(self.module, none, grads)
                if result is not None and any(r is not None for r in _replace(result, self.n_inputs, "grad_input")):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
        return grads

    def _run_full_hooks(self, grads):
        grads = tuple(grads)
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grads, self.grad_output)
            if result is not None:
                grads = _replace(result, len(grads), "grad_input")
        return grads
