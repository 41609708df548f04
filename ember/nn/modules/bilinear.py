"""Bilinear (y = x1^T A x2 + b), PReLU (a learnt negative slope), PairwiseDistance and CosineSimilarity."""
import math

from ember.autograd import no_grad
from ember.creation import empty
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.nn import init
from ember.nn.modules._init_helpers import make_weight_and_bias
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter


class Bilinear(Module):
    """y_o = x1^T W_o x2 + b_o with W of shape (out, in1, in2): ``nn.Bilinear(2, 3, 4)(a, b).shape == (N, 4)``."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        make_weight_and_bias(self, (out_features, in1_features, in2_features), out_features, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class PReLU(Module):
    """x if x > 0 else a x, with ``a`` learnt (one, or one per channel): ``nn.PReLU(3)(ember.ones(2, 3))``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        with no_grad():
            self.weight.fill_(self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class PairwiseDistance(Module):
    """p-norm of x1 - x2 + eps over the last dim: ``nn.PairwiseDistance()(a, b)``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim``: ``nn.CosineSimilarity(dim=1)(a, b)``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


__all__ = ["Bilinear", "CosineSimilarity", "PReLU", "PairwiseDistance"]
