"""Batched tensors: how ``vmap`` runs a function once for a whole batch.

A ``BatchedTensor`` is the tensor a function sees inside ``vmap``: its shape is one
sample's (the *logical* shape) and its ``_value`` holds the whole batch with the batch
dimension first (the *physical* tensor, one level down). Nested vmaps nest wrappers; each
vmap call is a ``Level`` (its batch size and randomness), and a wrapper's value is batched
at every enclosing level too, so the innermost physical tensor has one leading dimension
per level, outermost first.

The dispatcher (``ember.ops.dispatch.run``) hands every primitive call that has a batched
input to ``Batching.run``: the inputs of the highest level are unwrapped, the primitive's
batching rule (``ember.func.rules``, a table keyed by primitive name) runs it on the
physical values, and the result is wrapped again. A primitive without a rule runs once per
sample and the results are stacked (``fallback``).
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.dtype import _from_np
from ember.backend.meta import stand_in
from ember.creation import empty
from ember.ops import dispatch
from ember.ops.join import stack

LEVELS = []      # the vmap levels now running, outermost first
RULES = {}       # primitive name -> rule(prim, args, batched, size, params) -> physical result, batch first
FALLBACK_USED = set()  # names of the primitives that ran through the per-sample fallback


class Level:
    __slots__ = ("id", "size", "randomness")
    _count = 0

    def __init__(self, size, randomness):
        Level._count += 1
        self.id, self.size, self.randomness = Level._count, size, randomness


_ITEM = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over calling .item() on a "
         "Tensor, please try to rewrite what you're doing with other operations.")
_CONTROL = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow. We don't "
            "support that yet.")


_CHECKS = {np.minimum, np.maximum, np.logical_or, np.logical_and, np.fmin, np.fmax}


class LogicalArray(np.ndarray):
    """A batched tensor's ``_data``: one sample's shape and dtype, no values (``phys``: the
    whole batch's array). Whole-array min/max/any/all (what input checks compute, such as an
    index range) read every sample's values; other NumPy arithmetic on it is an op without a
    batching path, so it raises."""

    def __array_ufunc__(self, ufunc, method, *args, **kwargs):
        if method == "reduce" and ufunc in _CHECKS and kwargs.get("axis") is None and args[0] is self:
            return ufunc.reduce(self.phys, axis=None)
        raise RuntimeError("vmap: an operation read the values of a batched tensor directly (not through a "
                           "primitive); it cannot run under vmap")

    def _one_value(self, *args):
        raise RuntimeError(_ITEM)

    __int__ = __float__ = __index__ = __complex__ = item = tolist = _one_value


def _logical(shape, np_dtype):
    return stand_in(shape, np_dtype).view(LogicalArray)


class BatchedTensor(Tensor):
    """One sample's view of a batch: the logical tensor a function sees inside ``vmap``."""

    __slots__ = ("_value", "_level")

    # autograd state lives on the physical tensor (ember.func.grad differentiates physical graphs)
    @property
    def _requires_grad(self):
        return self._value._requires_grad

    @_requires_grad.setter
    def _requires_grad(self, value):
        self._value._requires_grad = value

    @property
    def grad_fn(self):
        return self._value.grad_fn

    @grad_fn.setter
    def grad_fn(self, node):
        self._value.grad_fn = node

    @property
    def _fw_grads(self):  # forward-mode tangents live on the physical tensor as well
        return self._value._fw_grads

    @_fw_grads.setter
    def _fw_grads(self, grads):
        self._value._fw_grads = grads

    def detach(self):
        return wrap(self._value.detach(), self._level)

    def detach_(self):
        self._value.detach_()
        return self

    def item(self):
        raise RuntimeError(_ITEM)

    def tolist(self):
        raise RuntimeError(_ITEM.replace(".item()", ".tolist()"))

    def _host(self):
        raise RuntimeError("vmap: an operation read the values of a batched tensor on the host; it cannot run "
                           "under vmap")

    def numpy(self, *, force=False):
        raise RuntimeError("vmap: a batched tensor has no single array: .numpy() is not supported inside vmap")

    def __bool__(self):
        """A branch on a batched value: taken when every sample takes it the same way (input checks such
        as ``if bad.any(): raise``); samples that disagree would need per-sample control flow, which vmap refuses."""
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        values = to_physical(self)[0].detach().reshape(-1).numpy()
        if (values == values[0]).all():
            return bool(values[0])
        raise RuntimeError(_CONTROL)

    __float__ = __int__ = __index__ = item

    def new_empty(self, *size, **kwargs):
        return self._new("new_empty", size, kwargs)

    def new_zeros(self, *size, **kwargs):
        return self._new("new_zeros", size, kwargs)

    def new_ones(self, *size, **kwargs):
        return self._new("new_ones", size, kwargs)

    def new_full(self, size, fill_value, **kwargs):
        return self._new("new_full", (size,), kwargs, fill_value)

    def _new(self, name, size, kwargs, *extra):
        """A new batched tensor: every sample gets its own memory (in-place sampling can differ per sample)."""
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        return wrap(getattr(self._value, name)((self._level.size, *size), *extra, **kwargs), self._level)

    def __repr__(self):
        return f"BatchedTensor(lvl={self._level.id}, bdim=0, value=\n{self._value!r}\n)"


