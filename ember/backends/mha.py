"""``nn.MultiheadAttention``'s fast path switch (recorded; ember's attention has one path)."""
_STATE = {"fastpath": True}


def get_fastpath_enabled():
    return _STATE["fastpath"]


def set_fastpath_enabled(value):
    _STATE["fastpath"] = bool(value)
