"""``ember.library``: extend ember with new ops that behave like built-in ones, PyTorch's
``torch.library``. ``custom_op`` turns a type-annotated function into an op (its schema inferred
from the hints); ``register_autograd``, ``register_fake`` and ``register_kernel`` add a derivative,
a shape function and per-device kernels; ``opcheck`` tests the result. The op is
``ember.ops.<namespace>.<name>``, records one autograd node, is captured by ``ember.export`` as one
call (replayed and saved by name), and runs on the meta device through its fake function.

    >>> @ember.library.custom_op("mylib::scale", mutates_args=())
    ... def scale(x: ember.Tensor, k: float) -> ember.Tensor:
    ...     return x * k
"""
from ember.library.contexts import get_ctx
from ember.library.custom_ops import CustomOpDef, custom_op
from ember.library.library import (
    Library, define, fallthrough_kernel, get_kernel, impl, impl_abstract, register_autocast, register_autograd,
    register_fake, register_kernel, register_torch_dispatch, register_vmap, triton_op, wrap_triton,
)
from ember.library.opcheck import OpCheckError, opcheck
from ember.library.schema import infer_schema

__all__ = ["CustomOpDef", "Library", "OpCheckError", "custom_op", "define", "fallthrough_kernel", "get_ctx",
           "get_kernel", "impl", "impl_abstract", "infer_schema", "opcheck", "register_autocast", "register_autograd",
           "register_fake", "register_kernel", "register_torch_dispatch", "register_vmap", "triton_op",
           "wrap_triton"]
