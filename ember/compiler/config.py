"""Settings of ``ember.compile`` (module attributes, as ``torch._dynamo.config``).

``recompile_limit``: how many graphs one compiled function keeps for differing guards
(shapes when ``dynamic=False``, dtypes, train/eval, grad mode, a replaced parameter...);
past it the function warns once and runs eagerly for new guard sets.
``cache_size_limit`` is the older name torch still reads; either may be set.
``dynamic_shape_limit``: with ``dynamic=True`` (or ``None`` once a shape has changed) graphs
specialised to a shape are kept per shape up to this many, outside ``recompile_limit``.
``segment_limit``: after a graph break the function runs as compiled segments (``segments.py``);
past this many segments recorded for one guard set, or this many replays that met ops unlike their
recording, it runs eagerly.
"""
recompile_limit = 8
cache_size_limit = 8
dynamic_shape_limit = 64
segment_limit = 64


def limit():
    """The recompile limit in force: the smaller of the two names, so setting either works."""
    return min(recompile_limit, cache_size_limit)
