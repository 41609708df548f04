"""``ember.autocast``: regions where chosen ops run in a lower precision, as ``torch.autocast``.

The state (enabled and dtype per device type, the weight-cast cache, the nesting depth) is
thread-local like PyTorch's. While any region is on, an interceptor in the dispatcher casts the
inputs of the ops in ``ember.amp.policy``'s lists before they run; the casts are ordinary
``to`` ops, so gradients flow back to the original dtypes.

>>> import ember
>>> a, b = ember.ones(2, 3), ember.ones(3, 4)
>>> with ember.autocast("cpu"):
...     (a @ b).dtype, (a + 1).dtype
(ember.bfloat16, ember.float32)
"""
import functools
import inspect
import threading
import warnings

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.backend import PROMOTE, cuda_is_available
from ember.backend.dtype import bfloat16, dtype as ember_dtype, float16, float32, float64
from ember.ops import dispatch
from ember.ops.convert import to_copy
from ember.amp.policy import BY_DEVICE, FP32, LOWER, policy_of

DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPE = {"cpu": bfloat16, "cuda": float16}
_SUPPORTED = {"cpu": (bfloat16, float16), "cuda": (bfloat16, float16, float32)}


class _State(threading.local):
    def __init__(self):
        self.enabled = dict.fromkeys(DEVICE_TYPES, False)
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}  # id(leaf) -> (leaf, version, dtype, cast)


_state = _State()
_active = [0]  # threads' enabled device types, summed: the interceptor is in while any is on
_lock = threading.Lock()


def _check_device_type(device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}' "
                           f"(ember autocasts on {', '.join(DEVICE_TYPES)})")
    return device_type


def is_autocast_available(device_type):
    """Whether autocast can run on ``device_type``: ``ember.amp.is_autocast_available("cpu")``."""
    return device_type in DEVICE_TYPES


def is_autocast_enabled(device_type="cuda"):
    """Whether autocast is on for ``device_type`` in this thread (no argument: CUDA, as torch's)."""
    return _state.enabled[_check_device_type(device_type)]


