"""Batching rules of matmul, linear, convolution, embedding, normalization and pooling."""
from ember.func._batched import fallback
from ember.ops.dispatch import PRIMITIVES
from ember.func._rules_common import batch, call, rank, register


def _matmul(prim, args, batched, size, params):
    """Vectors become matrices, leading dims are padded so the batch dims line up, and the
    helper dims are squeezed out of the product."""
    (a, b), (ba, bb) = args, batched
    a_vec, b_vec = rank(a, ba) == 1, rank(b, bb) == 1
    if a_vec:
        a = a.unsqueeze(-2)
    if b_vec:
        b = b.unsqueeze(-1)
    lead = max(rank(a, ba), rank(b, bb))
    if ba and a.ndim - 1 < lead:
        a = a.reshape(size, *([1] * (lead - a.ndim + 1)), *a.shape[1:])
    if bb and b.ndim - 1 < lead:
        b = b.reshape(size, *([1] * (lead - b.ndim + 1)), *b.shape[1:])
    out = prim(a, b, **params)
    if a_vec:
        out = out.squeeze(-2)
    if b_vec:
        out = out.squeeze(-1)
    return out


def _linear(prim, args, batched, size, params):
    x, w, b = (list(args) + [None])[:3]
    bx, bw, bb = (list(batched) + [False])[:3]
    if not (bw or bb):
        return prim(*args, **params)
    out = _matmul(PRIMITIVES["matmul"], [x, w.transpose(-1, -2)], [bx, bw], size, {})
    if not bx and not bw:
        out = batch(out, False, size)
    if b is not None:
        nd = out.ndim - 1
        out = out + (b.reshape(size, *([1] * (nd - 1)), b.shape[-1]) if bb else b)
    return out


def _addmm(prim, args, batched, size, params):
    """addmm, addmv, baddbmm (one record): beta * c + alpha * (a @ b), c broadcast to the product."""
    c, a, b = args
    prod = _matmul(PRIMITIVES["matmul"], [a, b], batched[1:], size, {})
    if not (batched[1] or batched[2]):
        prod = batch(prod, False, size)
    if params["alpha"] != 1:
        prod = params["alpha"] * prod
    if params["beta"] == 0:  # c is ignored (its NaNs too), as in the op itself
        return prod
    if batched[0] and c.ndim < prod.ndim:
        c = c.reshape(size, *([1] * (prod.ndim - c.ndim)), *c.shape[1:])
    return params["beta"] * c + prod


def _conv(prim, args, batched, size, params):
    """The batch folds into N when only the input is batched, into the groups when the weight is."""
    (x, w, b), (bx, bw, bb) = args, batched
    if params["transposed"] and (bw or bb):
        return fallback(prim, args, batched, size, params)
    if not bw and not bb:
        n = x.shape[1]
        out = prim(x.reshape(size * n, *x.shape[2:]), w, b, **params)
        return out.reshape(size, n, *out.shape[1:])
    x = batch(x, bx, size)
    n, c = x.shape[1], x.shape[2]
    xg = x.transpose(0, 1).reshape(n, size * c, *x.shape[3:])
    wg = batch(w, bw, size)
    wg = wg.reshape(size * wg.shape[1], *wg.shape[2:])
    bg = None if b is None else batch(b, bb, size).reshape(-1)
    out = prim(xg, wg, bg, **{**params, "groups": params["groups"] * size})
    return out.reshape(n, size, out.shape[1] // size, *out.shape[2:]).transpose(0, 1)


def _embedding(prim, args, batched, size, params):
    if batched[0]:
        return fallback(prim, args, batched, size, params)
    return prim(*args, **params)


def _native_norm(prim, args, batched, size, params):
    x, w, b, rm, rv = args
    if batched[3] or batched[4] or (rm is not None and not params["training"]):
        return fallback(prim, args, batched, size, params)
    x = batch(x, batched[0], size)
    per_sample = batched[1] or batched[2]
    if per_sample:
        w, b = (batch(p, bp, size) if p is not None else None for p, bp in ((w, batched[1]), (b, batched[2])))
    p = {**params, "group_shape": (size, *params["group_shape"]), "axes": tuple(a + 1 for a in params["axes"]),
         "param_shape": (size if per_sample else 1, *params["param_shape"])}
    return prim(x, w, b, rm, rv, **p)


def _rms_norm(prim, args, batched, size, params):
    """The batch is one more leading dim of the rows; a batched weight scales the unweighted result
    (rstd does not depend on it)."""
    (x, w), (bx, bw) = args, batched
    x = batch(x, bx, size)
    if not bw:
        return prim(x, w, **params)
    out, rstd = prim(x, None, **params)
    w = w.reshape(size, *([1] * (x.ndim - w.ndim)), *w.shape[1:])
    return (out * w).to(out.dtype), rstd


def _rms_norm_grad(prim, args, batched, size, params):
    """d x from the batched rows at once; d w sums each sample's rows, so it is summed here per sample."""
    (g, x, w, rstd), (bg, bx, bw, br) = args, batched
    if bw:
        return fallback(prim, args, batched, size, params)
    g, x, rstd = batch(g, bg, size), batch(x, bx, size), batch(rstd, br, size)
    gx, gw = prim(g, x, w, rstd, **{**params, "need_w": False})
    if not params["need_w"]:
        return gx, batch(gw, False, size)
    gw = g * (x * rstd)
    lead = tuple(range(1, x.ndim - params["trailing"]))
    return gx, gw.sum(lead) if lead else gw


def _einsum(prim, args, batched, size, params):
    """A letter of its own for the batch, on the batched operands and the output."""
    used = "".join(params["subs"]) + params["out"]
    letter = next(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used)
    subs = [letter + s if b else s for s, b in zip(params["subs"], batched)]
    return prim(*args, subs=subs, out=letter + params["out"], sizes={**params["sizes"], letter: size})


def _all_batched(prim, args, batched, size, params):
    return prim(*[batch(a, bt, size) for a, bt in zip(args, batched)], **params)


register("matmul", _matmul)
register("linear", _linear)
register("addmm", _addmm)
register("conv", _conv)
register("embedding", _embedding)
register("native_norm", _native_norm)
register("rms_norm", _rms_norm)
register("rms_norm_grad", _rms_norm_grad)
register("max_pool max_pool_values avg_pool adaptive_max", call)
register("plane_gather", _all_batched)
register("einsum", _einsum)
register("constant_pad pixel_shuffle pixel_unshuffle", call)
