"""``ember.<op>_`` in-place functions (``torch.abs_``): one entry per name, generated from
the entry of the out-of-place op bound to ``ember.<op>`` (aliases included), on the same
samples. Where the result cannot be written into the first input (another dtype or a
broadcast shape), torch raises and ember must raise the same type."""
import torch

import ember
from opdb.core import OpEntry, xfail
from opdb.entries import arithmetic, binary, complex_numbers, indexing, linalg, pointwise, pointwise_misc

EXTRA = {n: (xfail("variants", f"ember bug: {n} accepts out= and ignores it (the result is written into the input, "
                                 "out is left as it was)"),) for n in ("i0_", "sinc_")}
_FAMILIES = (pointwise, binary, pointwise_misc, arithmetic, linalg, complex_numbers, indexing)
_BASES = {id(ember.__dict__.get(e.op)): e for m in _FAMILIES for e in m.ENTRIES if isinstance(e.op, str) and "." not in e.op}


def _entry(name):
    base = _BASES[id(getattr(ember, name[:-1]))]
    # a half-precision result dtype bug of the op is hidden when the result is written back into the input
    skips = tuple(s for s in base.skips if s.test == "values" and not set(s.dtypes) <= {"float16", "bfloat16"})
    skips += EXTRA.get(name, ())
    return OpEntry(name, base.samples, dtypes=base.dtypes, tol=base.tol, differentiable=False, method=None,
                   inplace=None, skips=skips)


ENTRIES = [_entry(n) for n in sorted(vars(ember)) if n.endswith("_") and not n.startswith("_")
           and hasattr(torch, n) and id(getattr(ember, n[:-1], None)) in _BASES]
