"""Transforms: values against NumPy (and torch's interpolate for Resize), shapes, randomness, errors."""
import numpy as np
import pytest
import torch

import ember
from ember.vision import transforms as T  # noqa: N812


def test_to_tensor_scales_uint8_and_moves_channels():
    img = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    x = T.ToTensor()(img)
    assert x.dtype == ember.float32 and tuple(x.shape) == (3, 4, 5)
    np.testing.assert_allclose(x.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = T.ToTensor()(img[..., 0])
    assert tuple(gray.shape) == (1, 4, 5)
    floats = T.ToTensor()(np.full((2, 2), 3.5, np.float32))
    np.testing.assert_array_equal(floats.numpy(), np.full((1, 2, 2), 3.5))
    with pytest.raises(TypeError, match="PIL Image or ndarray, got list"):
        T.ToTensor()([[1, 2]])


def test_to_tensor_from_pil():
    image = pytest.importorskip("PIL.Image", reason="Pillow is the optional 'vision' extra")
    img = image.new("RGB", (3, 2), (255, 0, 51))
    x = T.ToTensor()(img)
    assert tuple(x.shape) == (3, 2, 3)
    np.testing.assert_allclose(x.numpy()[:, 1, 2], [1.0, 0.0, 0.2], rtol=1e-6)


def test_normalize_per_channel_and_inplace():
    x = ember.rand(3, 4, 4)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = (x.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    y = x.clone()
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0,), (0,))(x)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0,), (1,))(ember.ones(1, 2, 2, dtype=ember.uint8))


@pytest.mark.parametrize("size, expected", [((4, 3), (1, 2)), (5, (0, 0)), ((3, 4), (1, 1))])
def test_center_crop_offsets(size, expected):
    img = np.arange(7 * 6).reshape(7, 6)
    x = ember.tensor(img).unsqueeze(0)
    th, tw = (size, size) if isinstance(size, int) else size
    top, left = int(round((7 - th) / 2)), int(round((6 - tw) / 2))
    out = T.CenterCrop(size)(x)
    np.testing.assert_array_equal(out.numpy()[0], img[top:top + th, left:left + tw])
    assert out.numpy()[0, 0, 0] == img[top, left]
    with pytest.raises(ValueError, match="larger than the image"):
        T.CenterCrop(8)(x)


def test_random_crop_is_a_window_of_the_padded_image_and_seeded():
    img = ember.arange(2 * 5 * 5, dtype=ember.float32).reshape(2, 5, 5)
    crop = T.RandomCrop(4, padding=1)
    padded = np.pad(img.numpy(), ((0, 0), (1, 1), (1, 1)))
    seen = set()
    for seed in range(12):
        ember.manual_seed(seed)
        out = crop(img).numpy()
        offsets = [(i, j) for i in range(4) for j in range(4) if np.array_equal(padded[:, i:i + 4, j:j + 4], out)]
        assert offsets, "crop is not a window of the padded image"
        seen.add(offsets[0])
        ember.manual_seed(seed)
        np.testing.assert_array_equal(crop(img).numpy(), out)
    assert len(seen) > 3
    with pytest.raises(ValueError, match=r"Required crop size \(9, 9\) is larger than input image size \(5, 5\)"):
        T.RandomCrop(9)(img)
    assert tuple(T.RandomCrop(9, pad_if_needed=True)(img).shape) == (2, 9, 9)


def test_random_horizontal_flip():
    x = ember.arange(6.0).reshape(1, 2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x).numpy(), x.numpy()[..., ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(x) is x
    ember.manual_seed(0)
    flips = sum(T.RandomHorizontalFlip()(x) is not x for _ in range(400))
    assert 150 < flips < 250


@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size, out_hw", [((4, 6), (4, 6)), (4, (4, 8)), ([3], (3, 6))])
def test_resize_tensor_matches_torch_bilinear(size, out_hw, antialias):
    """As torchvision's tensor Resize: bilinear, antialiased when shrinking unless antialias=False."""
    x = np.random.default_rng(1).random((3, 6, 12), dtype=np.float32)
    out = T.Resize(size, antialias=antialias)(ember.tensor(x))
    assert tuple(out.shape[-2:]) == out_hw
    ref = torch.nn.functional.interpolate(torch.tensor(x)[None], size=out_hw, mode="bilinear", align_corners=False,
                                          antialias=antialias)[0]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_compose_and_lambda():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize((1.0,), (1.0,))])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    np.testing.assert_allclose(out.numpy(), np.ones((1, 2, 2)))
    assert repr(pipeline).splitlines()[0] == "Compose(" and "Normalize(mean=[1.0], std=[1.0])" in repr(pipeline)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)


def test_random_rotation_nearest():
    x = ember.arange(2 * 5 * 5, dtype=ember.float32).reshape(2, 5, 5)
    for turns, angle in ((1, 90), (2, 180), (3, 270)):
        out = T.RandomRotation((angle, angle))(x)
        np.testing.assert_array_equal(out.numpy(), np.rot90(x.numpy(), turns, axes=(1, 2)))  # counter-clockwise
    np.testing.assert_array_equal(T.RandomRotation((0, 0))(x).numpy(), x.numpy())
    diag = T.RandomRotation((45, 45), fill=-1.0)(ember.ones(1, 5, 5)).numpy()[0]
    assert diag[2, 2] == 1 and diag[0, 0] == -1 and diag[0, 2] == 1  # corners came from outside, the centre stays
    ember.manual_seed(3)
    a = T.RandomRotation(30)(x)
    ember.manual_seed(3)
    np.testing.assert_array_equal(T.RandomRotation(30)(x).numpy(), a.numpy())
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-5)


def test_random_rotation_pil():
    image = pytest.importorskip("PIL.Image", reason="Pillow is the optional 'vision' extra")
    img = image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4))
    out = T.RandomRotation((90, 90))(img)
    np.testing.assert_array_equal(np.asarray(out), np.rot90(np.asarray(img)))
