"""Function transforms (PyTorch's ``torch.func``): ``vmap`` (a batching transform over the
dispatcher), ``grad``/``vjp``/``jacrev`` (reverse mode), ``functional_call`` and friends."""
from ember.func.forward import jacfwd, jvp, linearize
from ember.func.grad import grad, grad_and_value, hessian, jacrev, vjp
from ember.func.misc import debug_unwrap, functionalize
from ember.func.module_state import functional_call, replace_all_batch_norm_modules_, stack_module_state
from ember.func.rearrange import rearrange
from ember.func.vmap import vmap

__all__ = [
    "debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
    "linearize", "rearrange", "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap",
]
