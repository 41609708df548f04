"""Attention: F.scaled_dot_product_attention and F.multi_head_attention_forward, composed from ember ops.

>>> import ember
>>> import ember.nn.functional as F
>>> F.scaled_dot_product_attention(ember.ones(2, 3, 4), ember.ones(2, 5, 4), ember.ones(2, 5, 6)).shape
Size([2, 3, 6])
"""
import math

from ember._tensor import Size
from ember.backend.dtype import CPP_NAMES as _CPP, bool_
from ember.creation import full, zeros
from ember.nn.attention import SDPBackend, enabled_backends
from ember.nn.functional.dropouts import dropout
from ember.ops import join, pointwise
from ember.ops.linalg import bmm, matmul
from ember.ops.linear import linear


def _cpp(dtype):
    """The C++ type name torch prints for a dtype in SDPA's errors ('float', 'long int')."""
    name = str(dtype).split(".")[-1]
    return _CPP.get(name, name)


def _causal_mask(rows, cols, dtype=None, device=None):
    """The float ``(rows, cols)`` mask of causal attention: 0 on and below the diagonal, -inf above it."""
    return full((rows, cols), float("-inf"), dtype=dtype, device=device).triu(1)


def _check_sdpa(query, key, value, attn_mask, is_causal):
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_cpp(query.dtype)} key.dtype: {_cpp(key.dtype)} and value.dtype: "
                           f"{_cpp(value.dtype)} instead.")
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        if attn_mask.dtype != bool_ and not attn_mask.dtype.is_floating_point:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_cpp(attn_mask.dtype)} and  query.dtype: "
                               f"{_cpp(query.dtype)} instead.")


def _repeat_heads(query, key, value):
    """Grouped-query attention: each key/value head serves query.shape[-3] // key.shape[-3] query heads."""
    heads = query.shape[-3]
    for t in (key, value):
        if t.dim() < 3 or heads % t.shape[-3]:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in ")

    def repeat(t):
        groups = heads // t.shape[-3]
        lead, (h, s, e) = tuple(t.shape[:-3]), tuple(t.shape[-3:])
        return t.unsqueeze(-3).expand(*lead, h, groups, s, e).reshape(*lead, h * groups, s, e)

    return repeat(key), repeat(value)


def _softmax_masked(scores, mask):
    """Softmax over the last dim of ``scores + mask`` (mask 0 / -inf); rows whose keys are all masked give
    zeros (not NaN) and zero gradients. Finding such rows looks only at the (usually small) mask."""
    dead = (mask == float("-inf")).all(-1, keepdim=True)
    scores = scores + mask
    if not dead.any():
        return pointwise.softmax(scores, -1)
    weights = pointwise.softmax(pointwise.where(dead, 0.0, scores), -1)
    return pointwise.where(dead, 0.0, weights)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(q k^T * scale + mask) v over the last two dims, batched over the leading ones; a bool mask
    keeps the True positions, a float mask is added. Rows with every key masked give zeros.

    >>> q = ember.ones(3, 4)
    >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
    Size([3, 4])
    """
    if not {SDPBackend.MATH, SDPBackend.FLASH_ATTENTION} & set(enabled_backends()):
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is likely due to "
                           "turning off both the math kernel and the fused kernels.")
    _check_sdpa(query, key, value, attn_mask, is_causal)
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query * scale, key.transpose(-2, -1))  # scaling q is cheaper than scaling q k^T
    if is_causal:  # every row keeps at least its first key: the plain softmax is safe
        mask = _causal_mask(query.shape[-2], key.shape[-2], scores.dtype, scores.device)
        weights = pointwise.softmax(scores + mask, -1)
    elif attn_mask is None:
        weights = pointwise.softmax(scores, -1)
    elif attn_mask.dtype == bool_:
        blocked = zeros(attn_mask.shape, dtype=scores.dtype, device=scores.device).masked_fill(~attn_mask, float("-inf"))
        weights = _softmax_masked(scores, blocked)
    else:
        weights = _softmax_masked(scores, attn_mask)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


# multi-head attention ------------------------------------------------------------------------


def _mha_batched(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Checks the input ranks as torch does; True when the inputs carry a batch dim."""
    q_dim = query.dim()
    if q_dim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {q_dim}-D query "
                             "tensor")
    kind = "batched (3-D)" if q_dim == 3 else "unbatched (2-D)"
    if key.dim() != q_dim or value.dim() != q_dim:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {q_dim}-D but found "
                             f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != q_dim - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or {q_dim - 1}-D "
                             f"but found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.dim()}-D tensor instead")
        expected = Size((num_heads, query.shape[0], key.shape[0]))
        if q_dim == 2 and attn_mask.dim() == 3 and attn_mask.shape != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {tuple(expected)} but got {attn_mask.shape}")
    return q_dim == 3


def _float_mask(mask, name, dtype):
    """A bool mask as 0 / -inf of ``dtype`` (True = masked out); a float mask unchanged."""
    if mask is None or mask.dtype.is_floating_point:
        return mask
    if mask.dtype != bool_:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))


def _pad_last(mask):
    """One more (zero, i.e. unmasked) column at the end of a float mask."""
    return None if mask is None else join.cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype)], -1)


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate, q_w, k_w, v_w):
    if not separate:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:  # self-attention: one GEMM for q, k and v (measured ~3% of a GPT step)
            return linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        q_w, k_w, v_w = in_proj_weight.chunk(3)
    else:
        for name, w in (("q", q_w), ("k", k_w), ("v", v_w)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
    b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return linear(query, q_w, b_q), linear(key, k_w, b_k), linear(value, v_w, b_v)


def _check_mha_shapes(query, key, value, embed_dim_to_check, num_heads, separate):
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if embed_dim % num_heads:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if separate and key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                             f"{value.shape[:2]}")
    if not separate and key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")


