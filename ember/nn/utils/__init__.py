"""ember.nn.utils: helpers around modules (``nn.utils.rnn`` packs variable-length sequences)."""
from ember.nn.utils import rnn  # noqa: F401
from ember.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401,E501
from ember.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
