"""device="meta": tensors with a shape and dtype but no data, checked against torch's meta tensors."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from ember import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def same_meta(e, t):
    assert e.device.type == "meta" and t.device.type == "meta"
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert e.requires_grad == t.requires_grad
    assert repr(e).replace("ember.", "torch.") == repr(t)


@pytest.mark.parametrize("code", [
    "lib.empty(2, 3, device='meta')", "lib.zeros(4, dtype=lib.int64, device='meta')", "lib.ones((), device='meta')",
    "lib.full((2, 2), 7, device='meta')", "lib.rand(3, 1, device='meta')", "lib.randn(0, 5, device='meta')",
    "lib.arange(10, device='meta')", "lib.eye(3, device='meta')", "lib.empty(2, 3, device='meta', requires_grad=True)",
    "lib.ones(2, 3).to('meta')", "lib.empty(5, 2, device='meta').t()", "lib.empty(2, 3, device='meta')[1:, None]",
    "lib.empty(2, 3, device='meta') + lib.empty(3, device='meta')", "lib.empty(2, 3, device='meta').sum(0)",
    "lib.empty(2, 3, device='meta') @ lib.empty(3, 4, device='meta')", "lib.empty(4, 6, device='meta').reshape(3, 8)",
    "lib.empty(2, 3, device='meta', dtype=lib.float64).softmax(-1)", "lib.empty(2, 3, device='meta') > 0",
    "lib.cat([lib.empty(2, 3, device='meta'), lib.empty(1, 3, device='meta')])",
    "lib.empty(2, 3, device='meta').uniform_()", "lib.empty(2, 3, device='meta').fill_(3.0)",
    "lib.empty(2, 3, device='meta', requires_grad=True) * 2",
])
def test_meta_ops_match_torch(code):
    same_meta(eval(code, {"lib": ember}), eval(code, {"lib": torch}))


def test_meta_module_then_to_empty_and_load():
    net = nn.Sequential(nn.Linear(3, 4, device="meta"), nn.ReLU(), nn.Linear(4, 2, device="meta"))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4, device="meta"), torch.nn.ReLU(), torch.nn.Linear(4, 2, device="meta"))
    assert repr(net[0].weight).replace("ember.", "torch.") == repr(ref[0].weight)
    same_meta(net(ember.empty(5, 3, device="meta")), ref(torch.empty(5, 3, device="meta")))
    weight = net[0].weight
    assert net.to_empty(device="cpu") is net
    assert net[0].weight is weight and weight.device.type == "cpu" and weight.requires_grad
    torch.manual_seed(0)
    real = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net.load_state_dict({k: ember.tensor(v.numpy()) for k, v in real.state_dict().items()})
    x = torch.randn(5, 3)
    np.testing.assert_allclose(net(ember.tensor(x.numpy())).detach().numpy(), real(x).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("code, error", [
    ("t.to('cpu')", NotImplementedError), ("t.cpu()", NotImplementedError), ("t.tolist()", NotImplementedError),
    ("t.numpy()", TypeError), ("t + lib.ones(3)", RuntimeError),
])
def test_meta_has_no_data(code, error):
    for lib in (ember, torch):
        with pytest.raises(error):
            eval(code, {"lib": lib, "t": lib.empty(2, 3, device="meta")})
    assert ember.empty(1, device="meta").is_meta and not ember.empty(1).is_meta


def peak_rss_kib(code):
    """Peak resident memory (KiB) of a fresh interpreter that imports ember and runs ``code``."""
    script = f"import resource, ember\n{code}\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_big_meta_model_costs_no_memory():
    code = ("net = ember.nn.Sequential(*[ember.nn.Linear(16384, 16384, device='meta') for _ in range(8)])\n"
            "assert net[7].weight.shape == (16384, 16384)")
    assert peak_rss_kib(code) - peak_rss_kib("") < 256 * 1024  # 8 GiB of float32 weights if they were real
