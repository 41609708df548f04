"""ONNX emitters of views, reshapes, joins, indexing and matrix products."""
import numpy as np

from ember.export.onnx.builder import emits
from ember.export.onnx.pointwise import param


def _rank(b, ref):
    return len(b.meta(ref)[0])


@emits("view", "reshape_copy")
def reshape(b, node):
    return b.op("Reshape", [b.value(node.args[0]), b.ints(list(param(node, 1, "shape")))])


@emits("permute")
def permute(b, node):
    rank = _rank(b, node.args[0])
    return b.op("Transpose", [b.value(node.args[0])], perm=[d % rank for d in param(node, 1, "dims")])


@emits("transpose", "t")
def transpose(b, node):
    x = node.args[0]
    rank = _rank(b, x)
    perm = list(range(rank))
    if rank >= 2:
        d0, d1 = (param(node, 1, "dim0") % rank, param(node, 2, "dim1") % rank) if node.target == "transpose" else (0, 1)
        perm[d0], perm[d1] = perm[d1], perm[d0]
    return b.op("Transpose", [b.value(x)], perm=perm)


@emits("unsqueeze")
def unsqueeze(b, node):
    return b.op("Unsqueeze", [b.value(node.args[0]), b.ints([param(node, 1, "dim")])])


@emits("squeeze")
def squeeze(b, node):
    x = node.args[0]
    shape = b.meta(x)[0]
    dims = param(node, 1, "dims")
    dims = range(len(shape)) if dims is None else [dims] if isinstance(dims, int) else dims
    dims = [d % len(shape) for d in dims if shape[d % len(shape)] == 1] if shape else []
    return b.op("Squeeze", [b.value(x), b.ints(dims)]) if dims else b.op("Identity", [b.value(x)])


@emits("expand")
def expand(b, node):
    shape = [s if s != -1 else 1 for s in param(node, 1, "shape")]
    return b.op("Expand", [b.value(node.args[0]), b.ints(shape)])


@emits("cat", "stack")
def join(b, node):
    dim = node.kwargs["dim"]
    parts = [b.value(a) for a in node.args]
    if node.target == "stack":
        parts = [b.op("Unsqueeze", [p, b.ints([dim])]) for p in parts]
    return b.op("Concat", parts, axis=dim)


@emits("unbind")
def unbind(b, node):
    x, dim = node.args[0], param(node, 1, "dim")
    n = b.meta(x)[0][dim]
    pieces = b.op("Split", [b.value(x)], outputs=n, axis=dim, num_outputs=n)
    pieces = pieces if n > 1 else [pieces]
    return [b.op("Squeeze", [p, b.ints([dim])]) for p in pieces]


@emits("split")
def split(b, node):
    x, dim, bounds = node.args[0], param(node, 1, "dim"), list(param(node, 2, "bounds"))
    sizes = [hi - lo for lo, hi in zip([0, *bounds], [*bounds, b.meta(x)[0][dim]])]
    pieces = b.op("Split", [b.value(x), b.ints(sizes)], outputs=len(sizes), axis=dim)
    return pieces if len(sizes) > 1 else [pieces]


@emits("getitem")
def getitem(b, node):
    """Basic indexing: ints, slices with positive steps, None and one Ellipsis."""
    x = node.args[0]
    shape = b.meta(x)[0]
    key = param(node, 1, "key")
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1 or not all(k is None or k is Ellipsis or isinstance(k, (int, slice))
                                                      for k in key):
        raise b.unsupported(node, "only basic indexing (ints, slices, None, ...) is exported")
    used = sum(k is not None and k is not Ellipsis for k in key)
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - used) + key[at + 1:]
    out, dim, drop, new = b.value(x), 0, [], []
    starts, ends, axes, steps = [], [], [], []
    for k in key:
        if k is None:
            new.append(dim + len(new) - len(drop))
            continue
        if isinstance(k, int):
            starts.append(k), ends.append(k + 1 if k != -1 else np.iinfo(np.int64).max), axes.append(dim), steps.append(1)
            drop.append(dim)
        elif k != slice(None):
            if k.step is not None and k.step < 0:
                raise b.unsupported(node, "negative slice steps are not exported")
            starts.append(k.start or 0), axes.append(dim), steps.append(k.step or 1)
            ends.append(np.iinfo(np.int64).max if k.stop is None else k.stop)
        dim += 1
    if axes:
        out = b.op("Slice", [out, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if drop:
        out = b.op("Squeeze", [out, b.ints(drop)])
    if new:
        out = b.op("Unsqueeze", [out, b.ints(new)])
    return out if axes or drop or new else b.op("Identity", [out])


@emits("flip")
def flip(b, node):
    x = node.args[0]
    dims = param(node, 1, "dims")
    n = len(dims)
    big = np.iinfo(np.int64).max
    return b.op("Slice", [b.value(x), b.ints([-1] * n), b.ints([-big] * n), b.ints(list(dims)), b.ints([-1] * n)])


@emits("constant_pad")
def constant_pad(b, node):
    x = node.args[0]
    rank = _rank(b, x)
    pairs = node.kwargs["pads"]
    lead = rank - len(pairs)
    begins = [0] * lead + [lo for lo, _ in pairs]
    ends = [0] * lead + [hi for _, hi in pairs]
    dtype = b.meta(node)[1]
    return b.op("Pad", [b.value(x), b.ints(begins + ends), b.scalar(node.kwargs.get("value", 0), dtype)],
                mode="constant")


@emits("embedding")
def embedding(b, node):
    weight, indices = node.args[:2]
    return b.op("Gather", [b.value(weight), b.value(indices)], axis=0)


@emits("matmul")
def matmul(b, node):
    return b.op("MatMul", [b.value(a) for a in node.args[:2]])


@emits("linear")
def linear(b, node):
    x, w = node.args[:2]
    bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("b")
    out = b.op("MatMul", [b.value(x), b.op("Transpose", [b.value(w)], perm=[1, 0])])
    return b.op("Add", [out, b.value(bias)]) if bias is not None else out


@emits("addmm")
def addmm(b, node):
    c, m1, m2 = node.args[:3]
    beta, alpha = param(node, 3, "beta", 1), param(node, 4, "alpha", 1)
    return b.op("Gemm", [b.value(m1), b.value(m2), b.value(c)], alpha=float(alpha), beta=float(beta))