def _check_attn_mask(attn_mask, size2d, size3d):
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != size2d:
            raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {size2d}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        if tuple(attn_mask.shape) != size3d:
            raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be {size3d}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _heads(t, length, batch_heads, head_dim):
    """(length, batch, embed) -> (batch * heads, length, head_dim)."""
    return t.reshape(length, batch_heads, head_dim).transpose(0, 1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention on sequence-first inputs (L, N, E) or unbatched (L, E); returns
    (output, attention weights or None). See ``nn.MultiheadAttention``."""
    batched = _mha_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    attn_mask, key_padding_mask, is_causal = _float_masks(attn_mask, key_padding_mask, is_causal, need_weights,
                                                          query.dtype)
    _check_mha_shapes(query, key, value, embed_dim_to_check, num_heads, use_separate_proj_weight)
    head_dim, heads = embed_dim // num_heads, bsz * num_heads
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                             q_proj_weight, k_proj_weight, v_proj_weight)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, (tgt_len, key.shape[0]), (heads, tgt_len, key.shape[0]))
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k is set but bias_v is None" if bias_v is None else
                             "bias_v is set but bias_k is None")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k = join.cat([k, bias_k.repeat(1, bsz, 1)])
        v = join.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    q = _heads(q, tgt_len, heads, head_dim)
    k = _heads(k, k.shape[0], heads, head_dim) if static_k is None else _static(static_k, "k", heads, head_dim)
    v = _heads(v, v.shape[0], heads, head_dim) if static_v is None else _static(static_v, "v", heads, head_dim)
    if add_zero_attn:
        k = join.cat([k, zeros(heads, 1, head_dim, dtype=k.dtype)], 1)
        v = join.cat([v, zeros(heads, 1, head_dim, dtype=v.dtype)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]
    attn_mask = _add_padding_mask(attn_mask, key_padding_mask, bsz, num_heads, src_len)
    dropout_p = dropout_p if training else 0.0
    if need_weights:
        scores = bmm(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        weights = pointwise.softmax(scores if attn_mask is None else scores + attn_mask, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p)
        out = bmm(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        q, k, v = (t.reshape(bsz, num_heads, -1, head_dim) for t in (q, k, v))
        out = scaled_dot_product_attention(q, k, v, _per_head(attn_mask, bsz, num_heads), dropout_p, is_causal)
        out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
        weights = None
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights


def self_attention_batch_first(x, num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                               dropout_p, key_padding_mask, attn_mask, is_causal):
    """Packed self-attention on batch-first ``(N, L, E)`` input, without weights: the same result as
    ``multi_head_attention_forward`` on ``x.transpose(0, 1)``, transposed back, computed in ``x``'s own
    layout. q, k and v stay strided views of the one projection (BLAS reads them in place), so the only
    copy is the merge of the heads before ``out_proj``; the sequence-first route copies q, k, v and
    the projection's input, and hands on a transposed output (measured: 5 copies of the activation per
    layer of the GPT benchmark, and its residual adds on strided arrays)."""
    _mha_batched(x, x, x, key_padding_mask, attn_mask, num_heads)
    bsz, length, embed_dim = x.shape
    attn_mask, key_padding_mask, is_causal = _float_masks(attn_mask, key_padding_mask, is_causal, False, x.dtype)
    _check_mha_shapes(x, x, x, in_proj_weight.shape[1], num_heads, False)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, (length, length), (bsz * num_heads, length, length))
    attn_mask = _add_padding_mask(attn_mask, key_padding_mask, bsz, num_heads, length)
    head_dim = embed_dim // num_heads
    qkv = linear(x, in_proj_weight, in_proj_bias)
    q, k, v = (t.transpose(1, 2) for t in qkv.view(bsz, length, 3, num_heads, head_dim).unbind(2))
    out = scaled_dot_product_attention(q, k, v, _per_head(attn_mask, bsz, num_heads), dropout_p, is_causal)
    out = out.transpose(1, 2).reshape(bsz * length, embed_dim)
    return linear(out, out_proj_weight, out_proj_bias).view(bsz, length, embed_dim)


def _float_masks(attn_mask, key_padding_mask, is_causal, need_weights, dtype):
    """Both masks as float (0 / -inf) or None, and whether the causal hint alone can stand for the mask."""
    key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        return None, None, True
    return _float_mask(attn_mask, "attn_mask", dtype), key_padding_mask, is_causal and key_padding_mask is None


def _add_padding_mask(attn_mask, key_padding_mask, bsz, num_heads, src_len):
    """The ``(N * heads or 1, L, S)`` attention mask with the ``(N, S)`` key padding mask added in."""
    if key_padding_mask is None:
        return attn_mask
    if key_padding_mask.shape[0] != bsz:
        raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
    if key_padding_mask.shape[1] != src_len:
        raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                             f"{key_padding_mask.shape[1]}")
    kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
    kpm = kpm.reshape(bsz * num_heads, 1, src_len)
    return kpm if attn_mask is None else attn_mask + kpm


def _per_head(attn_mask, bsz, num_heads):
    """A ``(N * heads or 1, L, S)`` mask as SDPA's ``(N, heads, L, S)`` (or broadcastable) one."""
    if attn_mask is None:
        return None
    return attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, num_heads, -1,
                                                                                    attn_mask.shape[-1])


def _static(t, name, heads, head_dim):
    if t.shape[0] != heads:
        raise AssertionError(f"expecting static_{name}.size(0) of {heads}, but got {t.shape[0]}")
    if t.shape[2] != head_dim:
        raise AssertionError(f"expecting static_{name}.size(2) of {head_dim}, but got {t.shape[2]}")
    return t
