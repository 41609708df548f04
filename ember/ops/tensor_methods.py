"""Tensor methods composed from other ops: queries (is_signed, is_nonzero, get_device and the
device flags), complex casts (cfloat/cdouble), in-place view changes (t_, squeeze_, ...),
unfold (sliding windows), index_put, sum_to_size, fill_diagonal_, new, and scatter_reduce."""
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.backend.dtype import bool_, complex64, complex128, int64
from ember.creation import arange, empty, tensor
from ember.ops.dispatch import Primitive, per_sample, xp_of
from ember.ops.inplace import inplace
from ember.ops.indexing import _check_key, _scatter_zeros, _to_key, index_put as _index_put
from ember.ops.pointwise import torch_name
from ember.ops.pad import constant_pad_nd
from ember.ops.registry import method, public


@method("is_signed")
def is_signed(self):
    return self._dtype.is_signed


@method("is_nonzero")
def is_nonzero(self):
    """The truth of a one-element tensor (PyTorch's checks and messages)."""
    if self.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if self.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self.item())


@method("is_same_size")
def is_same_size(self, other):
    return tuple(self.shape) == tuple(other.shape)


@method("get_device")
def get_device(self):
    """The CUDA device index, or -1 on the CPU."""
    return -1 if self._device.type == "cpu" else (self._device.index or 0)


Tensor.is_cpu = property(lambda self: self._device.type == "cpu")
for _flag in ("is_mkldnn", "is_quantized", "is_nested", "is_vulkan", "is_xla", "is_xpu", "is_ipu",
              "is_mps", "is_maia", "is_mtia"):  # devices and layouts ember tensors never have (is_meta: _tensor.py)
    setattr(Tensor, _flag, property(lambda self: False))


@method("cfloat")
def cfloat(self, memory_format=None):
    return self.to(complex64)


@method("cdouble")
def cdouble(self, memory_format=None):
    return self.to(complex128)


def _inplace_view(self, fn):
    """Give ``self`` the shape/strides of ``fn(self)`` (a view of the same memory)."""
    if self._requires_grad and self.grad_fn is None and grad_mode.state.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    out = fn(self)
    self._data = out._data
    if out.grad_fn is not None:
        self.grad_fn, self._output_nr = out.grad_fn, out._output_nr
    return self


@method("t_")
def t_(self):
    return _inplace_view(self, lambda x: x.t())


@method("transpose_")
def transpose_(self, dim0, dim1):
    return _inplace_view(self, lambda x: x.transpose(dim0, dim1))


Tensor.swapaxes_ = Tensor.swapdims_ = transpose_


@method("squeeze_")
def squeeze_(self, dim=None):
    return _inplace_view(self, lambda x: x.squeeze() if dim is None else x.squeeze(dim))


@method("unsqueeze_")
def unsqueeze_(self, dim):
    return _inplace_view(self, lambda x: x.unsqueeze(dim))


@method("unfold")
def unfold(self, dimension, size, step):
    """Every ``size``-long window along ``dimension`` (``step`` apart), as a new last dimension."""
    if self.dim() == 0:
        return self.reshape(1) if size == 1 else _bad_window(size, 1)
    d = dimension % self.dim()
    length = self.shape[d]
    if size > length:
        _bad_window(size, length)
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    count = (length - size) // step + 1
    index = (arange(count, device=self.device).unsqueeze(1) * step + arange(size, device=self.device)).reshape(-1)
    windows = self.index_select(d, index)
    shape = list(self.shape)
    shape[d:d + 1] = [count, size]
    return windows.reshape(shape).movedim(d + 1, -1)


def _bad_window(size, length):
    raise RuntimeError(f"maximum size for tensor at dimension 0 is {length} but size is {size}")


