"""make_grid and save_image: layout by torchvision's documented rules, normalisation, PNG round trip."""
import numpy as np
import pytest

import ember
from ember.vision.utils import make_grid, save_image


def test_make_grid_layout_and_padding():
    images = ember.rand(5, 3, 4, 6)
    grid = make_grid(images, nrow=2, padding=1, pad_value=0.5).numpy()
    assert grid.shape == (3, 3 * (4 + 1) + 1, 2 * (6 + 1) + 1)  # 3 rows of 2, a padding line around every cell
    for k in range(5):
        top, left = (k // 2) * 5 + 1, (k % 2) * 7 + 1
        np.testing.assert_array_equal(grid[:, top:top + 4, left:left + 6], images[k].numpy())
    assert (grid[:, 0, :] == 0.5).all() and (grid[:, 11:, 8:] == 0.5).all()  # border and the empty sixth cell


def test_make_grid_gray_to_rgb_list_input_and_normalize():
    gray = [ember.full((1, 2, 2), 2.0), ember.full((1, 2, 2), 6.0)]
    grid = make_grid(gray, padding=0, normalize=True).numpy()
    assert grid.shape == (3, 2, 4)
    np.testing.assert_allclose(grid[:, :, :2], 0.0)
    np.testing.assert_allclose(grid[:, :, 2:], 1.0)
    each = make_grid(gray, padding=0, normalize=True, scale_each=True, value_range=(0, 8)).numpy()
    np.testing.assert_allclose(each[0, 0], [0.25, 0.25, 0.75, 0.75])
    with pytest.raises(ValueError, match="make_grid expects"):
        make_grid(ember.ones(1, 1, 1, 2, 2))


def test_save_image_round_trip(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow is the optional 'vision' extra")
    x = ember.tensor(np.random.default_rng(0).integers(0, 256, (2, 3, 4, 4)).astype(np.float32) / 255)
    path = tmp_path / "grid.png"
    save_image(x, str(path), nrow=2, padding=0)
    back = np.asarray(image.open(path))
    assert back.shape == (4, 8, 3)
    np.testing.assert_array_equal(back[:, :4], np.rint(x[0].numpy().transpose(1, 2, 0) * 255).astype(np.uint8))
