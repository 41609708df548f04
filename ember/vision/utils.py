"""Image grids: ``make_grid`` tiles a batch of images into one, ``save_image`` writes it as a PNG (Pillow)."""
import math
from ember.backend.dtype import uint8
from ember.creation import full
from ember.ops.join import cat, stack



def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Tile ``(B, C, H, W)`` images (or a list of ``(C, H, W)``) into one ``(3, H', W')`` image, ``nrow`` per row.

    Single-channel images become three identical channels; ``normalize`` maps ``value_range`` (default: the
    min and max, per image with ``scale_each``) to [0, 1].
    """
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor))
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4:
        raise ValueError(f"make_grid expects a (B, C, H, W) tensor or a list of (C, H, W) images, got shape "
                         f"{list(tensor.shape)}")
    if tensor.shape[1] == 1:
        tensor = cat([tensor] * 3, dim=1)
    if normalize:
        tensor = tensor.clone()
        for img in (tensor if scale_each else [tensor]):
            low, high = value_range if value_range is not None else (img.min().item(), img.max().item())
            img.clamp_(min=low, max=high).sub_(low).div_(max(high - low, 1e-5))
    batch, channels, height, width = tensor.shape
    columns = min(nrow, batch)
    rows = math.ceil(batch / columns)
    cell_h, cell_w = height + padding, width + padding
    grid = full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value, dtype=tensor.dtype)
    for k in range(batch):
        top, left = (k // columns) * cell_h + padding, (k % columns) * cell_w + padding
        grid[:, top:top + height, left:left + width] = tensor[k]
    return grid


def save_image(tensor, fp, format=None, **kwargs):
    """``make_grid(tensor, **kwargs)`` written as an 8-bit image (values in [0, 1] scale to 0-255)."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("save_image writes images with Pillow: pip install 'ember[vision]'") from e
    grid = make_grid(tensor, **kwargs)
    pixels = (grid * 255 + 0.5).clamp(0, 255).to(uint8).permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(fp, format=format)
