"""A small CNN trained for 20 SGD steps follows torch's loss curve from the same weights and data."""
import numpy as np
import torch

import ember


def _cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
    )


def test_cnn_loss_curve_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    torch.manual_seed(0)
    t_model = _cnn(torch.nn)
    e_model = _cnn(ember.nn)
    e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    losses = {}
    for lib, model in ((torch, t_model), (ember, e_model)):
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        xb, yb = lib.tensor(x), lib.tensor(y)
        curve = losses[lib.__name__] = []
        for _ in range(20):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            curve.append(loss.item())
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-3, atol=1e-4)
    assert losses["ember"][-1] < 0.5 * losses["ember"][0]
    e_state, t_state = e_model.state_dict(), t_model.state_dict()
    for key in t_state:  # parameters and BatchNorm's running statistics
        np.testing.assert_allclose(e_state[key].numpy(), t_state[key].numpy(), rtol=2e-3, atol=2e-4, err_msg=key)
