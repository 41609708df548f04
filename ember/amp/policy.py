"""Which ops autocast casts, and to what: PyTorch's per-device lists, keyed by ember's primitives.

An op is looked up by its recorded node name first (``MmBackward0`` vs ``DotBackward0``: one
primitive serves ``mm`` and ``dot``, which PyTorch treats differently), then by primitive name.
Policies:
- ``LOWER``: floating inputs other than float64 run in the autocast dtype (matmul, conv, linear);
- ``FP32``: lower-precision floating inputs run in float32 (losses, reductions, linalg, fft);
- ``PROMOTE``: floating inputs run in the widest of their dtypes and the autocast dtype (cat, stack).
Public ops named in the lists cast at their entry (``cast_entry``), before their argument checks,
as PyTorch's dispatcher does; composite ops get the policy of the primitives they run (``einsum``
and ``tensordot`` end in a matmul, as in PyTorch).
"""
LOWER, FP32, PROMOTE = "lower", "fp32", "promote"

_NO_CAST = dict.fromkeys(("DotBackward0", "VdotBackward0", "MvBackward0", "AddmvBackward0"))

CPU = {
    **dict.fromkeys(("MmBackward0", "BmmBackward0", "SqueezeBackward4", "UnsafeViewBackward0",
                     "AddmmBackward0", "BaddbmmBackward0", "addbmm", "linear", "conv", "einsum",
                     "matmul", "mm", "bmm", "addmm", "baddbmm", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                     "conv_transpose2d", "conv_transpose3d", "prelu"), LOWER),
    **_NO_CAST,
    "hidden_mm": None,  # recurrent layers' cell matmuls: PyTorch's CPU GRU stays in float32
    **dict.fromkeys(("prod", "trace", "cholesky", "inv", "solve", "qr", "svd", "svdvals", "eig", "eigh",
                     "eigvalsh", "polar", "view_as_complex", "c2c", "r2c", "c2r", "ctc_nll",
                     "fractional_max", "AvgPool3DBackward0", "MaxPool3DWithIndicesBackward0",
                     "AdaptiveMaxPool3DBackward0",
                     "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
                     "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
                     "poisson_nll_loss", "cosine_embedding_loss", "hinge_embedding_loss",
                     "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss",
                     "multi_margin_loss", "multilabel_margin_loss"), FP32),
    **dict.fromkeys(("cat", "stack", "index_copy"), PROMOTE),
}

# PyTorch's CUDA lists (float16 by default), used when tensors live on a CUDA device.
CUDA = {
    **dict.fromkeys(("MmBackward0", "BmmBackward0", "SqueezeBackward4", "UnsafeViewBackward0", "DotBackward0",
                     "MvBackward0", "AddmmBackward0", "AddmvBackward0", "BaddbmmBackward0", "addbmm", "linear",
                     "conv", "einsum", "prelu", "hidden_mm", "gru_cell", "lstm_cell", "matmul", "mm", "bmm",
                     "addmm", "baddbmm", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                     "conv_transpose3d"), LOWER),
    "VdotBackward0": None,
    **dict.fromkeys(("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
                     "reciprocal", "rsqrt", "sinh", "tan", "pow", "pow_scalar", "softplus", "native_norm",
                     "layer_norm", "group_norm", "cosine_similarity", "cdist", "logsumexp", "prod", "cumprod",
                     "cumsum", "sum", "nansum", "softmax", "log_softmax", "vector_norm",
                     "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
                     "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss",
                     "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
                     "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
                     "multilabel_margin_loss"), FP32),
    **dict.fromkeys(("addcdiv", "addcmul", "atan2", "cross", "index_put", "scatter_add", "cat", "stack",
                     "index_copy"), PROMOTE),
}

BY_DEVICE = {"cpu": CPU, "cuda": CUDA}


def policy_of(table, prim):
    """The policy for ``prim`` (a primitive record or variant) in ``table``, or None."""
    policy = table.get(prim.node_name, table)
    return table.get(prim.name) if policy is table else policy