def wrap(value, level):
    """The batched tensor whose batch at ``level`` is ``value``'s first dimension."""
    t = object.__new__(BatchedTensor)
    t._value, t._level = value, level
    t._data = data = _logical(value._data.shape[1:], value._data.dtype)
    data.phys = getattr(value._data, "phys", value._data)
    data.level, data.value = level, value  # an index built from this array (x[batched]) finds its batch here
    t._dtype, t._device, t._version = value._dtype, value._device, value._version
    return t


def unwrap_level(x, level):
    """``x``'s value at ``level`` (batch first), or None when ``x`` is not batched there."""
    return x._value if type(x) is BatchedTensor and x._level is level else None


def to_physical(x):
    """``(physical tensor, levels)``: the innermost tensor and the levels of its leading dims, outermost first."""
    levels = []
    while type(x) is BatchedTensor:
        levels.append(x._level)
        x = x._value
    levels.reverse()  # the outermost wrapper is the innermost (highest) level
    return x, levels


def from_physical(phys, levels):
    """Wrap ``phys`` (whose leading dims are ``levels``, in increasing order) as a nest of batched tensors."""
    for level in levels:
        phys = wrap(phys, level)
    return phys


def expand_to(phys, have, want):
    """``phys`` (leading dims ``have``) broadcast to the leading dims ``want`` (a superset, both ordered)."""
    shape = phys.shape
    k = len(have)
    if have == want:
        return phys
    out = phys
    for i, level in enumerate(want):
        if level not in have:
            out = out.unsqueeze(i)
    sizes = [lv.size for lv in want] + list(shape[k:])
    return out.expand(*sizes)


def materialize(x, level):
    """``x``'s value at ``level`` (batch first), with an unbatched ``x`` broadcast along the batch."""
    v = unwrap_level(x, level)
    if v is not None:
        return v
    return x.unsqueeze(0).expand(level.size, *x.shape)


# the dispatcher hook ------------------------------------------------------------------------

RANDOM = {"sample_uniform", "sample_normal", "sample_bernoulli", "sample_exponential", "sample_random",
          "normal", "bernoulli", "poisson"}
_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either use the 'same' or "
                 "'different' randomness flags on vmap or perform the randomness operation out of vmap")


class Batching:
    """Installed as ``dispatch.batching`` while a vmap runs."""

    def claims(self, prim, inputs, params):
        if prim.name in RANDOM:
            return True
        for x in inputs:
            if type(x) is BatchedTensor:
                return True
        return "key" in params and any(type(k) is LogicalArray for k in params["key"])

    def run(self, prim, inputs, arrays, params):
        top = None
        for x in inputs:
            if type(x) is BatchedTensor and (top is None or x._level.id > top.id):
                top = x._level
        if prim.name in RANDOM:
            return _random(prim, inputs, arrays, params, top)
        keys = [k for k in params.get("key", ()) if type(k) is LogicalArray]
        if keys and (top is None or max(k.level.id for k in keys) >= top.id):
            return _indexed_by_batch(prim, inputs, params, max((k.level for k in keys), key=lambda lv: lv.id))
        args, batched = [], []
        for x, a in zip(inputs, arrays):
            if isinstance(x, Tensor):
                v = x._value if type(x) is BatchedTensor and x._level is top else x
                batched.append(v is not x)
                target = getattr(a, "dtype", None)
                if target is not None and target != v._data.dtype:  # the dispatcher promoted this operand
                    v = v.to(_from_np[target])
                args.append(v)
            else:
                args.append(a)
                batched.append(False)
        rule = RULES.get(prim.name)
        if rule is None:
            FALLBACK_USED.add(prim.name)
            rule = fallback
        out = rule(prim, args, batched, top.size, params)
        if type(out) is tuple:
            return tuple(wrap(o, top) if isinstance(o, Tensor) else o for o in out)
        return wrap(out, top)

    def holds(self, tree):
        return any(type(x) is BatchedTensor for x in _tensors_in(tree))

    def composite(self, fn, args, kwargs, own_storage=False):
        """A host-array composite (``dispatch.per_sample``) with batched inputs: run per sample, stacked."""
        top = None
        for x in _tensors_in((args, kwargs)):
            if type(x) is BatchedTensor and (top is None or x._level.id > top.id):
                top = x._level
        if top is None:
            return NotImplemented
        results = []
        for i in range(top.size):
            a, k = _sample((args, kwargs), top, i, own_storage)
            results.append(fn(*a, **k))
        first = results[0]
        if isinstance(first, tuple):
            parts = [wrap(_stack([r[k] for r in results]), top) for k in range(len(first))]
            return type(first)(*parts) if hasattr(first, "_fields") else tuple(parts)
        return wrap(_stack(results), top)

    def write(self, dst, src):
        """An in-place result ``src`` written into ``dst``: into the physical tensor when either is batched."""
        if type(dst) is not BatchedTensor and type(src) is not BatchedTensor:
            return False
        dphys, dlevels = to_physical(dst)
        sphys, slevels = to_physical(src)
        if any(lv not in dlevels for lv in slevels):
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{[lv.size for lv in slevels if lv not in dlevels] + list(dst.shape)}")
        dphys.copy_(expand_to(sphys, slevels, dlevels))
        return True


