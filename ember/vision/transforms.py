"""Image transforms with torchvision's names. They take ember tensors (..., C, H, W), and where it makes
sense PIL images and uint8 NumPy arrays (H, W[, C]); random ones draw from ember's generator, so
``ember.manual_seed`` (and the DataLoader's per-worker seeding) makes them reproducible."""
import numbers

import numpy as np

from ember._tensor import Tensor
from ember.creation import from_numpy, tensor as new_tensor
from ember.nn import functional as F  # noqa: N812 (torch convention)
from ember.random import rand, randint

__all__ = ["CenterCrop", "Compose", "Lambda", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomRotation", "Resize",
           "ToTensor"]


def _is_pil(img):
    return type(img).__module__.startswith("PIL.")


def _size_of(img):
    """(height, width) of a tensor, array or PIL image."""
    if _is_pil(img):
        return img.size[1], img.size[0]
    if isinstance(img, np.ndarray):
        return img.shape[0], img.shape[1]
    return img.shape[-2], img.shape[-1]


def _pair(size):
    return (size, size) if isinstance(size, numbers.Number) else tuple(size)


def _repr(obj, **fields):
    return f"{type(obj).__name__}({', '.join(f'{k}={v}' for k, v in fields.items())})"


class Compose:
    """Apply transforms one after another: ``Compose([ToTensor(), Normalize((0.5,), (0.5,))])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return "\n".join([f"{type(self).__name__}(", *(f"    {t!r}" for t in self.transforms), ")"])


class ToTensor:
    """A PIL image or an (H, W[, C]) array to a float32 tensor (C, H, W); uint8 data is scaled to [0, 1]."""

    def __call__(self, pic):
        if _is_pil(pic):
            pic = np.array(pic, copy=True)
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic should be a PIL Image or ndarray, got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional, got {pic.ndim} dimensions")
        chw = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return from_numpy(chw.astype(np.float32) / np.float32(255))
        return from_numpy(chw.astype(np.float32) if chw.dtype == np.bool_ else chw)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel of a float tensor (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor) or not tensor.is_floating_point():
            raise TypeError(f"Normalize expects a float tensor, got {getattr(tensor, 'dtype', type(tensor).__name__)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
        mean = new_tensor(self.mean, dtype=tensor.dtype).reshape(-1, 1, 1)
        std = new_tensor(self.std, dtype=tensor.dtype).reshape(-1, 1, 1)
        return tensor.sub_(mean).div_(std) if self.inplace else (tensor - mean) / std

    def __repr__(self):
        return _repr(self, mean=self.mean, std=self.std)


class Resize:
    """Resize to ``size`` (h, w); an int matches the smaller edge, keeping the aspect ratio."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size, self.interpolation, self.max_size, self.antialias = size, interpolation, max_size, antialias

    def _target(self, h, w):
        if not isinstance(self.size, numbers.Number) and len(self.size) == 2:
            return tuple(self.size)
        edge = self.size if isinstance(self.size, numbers.Number) else self.size[0]
        short, long = (h, w) if h <= w else (w, h)
        new_short, new_long = edge, int(edge * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)

    def __call__(self, img):
        size = self._target(*_size_of(img))
        if _is_pil(img):
            from PIL import Image
            return img.resize(size[::-1], Image.Resampling.BILINEAR if self.interpolation == "bilinear"
                              else Image.Resampling.NEAREST)
        batched = img if img.dim() == 4 else img.unsqueeze(0)
        mode = self.interpolation
        smooth = mode in ("bilinear", "bicubic")  # torchvision antialiases only these
        out = F.interpolate(batched.float() if not batched.is_floating_point() else batched, size=size, mode=mode,
                            **({"align_corners": False, "antialias": self.antialias} if smooth else {}))
        out = out.round().clamp(0, 255).to(img.dtype) if not img.is_floating_point() else out
        return out if img.dim() == 4 else out.squeeze(0)

    def __repr__(self):
        return _repr(self, size=self.size, interpolation=self.interpolation, max_size=self.max_size,
                     antialias=self.antialias)


def _crop(img, top, left, height, width):
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    return img[..., top:top + height, left:left + width]


