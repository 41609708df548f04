"""Which public names are ops the database must cover, and which entries cover them.

Names are paths as entries spell them: ``add`` (``ember.add``), ``Tensor.add_``,
``nn.functional.relu``, ``linalg.inv``. An entry covers its own path, its aliases, its
method / in-place / operator forms, and every public name bound to the same function."""
import inspect

import torch

import ember
import ember.linalg
import ember.nn.functional
from ember.ops.registry import PUBLIC

from opdb.core import resolve

_QUERIES = "a question about dtypes or tensors, not an op; tested in tests/ops/test_promotion.py and tests/test_tensor.py"
_STATE = "global state or I/O, not an op on tensors"
_AUTOCAST = "autocast state, not an op on tensors; tested in tests/amp/test_autocast.py"
_FLAG = "a property or query of a tensor (device, layout, sharing, autograd bookkeeping), not an op"
EXCLUDED = {
    # ember.*
    "promote_types": _QUERIES, "result_type": _QUERIES, "can_cast": _QUERIES, "is_tensor": _QUERIES,
    "is_floating_point": _QUERIES, "numel": _QUERIES,
    "vmap": "a function transform, not an op: tests/func runs every entry through it",
    "compile": "a graph compiler, not an op: tests/compiler checks compiled results against eager ones",
    "get_default_dtype": _STATE, "set_default_dtype": _STATE, "manual_seed": _STATE, "seed": _STATE,
    "initial_seed": _STATE, "get_rng_state": _STATE, "set_rng_state": _STATE, "save": _STATE, "load": _STATE,
    "set_printoptions": _STATE, "get_num_threads": _STATE, "set_num_threads": _STATE,
    "shorten_openblas_spin": _STATE, "is_grad_enabled": _STATE, "is_inference_mode_enabled": _STATE,
    "is_anomaly_enabled": _STATE, "is_anomaly_check_nan_enabled": _STATE,
    "from_dlpack": "an array-interchange constructor, tested in tests/test_tensor.py",
    "from_numpy": "shares memory with a NumPy array; tested in tests/test_creation.py",
    "empty": "uninitialised values cannot be compared; its shape/dtype handling is empty_like's and zeros'",
    "empty_like": "uninitialised values cannot be compared; tested in tests/test_creation.py",
    **{n: _STATE for n in (
        "are_deterministic_algorithms_enabled", "get_default_device", "get_deterministic_debug_mode",
        "get_float32_matmul_precision", "get_num_interop_threads", "is_deterministic_algorithms_warn_only_enabled",
        "is_warn_always_enabled", "set_default_device", "set_deterministic_debug_mode", "set_float32_matmul_precision",
        "set_num_interop_threads", "set_warn_always", "use_deterministic_algorithms", "typename", "init_num_threads",
        "set_anomaly_enabled", "set_default_tensor_type")},
    **{n: _QUERIES for n in ("get_device", "is_inference", "Tensor.dim_order",
                             "is_complex", "is_nonzero", "is_same_size", "is_signed", "is_conj", "is_neg",
                             "broadcast_shapes")},
    **{f"Tensor.{n}": _FLAG for n in (
        "backward", "register_hook", "register_post_accumulate_grad_hook", "retain_grad", "get_device", "is_cpu",
        "is_ipu", "is_maia", "is_meta", "is_mkldnn", "is_mps", "is_mtia", "is_nested", "is_quantized", "is_vulkan",
        "is_xla", "is_xpu", "is_pinned", "pin_memory", "is_shared", "share_memory_", "is_nonzero", "is_same_size",
        "is_signed", "is_conj", "is_neg", "new", "new_empty", "to", "cdouble", "cfloat", "is_set_to")},
    "Tensor.as_subclass": "re-types a tensor as a Tensor subclass (same data and history); tested in tests/test_tensor.py",
    # Tensor.*
    **{f"Tensor.{n}_": "an in-place form torch does not have (it would write a bool result into the input); "
                       f"ember.{n} itself is covered" for n in ("isfinite", "isinf", "isnan", "signbit")},
    # nn.functional.*
    "nn.functional.multi_head_attention_forward": "a composite of linear and scaled_dot_product_attention "
                                                  "with a dozen parameters; tested in tests/nn",
    # sparse COO storage and conversion: the database's samples are dense tensors
    **{n: "a sparse-layout op (the opdb samples are dense); values, gradients and layouts against torch in "
          "tests/sparse" for n in (
        "sparse_coo_tensor", "sparse_csr_tensor", "sparse_mask", "Tensor.crow_indices", "Tensor.col_indices",
        "Tensor.coalesce", "Tensor.indices", "Tensor.values",
        "Tensor.sparse_mask", "Tensor.to_dense", "Tensor.to_sparse", "Tensor.to_sparse_coo")},
    **{f"Tensor.{n}": _FLAG for n in ("dense_dim", "is_coalesced", "is_sparse_csr", "sparse_dim")},
    "Tensor.to_sparse_csr": "a sparse-layout op (the opdb samples are dense); tested against torch in tests/sparse",
    **{f"Tensor.{n}": "sparse storage resizing (the opdb samples are dense); tested against torch in tests/sparse"
       for n in ("sparse_resize_", "sparse_resize_and_clear_")},
    **{f"Tensor.{n}": "raises: the CSC/BSR/BSC layouts are not built (tested in tests/sparse)"
       for n in ("ccol_indices", "row_indices", "to_sparse_bsc", "to_sparse_bsr", "to_sparse_csc")},
    **{f"nn.functional.{n}": "a helper for writing functions the torch way (override protocol, dispatch on a flag, "
                              "an argument check), not an op; tested in tests/nn/test_functional_more.py"
       for n in ("assert_int_or_pair", "boolean_dispatch", "handle_torch_function", "has_torch_function",
                 "has_torch_function_unary", "has_torch_function_variadic")},
    # linalg.*
    "linalg.check_matrix": "an input validator imported into ember.linalg, not an op",
    # autocast state (ember.amp): tested in tests/amp/test_autocast.py
    "autocast_decrement_nesting": _AUTOCAST, "autocast_increment_nesting": _AUTOCAST,
    "clear_autocast_cache": _AUTOCAST, "get_autocast_cpu_dtype": _AUTOCAST, "get_autocast_dtype": _AUTOCAST,
    "get_autocast_gpu_dtype": _AUTOCAST, "is_autocast_cache_enabled": _AUTOCAST,
    "is_autocast_cpu_enabled": _AUTOCAST, "is_autocast_enabled": _AUTOCAST, "set_autocast_cache_enabled": _AUTOCAST,
    "set_autocast_cpu_dtype": _AUTOCAST, "set_autocast_cpu_enabled": _AUTOCAST, "set_autocast_dtype": _AUTOCAST,
    "set_autocast_enabled": _AUTOCAST, "set_autocast_gpu_dtype": _AUTOCAST,
}



