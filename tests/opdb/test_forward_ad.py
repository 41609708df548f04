"""Forward-mode AD of every differentiable op-database entry, against reverse mode.

For the largest small float64 samples (those gradcheck takes), each floating input gets a
random tangent ``t``; the tangents forward AD gives the outputs (``J t``) must satisfy
``<u, J t> == <J^T u, t>`` for a random cotangent ``u``, the right side from
``autograd.grad``. The entry's gradcheck skips apply (an op without a gradient there has
no forward derivative to check either)."""
import numpy as np
import pytest

import ember
from oracle import _flatten

from opdb.entries import ENTRIES
from opdb.runner import GRADCHECK_NUMEL, Inputs, _small, quietly, resolve

SAMPLES = 2
fwad = ember.autograd.forward_ad


def _param(entry):
    rule = entry.skip_for("gradcheck", "float64")
    marks = (pytest.mark.skip(reason=f"as gradcheck: {rule.reason}"),) if rule is not None else ()
    return pytest.param(entry, id=entry.name, marks=marks)


JVP = [_param(e) for e in ENTRIES if e.differentiable and "float64" in e.dtypes]


def _pairing(outs, rng):
    """A random cotangent per floating output (the real and imaginary parts of complex ones)."""
    us = []
    for o in outs:
        if isinstance(o, ember.Tensor) and o.dtype.is_floating_point or getattr(o, "is_complex", lambda: False)():
            us.append(rng.standard_normal((2, *o.shape)))
        else:
            us.append(None)
    return us


def _dot(x, u):
    """<x, u> over the reals, as a float64 ember scalar (x may be complex)."""
    if x.is_complex():
        return (ember.view_as_real(x) * ember.tensor(np.moveaxis(u, 0, -1), device=x.device)).sum()
    return (x * ember.tensor(u[0], dtype=x.dtype, device=x.device)).sum()


def _check(entry, sample, seed, device):
    fn = resolve(ember, entry.op)
    rng = np.random.default_rng(seed)
    inputs = Inputs(sample, ember, device, requires_grad=True)
    diff = [i for i, leaf in enumerate(inputs.leaves) if leaf.requires_grad]
    tangents = {i: ember.tensor(rng.standard_normal(tuple(inputs.leaves[i].shape)), device=device) for i in diff}

    if entry.random:
        ember.manual_seed(0)
    try:
        out = _flatten(quietly(fn, *inputs.args, **inputs.kwargs))
    except Exception:  # noqa: BLE001 - an input the op rejects: test_values checks it against torch
        return
    us = _pairing(out, rng)
    rev = sum((_dot(o, u) for o, u in zip(out, us) if u is not None and o.requires_grad),
              ember.tensor(0.0, device=device))
    if not rev.requires_grad:
        return
    grads = ember.autograd.grad(rev, [inputs.leaves[i] for i in diff], allow_unused=True)
    expected = sum(float((g * tangents[i]).sum()) for i, g in zip(diff, grads) if g is not None)

    with fwad.dual_level():
        leaves = [fwad.make_dual(leaf.detach(), tangents[i]) if i in tangents else leaf
                  for i, leaf in enumerate(inputs.leaves)]
        args, kwargs = inputs.build(leaves)
        if entry.random:
            ember.manual_seed(0)
        dual_out = _flatten(quietly(fn, *args, **kwargs))
        got = 0.0
        for o, u, primal in zip(dual_out, us, out):
            if u is None:
                continue
            p, t = fwad.unpack_dual(o)
            np.testing.assert_allclose(p.detach().cpu().numpy(), primal.detach().cpu().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg="the primal of a dual call differs from the plain call")
            if t is not None:
                assert tuple(t.shape) == tuple(o.shape), f"tangent shape {tuple(t.shape)} != output {tuple(o.shape)}"
                assert t.dtype == o.dtype, f"tangent dtype {t.dtype} != output {o.dtype}"
                got += float(_dot(t.detach(), u))
    assert np.isclose(got, expected, rtol=1e-6, atol=1e-8), f"<u, J t>: forward {got!r}, reverse {expected!r}"


@pytest.mark.parametrize("entry", JVP)
def test_jvp_matches_reverse_mode(entry, opdb_context, pytestconfig):
    if pytestconfig.getoption("opdb_transform") != "none":
        pytest.skip("graph capture records at the dispatcher, where forward AD does not run: "
                    "this check runs on eager calls only")
    samples = [s for s in _small(entry, GRADCHECK_NUMEL, SAMPLES)
               if entry.skip_for("gradcheck", "float64", s) is None]
    for k, sample in enumerate(samples):
        try:
            _check(entry, sample, k, opdb_context.device)
        except AssertionError as exc:
            raise AssertionError(f"{entry.name} sample {sample.desc}: {exc}") from None
