"""Transforms the op database can run every entry through (``--opdb-transform``).

A transform takes the ember callable of an entry and returns a callable with the same
signature whose results must still agree with torch: ``none`` runs the op as it is; a
capture→replay transform will record the call and return the replayed results."""

TRANSFORMS = {
    "none": lambda fn: fn,
}


def get(name):
    if name not in TRANSFORMS:
        raise KeyError(f"unknown opdb transform {name!r}; known: {sorted(TRANSFORMS)}")
    return TRANSFORMS[name]
