"""Modules as functions of their state: ``functional_call``, ``stack_module_state``,
``replace_all_batch_norm_modules_``."""
from ember.nn.modules.batchnorm import _BatchNorm
from ember.ops.join import stack


def _owner(module, name):
    *path, leaf = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _tied_names(module):
    """Every name of each parameter/buffer, grouped by the object (tied weights share one)."""
    groups = {}
    for store in ("named_parameters", "named_buffers"):
        for name, t in getattr(module, store)(remove_duplicate=False):
            groups.setdefault(id(t), []).append(name)
    return list(groups.values())


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Call ``module`` with some of its parameters and buffers replaced by the given tensors
    (by dotted name): ``functional_call(model, {"weight": w}, (x,))``. The module is unchanged afterwards.
    ``tie_weights``: a tensor given for one name of a tied weight stands for all of its names;
    ``strict``: the dicts must name every parameter and buffer and nothing else."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        dicts = (dicts,)
    merged = {}
    for d in dicts:
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        merged.update(d)
    if tie_weights:
        for names in _tied_names(module):
            given = [n for n in names if n in merged]
            if given:
                if len({id(merged[n]) for n in given}) > 1:
                    raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. "
                                     "Consider using tie_weights=False")
                for n in names:
                    merged.setdefault(n, merged[given[0]])
    if strict:
        known = {n for names in _tied_names(module) for n in names}
        unexpected, missing = sorted(set(merged) - known), sorted(known - set(merged))
        if unexpected or missing:
            lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
            if unexpected:
                lines.append("\tUnexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
            if missing:
                lines.append("\tMissing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError("\n".join(lines))
    swapped = []
    try:
        for name, value in merged.items():
            owner, leaf = _owner(module, name)
            store = next((s for s in ("_parameters", "_buffers") if leaf in owner.__dict__[s]), None)
            if store is None:
                old, store = owner.__dict__.get(leaf, _MISSING), None
                object.__setattr__(owner, leaf, value)
            else:
                old = owner.__dict__[store][leaf]
                owner.__dict__[store][leaf] = value
            swapped.append((owner, store, leaf, old))
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, store, leaf, old in reversed(swapped):
            if store is not None:
                owner.__dict__[store][leaf] = old
            elif old is _MISSING:
                object.__delattr__(owner, leaf)
            else:
                object.__setattr__(owner, leaf, old)


_MISSING = object()


def stack_module_state(models):
    """``(params, buffers)``: each parameter and buffer of the same-shaped ``models`` stacked along a new
    first dim, ready for ``vmap(functional_call)`` over an ensemble. Stacked parameters are new leaves."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    kinds = {type(m) for m in models}
    if len(kinds) > 1:
        raise RuntimeError(f"stack_module_state: Expected all models to be of the same class, got: {kinds}")
    params = {name: stack([dict(m.named_parameters())[name] for m in models]).detach().requires_grad_(p.requires_grad)
              for name, p in models[0].named_parameters()}
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models]).detach()
               for name, _ in models[0].named_buffers()}
    return params, buffers


def replace_all_batch_norm_modules_(root):
    """Make every batch norm in ``root`` use batch statistics and keep no running ones (what vmap over
    a model with batch norm needs); returns ``root``."""
    for m in root.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root
