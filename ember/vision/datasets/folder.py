"""ImageFolder: ``root/<class name>/<image file>``, classes in sorted order; images decoded with Pillow."""
import os

from ember.vision.datasets._base import VisionDataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path):
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("ImageFolder decodes images with Pillow: pip install 'ember[vision]'") from e
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


class ImageFolder(VisionDataset):
    """Items are ``(PIL image, class index)``; ``classes``, ``class_to_idx``, ``samples`` and ``targets`` as torchvision."""

    def __init__(self, root, transform=None, target_transform=None, loader=pil_loader, is_valid_file=None,
                 extensions=IMG_EXTENSIONS):
        super().__init__(root, transform, target_transform)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder; expected {self.root}/<class>/<image>")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class folders in {self.root}; expected {self.root}/<class>/<image>")
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        accept = is_valid_file or (lambda path: path.lower().endswith(tuple(extensions)))
        self.samples = [
            (os.path.join(dirpath, name), index)
            for cls, index in self.class_to_idx.items()
            for dirpath, _, files in sorted(os.walk(os.path.join(self.root, cls), followlinks=True))
            for name in sorted(files)
            if accept(os.path.join(dirpath, name))
        ]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no image files under {self.root} (accepted: {', '.join(extensions)})")
        self.imgs = self.samples
        self.targets = [target for _, target in self.samples]
        self.loader = loader

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return self._item(self.loader(path), target)