class CenterCrop:
    """Crop the central ``size`` (h, w) region; rounding puts an odd leftover pixel at the bottom/right."""

    def __init__(self, size):
        self.size = _pair(size)

    def __call__(self, img):
        h, w = _size_of(img)
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"CenterCrop: crop size {self.size} is larger than the image ({h}, {w})")
        return _crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self):
        return _repr(self, size=self.size)


def _randint(high):
    return int(randint(0, high, (1,)).item())


class RandomCrop:
    """Crop a random ``size`` region, after optional ``padding`` (int, (lr, tb) or (l, t, r, b)) of a tensor."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size, self.padding, self.pad_if_needed = _pair(size), padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def _pad(self, img, left, top, right, bottom):
        if _is_pil(img):
            raise TypeError("RandomCrop pads tensors only: apply ToTensor() before RandomCrop(padding=...)")
        kwargs = {"value": self.fill} if self.padding_mode == "constant" else {}
        batched = img.unsqueeze(0) if img.dim() == 3 and self.padding_mode != "constant" else img
        out = F.pad(batched, (left, right, top, bottom), mode=self.padding_mode, **kwargs)
        return out.squeeze(0) if batched is not img else out

    def __call__(self, img):
        if self.padding is not None:
            p = [self.padding] * 4 if isinstance(self.padding, int) else list(self.padding)
            img = self._pad(img, *(p * 2 if len(p) == 2 else p))
        h, w = _size_of(img)
        th, tw = self.size
        if self.pad_if_needed and (h < th or w < tw):
            img = self._pad(img, max(tw - w, 0), max(th - h, 0), max(tw - w, 0), max(th - h, 0))
            h, w = _size_of(img)
        if th > h or tw > w:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        return _crop(img, _randint(h - th + 1), _randint(w - tw + 1), th, tw)

    def __repr__(self):
        return _repr(self, size=self.size, padding=self.padding)


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if rand(1).item() >= self.p:
            return img
        if _is_pil(img):
            from PIL import Image
            return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return img.flip(-1)

    def __repr__(self):
        return _repr(self, p=self.p)


def _rotate_nearest(img, degrees, fill):
    """Rotate a tensor (..., H, W) counter-clockwise about its centre, nearest neighbour, ``fill`` outside."""
    height, width = img.shape[-2:]
    theta = np.deg2rad(degrees)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    ys, xs = np.meshgrid(np.arange(height) - cy, np.arange(width) - cx, indexing="ij")
    # each output pixel reads the input at its position rotated back by -theta (y grows downwards)
    src_x = np.rint(np.cos(theta) * xs - np.sin(theta) * ys + cx).astype(np.int64)
    src_y = np.rint(np.sin(theta) * xs + np.cos(theta) * ys + cy).astype(np.int64)
    inside = (src_x >= 0) & (src_x < width) & (src_y >= 0) & (src_y < height)
    flat = from_numpy(np.where(inside, src_y * width + src_x, 0).reshape(-1))
    out = img.reshape(*img.shape[:-2], height * width).index_select(-1, flat).reshape(img.shape)
    return out.masked_fill(from_numpy(~inside), fill)


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d)), counter-clockwise,
    about the centre, keeping the size; pixels from outside the image get ``fill``. Nearest-neighbour
    for tensors; PIL images use Pillow's own rotate."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-degrees, degrees)
        self.degrees = [float(d) for d in degrees]
        if interpolation != "nearest" or expand or center is not None:
            raise NotImplementedError("RandomRotation supports interpolation='nearest', expand=False, center=None")
        self.interpolation, self.expand, self.center, self.fill = interpolation, expand, center, fill

    def __call__(self, img):
        low, high = self.degrees
        angle = low + (high - low) * rand(1).item()
        if _is_pil(img):
            return img.rotate(angle, fillcolor=self.fill)
        return _rotate_nearest(img, angle, self.fill)

    def __repr__(self):
        return _repr(self, degrees=self.degrees, interpolation=self.interpolation, expand=self.expand, fill=self.fill)


class Lambda:
    """Wrap a user function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"