def fallback(prim, args, batched, size, params):
    """Run ``prim`` once per sample and stack the results along a new first dimension."""
    results = [prim(*[a[i] if b else a for a, b in zip(args, batched)], **params) for i in range(size)]
    first = results[0]
    if type(first) is tuple:
        return tuple(_stack([r[k] for r in results]) if isinstance(first[k], Tensor) else first[k]
                     for k in range(len(first)))
    return _stack(results)


def _tensors_in(tree):
    if isinstance(tree, Tensor):
        yield tree
    elif isinstance(tree, (tuple, list)):
        for t in tree:
            yield from _tensors_in(t)
    elif isinstance(tree, dict):
        for t in tree.values():
            yield from _tensors_in(t)


def _sample(tree, level, i, own_storage):
    """``tree`` with every tensor batched at ``level`` replaced by its sample ``i``."""
    if type(tree) is BatchedTensor:
        if tree._level is not level:
            return tree
        return tree._value[i].clone() if own_storage else tree._value[i]
    if isinstance(tree, (tuple, list)):
        parts = [_sample(t, level, i, own_storage) for t in tree]
        return type(tree)(*parts) if hasattr(tree, "_fields") else type(tree)(parts)
    if isinstance(tree, dict):
        return {k: _sample(t, level, i, own_storage) for k, t in tree.items()}
    return tree


def _indexed_by_batch(prim, inputs, params, level):
    """``x[idx]`` with an index tensor batched at ``level``: indexed sample by sample (the index values
    differ per sample), re-entering the dispatcher with each sample's index tensor."""
    if prim.name != "getitem":
        raise RuntimeError(f"vmap: {prim.name} with a batched index tensor is not supported; index with gather, "
                           "index_select or take_along_dim instead")
    x = inputs[0]
    rows = []
    for i in range(level.size):
        xi = x._value[i] if type(x) is BatchedTensor and x._level is level else x
        key = tuple(k.value[i] if type(k) is LogicalArray and k.level is level else k for k in params["key"])
        rows.append(xi[key])
    return wrap(stack(rows), level)


def _stack(tensors):
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"vmap: the per-sample results of an op without a batching rule have different shapes "
                           f"{sorted(shapes)}; vmap needs one shape for every sample")
    return stack(tensors)


def _random(prim, inputs, arrays, params, top):
    """A sampling primitive under vmap, by the randomness of its level: 'error' refuses, 'same' draws one
    sample's values for the whole batch, 'different' draws every sample's own."""
    if top is None and _DRAWING[0]:  # the physical draw of a batched sampling call decided above
        return dispatch.run_unbatched(prim, inputs, arrays, inputs[0]._device, params)
    level = top or LEVELS[-1]
    mode = level.randomness
    if mode == "error":
        raise RuntimeError(_RANDOM_ERROR)
    _DRAWING[0] += 1
    try:
        return _draw(prim, inputs, arrays, params, top, level, mode)
    finally:
        _DRAWING[0] -= 1


_DRAWING = [0]


def _draw(prim, inputs, arrays, params, top, level, mode):
    if top is None:
        if mode == "same":
            return dispatch.run_unbatched(prim, inputs, arrays, inputs[0]._device, params)
        if prim.name.startswith("sample_"):
            raise RuntimeError("vmap: Cannot ask for different inplace randomness on an unbatched tensor. This will "
                               "appear like same randomness.")
        return wrap(prim(*[materialize(x, level) if isinstance(x, Tensor) else x for x in inputs], **params), level)
    if mode == "different":
        return wrap(prim(*[materialize(x, level) if isinstance(x, Tensor) else x for x in inputs], **params), top)
    if prim.name.startswith("sample_"):  # the values of x are not read: one draw of one sample's shape
        one = prim(inputs[0]._value[0], **params)
        return wrap(one.unsqueeze(0).expand(top.size, *one.shape), top)
    if prim.name == "normal":  # mean + std * z with one z for all samples
        mean, std = inputs
        shape = np.broadcast_shapes(tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ())))
        z = _fresh_like(inputs, shape).normal_(generator=params.get("generator"))
        return mean + std * z
    if prim.name == "bernoulli":
        p = inputs[0]
        u = _fresh_like(inputs, tuple(p.shape)).uniform_(generator=params.get("generator"))
        return (u < p).to(p.dtype)
    raise RuntimeError(f"vmap: randomness='same' is not supported for {prim.name}; use randomness='different'")


def _fresh_like(inputs, shape):
    t = next(x for x in inputs if isinstance(x, Tensor))
    return empty(shape, dtype=t.dtype if t.dtype.is_floating_point else None, device=t.device)