@public(inplace=True)
@per_sample
def index_put(input, indices, values, accumulate=False):
    """``input`` with ``values`` written (or, with ``accumulate``, added: repeated indices add up) at the
    index tensors ``indices``: ``x.index_put_((rows, cols), ember.tensor(1.0))``."""
    if not isinstance(indices, (tuple, list)) or not all(i is None or isinstance(i, Tensor) for i in indices):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not {type(indices).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not {type(values).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{torch_name(input.dtype)} for the destination and {torch_name(values.dtype)} for the source.")
    key = _to_key(tuple(indices), xp_of(input.device))
    _check_key(input._data, key)
    if not accumulate:
        return _index_put(input, key, values)
    return input + _scatter_zeros(values.expand(input._data[key].shape), shape=input.shape, key=key)


@public(method=False)
def index_put_(input, indices, values, accumulate=False):
    """:func:`index_put` written into ``input`` (``ember.index_put_(x, ...)`` is ``x.index_put_(...)``)."""
    return input.index_put_(indices, values, accumulate)


@method("sum_to_size")
def sum_to_size(self, *size):
    """Sum broadcast dimensions away so the result has ``size`` (which must broadcast to ``self``)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    lead = self.dim() - len(shape)
    if lead < 0 or any(s not in (1, t) for s, t in zip(shape, self.shape[lead:])):
        raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1]
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(shape)


@method("fill_diagonal_")
def fill_diagonal_(self, fill_value, wrap=False):
    """Write ``fill_value`` on the main diagonal (of a 2-D, or all-equal-sides, tensor) in place."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.dim() > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    rows = self.shape[0]
    n = min(self.shape)
    index = arange(n, device=self.device)
    key = (index,) * self.dim()
    if wrap and self.dim() == 2 and rows > self.shape[1] + 1:
        step = self.shape[1] + 1
        flat_pos = arange(0, rows * self.shape[1], step, device=self.device)
        rows_i, cols_i = flat_pos // self.shape[1], flat_pos % self.shape[1]
        key = (rows_i, cols_i)
    return inplace(self, lambda x: _index_put(x, key, _scalar_like(x, fill_value)))


def _scalar_like(x, value):
    return tensor(value, dtype=x.dtype, device=x.device)


@method("new")
def new(self, *args, device=None):
    """The legacy constructor with this tensor's dtype and device: ``x.new(2, 3)``, ``x.new([1, 2])``."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)) and not all(isinstance(a, int) for a in args[0]):
        return tensor(args[0], dtype=self.dtype, device=device or self.device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]
    shape = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    return empty(*shape, dtype=self.dtype, device=device or self.device)


def _scatter_extreme_forward(ctx, xp, x, src, dim, index, reduce, include_self):
    ctx.dim, ctx.index, ctx.reduce, ctx.include_self, ctx.src_shape = dim, index, reduce, include_self, src.shape
    ufunc = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
    neutral = {"prod": 1, "amax": -xp.inf, "amin": xp.inf}[reduce]
    narrow = None
    if x.dtype.kind not in "biuf":  # bfloat16: ufunc.at has no loop for it, so reduce in float32
        narrow, x, src = x.dtype, x.astype(xp.float32), src.astype(xp.float32)
    out = x.copy()
    reached = xp.zeros(x.shape, dtype=bool)
    keys = list(xp.indices(index.shape, sparse=True))
    keys[dim] = index
    keys = tuple(keys)
    reached[keys] = True
    if not include_self:
        if x.dtype.kind == "b":
            neutral = reduce != "amax"
        elif x.dtype.kind != "f":
            neutral = 1 if reduce == "prod" else xp.iinfo(x.dtype).min if reduce == "amax" else xp.iinfo(x.dtype).max
        out[reached] = neutral
    ufunc.at(out, keys, src[tuple(slice(0, n) for n in index.shape)])
    return out if narrow is None else out.astype(narrow)


_scatter_extreme = Primitive(_scatter_extreme_forward, "ScatterReduceBackward0", save=(0, 1), save_output=True,
                             name="scatter_reduce_extreme")


@_scatter_extreme.derivative
def _(ctx, g):
    x, src, out = ctx.saved_tensors
    index = Tensor._make(ctx.index, int64, g.device)
    src = src[tuple(slice(0, n) for n in index.shape)]
    picked_out, picked_g = out.gather(ctx.dim, index), g.gather(ctx.dim, index)
    if ctx.reduce == "prod":  # d out / d element = out / element (elements assumed non-zero)
        grad_x = g * out / x if ctx.include_self else g.new_zeros(g.shape)
        grad_src = picked_g * picked_out / src
    else:  # the gradient is shared evenly among the elements equal to the result
        hits_src = (src == picked_out).to(g.dtype)
        ties = g.new_zeros(g.shape).scatter_add(ctx.dim, index, hits_src)
        hits_x = (x == out).to(g.dtype) if ctx.include_self else g.new_zeros(g.shape)
        ties = ties + hits_x
        share = g / ties.clamp(min=1)
        grad_x = share * hits_x
        grad_src = share.gather(ctx.dim, index) * hits_src
    untouched = g.new_ones(g.shape).scatter(ctx.dim, index, 0.0)
    grad_x = grad_x * (1 - untouched) + g * untouched
    if tuple(grad_src.shape) != tuple(ctx.src_shape):  # src elements beyond index's shape are unused
        pads = []
        for have, want in zip(reversed(grad_src.shape), reversed(ctx.src_shape)):
            pads += [0, want - have]
        grad_src = constant_pad_nd(grad_src, pads)
    return grad_x, grad_src


@per_sample
def _scatter_extreme_op(input, src, dim, index, reduce, include_self):
    """The index is a parameter of the primitive (host array): a batched one is reduced sample by sample."""
    return _scatter_extreme(input, src, dim=dim, index=index._data, reduce=reduce, include_self=include_self)


@public(inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with 'sum', 'prod', 'mean', 'amax' or 'amin'."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if index._dtype is not int64:
        raise RuntimeError("scatter_reduce(): Expected dtype int64 for index")
    if reduce == "mean" and input._dtype is bool_:
        raise NotImplementedError("\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'")
    d = dim % max(input.dim(), 1)
    src = src.to(input.dtype)
    if reduce in ("prod", "amax", "amin"):
        return _scatter_extreme_op(input, src, d, index, reduce, include_self)
    part = src[tuple(slice(0, n) for n in index.shape)]
    total = input.new_zeros(input.shape).scatter_add(d, index, part)
    counts = input.new_zeros(input.shape).scatter_add(d, index, part.new_ones(part.shape))
    if include_self:
        total, counts = total + input, counts + 1
    if reduce == "mean":
        total = total / counts.clamp(min=1) if input.is_floating_point() else total // counts.clamp(min=1)
    return total.where(counts > 0, input).to(input.dtype)