def set_autocast_enabled(device_type, enabled=None):
    """Turn autocast on or off for ``device_type`` (``set_autocast_enabled(flag)``: CUDA)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _check_device_type(device_type)
    was = _state.enabled[device_type]
    _state.enabled[device_type] = bool(enabled)
    if was != bool(enabled):
        _count(1 if enabled else -1)


def get_autocast_dtype(device_type):
    """The dtype autocast lowers to on ``device_type``: bfloat16 on CPU and float16 on CUDA by default."""
    return _state.dtype[_check_device_type(device_type)]


def set_autocast_dtype(device_type, dtype):
    _state.dtype[_check_device_type(device_type)] = dtype


def is_autocast_cpu_enabled():
    return _state.enabled["cpu"]


def set_autocast_cpu_enabled(enabled):
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    return _state.dtype["cpu"]


def set_autocast_cpu_dtype(dtype):
    _state.dtype["cpu"] = dtype


def get_autocast_gpu_dtype():
    return _state.dtype["cuda"]


def set_autocast_gpu_dtype(dtype):
    _state.dtype["cuda"] = dtype


def is_autocast_cache_enabled():
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled):
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    """Forget the cached casts of parameters (each region's exit does this at nesting depth 0)."""
    _state.cache.clear()


def autocast_increment_nesting():
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting():
    _state.nesting -= 1
    return _state.nesting


class autocast:
    """A region (context manager or decorator) where the ops in PyTorch's autocast lists run in
    ``dtype`` (default: bfloat16 on CPU, float16 on CUDA); ``enabled=False`` turns autocast off
    inside a region. ``cache_enabled`` reuses one cast of each parameter within the outermost region.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        self.device = _check_device_type(device_type)
        self.fast_dtype = _state.dtype[self.device] if dtype is None else dtype
        if dtype is not None and not isinstance(dtype, ember_dtype):
            raise ValueError(f"Expected `dtype` of type `ember.dtype`, got: `{type(dtype)}`")
        self._enabled = bool(enabled)
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.device == "cuda" and not cuda_is_available():
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling", stacklevel=2)
            self._enabled = False
        if self._enabled and self.fast_dtype not in _SUPPORTED[self.device]:
            names = ", ".join(f"ember.{d.name}" for d in _SUPPORTED[self.device])
            warnings.warn(f"In {self.device.upper()} autocast, but the target dtype is not supported. Disabling "
                          f"autocast.\n{self.device.upper()} Autocast only supports dtypes of {names} currently.", stacklevel=2)
            self._enabled = False

    def __enter__(self):
        st = _state
        self._prev = (st.enabled[self.device], st.dtype[self.device], st.cache_enabled)
        set_autocast_enabled(self.device, self._enabled)
        st.dtype[self.device] = self.fast_dtype
        st.cache_enabled = self._cache_enabled
        autocast_increment_nesting()
        return self

    def __exit__(self, *exc):
        st = _state
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        enabled, st.dtype[self.device], st.cache_enabled = self._prev
        set_autocast_enabled(self.device, enabled)
        return False

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise TypeError("autocast decorates functions, not classes")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return wrapper


def _count(delta):
    with _lock:
        _active[0] += delta
        dispatch.intercept("autocast", _wrap if _active[0] > 0 else None)


# the interceptor --------------------------------------------------------------------------

def _wrap(next_run):
    def run(prim, inputs, arrays, dev, params):
        st = _state
        if dev is None or not st.enabled.get(dev.type):
            return next_run(prim, inputs, arrays, dev, params)
        policy = policy_of(BY_DEVICE[dev.type], prim)
        if policy is None:
            return next_run(prim, inputs, arrays, dev, params)
        target = _target(policy, inputs, st.dtype[dev.type])
        if target is None:
            return next_run(prim, inputs, arrays, dev, params)
        cast_inputs, cast_arrays = list(inputs), list(arrays)
        for i, x in enumerate(inputs):
            if _eligible(x, policy) and x._dtype is not target:
                cast_inputs[i] = y = cast(x, target)
                cast_arrays[i] = y._data
        return next_run(prim, tuple(cast_inputs), cast_arrays, dev, params)
    return run


def _eligible(x, policy):
    return isinstance(x, Tensor) and x._dtype.category == 2 and (policy != LOWER and policy != FP32
                                                                  or x._dtype is not float64)


def _target(policy, inputs, fast):
    if policy == LOWER:
        return fast
    if policy == FP32:
        return float32
    widest = fast
    for x in inputs:
        if _eligible(x, policy):
            widest = PROMOTE[widest, x._dtype]
    return widest


def cast(x, dtype):
    """``x`` as ``dtype`` through a recorded ``to``; a parameter's cast is reused within the outer region
    (not one made under no_grad, which has no history to reuse)."""
    st = _state
    if not (st.cache_enabled and x._requires_grad and x.grad_fn is None and grad_mode.state.enabled):
        return to_copy(x, dtype, None)
    hit = st.cache.get(id(x))
    if hit is not None and hit[0] is x and hit[1] == x._version[0] and hit[2] is dtype:
        return hit[3]
    y = to_copy(x, dtype, None)
    st.cache[id(x)] = (x, x._version[0], dtype, y)
    return y


def cast_entry(name):
    """Give a composite public op the autocast policy its ``name`` has in the device's list, at its
    entry: for ops whose primitives alone would not decide it (PyTorch's float32 losses, ``prelu``)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if dispatch.run is dispatch.execute:
                return fn(*args, **kwargs)
            return _cast_call(fn, name, args, kwargs)
        return wrapper
    return decorate


def _cast_call(fn, name, args, kwargs):
    st = _state
    dev = next((a._device for a in args if isinstance(a, Tensor)), None)
    policy = None if dev is None or not st.enabled.get(dev.type) else BY_DEVICE[dev.type].get(name)
    if policy is None:
        return fn(*args, **kwargs)
    target = _target(policy, args, st.dtype[dev.type])
    args = tuple(cast(a, target) if _eligible(a, policy) and a._dtype is not target else a for a in args)
    kwargs = {k: cast(a, target) if _eligible(a, policy) and a._dtype is not target else a
              for k, a in kwargs.items()}
    return fn(*args, **kwargs)
