"""Reference models: torchvision's parameter names and counts, forward shapes, and training signal."""
import numpy as np
import pytest
import torch

import ember
from ember.vision import models


def test_resnet18_has_torchvisions_size_and_names():
    net = models.resnet18()
    assert sum(p.numel() for p in net.parameters()) == 11_689_512  # torchvision's resnet18
    names = [n for n, _ in net.named_parameters()]
    assert names[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer2.0.downsample.0.weight" in names and "layer2.0.downsample.1.bias" in names
    assert names[-2:] == ["fc.weight", "fc.bias"]
    buffers = dict(net.named_buffers())
    assert "layer4.1.bn2.running_var" in buffers and "bn1.num_batches_tracked" in buffers


def test_resnet_forward_and_backward_small():
    ember.manual_seed(0)
    net = models.resnet18(num_classes=7, width=8, in_channels=1, small_input=True)
    x = ember.randn(2, 1, 16, 16)
    out = net(x)
    assert tuple(out.shape) == (2, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.eval()
    assert tuple(net(ember.randn(1, 1, 16, 16)).shape) == (1, 7)


def test_resnet_matches_a_torch_twin():
    """The same blocks written in torch give the same output from the same weights (layout checks out)."""
    tnet = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 7, 2, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2, 1))
    enet = models.resnet18(num_classes=3, width=4)
    stem = {"0.weight": "conv1.weight", "1.weight": "bn1.weight", "1.bias": "bn1.bias"}
    with torch.no_grad():
        for tk, ek in stem.items():
            tnet.state_dict()[tk].copy_(torch.tensor(enet.state_dict()[ek].numpy()))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    e_stem = enet.maxpool(enet.relu(enet.bn1(enet.conv1(ember.tensor(x)))))
    np.testing.assert_allclose(e_stem.detach().numpy(), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lenet5_and_mlp():
    lenet = models.LeNet5()
    assert tuple(lenet(ember.randn(3, 1, 28, 28)).shape) == (3, 10)
    assert sum(p.numel() for p in lenet.parameters()) == 61_706
    mlp = models.MLP(20, [16, 8, 4], norm_layer=ember.nn.LayerNorm, dropout=0.1)
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Linear", "LayerNorm", "ReLU", "Dropout", "Linear", "LayerNorm", "ReLU", "Dropout", "Linear", "Dropout"]
    assert tuple(mlp(ember.randn(5, 20)).shape) == (5, 4)
    with pytest.raises(RuntimeError, match=r"^0 \(Linear\): mat1 and mat2"):
        mlp(ember.randn(5, 19))
