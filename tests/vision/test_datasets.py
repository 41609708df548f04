"""The dataset readers, on small files written here in each real format."""
import gzip
import os
import struct

import numpy as np
import pytest

from ember.vision import datasets, transforms


def _write_idx(path, array, gz=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(body)


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, cls, gz):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(str(raw / f"t10k-images-idx3-ubyte{suffix}"), images, gz)
    _write_idx(str(raw / f"t10k-labels-idx1-ubyte{suffix}"), labels, gz)
    ds = cls(str(tmp_path), train=False)
    assert len(ds) == 5
    img, target = ds[2]
    np.testing.assert_array_equal(img, images[2])
    assert target == 4 and isinstance(target, int)
    x, _ = cls(str(tmp_path), train=False, transform=transforms.ToTensor())[2]
    assert tuple(x.shape) == (1, 28, 28)
    np.testing.assert_allclose(x.numpy()[0], images[2] / 255.0, rtol=1e-6)


def test_mnist_missing_folder_says_where_to_put_files(tmp_path):
    with pytest.raises(RuntimeError, match=r"(?s)MNIST was not found.*2 of its 2 files.*never downloads.*"
                                           r"MNIST/raw/train-images-idx3-ubyte"):
        datasets.MNIST(str(tmp_path))
    with pytest.raises(RuntimeError, match="MNIST: download=True was given, but ember never downloads data"):
        datasets.MNIST(str(tmp_path), download=True)


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_download_true_loads_files_already_in_place(tmp_path, cls):
    raw = tmp_path / cls.__name__ / "raw"
    raw.mkdir(parents=True)
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    _write_idx(str(raw / "train-images-idx3-ubyte.gz"), images, True)
    with pytest.raises(RuntimeError, match=r"(?s)download=True was given.*1 of its 2 files are missing.*"
                                           r"train-labels-idx1-ubyte\n?$") as info:
        cls(str(tmp_path), train=True, download=True)
    assert "train-images" not in str(info.value)  # only what is missing is listed
    _write_idx(str(raw / "train-labels-idx1-ubyte"), np.array([7, 2], np.uint8))
    ds = cls(str(tmp_path), train=True, download=True)
    assert len(ds) == 2 and ds[1][1] == 2
    np.testing.assert_array_equal(ds[1][0], images[1])


def test_cifar10_download_true_with_files_present(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records = np.concatenate([np.array([[4]], np.uint8), np.zeros((1, 3072), np.uint8)], axis=1)
    records.tofile(str(folder / "test_batch.bin"))
    assert datasets.CIFAR10(str(tmp_path), train=False, download=True)[0][1] == 4
    with pytest.raises(RuntimeError, match=r"(?s)CIFAR10: download=True.*5 of its 5 files.*data_batch_5.bin"):
        datasets.CIFAR10(str(tmp_path), train=True, download=True)


def test_idx_bad_magic_and_truncation(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04rubbish")
    _write_idx(str(raw / "train-labels-idx1-ubyte"), np.zeros(3, np.uint8))
    with pytest.raises(RuntimeError, match="is not an IDX file"):
        datasets.MNIST(str(tmp_path))
    _write_idx(str(raw / "train-images-idx3-ubyte"), np.zeros((3, 28, 28), np.uint8))
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="is truncated"):
        datasets.MNIST(str(tmp_path))


def test_cifar10_binary_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(1)
    planes = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    labels = np.array([9, 0, 3, 7], np.uint8)
    records = np.concatenate([labels[:, None], planes.reshape(4, -1)], axis=1)
    records.tofile(str(folder / "test_batch.bin"))
    ds = datasets.CIFAR10(str(tmp_path), train=False)
    img, target = ds[1]
    assert len(ds) == 4 and target == 0 and img.shape == (32, 32, 3)
    np.testing.assert_array_equal(img[..., 2], planes[1, 2])  # blue plane lands in the last channel
    with pytest.raises(RuntimeError, match="data_batch_1.bin"):
        datasets.CIFAR10(str(tmp_path), train=True)
    (folder / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(RuntimeError, match="not a multiple of 3073"):
        datasets.CIFAR10(str(tmp_path), train=False)


def test_image_folder(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow is the optional 'vision' extra")
    for cls, colours in {"cat": [(255, 0, 0), (0, 255, 0)], "dog": [(0, 0, 255)]}.items():
        os.makedirs(tmp_path / cls)
        for i, colour in enumerate(colours):
            image.new("RGB", (4, 3), colour).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(str(tmp_path), transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.targets == [0, 0, 1] and len(ds) == 3
    x, y = ds[2]
    assert tuple(x.shape) == (3, 3, 4) and y == 1
    np.testing.assert_allclose(x.numpy()[:, 0, 0], [0, 0, 1])
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        datasets.ImageFolder(str(tmp_path / "missing"))


def test_digits_split_and_content():
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    assert (len(train), len(test)) == (1433, 364)
    assert train.data.dtype == np.uint8 and train.data.shape == (1433, 8, 8) and train.data.max() == 255
    counts = np.bincount(test.targets, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # stratified: about a fifth of every class
    img, target = test[0]
    assert target == 0 and img.shape == (8, 8)
    # a zero is a ring: its centre column is darker than its left and right strokes
    assert img[2:6, 3:5].mean() < img[2:6, [1, 6]].mean()


def test_fakedata_is_deterministic_and_sized():
    ds = datasets.FakeData(size=6, image_size=(3, 5, 7), num_classes=4)
    a, b = ds[3], ds[3]
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (5, 7, 3) and a[0].dtype == np.uint8 and 0 <= a[1] < 4
    assert not np.array_equal(ds[0][0], ds[1][0])
    with pytest.raises(IndexError, match="out of range"):
        ds[6]


def test_dataset_repr():
    text = repr(datasets.Digits(train=False, transform=transforms.ToTensor()))
    assert text.splitlines()[:3] == ["Dataset Digits", "    Number of datapoints: 364", "    Split: Test"]
    assert "Transform: ToTensor()" in text
