"""MNIST and Fashion-MNIST from their IDX files in a local folder (``root/MNIST/raw/``, as torchvision)."""
import gzip
import os

import numpy as np

from ember.vision.datasets._base import SplitArrayDataset, find_file, require_files

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (optionally gzipped): magic 0x0000 <dtype byte> <ndim byte>, big-endian dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(shape))
    offset = 4 + 4 * ndim
    if len(raw) - offset < count * dtype.itemsize:
        raise RuntimeError(f"{path} is truncated: its header promises shape {shape}")
    return np.frombuffer(raw, dtype, count, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(SplitArrayDataset):
    """Handwritten digits, 28x28 uint8 images. Reads ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``
    (or the ``.gz`` files); nothing is downloaded: ``download=True`` loads the files when they are there and
    lists the missing ones when not."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = train
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        require_files(download, type(self).__name__, self.raw_folder, names, find_file)
        paths = [find_file(self.raw_folder, name) for name in names]
        self.data = read_idx(paths[0])
        self.targets = read_idx(paths[1]).astype(np.int64)
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{paths[0]} has {len(self.data)} images but {paths[1]} has {len(self.targets)} labels")

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's file format and layout, under ``<root>/FashionMNIST/raw/``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
