"""``custom_fwd`` / ``custom_bwd``: autocast-aware ``forward`` and ``backward`` of an ``autograd.Function``.

``custom_fwd`` records the autocast state the forward ran under (and, with ``cast_inputs``, runs the
forward with autocast off on inputs cast to that dtype); ``custom_bwd`` runs the backward under the
same state, as PyTorch's do.
"""
import functools

from ember._tensor import Tensor
from ember.amp.autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from ember.ops.convert import to_copy


def _cast(value, dtype, device_type):
    if isinstance(value, Tensor):
        eligible = value._dtype.category == 2 and value._device.type == device_type
        return to_copy(value, dtype, None) if eligible else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype, device_type) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype, device_type) for k, v in value.items()}
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorate a custom Function's ``forward``: ``@ember.amp.custom_fwd(device_type="cpu")``."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_on = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = False
        if not autocast_on:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast(args, cast_inputs, device_type), **_cast(kwargs, cast_inputs, device_type))
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorate a custom Function's ``backward`` to run under its forward's autocast state."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
