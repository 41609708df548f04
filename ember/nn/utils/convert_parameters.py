"""parameters_to_vector and vector_to_parameters: all parameters as one flat vector and back."""
from ember.ops.join import cat
from ember._tensor import Tensor


def _check_tensor(vec):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")


def parameters_to_vector(parameters):
    """Flatten and concatenate: ``parameters_to_vector(nn.Linear(3, 2).parameters()).shape == (8,)``."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into ``parameters`` (replacing their data), in order."""
    _check_tensor(vec)
    start = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[start:start + n].reshape(p.shape).data
        start += n
