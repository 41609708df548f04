"""ONNX emitters of convolution, pooling, normalisation and the fused recurrent layers."""
import numpy as np
from onnx import TensorProto

from ember.export.onnx.builder import emits, onnx_dtype


@emits("conv")
def conv(b, node):
    x, w = node.args[:2]
    bias = node.args[2] if len(node.args) > 2 else None
    k = node.kwargs
    if k.get("transposed"):
        raise b.unsupported(node, "transposed convolution is not exported yet")
    padding = list(k["padding"])
    inputs = [b.value(x), b.value(w)] + ([b.value(bias)] if bias is not None else [])
    return b.op("Conv", inputs, strides=list(k["stride"]), pads=padding + padding, dilations=list(k["dilation"]),
                group=k["groups"])


def _pool_ceil_mode(b, node):
    """ONNX computes the output size from the window; ember records it: choose ceil_mode to match."""
    x_shape = b.meta(node.args[0])[0]
    k = node.kwargs
    nd = len(k["k"])
    floor_size = [(n + 2 * p - d * (kk - 1) - 1) // s + 1
                  for n, kk, s, p, d in zip(x_shape[-nd:], k["k"], k["s"], k["p"], k.get("d", (1,) * nd))]
    return int(list(k["out"]) != floor_size)


@emits("max_pool")
def max_pool(b, node):
    k = node.kwargs
    pads = list(k["p"])
    out = b.op("MaxPool", [b.value(node.args[0])], kernel_shape=list(k["k"]), strides=list(k["s"]), pads=pads + pads,
               dilations=list(k["d"]), ceil_mode=_pool_ceil_mode(b, node))
    return [out, None]  # ONNX's indices count over the whole tensor, not per plane: not exported


@emits("avg_pool")
def avg_pool(b, node):
    k = node.kwargs
    if k.get("override"):
        raise b.unsupported(node, "divisor_override is not exported")
    pads = list(k["p"])
    return b.op("AveragePool", [b.value(node.args[0])], kernel_shape=list(k["k"]), strides=list(k["s"]),
                pads=pads + pads, count_include_pad=int(bool(k["include_pad"])), ceil_mode=_pool_ceil_mode(b, node))


@emits("native_norm")
def native_norm(b, node):
    """Batch norm in eval mode as BatchNormalization, layer norm as LayerNormalization; other
    groupings (group norm, batch statistics) as the reduce-normalise-scale sequence."""
    x, w, bias, rm, rv = (list(node.args) + [None] * 5)[:5]
    k = node.kwargs
    shape, dtype = b.meta(x)
    group, axes, param_shape, eps = list(k["group_shape"]), tuple(k["axes"]), list(k["param_shape"]), k["eps"]
    rank = len(shape)
    same_grouping = len(group) == rank
    if not k["training"] and rm is not None and w is not None and bias is not None and same_grouping:
        out = b.op("BatchNormalization", [b.value(x), b.value(w), b.value(bias), b.value(rm), b.value(rv)],
                   epsilon=float(eps))
        return [out, None, None]
    trailing = axes == tuple(range(rank - len(axes), rank))
    if k["training"] and same_grouping and trailing and param_shape[:rank - len(axes)] == [1] * (rank - len(axes)):
        scale = b.value(w) if w is not None else b.const(np.ones(shape[-len(axes):], np.dtype(dtype)), "ones")
        inputs = [b.value(x), scale] + ([b.value(bias)] if bias is not None else [])
        return [b.op("LayerNormalization", inputs, axis=-len(axes), epsilon=float(eps)), None, None]
    return [_normalise(b, node, x, w, bias, group, axes, param_shape, eps, dtype), None, None]


def _normalise(b, node, x, w, bias, group, axes, param_shape, eps, dtype):
    if not node.kwargs["training"]:
        raise b.unsupported(node, "running statistics with a regrouped input are not exported")
    xg = b.op("Reshape", [b.value(x), b.ints(group)])
    ax = b.ints(list(axes))
    centred = b.op("Sub", [xg, b.op("ReduceMean", [xg, ax], keepdims=1)])
    var = b.op("ReduceMean", [b.op("Mul", [centred, centred]), ax], keepdims=1)
    out = b.op("Div", [centred, b.op("Sqrt", [b.op("Add", [var, b.scalar(eps, dtype)])])])
    out = b.op("Reshape", [out, b.op("Shape", [b.value(x)])])
    if w is not None:
        out = b.op("Mul", [out, b.op("Reshape", [b.value(w), b.ints(param_shape)])])
    if bias is not None:
        out = b.op("Add", [out, b.op("Reshape", [b.value(bias), b.ints(param_shape)])])
    return out


@emits("rms_norm")
def rms_norm(b, node):
    """x * (1 / sqrt(mean(x^2) + eps)) * w over the trailing dims, as the sequence (RMSNormalization needs
    opset 23); float16/bfloat16 in float32 and cast back, as the op computes them."""
    x, w = (list(node.args) + [None])[:2]
    dtype = b.meta(x)[1]
    compute = "float32" if dtype in ("float16", "bfloat16") else dtype

    def cast(value, have):
        return value if have == compute else b.op("Cast", [value], to=onnx_dtype(compute))

    xv = cast(b.value(x), dtype)
    axes = b.ints(list(range(-node.kwargs["trailing"], 0)))
    mean_sq = b.op("ReduceMean", [b.op("Mul", [xv, xv]), axes], keepdims=1)
    rstd = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [mean_sq, b.scalar(node.kwargs["eps"], compute)])])])
    out = b.op("Mul", [xv, rstd])
    if w is not None:
        out = b.op("Mul", [out, cast(b.value(w), b.meta(w)[1])])
    return [out if dtype == compute else b.op("Cast", [out], to=onnx_dtype(dtype)), None]


