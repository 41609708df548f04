"""An MLP trained for 20 SGD steps follows torch's loss curve from the same weights and data."""
import numpy as np
import pytest
import torch

import ember


def _mlp(nn):
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10))


@pytest.mark.parametrize("opt_name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 1e-3})])
def test_mlp_loss_curve_matches_torch(opt_name, kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64)).astype(np.float32)
    y = rng.integers(0, 10, 128)

    torch.manual_seed(0)
    t_model = _mlp(torch.nn)
    e_model = _mlp(ember.nn)
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    t_opt = getattr(torch.optim, opt_name)(t_model.parameters(), **kwargs)
    e_opt = getattr(ember.optim, opt_name)(e_model.parameters(), **kwargs)

    losses = {"ember": [], "torch": []}
    for lib, model, opt in (("torch", t_model, t_opt), ("ember", e_model, e_opt)):
        m = torch if lib == "torch" else ember
        xb, yb = m.tensor(x), m.tensor(y)
        for _ in range(20):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses[lib].append(loss.item())
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=2e-4, atol=1e-5)
    assert losses["ember"][-1] < losses["ember"][0]
    for (name, e), (_, t) in zip(e_model.named_parameters(), t_model.named_parameters()):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-3, atol=1e-4, err_msg=name)
