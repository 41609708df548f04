"""ember.vision: datasets, transforms and reference models for images (torchvision's layout).

Nothing here downloads: the digits ship with ember, and the other datasets read files
that the user has put in a local folder.
"""
from ember.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
