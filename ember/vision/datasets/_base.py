"""What every image dataset shares: transforms, a repr, the in-memory split datasets' item access, and the error
for files that are not there."""
import os

_NO_DOWNLOAD = "ember never downloads data"


class VisionDataset:
    """Base of the image datasets: holds ``root`` and the transforms, and applies them in ``_item``."""

    def __init__(self, root=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def _item(self, image, target):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines += [f"    {line}" for line in self.extra_repr().splitlines()]
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"    {name.replace('_', ' ').capitalize()}: {getattr(self, name)!r}")
        return "\n".join(lines)

    def extra_repr(self):
        return ""


class SplitArrayDataset(VisionDataset):
    """Base of the datasets held in memory: subclasses set ``classes`` and fill ``self.data`` (images),
    ``self.targets`` (labels) and ``self.train``; items are ``(image, int label)``."""

    @property
    def class_to_idx(self):
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self._item(self.data[index], int(self.targets[index]))

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


def require_files(download, name, folder, files, present):
    """Check a dataset's files before reading them: with every file in place, ``download`` changes nothing
    (as in torchvision, which downloads only what is missing); otherwise raise the error that lists the
    missing files and where to put them. ``present(folder, file)`` tells whether one is there."""
    missing = [f for f in files if not present(folder, f)]
    if not missing:
        return
    listing = "\n".join(f"  {os.path.join(folder, f)}" for f in missing)
    why = f"{name}: download=True was given, but {_NO_DOWNLOAD}" if download else f"{name} was not found"
    raise RuntimeError(f"{why}. {len(missing)} of its {len(files)} files are missing; put them there yourself "
                       f"({_NO_DOWNLOAD}):\n{listing}")


def find_file(folder, name):
    """``folder/name`` or ``folder/name.gz``, whichever exists, else None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None
