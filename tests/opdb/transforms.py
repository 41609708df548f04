"""Transforms the op database can run every entry through (``--opdb-transform``).

A transform takes the ember callable of an entry and returns a callable with the same
signature whose results must still agree with torch: ``none`` runs the op as it is; a
``capture_replay`` records the call as a graph (``ember.export``) and returns what replaying
the graph through the dispatcher gives, so values and gradients must match eager's."""
import warnings

import ember
from ember.export import TracerWarning
from ember.export.program import Program, capture


def capture_replay(fn):
    def replayed(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TracerWarning)  # data-dependent ops: replayed on the same inputs
            graph, state, in_spec, eager = capture(fn, args, kwargs, mirror_inputs=True)
        return _like_eager(eager, Program(graph, state, in_spec)(*args, **kwargs), _tensors(args, kwargs))
    return replayed


def _tensors(*values):
    found = []
    for v in values:
        if isinstance(v, ember.Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found += _tensors(*v)
        elif isinstance(v, dict):
            found += _tensors(*v.values())
    return found


def _like_eager(eager, replayed, inputs):
    """Where eager returned one of its inputs (an in-place form), write the replayed value into
    that input and return it, as the in-place op would."""
    if isinstance(eager, ember.Tensor) and replayed is not eager and any(eager is t for t in inputs):
        with ember.no_grad():
            eager.copy_(replayed)
        return eager
    if isinstance(eager, (list, tuple)) and isinstance(replayed, (list, tuple)):
        items = [_like_eager(e, r, inputs) for e, r in zip(eager, replayed)]
        return type(eager)(*items) if hasattr(eager, "_fields") else type(eager)(items)
    return replayed


TRANSFORMS = {
    "none": lambda fn: fn,
    "capture_replay": capture_replay,
}


def get(name):
    if name not in TRANSFORMS:
        raise KeyError(f"unknown opdb transform {name!r}; known: {sorted(TRANSFORMS)}")
    return TRANSFORMS[name]
