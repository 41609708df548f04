"""The 8x8 handwritten digits that ship with ember (the UCI set that scikit-learn also bundles)."""
import os

import numpy as np

from ember.vision.datasets._base import SplitArrayDataset

_DATA = os.path.join(os.path.dirname(__file__), "data", "digits.npz")


class Digits(SplitArrayDataset):
    """1,797 grayscale 8x8 digits, 0-9, scaled from their original 0-16 to uint8 0-255.

    The split is fixed and stratified: within each class, every fifth sample in file order is in the
    test set (364 images), the rest train (1,433). Items are ``(uint8 array of shape (8, 8), int label)``.

    >>> from ember.vision import datasets, transforms
    >>> ds = datasets.Digits(train=False, transform=transforms.ToTensor())
    >>> len(ds), ds[0][0].shape, ds[0][1]
    (364, ember.Size([1, 8, 8]), 0)
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        super().__init__(root, transform, target_transform)
        self.train = train
        with np.load(_DATA) as data:
            images, targets = data["images"], data["targets"].astype(np.int64)
        rank_in_class = np.empty(len(targets), np.int64)
        for label in range(10):
            members = np.flatnonzero(targets == label)
            rank_in_class[members] = np.arange(len(members))
        keep = (rank_in_class % 5 != 0) == train
        self.data, self.targets = images[keep], targets[keep]
