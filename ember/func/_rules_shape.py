"""Batching rules of views, shape ops, reductions and other dim-taking primitives: the batch
dim goes first and every logical dim in the params moves one place right."""
from ember.func._batched import fallback
from ember.func._rules_common import batch, rank, register, shift, shift_dims


def _dims_param(name, all_tensors=False):
    """A rule for primitives whose ``name`` param is dims (None: all) of their first operand."""
    def rule(prim, args, batched, size, params):
        nd = rank(args[0], batched[0])
        if all_tensors:
            args = [batch(a, b, size) for a, b in zip(args, batched)]
        return prim(*args, **{**params, name: shift_dims(params[name], nd)})
    return rule


def _dim_param(*names, new=False, keep=()):
    """A rule for primitives whose ``names`` params are single dims of their first operand; every
    tensor operand gets the batch, except those at ``keep`` (1-d indices), which must be unbatched."""
    def rule(prim, args, batched, size, params):
        if any(batched[i] for i in keep if i < len(batched)):
            return fallback(prim, args, batched, size, params)
        nd = rank(args[0], batched[0]) + (1 if new else 0)
        args = [a if i in keep else batch(a, b, size) for i, (a, b) in enumerate(zip(args, batched))]
        moved = {n: shift(params[n], nd) for n in names if params.get(n) is not None}
        return prim(*args, **{**params, **moved})
    return rule


def _joined(prim, args, batched, size, params):
    """cat and stack: every operand batched; their dims count the operands' common rank."""
    nd = max(rank(a, b) for a, b in zip(args, batched)) + (1 if prim.name == "stack" else 0)
    args = [batch(a, b, size) if a.ndim - b > 0 or prim.name == "stack" else a for a, b in zip(args, batched)]
    return prim(*args, **{**params, "dim": shift(params["dim"], nd)})


def _arg_extreme(prim, args, batched, size, params):
    """argmax/argmin: dim None indexes the flattened sample."""
    if params["dim"] is None:
        x = args[0].reshape(size, -1)
        out = prim(x, **{**params, "dim": 1})
        return out.reshape(size, *([1] * (args[0].ndim - 1))) if params["keepdim"] else out
    return _dim_param("dim")(prim, args, batched, size, params)


def _squeeze(prim, args, batched, size, params):
    x, dims = args[0], params["dims"]
    if dims is None:
        dims = tuple(i + 1 for i, s in enumerate(x.shape[1:]) if s == 1)
    else:
        dims = shift_dims(dims, x.ndim - 1)
    return prim(x, dims=dims)


def _with_shape(name):
    def rule(prim, args, batched, size, params):
        return prim(args[0], **{**params, name: (size, *params[name])})
    return rule


def _expand(prim, args, batched, size, params):
    x, shape = args[0], tuple(params["shape"])
    pad = len(shape) - (x.ndim - 1)
    if pad > 0:
        x = x.reshape(size, *([1] * pad), *x.shape[1:])
    return prim(x, shape=(size, *(x.shape[i + 1] if s == -1 else s for i, s in enumerate(shape))))


def _repeat(prim, args, batched, size, params):
    x, reps = args[0], tuple(params["reps"])
    pad = len(reps) - (x.ndim - 1)
    if pad > 0:
        x = x.reshape(size, *([1] * pad), *x.shape[1:])
    return prim(x, reps=(1, *reps))


def _permute(prim, args, batched, size, params):
    nd = args[0].ndim - 1
    return prim(args[0], dims=(0, *(shift(d, nd) for d in params["dims"])))


def _t(prim, args, batched, size, params):
    x = args[0]
    return x.transpose(1, 2) if x.ndim == 3 else x


def _roll(prim, args, batched, size, params):
    if params["dims"] is None:
        return fallback(prim, args, batched, size, params)
    return prim(args[0], shifts=params["shifts"], dims=shift_dims(params["dims"], args[0].ndim - 1))


def _getitem(prim, args, batched, size, params):
    key = params["key"]
    if any(hasattr(k, "shape") and k.ndim > 0 for k in key):  # advanced indexing: per sample
        return fallback(prim, args, batched, size, params)
    return prim(args[0], key=(slice(None), *key))


def _diagonal(prim, args, batched, size, params):
    nd = args[0].ndim - 1
    return prim(args[0], **{**params, "dim1": shift(params["dim1"], nd), "dim2": shift(params["dim2"], nd)})


def _transpose(prim, args, batched, size, params):
    nd = args[0].ndim - 1
    return prim(args[0], dim0=shift(params["dim0"], nd), dim1=shift(params["dim1"], nd))


register("all amax amin logsumexp max_all min_all mean nansum prod std sum var vector_norm flip c2c c2r r2c",
         _dims_param("dims"))
register("arg_extreme", _arg_extreme)
register("""cummax cummin cumprod cumsum logcumsumexp kthvalue max min median mode nanmedian sort topk
softmax log_softmax unbind split""", _dim_param("dim"))
register("softmax_grad gather scatter scatter_add scatter_multiply scatter_value take_along_dim cross",
         _dim_param("dim"))
register("scatter_reduce_extreme", _dim_param("dim"))
register("index_select index_add index_copy index_fill", _dim_param("dim", keep=(1,)))
register("index_fill_tensor", _dim_param("dim", keep=(1, 2)))
register("unsqueeze", _dim_param("dim", new=True))
register("cat stack", _joined)
register("squeeze", _squeeze)
register("view reshape_copy", _with_shape("shape"))
register("expand", _expand)
register("repeat", _repeat)
register("permute", _permute)
register("t", _t)
register("roll", _roll)
register("getitem", _getitem)
register("diagonal diag_copy", _diagonal)
register("transpose", _transpose)