def _public_functions(namespace, prefix, torch_namespace):
    """Functions of an ember namespace that torch's namespace also has or that it defines
    itself (helpers it merely imports are not its public names)."""
    names = {}
    for name, obj in vars(namespace).items():
        if name.startswith("_") or inspect.isclass(obj) or inspect.ismodule(obj) or not callable(obj):
            continue
        if hasattr(torch_namespace, name) or getattr(obj, "__module__", "").startswith(namespace.__name__):
            names[prefix + name] = obj
    return names


def tensor_methods():
    """Tensor attributes that ops attached (not defined in the Tensor class body)."""
    names = {}
    for name, obj in vars(ember.Tensor).items():
        if name.startswith("_") and not name.startswith("__"):
            continue
        fn = obj.fget if isinstance(obj, property) else obj
        if callable(fn) and not getattr(fn, "__qualname__", "Tensor.").startswith("Tensor."):
            names["Tensor." + name] = obj
    return names


def public_names():
    """Every public name that is an op, with the object it is bound to."""
    names = {name: fn for name, fn in PUBLIC.items()}
    names.update(_public_functions(ember, "", torch))
    names.update(_public_functions(ember.nn.functional, "nn.functional.", torch.nn.functional))
    names.update(_public_functions(ember.linalg, "linalg.", torch.linalg))
    names.update(tensor_methods())
    return {n: obj for n, obj in names.items() if n not in EXCLUDED}


def covered(entries):
    """Names that entries cover, by path or by identity of the ember function."""
    paths, objects, with_inplace = set(), set(), set()
    for e in entries:
        paths.update({e.name, *e.aliases})
        paths.update("Tensor." + n for n in (e.method, e.inplace, *e.operators) if n)
        if isinstance(e.op, str):
            objects.add(id(resolve(ember, e.op)))
        if e.inplace and isinstance(e.op, str):
            with_inplace.add(id(resolve(ember, e.op)))
    names = public_names()
    return {n for n, obj in names.items()
            if n in paths or id(obj) in objects or id(getattr(obj, "fget", None)) in objects
            or _inplace_alias(n, names, with_inplace)}


def _inplace_alias(name, names, with_inplace):
    """``Tensor.arcsin_``: the registry's in-place form of an alias of an op whose in-place
    form an entry tests (``Tensor.asin_``)."""
    return name.startswith("Tensor.") and name.endswith("_") and id(names.get(name[:-1])) in with_inplace


def uncovered(entries):
    """Public ops with no entry."""
    return sorted(set(public_names()) - covered(entries))
