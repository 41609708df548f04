"""The optimizer base: parameter groups, per-parameter state, state_dict and step.

Each optimizer supplies two hooks: ``_init_state(p, group)`` (the state buffers a
parameter starts with) and ``_update(p, state, group)`` (one step on the
parameter's arrays, in place). The base walks the groups and owns the rest.
"""
import warnings

from ember._tensor import Tensor
from ember.backend import array_module
from ember.backend.sparse_coo import CooArray
from ember.autograd import enable_grad
from ember.creation import tensor
from ember.optim import _fused
from ember.optim._hooks import (  # noqa: F401  (PyTorch spells them ember.optim.optimizer.register_...)
    OptimizerHooks, hooked_step, register_optimizer_step_post_hook, register_optimizer_step_pre_hook,
)


class _RequiredParameter:
    """The default of an option every param group must set (e.g. ``lr``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _state_tensor(data, like):
    """Wrap a backend array as a plain tensor with the parameter's dtype and device."""
    return Tensor._make(data, like._dtype, like._device)


def _fresh_state(p, buffers, **counters):
    """A parameter's starting state: the float32 ``step`` counter, other scalar
    ``counters`` at their initial values, and zero buffers named ``buffers``."""
    xp = array_module(p.device)
    state = {"step": tensor(0.0, device=p.device)}
    state.update((name, tensor(value, device=p.device)) for name, value in counters.items())
    state.update((name, _state_tensor(xp.zeros_like(p._data), p)) for name in buffers)
    return state


def _count_step(state):
    """Advance the ``step`` counter in place (a new version) and return the step number."""
    step = state["step"]
    step._data += 1
    step._bump()
    return float(step._data)


class Optimizer(OptimizerHooks):
    """Base class of all optimizers.

    Options every optimizer accepts with PyTorch's meaning: ``maximize``; ``foreach`` and
    ``fused`` are accepted and recorded in the group but choose nothing: on the CPU the
    elementwise optimizers always run one compiled pass per parameter (``_fused.py``) when
    the arrays allow it (float32/float64 host arrays, dense gradients, numba installed), the
    parameters' passes together over the threads at the end of ``step`` (what ``foreach``
    does in torch), and their NumPy step otherwise, so every flag value gives the same numbers; ``capturable``
    (recorded); ``differentiable=True`` raises PyTorch's error for leaf parameters at
    ``step`` (ember does not record steps in the graph).

    >>> import ember
    >>> w = ember.zeros(2, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> (w - 1).pow(2).sum().backward(); _ = opt.step()
    >>> w
    tensor([1., 1.], requires_grad=True)
    """

    _sparse_grads = False  # SGD and SparseAdam apply sparse COO gradients; the others raise PyTorch's error

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = hooked_step(cls.__dict__["step"])

    def __init__(self, params, defaults):
        self._init_hooks()
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {params.type()}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options: ``opt.add_param_group({"params": [b], "lr": 0.1})``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {"params": params, **{k: v for k, v in param_group.items() if k != "params"}}
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error", UserWarning, stacklevel=3,
            )
        if any(id(p) in ids for g in self.param_groups for p in g["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad`` (drop it, or zero it in place with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad = p.grad
                    if grad.grad_fn is not None:
                        grad = p.grad = grad.detach()
                    if grad.is_sparse:  # no stored entries left, as PyTorch's zero_()
                        coo = grad._data
                        grad._data = CooArray(coo.indices[:, :0], coo.values[:0], coo.shape, True)
                    else:
                        grad._data[...] = 0
                    grad._bump()

    @hooked_step
    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with _fused.batched():  # the parameters' kernels run together at the end, over the threads
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self._check_grad(p, group)
                    state = self.state.get(p)
                    if state is None:
                        state = self._init_state(p, group)
                        if state:
                            self.state[p] = state
                    self._update(p, state, group)
                    p._bump()
        return loss

    def _check_grad(self, p, group):
        """PyTorch's errors for a gradient this optimizer cannot apply."""
        grad = p.grad
        if grad.is_sparse and not self._sparse_grads:
            raise RuntimeError(self._sparse_error or f"{type(self).__name__} does not support sparse gradients")
        if group.get("differentiable") and p.requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                f"({type(self).__name__}(differentiable=True) records the step in the autograd graph, which "
                "PyTorch allows only for non-leaf parameters; ember optimizes leaves and does not record steps: "
                "use differentiable=False)"
            )

    _sparse_error = None  # PyTorch's message where it is not "<Name> does not support sparse gradients"

    def _init_state(self, p, group):
        return {}

    def _update(self, p, state, group):
        raise NotImplementedError

    # state_dict -----------------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, as PyTorch lays it out."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        state_dict = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict):
        """Restore options and state saved by :meth:`state_dict`; state tensors move to each parameter's device/dtype."""
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
        by_index = {i: p for s, g in zip(saved, self.param_groups) for i, p in zip(s["params"], g["params"])}
        self.state = {}
        for key, value in state_dict["state"].items():
            param = by_index.get(key)
            if param is None:
                self.state[key] = value
            else:
                self.state[param] = {k: _cast_state(k, v, param) for k, v in value.items()}
        self.param_groups = [
            {**{k: v for k, v in s.items() if k != "params"}, "params": g["params"]}
            for s, g in zip(saved, self.param_groups)
        ]
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def __repr__(self):
        parts = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines = [f"Parameter Group {i}"] + [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
            parts.append("\n".join(lines) + "\n")
        return "\n".join(parts) + ")"


def _cast_state(key, value, param):
    """A private copy of one saved state value; floating buffers take the parameter's dtype, all its device."""
    if not isinstance(value, Tensor):
        return value
    if key == "step" or not value.is_floating_point():
        return value.to(device=param.device, copy=True)
    return value.to(dtype=param.dtype, device=param.device, copy=True)
