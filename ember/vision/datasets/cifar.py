"""CIFAR-10 from its binary distribution (``cifar-10-batches-bin``), which needs no pickle to read."""
import os

import numpy as np

from ember.vision.datasets._base import SplitArrayDataset, require_files

_RECORD = 1 + 3 * 32 * 32


class CIFAR10(SplitArrayDataset):
    """32x32 colour images in 10 classes, as uint8 arrays (32, 32, 3).

    Reads ``<root>/cifar-10-batches-bin/data_batch_{1..5}.bin`` (train) or ``test_batch.bin``: each record is one
    label byte followed by the red, green and blue planes. The python-pickle edition is not read on purpose.
    """

    base_folder = "cifar-10-batches-bin"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = train
        folder = os.path.join(self.root, self.base_folder)
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        require_files(download, "CIFAR10", folder, names, lambda d, f: os.path.isfile(os.path.join(d, f)))
        records = [self._read(os.path.join(folder, n)) for n in names]
        raw = np.concatenate(records)
        self.targets = raw[:, 0].astype(np.int64).tolist()
        self.data = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()

    @staticmethod
    def _read(path):
        raw = np.fromfile(path, np.uint8)
        if raw.size % _RECORD:
            raise RuntimeError(f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a multiple of {_RECORD}")
        return raw.reshape(-1, _RECORD)
