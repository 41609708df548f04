"""PyTorch's lower-level registration API over custom ops: ``Library`` objects (``define``/``impl``
by dispatch key), the module-level ``define``/``impl``/``register_*`` functions that take an op or
its name, and the kernel queries."""
from ember.library.custom_ops import CustomOpDef, custom_op, define_op, lookup_op
from ember.library.namespaces import split_qualname
from ember.library.schema import parse_schema

_KINDS = ("DEF", "IMPL", "FRAGMENT")
_DEVICE_KEYS = {"CPU": "cpu", "CUDA": "cuda", "": None, "CompositeExplicitAutograd": None}
_COMPOSITE_KEYS = ("CompositeImplicitAutograd", "Autograd")
_FAKE_KEYS = ("Meta", "FakeTensor")


def fallthrough_kernel():
    """The kernel that means "no kernel for this key": ``lib.impl(name, fallthrough_kernel, key)``
    removes the registration for that key."""
    raise NotImplementedError("fallthrough_kernel is a marker for Library.impl, not a function to call")


class Library:
    """Ops of one namespace: ``Library("mylib", "DEF")`` (define new ops), ``"IMPL"`` (add kernels to
    existing ones) or ``"FRAGMENT"`` (both, a namespace shared by several libraries)."""

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        split_qualname(f"{ns}::op")  # the namespace must be valid and not reserved
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._defined = []

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema, alias_analysis="", *, tags=()):
        """Define an op from ``"name(Tensor x, float a) -> Tensor"``; returns its name."""
        if self.kind == "IMPL":
            raise RuntimeError(f"{self!r}: an IMPL library can't define ops (use 'DEF' or 'FRAGMENT')")
        name, _ = parse_schema(schema)  # RuntimeError for a malformed schema, as PyTorch's parser raises
        op = define_op(f"{self.ns}::{name}", "(" + schema.partition("(")[2])
        self._defined.append(op)
        return name

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False):
        """Register ``fn`` for ``op_name`` under a dispatch key: "CPU"/"CUDA" (a device kernel), ""
        (every device), "Meta" (the fake function), "CompositeImplicitAutograd" (run on tensors
        directly: autograd and capture see the ops inside)."""
        if with_keyset:
            raise NotImplementedError("with_keyset=True: ember has no dispatch key sets")
        op = lookup_op(op_name if isinstance(op_name, CustomOpDef) or "::" in str(op_name)
                       else f"{self.ns}::{op_name}")
        register(op, dispatch_key or self.dispatch_key, fn)

    def fallback(self, fn, dispatch_key="", *, with_keyset=False):
        raise NotImplementedError("Library.fallback: ember has no dispatch keys to fall back on")

    def _destroy(self):
        for op in self._defined:
            op.remove()


def register(op, dispatch_key, fn):
    if dispatch_key in _FAKE_KEYS:
        op._fake = None if fn is fallthrough_kernel else fn
    elif dispatch_key in _COMPOSITE_KEYS:
        op._composite = None if fn is fallthrough_kernel else fn
    elif dispatch_key in _DEVICE_KEYS:
        key = _DEVICE_KEYS[dispatch_key]
        if fn is fallthrough_kernel:
            op._kernels.pop(key, None)
        else:
            op._kernels[key] = fn
    else:
        raise ValueError(f"dispatch key {dispatch_key!r} is not one ember knows (CPU, CUDA, Meta, "
                         "CompositeImplicitAutograd, CompositeExplicitAutograd)")


def define(qualname, schema, *, lib=None, tags=()):
    """Define the op ``qualname`` (``"mylib::foo"``) with ``schema`` (``"(Tensor x) -> Tensor"``)."""
    return define_op(qualname, schema)


def impl(qualname, types, func=None, *, lib=None):
    """Register ``func`` as ``qualname``'s kernel for device ``types`` ("cpu", "cuda", a list, or the
    dispatch keys "CPU"/"Meta"/"CompositeImplicitAutograd"); a decorator without ``func``."""
    def make(fn):
        op = lookup_op(qualname)
        for t in [types] if isinstance(types, str) else list(types):
            key = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "default": ""}.get(t, t)
            register(op, key, fn)
        return fn
    return make(func) if func is not None else make


def register_kernel(op, device_types, func=None, /, *, lib=None):
    return lookup_op(op).register_kernel(device_types, func)


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """``op``'s shape/dtype function (a decorator without ``func``)."""
    return lookup_op(op).register_fake(func, allow_override=allow_override)


def impl_abstract(qualname, func=None, *, lib=None, _stacklevel=1):
    """The old name of ``register_fake``."""
    return register_fake(qualname, func)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    lookup_op(op).register_autograd(backward, setup_context=setup_context)


def register_vmap(op, func=None, /, *, lib=None):
    return lookup_op(op).register_vmap(func)


def register_autocast(op, device_type, cast_inputs, /, *, lib=None):
    lookup_op(op).register_autocast(device_type, cast_inputs)


def register_torch_dispatch(op, torch_dispatch_class, func=None, /, *, lib=None):
    """PyTorch's per-subclass ``__torch_dispatch__`` rule: ember has no tensor-subclass dispatch."""
    raise NotImplementedError("register_torch_dispatch: ember has no __torch_dispatch__ tensor subclasses, so "
                              "there is no rule to register")


def get_kernel(op, dispatch_key):
    """The function registered for ``op`` under ``dispatch_key`` ("CPU", "CUDA", "Meta")."""
    op = lookup_op(op)
    if dispatch_key in _FAKE_KEYS:
        fn = op._fake
    else:
        key = _DEVICE_KEYS.get(dispatch_key, dispatch_key)
        fn = op._kernels.get(key, op._kernels.get(None))
    if fn is None:
        raise RuntimeError(f"{op._qualname} has no kernel for dispatch key {dispatch_key!r}")
    return fn


def triton_op(name, fn=None, /, *, mutates_args, schema=None):
    """PyTorch's Triton-backed custom op; in ember the body is an ordinary custom op's kernel."""
    return custom_op(name, fn, mutates_args=mutates_args, schema=schema)


def wrap_triton(triton_kernel, /):
    raise RuntimeError("wrap_triton: ember has no Triton backend; write the kernel with ember ops, numba, or C "
                       "(ember.utils.cpp_extension) inside a custom_op")
