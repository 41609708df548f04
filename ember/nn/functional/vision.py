"""Spatial transformers and channel mixing: affine_grid, grid_sample, channel_shuffle.

grid_sample is composed from ember ops: sample coordinates are computed from the grid
(padding applied to them as PyTorch does), the taps around each coordinate are gathered
from the flattened input and weighted. Gradients reach the input through the gather and
the grid through the weights (interpolation coefficients), so double backward works.

>>> import ember
>>> import ember.nn.functional as F
>>> theta = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
>>> x = ember.arange(4.0).reshape(1, 1, 2, 2)
>>> F.grid_sample(x, F.affine_grid(theta, (1, 1, 2, 2), align_corners=False), align_corners=False).tolist()
[[[[0.0, 1.0], [2.0, 3.0]]]]
"""
import itertools
import math
import warnings

from ember.creation import linspace, ones, tensor
from ember.ops import binary, pointwise, unary
from ember.ops.join import stack

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. "
                  "See the documentation of grid_sample for details.")
_CUBIC_A = -0.75


def _align(align_corners):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        return False
    return align_corners


def _base_coords(steps, align_corners, like):
    """The normalised coordinates of ``steps`` pixel centres (corners when ``align_corners``)."""
    if steps <= 1:
        return tensor([0.0], dtype=like.dtype, device=like.device)
    line = linspace(-1.0, 1.0, steps, dtype=like.dtype, device=like.device)
    return line if align_corners else line * ((steps - 1) / steps)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid ``(N, *spatial, nd)`` of a batch of affine maps ``theta`` (N x 2 x 3 or N x 3 x 4)."""
    align_corners = _align(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    nd = len(size) - 2
    if theta.dim() != 3 or theta.shape[-2] != nd or theta.shape[-1] != nd + 1:
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size {size}. "
                         f"Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    lines = [_base_coords(n, align_corners, theta) for n in spatial]
    axes = []  # x runs along the last spatial dim, y along the one before, ...
    for k in range(nd):
        dim = nd - 1 - k
        view = [1] * nd
        view[dim] = spatial[dim]
        axes.append(lines[dim].reshape(view).expand(*spatial))
    base = stack(axes + [ones(*spatial, dtype=theta.dtype, device=theta.device)], -1)
    grid = base.reshape(1, -1, nd + 1).matmul(theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, nd)


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _clip(coord, size):
    return pointwise.clamp(coord, 0, size - 1)


def _reflect(coord, twice_low, twice_high):
    """``coord`` folded into [low, high] by reflecting at the edges (as often as needed)."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = unary.abs(coord - low)
    extra = binary.fmod(dist, span)
    flips = unary.floor(dist / span)
    return pointwise.where(binary.fmod(flips, 2) == 0, extra + low, span - extra + low)


def _pad_coords(coord, size, padding_mode, align_corners):
    """Source coordinates after the padding rule: zeros leaves them (outside taps read 0)."""
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        return _clip(_reflect(coord, *bounds), size)
    return coord


def _gather(flat, spatial, taps):
    """Sum over taps ``[(per-dim integer index tensors), weight]`` of weight * input value (0 outside)."""
    n, c = flat.shape[:2]
    out = None
    for index, weight in taps:
        inside, offset = None, None
        for idx, size in zip(index, spatial):
            ok = (idx >= 0) & (idx <= size - 1)
            inside = ok if inside is None else inside & ok
            idx = pointwise.clamp(idx, 0, size - 1).long()
            offset = idx if offset is None else offset * size + idx
        points = offset.reshape(n, 1, -1).expand(n, c, offset[0].numel())
        value = flat.gather(2, points) * (weight * inside.to(weight.dtype)).reshape(n, 1, -1)
        out = value if out is None else out + value
    return out


def _cubic_coeffs(t):
    a = _CUBIC_A

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid_sample(input, grid, mode):
    nd = input.dim() - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {str(input.dtype)[6:].title()} but found "
                           f"{str(grid.dtype)[6:].title()}")
    if any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                           f"sizes {list(input.shape)} with dimension {2 + list(input.shape[2:]).index(0)} being empty")
    if mode == "bicubic" and input.dim() != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, *spatial) at the normalised (x, y[, z]) positions of ``grid`` (N, *out, nd).

    Modes: bilinear (trilinear on 5-D input), nearest, bicubic (4-D only); padding: zeros,
    border, reflection."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _align(align_corners)
    _check_grid_sample(input, grid, mode)
    n, c, spatial = input.shape[0], input.shape[1], tuple(input.shape[2:])
    nd = len(spatial)
    out_shape = (n, c) + tuple(grid.shape[1:-1])
    flat = input.reshape(n, c, math.prod(spatial))
    grid = grid.reshape(n, -1, nd)
    # per spatial dim (outermost first) the unnormalised source coordinate; grid's last axis is (x, y, z)
    coords = [_unnormalize(grid[..., nd - 1 - d], spatial[d], align_corners) for d in range(nd)]
    if mode == "bicubic":
        return _bicubic(flat, spatial, coords, padding_mode, align_corners).reshape(out_shape)
    coords = [_pad_coords(x, s, padding_mode, align_corners) for x, s in zip(coords, spatial)]
    if mode == "nearest":
        weight = coords[0] * 0 + 1  # the grid gets a zero gradient, as torch gives it
        taps = [([unary.round(x) for x in coords], weight)]
        return _gather(flat, spatial, taps).reshape(out_shape)
    lows = [unary.floor(x) for x in coords]
    fracs = [x - lo for x, lo in zip(coords, lows)]
    taps = []
    for corner in itertools.product((0, 1), repeat=nd):
        weight = None
        for bit, frac in zip(corner, fracs):
            w = frac if bit else 1 - frac
            weight = w if weight is None else weight * w
        taps.append(([lo + bit for lo, bit in zip(lows, corner)], weight))
    return _gather(flat, spatial, taps).reshape(out_shape)


def _bicubic(flat, spatial, coords, padding_mode, align_corners):
    """4 x 4 taps with cubic-convolution weights; padding applies to each tap's own coordinate."""
    (y, x), (h, w) = coords, spatial
    y0, x0 = unary.floor(y), unary.floor(x)
    wy, wx = _cubic_coeffs(y - y0), _cubic_coeffs(x - x0)
    taps = []
    for i in range(4):
        ty = _pad_coords(y0 + (i - 1), h, padding_mode, align_corners).detach()
        for j in range(4):
            tx = _pad_coords(x0 + (j - 1), w, padding_mode, align_corners).detach()
            taps.append(([unary.trunc(ty), unary.trunc(tx)], wy[i] * wx[j]))
    return _gather(flat, spatial, taps)


def channel_shuffle(input, groups):
    """Interleave the channels (dim 1) of ``groups`` groups: ``(g, c/g)`` becomes ``(c/g, g)``."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    channels = input.shape[1]
    if channels % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {channels} channels and {groups} "
                           "groups.")
    rest = tuple(input.shape[2:])
    grouped = input.reshape(input.shape[0], groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(input.shape)
