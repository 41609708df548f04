"""A custom op written in C: swish ``x * sigmoid(beta * x)``, forward and backward as C loops, made an
ember op with ``ember.library.custom_op`` (autograd through ``register_autograd``, shapes through
``register_fake``), used as the activation of a small regression MLP, and exported through the
capture IR, where it is one ``ops.ember_examples.swish`` call.

Run ``python -m ember.examples.custom_op_c``: it compiles the C code (cached in
``$EMBER_EXTENSIONS_DIR``), checks the gradient in float64, trains, and prints the exported graph.
"""
import functools

from ember._tensor import Tensor
from ember.autograd.gradcheck import gradcheck
from ember.creation import empty_like, tensor
from ember.export.exported import export
from ember.library import custom_op
from ember.nn.modules.linear import Linear
from ember.nn.modules.module import Module
from ember.optim.adam import Adam
from ember.random import manual_seed, randn
from ember.utils.cpp_extension import load_inline

C_SOURCE = r"""
#include <math.h>

/* out = x * sigmoid(beta * x); contiguous float32 or float64 tensors of the same shape */
static int64_t numel(const ember_tensor *t) {
    int64_t n = 1;
    for (int64_t d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

void swish_forward(ember_tensor *out, const ember_tensor *x, double beta) {
    int64_t n = numel(x);
    if (x->dtype == EMBER_FLOAT64) {
        const double *xs = (const double *)x->data; double *ys = (double *)out->data;
        for (int64_t i = 0; i < n; i++) ys[i] = xs[i] / (1.0 + exp(-beta * xs[i]));
    } else {
        const float *xs = (const float *)x->data; float *ys = (float *)out->data;
        for (int64_t i = 0; i < n; i++) ys[i] = xs[i] / (1.0f + expf((float)-beta * xs[i]));
    }
}

/* grad_x = grad * (s + beta * x * s * (1 - s)), s = sigmoid(beta * x) */
void swish_backward(ember_tensor *grad_x, const ember_tensor *grad, const ember_tensor *x, double beta) {
    int64_t n = numel(x);
    if (x->dtype == EMBER_FLOAT64) {
        const double *xs = (const double *)x->data, *gs = (const double *)grad->data;
        double *out = (double *)grad_x->data;
        for (int64_t i = 0; i < n; i++) {
            double s = 1.0 / (1.0 + exp(-beta * xs[i]));
            out[i] = gs[i] * (s + beta * xs[i] * s * (1.0 - s));
        }
    } else {
        const float *xs = (const float *)x->data, *gs = (const float *)grad->data;
        float *out = (float *)grad_x->data;
        for (int64_t i = 0; i < n; i++) {
            float s = 1.0f / (1.0f + expf((float)-beta * xs[i]));
            out[i] = gs[i] * (s + (float)beta * xs[i] * s * (1.0f - s));
        }
    }
}
"""


@functools.cache
def extension():
    """The compiled C module (built on first use, then loaded from the build cache)."""
    return load_inline("ember_swish", C_SOURCE, functions=["swish_forward", "swish_backward"], language="c",
                       extra_cflags=["-O2"], extra_ldflags=["-lm"])


def _check(x, what):
    if x.dtype.name not in ("float32", "float64"):
        raise TypeError(f"{what}: the C kernel takes float32 or float64 tensors, got {x.dtype}")
    return x.contiguous()


@custom_op("ember_examples::swish", mutates_args=())
def swish(x: Tensor, beta: float = 1.0) -> Tensor:
    """``x * sigmoid(beta * x)``, computed in C."""
    x = _check(x, "swish")
    out = empty_like(x)
    extension().swish_forward(out, x, beta)
    return out


@custom_op("ember_examples::swish_backward", mutates_args=())
def swish_backward(grad: Tensor, x: Tensor, beta: float) -> Tensor:
    """The gradient of ``swish`` with respect to ``x``, computed in C."""
    grad, x = _check(grad, "swish_backward").to(x.dtype).contiguous(), _check(x, "swish_backward")
    out = empty_like(x)
    extension().swish_backward(out, grad, x, beta)
    return out


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])
    ctx.beta = inputs[1]


def _backward(ctx, grad):
    (x,) = ctx.saved_tensors
    return swish_backward(grad, x, ctx.beta), None


swish.register_autograd(_backward, setup_context=_setup_context)
swish.register_fake(lambda x, beta=1.0: empty_like(x))
swish_backward.register_fake(lambda grad, x, beta: empty_like(x))


class SwishMLP(Module):
    """A two-layer regression MLP whose activation is the C swish."""

    def __init__(self, inputs=4, hidden=32, beta=1.5):
        super().__init__()
        self.fc1, self.fc2, self.beta = Linear(inputs, hidden), Linear(hidden, 1), beta

    def forward(self, x):
        return self.fc2(swish(self.fc1(x), self.beta))


def toy_data(n=256, inputs=4, seed=0):
    """Inputs and a smooth nonlinear target to fit."""
    manual_seed(seed)
    x = randn(n, inputs)
    y = (x[:, :1] * x[:, 1:2]).sin() + 0.5 * x[:, 2:3] - 0.25 * x[:, 3:4] ** 2
    return x, y


def train(steps=200, lr=1e-2, seed=0):
    """Fit ``SwishMLP`` to ``toy_data``; returns the model and its loss per step."""
    x, y = toy_data(seed=seed)
    model = SwishMLP()
    opt = Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def check_gradient(seed=0):
    """float64 gradcheck of the C backward against finite differences of the C forward."""
    manual_seed(seed)
    x = randn(3, 5).double().requires_grad_(True)
    return gradcheck(lambda t: swish(t, 1.5), (x,))


def export_model(model, batch=8):
    """The model captured as a graph (one ``ops.ember_examples.swish`` call)."""
    return export(model, (randn(batch, 4),))


def main():
    print("gradcheck:", check_gradient())
    model, losses = train()
    print(f"loss: {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(export_model(model).graph.code)
    print(swish(tensor([-1.0, 0.0, 1.0])))


if __name__ == "__main__":
    main()
