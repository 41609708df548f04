"""ember.nn.utils: helpers around modules (``nn.utils.rnn`` packs variable-length sequences)."""
from ember.nn.utils import rnn  # noqa: F401
