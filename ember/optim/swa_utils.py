"""Stochastic weight averaging and EMA: ``AveragedModel``, ``SWALR``, ``update_bn`` and the averaging functions.

An averaging function takes ``(averaged, current, num_averaged)``: the ``*_avg_fn`` forms
return the new average of one tensor, the ``*_multi_avg_fn`` forms update lists of
tensors in place.
"""
import copy
import itertools
import math

from ember.autograd import no_grad
from ember.creation import tensor
from ember.backend.dtype import int64
from ember.nn.modules.batchnorm import _BatchNorm
from ember.nn.modules.module import Module
from ember.optim._lr_base import LRScheduler, per_group

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _differentiable_kind(t):
    return t.is_floating_point() or t.is_complex()


def get_ema_multi_avg_fn(decay=0.999):
    """In-place exponential moving average of lists: ``ema <- decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_params, current_params, _):
        for p_ema, p in zip(ema_params, current_params, strict=True):
            if _differentiable_kind(p_ema):
                p_ema.lerp_(p, 1 - decay)
            else:
                p_ema.copy_(p_ema * decay + p * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean of lists: ``avg <- avg + (current - avg) / (num_averaged + 1)``."""

    @no_grad()
    def swa_update(averaged_params, current_params, num_averaged):
        n = num_averaged.item() if hasattr(num_averaged, "item") else num_averaged
        for p_avg, p in zip(averaged_params, current_params, strict=True):
            if _differentiable_kind(p_avg):
                p_avg.lerp_(p, 1 / (n + 1))
            else:
                p_avg.copy_(p_avg + (p - p_avg) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """The exponential moving average of one tensor: ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The running mean of one tensor: ``avg + (current - avg) / (num_averaged + 1)``."""

    @no_grad()
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers, with ``use_buffers``) hold a running average.

    The default average is SWA's equal-weight mean; ``avg_fn`` (per tensor) or
    ``multi_avg_fn`` (per list) choose another, e.g. ``get_ema_multi_avg_fn(0.99)``.

    >>> import ember
    >>> net = ember.nn.Linear(2, 1)
    >>> swa = ember.optim.swa_utils.AveragedModel(net)
    >>> swa.update_parameters(net); int(swa.n_averaged)
    1
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    def update_parameters(self, model):
        """Fold ``model``'s current parameters into the average (the first call copies them)."""
        mine = self._tensors(self.module) if self.use_buffers else self.parameters()
        averaged, current = [], []
        first = int(self.n_averaged) == 0
        for p_avg, p in zip(mine, self._tensors(model)):
            p_now = p.detach().to(p_avg.device)
            averaged.append(p_avg.detach())
            current.append(p_now)
            if first:
                p_avg.detach().copy_(p_now)
        if not first:
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(averaged, current, self.n_averaged)
            else:  # PyTorch's CPU default is the per-tensor SWA formula (its lerp form is for CUDA)
                avg_fn = self.avg_fn or get_swa_avg_fn()
                for p_avg, p in zip(averaged, current, strict=True):
                    p_avg.copy_(avg_fn(p_avg, p, self.n_averaged.to(p_avg.device)))
        if not self.use_buffers:
            with no_grad():
                for b_avg, b in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg.detach().copy_(b.detach().to(b_avg.device))
        with no_grad():
            self.n_averaged += 1


@no_grad()
def update_bn(loader, model, device=None):
    """Recompute every batch-norm layer's running statistics with one pass over ``loader``.

    The statistics are reset and accumulated as a cumulative mean (``momentum=None``);
    a batch that is a list or tuple contributes its first element.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` (cosine or linear), then hold it.

    >>> import ember
    >>> opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = ember.optim.swa_utils.SWALR(opt, swa_lr=0.5, anneal_epochs=2, anneal_strategy="linear")
    >>> [round(g["lr"], 3) for g in opt.param_groups]
    [0.75]
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for value, group in zip(per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """The lr the schedule started from, recovered from the current one (so other schedulers may chain)."""
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
