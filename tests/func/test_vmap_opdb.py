"""vmap over every op-database entry: a batch of two samples (same shapes, different values)
run as one vmapped call must equal the per-sample calls stacked. This drives every batching
rule (and the per-sample fallback) from the op records; ``test_jacrev_opdb`` compares
``jacrev`` with ``torch.func.jacrev`` on a representative subset."""
import numpy as np
import pytest
import torch

import ember
from ember.func import jacfwd, jacrev, vmap
from oracle import _flatten

from opdb.core import Maker
from opdb.entries import ENTRIES
from opdb.runner import Inputs, quietly, resolve

BATCH = 2
SAMPLES = 2
# ops whose per-sample results have shapes that depend on the values: vmap cannot stack them (as PyTorch)
DATA_DEPENDENT_SHAPES = {"nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "Tensor.nonzero",
                         "Tensor.masked_select", "Tensor.unique", "Tensor.unique_consecutive", "bincount",
                         "Tensor.bincount", "histc", "Tensor.histc"}

# composites that read their input's values outside any primitive (a Python int of a tensor, NumPy on the
# host array): under vmap they raise (for some samples at least) rather than run on a stand-in
READS_VALUES = {"frexp", "isin", "repeat_interleave", "masked_scatter", "nn.functional.one_hot",
                "nn.functional.max_unpool1d", "nn.functional.max_unpool2d", "nn.functional.max_unpool3d",
                "nn.functional.grouped_mm"}

# ops that PyTorch itself refuses under vmap (torch.func.vmap raises RuntimeError): ember must refuse too
TORCH_REFUSES = {"as_strided_": "an in-place change of a batched tensor's sizes and strides (torch: size mismatch)"}


def _batched_samples(entry):
    """Lists of samples that agree in everything but the values of their tensors."""
    runs = [list(entry.samples(Maker("float32" if "float32" in entry.dtypes else entry.dtypes[0], seed)))
            for seed in range(BATCH)]
    out = []
    for group in zip(*runs):
        shapes = [tuple((t.values.shape, t.dtype, t.layout) for t in s.tensors()) for s in group]
        if len(set(shapes)) == 1 and shapes[0] and group[0].desc == group[1].desc and 0 < group[0].numel() <= 400:
            out.append(group)
    return out[:SAMPLES]


def _to_array(x):
    return x.detach().numpy() if isinstance(x, ember.Tensor) else np.asarray(x)


def _check(entry, group):
    fn = resolve(ember, entry.op)
    per = [Inputs(s, ember) for s in group]
    stacked = [ember.stack(list(leaves)) for leaves in zip(*(p.leaves for p in per))]  # before in-place ops run
    try:
        expected = [_flatten(quietly(fn, *p.args, **p.kwargs)) for p in per]
    except Exception:  # noqa: BLE001 - a sample the op rejects: test_values covers it
        return
    if not all(isinstance(o, ember.Tensor) for o in expected[0]):
        return
    if any(tuple(a.shape) != tuple(b.shape) for a, b in zip(*expected)):
        return  # per-sample shapes differ

    def one(*leaves):
        args, kwargs = per[0].build(list(leaves))
        return tuple(_flatten(fn(*args, **kwargs)))

    if entry.name in TORCH_REFUSES:
        with pytest.raises(RuntimeError, match="vmap"):
            quietly(vmap(one), *stacked)
        return
    try:
        got = quietly(vmap(one), *stacked)
    except RuntimeError as exc:  # composites that compute on the raw array: vmap refuses, never guesses
        if entry.name in READS_VALUES and "vmap" in str(exc):
            return
        raise
    assert len(got) == len(expected[0])
    for k, g in enumerate(got):
        want = np.stack([_to_array(e[k]) for e in expected])
        assert tuple(g.shape) == want.shape, f"output {k}: shape {tuple(g.shape)} != {want.shape}"
        assert g.dtype == expected[0][k].dtype, f"output {k}: dtype {g.dtype} != {expected[0][k].dtype}"
        np.testing.assert_allclose(_to_array(g).astype(np.float64), want.astype(np.float64), rtol=1e-4, atol=1e-5,
                                   err_msg=f"output {k}")


VMAP = [pytest.param(e, id=e.name) for e in ENTRIES
        if not e.random and e.name not in DATA_DEPENDENT_SHAPES and e.name.split(".")[0] != "Tensor"
        or e.name in ("Tensor.expand", "Tensor.view", "Tensor.permute", "Tensor.transpose")]


@pytest.mark.parametrize("entry", VMAP)
def test_vmap_matches_per_sample_calls(entry):
    for group in _batched_samples(entry):
        try:
            _check(entry, group)
        except AssertionError as exc:
            raise AssertionError(f"{entry.name} sample {group[0].desc}: {exc}") from None


# a representative subset for the Jacobian transforms: pointwise, broadcasting, reductions, shape ops,
# indexing, matmul/linear/conv, softmax and norms, losses
JAC_OPS = ["sin", "exp", "tanh", "add", "mul", "div", "pow", "where", "clamp", "matmul", "bmm", "sum", "mean",
           "prod", "amax", "std", "cumsum", "softmax", "log_softmax", "transpose", "reshape", "cat", "stack", "flip",
           "gather", "index_select", "take_along_dim", "nn.functional.linear", "nn.functional.conv2d",
           "nn.functional.layer_norm", "nn.functional.max_pool2d", "nn.functional.gelu",
           "nn.functional.cross_entropy", "nn.functional.mse_loss", "linalg.vector_norm", "einsum"]
BY_NAME = {e.name: e for e in ENTRIES}


def _jac_sample(entry):
    for s in entry.make_samples("float64"):
        if 0 < s.numel() <= 60 and any(t.floating and t.grad and t.values.size for t in s.tensors()):
            return s
    return None


@pytest.mark.parametrize("name", JAC_OPS)
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_matches_torch_func(name, transform):
    entry = BY_NAME[name]
    sample = _jac_sample(entry)
    e_in, t_in = Inputs(sample, ember), Inputs(sample, torch)
    k = next(i for i, t in enumerate(e_in.tins) if t.floating and t.grad and t.values.size)
    fn_e, fn_t = resolve(ember, entry.op), resolve(torch, entry.ref)

    def bind(inputs, fn):
        def f(x):
            leaves = list(inputs.leaves)
            leaves[k] = x
            args, kwargs = inputs.build(leaves)
            out = fn(*args, **kwargs)
            return out[0] if isinstance(out, tuple) else out
        return f
    got = {"jacrev": jacrev, "jacfwd": jacfwd}[transform](bind(e_in, fn_e))(e_in.leaves[k])
    want = getattr(torch.func, transform)(bind(t_in, fn_t))(t_in.leaves[k])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-9, err_msg=f"{name} {sample.desc}")
