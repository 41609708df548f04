"""``swap_in_optimizer_params_and_state``: run an optimizer's API on other parameters and state for a while."""
import contextlib

from ember._tensor import Tensor

_PREFIX = "swap_in_optimizer_params_and_state requires "


def _check_state(state):
    if not isinstance(state, dict):
        raise RuntimeError(f"{_PREFIX}swapin_optim_state['state'] to be a dict mapping packed parameter ids to "
                           f"per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_PREFIX}optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_PREFIX}per-parameter optimizer state entries to be dictionaries.")
    return state


def _check_group(idx, live, saved):
    if not isinstance(saved, dict):
        raise RuntimeError(f"{_PREFIX}each optimizer param group to be a dictionary.")
    ids = saved.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(f"{_PREFIX}optimizer.state_dict()-style param_groups[*]['params'] entries keyed by "
                           "packed parameter ids.")
    if len(live["params"]) != len(ids):
        raise RuntimeError(f"swapin_optim_state param group {idx} has a different number of params than the live "
                           "optimizer param group.")
    saved_only = [k for k in saved if k not in live]
    live_only = [k for k in live if k not in saved]
    if saved_only or live_only:
        raise RuntimeError(f"{_PREFIX}optimizer.state_dict()-style param group keys to exactly match the live "
                           f"optimizer group keys for group {idx}. Keys only in swap-in: {saved_only}. Keys only "
                           f"in live: {live_only}.")
    return ids


def _plan(optimizer, parameters, saved):
    """Validate the swap-in values; return the saved per-id state and, per group, (group, saved group, params)."""
    if not optimizer.state:
        raise RuntimeError(f"{_PREFIX}initialized optimizer state.")
    if not isinstance(saved, dict):
        raise RuntimeError(f"{_PREFIX}a DCP-style optimizer state_dict.")
    state = _check_state(saved.get("state"))
    groups = saved.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(f"{_PREFIX}swapin_optim_state['param_groups'] to be a list of param-group dicts, got "
                           f"{type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than the live optimizer.")
    flat, offset, seen, plan = list(parameters.values()), 0, set(), []
    for idx, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _check_group(idx, live, group)
        seen.update(ids)
        if offset + len(ids) > len(flat):
            raise RuntimeError(f"{_PREFIX}the explicit parameter state to match optimizer.param_groups ordering.")
        plan.append((live, group, flat[offset:offset + len(ids)]))
        offset += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_PREFIX}swapin_optim_state['state'] to be keyed only by packed parameter ids from "
                           f"param_groups[*]['params']; got extra keys {extra!r}.")
    return state, plan


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Inside the block, ``optimizer`` steps ``swapin_parameters`` (a dict, in the order of its parameters)
    with the state and options of ``swapin_optim_state`` (a ``state_dict()``); its own are back afterwards.
    In-place changes to the swapped-in tensors stay in them; other changes to the state are dropped."""
    state, plan = _plan(optimizer, swapin_parameters, swapin_optim_state)
    original_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapped = {}
        for live, group, params in plan:
            live["params"] = params
            live.update((k, v) for k, v in group.items() if k != "params")
            for p, pid in zip(params, group["params"]):
                swapped[p] = dict(state.get(pid, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = original_state