def _gates(b, t, order, axis=0):
    """``t`` with its equal gate blocks along ``axis`` in ONNX's order, as named values."""
    blocks = b.op("Split", [t], outputs=len(order), axis=axis, num_outputs=len(order))
    return b.op("Concat", [blocks[i] for i in order], axis=axis)


def _sequence(b, node, x):
    """The recurrent input as (T, B, I): ember's fused ops take it flattened to (T*B, I)."""
    t_steps = b.meta(node)[0][0][0]
    if not isinstance(t_steps, int):
        raise b.unsupported(node, "a dynamic sequence length is not exported")
    return b.op("Reshape", [b.value(x), b.ints([t_steps, -1, b.meta(x)[0][-1]])])


def _recurrent(b, node, onnx_op, order, x, w_ih, w_hh, bias, states):
    """One ONNX LSTM/GRU layer (one direction) from ember's fused sequence op."""
    hidden = b.meta(w_hh)[0][1]
    w = b.op("Unsqueeze", [_gates(b, b.value(w_ih), order), b.ints([0])])
    r = b.op("Unsqueeze", [_gates(b, b.value(w_hh), order), b.ints([0])])
    bias = b.op("Unsqueeze", [b.op("Concat", [_gates(b, v, order) for v in bias], axis=0), b.ints([0])])
    init = [b.op("Unsqueeze", [b.value(s), b.ints([0])]) for s in states]
    direction = "reverse" if node.kwargs.get("reverse") else "forward"
    extra = {"linear_before_reset": 1} if onnx_op == "GRU" else {}
    outs = b.op(onnx_op, [_sequence(b, node, x), w, r, bias, "", *init], outputs=1 + len(states),
                hidden_size=hidden, direction=direction, **extra)
    y = b.op("Squeeze", [outs[0], b.ints([1])])
    return [y] + [b.op("Squeeze", [s, b.ints([0])]) for s in outs[1:]]


@emits("lstm_seq")
def lstm_seq(b, node):
    x, w_ih, bias, h0, c0, w_hh = node.args[:6]
    zeros = b.const(np.zeros(b.meta(bias)[0], np.dtype(b.meta(bias)[1])), "zero_bias")
    # torch orders the gates (input, forget, cell, output); ONNX (input, output, forget, cell)
    return _recurrent(b, node, "LSTM", (0, 3, 1, 2), x, w_ih, w_hh, [b.value(bias), zeros], [h0, c0])


@emits("gru_seq")
def gru_seq(b, node):
    x, w_ih, b_ih, h0, w_hh, b_hh = node.args[:6]
    # torch orders the gates (reset, update, new); ONNX (update, reset, hidden)
    return _recurrent(b, node, "GRU", (1, 0, 2), x, w_ih, w_hh, [b.value(b_ih), b.value(b_hh)], [h0])


def _int64(b, target):
    """Class-index targets as the int64 labels ONNX's loss ops take (uint8 targets are cast)."""
    return b.value(target) if b.meta(target)[1] == "int64" else b.op("Cast", [b.value(target)], to=TensorProto.INT64)


@emits("cross_entropy")
def cross_entropy(b, node):
    """SoftmaxCrossEntropyLoss (loss and log-probs); label smoothing adds its spread over the classes
    to the unreduced loss, then reduces as the op does (``mean`` divides by the targets' weights)."""
    x, target, weight = node.args[:3]
    k = node.kwargs
    smoothing, reduction, ignore = k["label_smoothing"], k["reduction"], k["ignore_index"]
    dtype = b.meta(x)[1]
    labels = _int64(b, target)
    inputs = [b.value(x), labels] + ([b.value(weight)] if weight is not None else [])
    if not smoothing:
        return b.op("SoftmaxCrossEntropyLoss", inputs, outputs=2, reduction=reduction, ignore_index=ignore)
    nll, logp = b.op("SoftmaxCrossEntropyLoss", inputs, outputs=2, reduction="none", ignore_index=ignore)
    ignored = b.op("Equal", [labels, b.const(np.asarray(ignore, np.int64))])
    keep = b.op("Cast", [b.op("Not", [ignored])], to=onnx_dtype(dtype))
    weighted = logp if weight is None else b.op("Mul", [logp, b.value(weight)])
    spread = b.op("ReduceSum", [weighted, b.ints([1])], keepdims=0)
    classes = b.meta(x)[0][1]
    loss = b.op("Sub", [b.op("Mul", [nll, b.scalar(1 - smoothing, dtype)]),
                        b.op("Mul", [b.op("Mul", [spread, keep]), b.scalar(smoothing / classes, dtype)])])
    if reduction == "none":
        return [loss, logp]
    total = b.op("ReduceSum", [loss], keepdims=0)
    if reduction == "sum":
        return [total, logp]
    if weight is None:
        picked = keep
    else:
        safe = b.op("Where", [ignored, b.const(np.asarray(0, np.int64)), labels])
        picked = b.op("Mul", [b.op("Gather", [b.value(weight), safe]), keep])
    return [b.op("Div", [total, b.op("ReduceSum", [picked], keepdims=0)]), logp]


@emits("nll")
def nll(b, node):
    """NegativeLogLikelihoodLoss on (N, C) log-probabilities."""
    logp, target, weight = node.args[:3]
    inputs = [b.value(logp), _int64(b, target)] + ([b.value(weight)] if weight is not None else [])
    return b.op("NegativeLogLikelihoodLoss", inputs, reduction=node.kwargs["reduction"],
                ignore_index=node.kwargs["ignore_index"])
