"""Define-by-run automatic differentiation: graph nodes, the backward engine,
grad modes, custom Functions and gradient checks."""
from ember.autograd import forward_ad
from ember.autograd.anomaly import (
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)
from ember.autograd.function import Function, FunctionCtx, Variable, once_differentiable
from ember.autograd.functional_api import backward, grad
from ember.autograd.grad_mode import (
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from ember.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from ember.autograd.graph import Node
from ember.autograd.hooks import RemovableHandle

__all__ = [
    "Function", "FunctionCtx", "GradcheckError", "Node", "RemovableHandle", "Variable", "backward", "detect_anomaly",
    "enable_grad", "forward_ad",
    "grad", "gradcheck", "gradgradcheck", "inference_mode", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
    "is_grad_enabled", "is_inference_mode_enabled", "no_grad", "once_differentiable", "set_detect_anomaly",
    "set_grad_enabled",
]
