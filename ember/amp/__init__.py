"""``ember.amp``: automatic mixed precision, as ``torch.amp``.

``autocast`` runs the ops in PyTorch's per-device lists in a lower precision (``ember.amp.policy``);
``GradScaler`` scales float16 losses and skips steps whose gradients overflow; ``custom_fwd`` and
``custom_bwd`` make custom autograd Functions autocast-aware.
"""
from ember.amp.autocast_mode import autocast, is_autocast_available
from ember.amp.custom import custom_bwd, custom_fwd
from ember.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
