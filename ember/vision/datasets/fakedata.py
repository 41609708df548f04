"""Random images with random labels, for smoke tests and benchmarks; item i is the same every time."""
import numpy as np

from ember.vision.datasets._base import VisionDataset


class FakeData(VisionDataset):
    """``size`` uint8 images of ``image_size`` (C, H, W), returned as (H, W, C) arrays like decoded files."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform, target_transform)
        self.size, self.image_size, self.num_classes = size, tuple(image_size), num_classes
        self.random_offset = random_offset

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index out of range: {index} (size {self.size})")
        rng = np.random.default_rng(index % self.size + self.random_offset)
        image = rng.integers(0, 256, self.image_size, dtype=np.uint8)
        target = int(rng.integers(0, self.num_classes))
        return self._item(np.ascontiguousarray(np.moveaxis(image, 0, -1)), target)
