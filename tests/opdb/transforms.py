"""Transforms the op database can run every entry through (``--opdb-transform``).

A transform takes the ember callable of an entry and returns a callable with the same
signature whose results must still agree with torch: ``none`` runs the op as it is; a
``capture_replay`` records the call as a graph (``ember.export``) and returns what replaying
the graph through the dispatcher gives, so values and gradients must match eager's."""
import warnings

from ember.export import TracerWarning
from ember.export.program import Program, capture


def capture_replay(fn):
    def replayed(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TracerWarning)  # data-dependent ops: replayed on the same inputs
            graph, state, in_spec, _ = capture(fn, args, kwargs)
        return Program(graph, state, in_spec)(*args, **kwargs)
    return replayed


TRANSFORMS = {
    "none": lambda fn: fn,
    "capture_replay": capture_replay,
}


def get(name):
    if name not in TRANSFORMS:
        raise KeyError(f"unknown opdb transform {name!r}; known: {sorted(TRANSFORMS)}")
    return TRANSFORMS[name]
