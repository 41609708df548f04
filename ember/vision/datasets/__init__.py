"""Image datasets: each item is ``(image, target)``, images as uint8 NumPy arrays (H, W) or (H, W, C),
or PIL images for ``ImageFolder``; pass ``transform=transforms.ToTensor()`` to get tensors."""
from ember.vision.datasets.cifar import CIFAR10
from ember.vision.datasets.digits import Digits
from ember.vision.datasets.fakedata import FakeData
from ember.vision.datasets.folder import ImageFolder
from ember.vision.datasets.mnist import MNIST, FashionMNIST

__all__ = ["CIFAR10", "Digits", "FakeData", "FashionMNIST", "ImageFolder", "MNIST"]
