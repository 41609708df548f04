"""PyTorch's top-level in-place functions (``torch.relu_(x)``, ``torch.exp_(x)``, ...): each calls
the Tensor method of the same name. Imported after every op module has attached its methods."""
from ember._tensor import Tensor
from ember.ops.registry import PUBLIC

_NAMES = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "conj_physical_", "cos_",
    "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_",
    "gcd_", "i0_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_",
    "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)


def _form(name):
    method = getattr(Tensor, name)

    def op(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    op.__name__ = name
    op.__doc__ = f"``ember.{name}(x, ...)`` is ``x.{name}(...)``: changes ``x`` in place and returns it."
    return op


for _name in _NAMES:
    if hasattr(Tensor, _name) and _name not in PUBLIC:
        PUBLIC[_name] = _form(_name)
if "detach" not in PUBLIC:
    PUBLIC["detach"] = _form("detach")


def fill(input, value):
    """A new tensor shaped like ``input`` holding ``value`` (``ember.fill``; ``fill_`` works in place)."""
    return input.clone().fill_(value)


PUBLIC.setdefault("fill", fill)
