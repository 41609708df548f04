"""Selective activation checkpointing, as ``torch.utils.checkpoint``'s SAC.

``checkpoint(fn, x, use_reentrant=False, context_fn=partial(create_selective_checkpoint_contexts, policy))``
keeps the outputs of the ops the policy saves and recomputes only the others in the backward.

The ``op`` a policy sees is ember's ``Primitive`` record (``ember.ops.dispatch.Primitive``): compare
``op.name`` (``"mm"``, ``"exp"``) or ``op.node_name`` (``"MmBackward0"``), or the record itself. A list
policy holds records or either of those names; its ops are MUST_SAVE, all others PREFER_RECOMPUTE.
The policy runs once per op in the first run, after the op, with ``ctx.op_output`` set; the
recomputation takes the n-th saved output of an op back for that op's n-th run, so ``ctx.is_recompute``
is always False. The first run goes without grad, where a few modules pick another primitive than with
grad (max pooling keeps no indices): such an op has no saved run under its name and is recomputed.
"""
import contextlib
import enum

from ember.ops import dispatch

__all__ = ["CheckpointPolicy", "SAC_IGNORED_OPS", "SelectiveCheckpointContext",
           "create_selective_checkpoint_contexts"]

# ops that are never cached: a view's result must share its recomputed input's memory
SAC_IGNORED_OPS = frozenset(name for name, prim in dispatch.PRIMITIVES.items() if prim.view)


class CheckpointPolicy(enum.Enum):
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVING = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE, CheckpointPolicy.MUST_CPU_OFFLOAD,
           CheckpointPolicy.PREFER_CPU_OFFLOAD)  # ember's tensors live on the host already: offload = save


class SelectiveCheckpointContext:
    """What a policy function gets besides the op: ``is_recompute`` (always False) and ``op_output``."""

    def __init__(self, *, is_recompute, op_output=None):
        self.is_recompute = is_recompute
        self.op_output = op_output


class _Forward:
    """Holds a forward's stashed ctx values beside its output, so a cached op can be recorded again."""


class _Cached:
    """A primitive record whose forward hands back the first run's output instead of computing it."""

    def __init__(self, prim, entry):
        self._prim, self._entry = prim, entry

    def __getattr__(self, name):
        return getattr(self._prim, name)

    def forward(self, ctx, xp, *arrays, **params):
        ctx.__dict__.update(self._entry["ctx"])
        return self._entry["out"]


def _shapes(arrays):
    return [tuple(a.shape) if hasattr(a, "shape") else None for a in arrays]


class _Cache:
    def __init__(self):
        self.entries = {}  # op name -> its runs in order: a saved run's entry, or None (recomputed)

    def _intercept(self, wrap):
        name = f"_sac{len([k for k in dispatch._interceptors if k.startswith('_sac')]):03d}"
        return _installed(name, wrap)


@contextlib.contextmanager
def _installed(name, wrap):
    dispatch.intercept(name, wrap)
    try:
        yield
    finally:
        dispatch.intercept(name, None)


class _Recording:
    """The forward context: runs each op, asks the policy, keeps the outputs it saves."""

    def __init__(self, cache, policy_fn, allow_mutation):
        self.cache, self.policy_fn, self.allow_mutation = cache, policy_fn, allow_mutation

    def __enter__(self):
        self.cache.entries.clear()
        self._cm = self.cache._intercept(self.wrap)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            if prim.name in SAC_IGNORED_OPS:
                return next_run(prim, inputs, arrays, dev, params)
            entry = {"shapes": _shapes(arrays)}
            result = next_run(_Stashing(prim, entry), inputs, arrays, dev, params)
            policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=result), prim,
                                    *inputs, **params)
            if isinstance(policy, bool):
                policy = CheckpointPolicy.PREFER_SAVE if policy else CheckpointPolicy.PREFER_RECOMPUTE
            if not isinstance(policy, CheckpointPolicy):
                raise RuntimeError(f"the policy function must return a CheckpointPolicy or a bool, got "
                                   f"{type(policy).__name__} for op {prim.name!r}")
            if policy in _SAVING:
                outs = result if type(result) is tuple else (result,)
                if self.allow_mutation:
                    entry["out"] = tuple(o._data.copy() for o in outs) if type(result) is tuple \
                        else result._data.copy()
                entry["versions"] = [(o._version, o._version[0]) for o in outs]
                self.cache.entries.setdefault(prim.name, []).append(entry)
            else:
                self.cache.entries.setdefault(prim.name, []).append(None)
            return result
        return run


class _Stashing:
    """The op's own record, with a forward that keeps what it stashes on ctx and its output."""

    def __init__(self, prim, entry):
        self._prim, self._entry = prim, entry

    def __getattr__(self, name):
        return getattr(self._prim, name)

    def forward(self, ctx, xp, *arrays, **params):
        holder = _Forward()
        out = self._prim.forward(holder, xp, *arrays, **params)
        ctx.__dict__.update(holder.__dict__)
        self._entry["ctx"] = dict(holder.__dict__)
        self._entry["out"] = out
        return out


class _Replaying:
    """The recompute context: the saved ops' outputs come from the cache, the others run again."""

    def __init__(self, cache, allow_mutation):
        self.cache, self.allow_mutation = cache, allow_mutation

    def __enter__(self):
        self.seen = {}
        self._cm = self.cache._intercept(self.wrap)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            runs = self.cache.entries.get(prim.name, ())
            n = self.seen.get(prim.name, 0)
            self.seen[prim.name] = n + 1
            entry = runs[n] if n < len(runs) else None
            if entry is None:
                return next_run(prim, inputs, arrays, dev, params)
            if entry["shapes"] != _shapes(arrays):
                raise RuntimeError(f"selective checkpoint: run {n} of {prim.name!r} got inputs of shapes "
                                   f"{_shapes(arrays)} in the recomputation but {entry['shapes']} in the first run; "
                                   "the checkpointed function must run the same ops")
            if not self.allow_mutation and any(v[0] != before for v, before in entry["versions"]):
                raise RuntimeError(f"selective checkpoint: the saved output of {prim.name!r} was modified in place "
                                   "after it was cached; pass allow_cache_entry_mutation=True to "
                                   "create_selective_checkpoint_contexts to allow it")
            return next_run(_Cached(prim, entry), inputs, arrays, dev, params)
        return run


def _list_policy(ops):
    wanted = set()
    for op in ops:
        if isinstance(op, str):
            wanted.add(op)
        elif isinstance(op, dispatch.Primitive):
            wanted.add(op.name)
        else:
            raise TypeError(f"a policy list holds Primitive records or op names, got {type(op).__name__}")

    def policy(ctx, op, *args, **kwargs):
        hit = op.name in wanted or op.node_name in wanted
        return CheckpointPolicy.MUST_SAVE if hit else CheckpointPolicy.PREFER_RECOMPUTE
    return policy


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The ``(forward, recompute)`` contexts for ``checkpoint(..., context_fn=...)``: the forward keeps the
    outputs of the ops ``policy_fn_or_list`` saves, the recomputation takes them back instead of rerunning."""
    if isinstance(policy_fn_or_list, (list, tuple, set, frozenset)):
        policy_fn = _list_policy(policy_fn_or_list)
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    cache = _Cache()
    return (_Recording(cache, policy_fn, allow_cache_entry_mutation),
            _Replaying(cache, allow_cache_entry_mutation))
