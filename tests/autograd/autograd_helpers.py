"""Shared by the autograd tests: run one scenario in ember and in torch and compare."""
import numpy as np
import torch

import ember
from oracle import assert_same


def both(fn, atol=1e-5, rtol=1e-4):
    """``fn(lib)`` returns a list of tensors/None/numbers; ember's must equal torch's."""
    e_out, t_out = fn(ember), fn(torch)
    e_out = list(e_out) if isinstance(e_out, (list, tuple)) else [e_out]
    t_out = list(t_out) if isinstance(t_out, (list, tuple)) else [t_out]
    assert len(e_out) == len(t_out)
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        if t is None:
            assert e is None, f"result {i}: torch gives None, ember {e!r}"
        else:
            assert e is not None, f"result {i}: ember gives None, torch {t!r}"
            assert_same(e, t, atol, rtol, what=f"result {i}")
    return e_out


def leaf(lib, values, dtype=None):
    """A float leaf requiring grad with the given values (float32 unless dtype says)."""
    a = np.asarray(values, dtype=np.float32 if dtype is None else dtype)
    return lib.tensor(a, requires_grad=True)


def names(node):
    """The names of a node's next functions (None for constants)."""
    return [None if n is None else n.name().split("::")[-1] for n, _ in node.next_functions]
