"""Reference models with torchvision's parameter names where torchvision has the model."""
from ember.vision.models.lenet import LeNet5
from ember.vision.models.mlp import MLP
from ember.vision.models.resnet import BasicBlock, ResNet, resnet18, resnet34

__all__ = ["BasicBlock", "LeNet5", "MLP", "ResNet", "resnet18", "resnet34"]
