"""PyTorch's top-level in-place functions (``torch.relu_(x)``, ``torch.exp_(x)``, ...): each calls
the Tensor method of the same name. Imported after every op module has attached its methods."""
from ember._tensor import Tensor

from ember.ops.registry import public


def _form(name):
    """``ember.<name>(x, ...)``: the Tensor method ``name`` as a function (registered public)."""
    getattr(Tensor, name)  # the method must exist

    def op(input, *args, **kwargs):  # looked up on the instance: a subclass's own method (vmap's detach) runs
        return getattr(input, name)(*args, **kwargs)
    op.__name__ = name
    op.__doc__ = f"``ember.{name}(x, ...)`` is ``x.{name}(...)``: changes ``x`` in place and returns it."
    return public(op, method=False)


abs_ = _form("abs_")
acos_ = _form("acos_")
acosh_ = _form("acosh_")
addmv_ = _form("addmv_")
arccos_ = _form("arccos_")
arccosh_ = _form("arccosh_")
arcsin_ = _form("arcsin_")
arcsinh_ = _form("arcsinh_")
arctan_ = _form("arctan_")
arctanh_ = _form("arctanh_")
asin_ = _form("asin_")
asinh_ = _form("asinh_")
atan_ = _form("atan_")
atanh_ = _form("atanh_")
ceil_ = _form("ceil_")
clamp_ = _form("clamp_")
clamp_max_ = _form("clamp_max_")
clamp_min_ = _form("clamp_min_")
clip_ = _form("clip_")
conj_physical_ = _form("conj_physical_")
cos_ = _form("cos_")
cosh_ = _form("cosh_")
deg2rad_ = _form("deg2rad_")
detach_ = _form("detach_")
erf_ = _form("erf_")
erfc_ = _form("erfc_")
exp2_ = _form("exp2_")
exp_ = _form("exp_")
expm1_ = _form("expm1_")
fill_ = _form("fill_")
fix_ = _form("fix_")
floor_ = _form("floor_")
frac_ = _form("frac_")
gcd_ = _form("gcd_")
i0_ = _form("i0_")
lcm_ = _form("lcm_")
ldexp_ = _form("ldexp_")
log10_ = _form("log10_")
log1p_ = _form("log1p_")
log2_ = _form("log2_")
log_ = _form("log_")
logit_ = _form("logit_")
nan_to_num_ = _form("nan_to_num_")
neg_ = _form("neg_")
negative_ = _form("negative_")
rad2deg_ = _form("rad2deg_")
reciprocal_ = _form("reciprocal_")
relu_ = _form("relu_")
round_ = _form("round_")
rsqrt_ = _form("rsqrt_")
sigmoid_ = _form("sigmoid_")
sin_ = _form("sin_")
sinc_ = _form("sinc_")
sinh_ = _form("sinh_")
sqrt_ = _form("sqrt_")
square_ = _form("square_")
tan_ = _form("tan_")
tanh_ = _form("tanh_")
trunc_ = _form("trunc_")
xlogy_ = _form("xlogy_")
zero_ = _form("zero_")
detach = _form("detach")


def fill(input, value):
    """A new tensor shaped like ``input`` holding ``value`` (``ember.fill``; ``fill_`` works in place)."""
    return input.clone().fill_(value)


public(fill, method=False)
