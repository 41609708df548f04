"""``ember.testing``: PyTorch's testing helpers: ``assert_close`` (closeness with per-dtype default
tolerances and PyTorch's mismatch report), ``make_tensor`` (random test inputs) and the deprecated
``assert_allclose``."""
from ember.testing.comparison import assert_allclose, assert_close
from ember.testing.creation import make_tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]
