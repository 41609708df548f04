"""Twin ember/torch models with the same weights for the transform tests."""
import numpy as np
import torch

import ember
import ember.nn as enn
import ember.nn.functional as ef


def close(e, t, atol=1e-5, rtol=1e-4):
    e = e.detach().numpy() if isinstance(e, ember.Tensor) else np.asarray(e)
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert e.shape == t.shape, f"shape {e.shape} != {t.shape}"
    np.testing.assert_allclose(e, t, atol=atol, rtol=rtol)


def close_tree(e, t, **kw):
    if isinstance(t, dict):
        assert set(e) == set(t)
        for k in t:
            close_tree(e[k], t[k], **kw)
    elif isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            close_tree(a, b, **kw)
    else:
        close(e, t, **kw)


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(4, 6, 3, padding=1)
        self.norm = torch.nn.LayerNorm(6 * 3 * 3)
        self.fc = torch.nn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.c2(torch.relu(self.c1(x)))), 2)
        return self.fc(torch.nn.functional.gelu(self.norm(x.flatten(1))))


class EmberCNN(enn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = enn.Conv2d(1, 4, 3), enn.Conv2d(4, 6, 3, padding=1)
        self.norm = enn.LayerNorm(6 * 3 * 3)
        self.fc = enn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = ef.max_pool2d(ember.relu(self.c2(ember.relu(self.c1(x)))), 2)
        return self.fc(ef.gelu(self.norm(x.flatten(1))))


def mlp_pair():
    t = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    e = enn.Sequential(enn.Linear(6, 8), enn.Tanh(), enn.Linear(8, 3)).double()
    copy_weights(t, e)
    return t, e


def cnn_pair():
    t, e = TorchCNN().double(), EmberCNN().double()
    copy_weights(t, e)
    return t, e


def copy_weights(t, e):
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})


def pair(array):
    return ember.tensor(array), torch.tensor(array)
