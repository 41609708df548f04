"""``functional_call``: run a module with some of its parameters and buffers replaced, for one call.

>>> import ember
>>> from ember import nn
>>> layer = nn.Linear(2, 1, bias=False)
>>> nn.utils.stateless.call_with(layer, {"weight": ember.ones(1, 2)}, (ember.ones(1, 2),)).tolist()
[[2.0]]
"""
import contextlib
import warnings

from ember._tensor import Tensor

__all__ = ["functional_call"]  # call_with: the same without the deprecation warning, for func.functional_call


def _owner(module, name):
    path, _, attr = name.rpartition(".")
    return (module.get_submodule(path) if path else module), attr


def _tied_names(module):
    """Names that share one tensor (tied weights), grouped: name -> every name of the same tensor."""
    groups = {}
    tensors = list(module.named_parameters(remove_duplicate=False)) + list(module.named_buffers(remove_duplicate=False))
    for name, t in tensors:
        groups.setdefault(id(t), []).append(name)
    return {name: names for names in groups.values() if len(names) > 1 for name in names}


def _expand_ties(module, values):
    values = dict(values)
    for name, names in _tied_names(module).items():
        given = [n for n in names if n in values]
        if not given:
            continue
        if any(values[n] is not values[given[0]] for n in given):
            raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, which are tied. "
                             "Consider using tie_weights=False")
        values.setdefault(name, values[given[0]])
    return values


def _check_strict(module, values):
    own = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    own |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    missing, unexpected = sorted(own - set(values)), sorted(set(values) - own)
    errors = []
    if unexpected:
        errors.append("Unexpected key(s): {}.".format(", ".join(map(repr, unexpected))))
    if missing:
        errors.append("Missing key(s): {}.".format(", ".join(map(repr, missing))))
    if errors:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(errors)))


@contextlib.contextmanager
def _reparametrize(module, values):
    saved = []
    try:
        for name, value in values.items():
            owner, attr = _owner(module, name)
            for store in ("_parameters", "_buffers"):
                if attr in owner.__dict__[store]:
                    saved.append((owner.__dict__[store], attr, owner.__dict__[store][attr]))
                    owner.__dict__[store][attr] = value
                    break
            else:
                saved.append((owner.__dict__, attr, owner.__dict__.get(attr, _ABSENT)))
                owner.__dict__[attr] = value
        yield
    finally:
        for store, attr, old in reversed(saved):
            if old is _ABSENT:
                del store[attr]
            else:
                store[attr] = old


_ABSENT = object()


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Deprecated as in torch (use ``func.functional_call``): ``call_with(...)`` with a FutureWarning."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a "
                  "future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return call_with(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


def call_with(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` (by dotted name, a dict or a
    sequence of dicts) in place of its own; the module is unchanged afterwards. Tied weights follow a
    replaced one unless ``tie_weights=False``; ``strict`` requires every parameter and buffer."""
    if isinstance(parameters_and_buffers, (list, tuple)):
        merged = {}
        for d in parameters_and_buffers:
            repeated = set(merged) & set(d)
            if repeated:
                raise ValueError(f"{sorted(repeated)} appeared in multiple dictionaries; behavior of functional call "
                                 "is ambiguous")
            merged.update(d)
        parameters_and_buffers = merged
    for name, value in parameters_and_buffers.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call expects Tensors as values, got {type(value).__name__} for '{name}'")
    values = _expand_ties(module, parameters_and_buffers) if tie_weights else dict(parameters_and_buffers)
    if strict:
        _check_strict(module, values)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrize(module, values):
        return module(*args, **(kwargs or {}))
