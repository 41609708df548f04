"""The fake CUDA device behaves as CuPy does where host-only habits would break on a GPU."""
import numpy as np
import pytest

from ember.backend import fake_cupy

cp = fake_cupy.module


def test_implicit_conversion_to_host_is_refused_and_get_copies():
    a = cp.arange(4.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    host = a.get()
    assert isinstance(host, np.ndarray) and host.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert cp.asnumpy(a).tolist() == host.tolist()


def test_host_arrays_do_not_mix_with_device_arrays():
    a = cp.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.add(a, np.ones(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        a[...] = np.ones(3)
    assert (a + np.float32(2)).get().tolist() == [3.0, 3.0, 3.0]  # NumPy scalars are fine
    assert cp.asarray(np.ones(2)).get().tolist() == [1.0, 1.0]  # explicit copies to the device are fine


def test_reductions_return_zero_dim_device_arrays():
    s = cp.arange(5).sum()
    assert isinstance(s, fake_cupy.ndarray) and s.shape == () and int(s) == 10


def test_only_cupys_names_exist():
    assert not hasattr(cp, "busday_count")  # NumPy has it, CuPy does not
    assert hasattr(cp, "einsum") and hasattr(cp.linalg, "eigh")
    with pytest.raises(AttributeError, match="cupy.ndarray"):
        cp.ones(2).tofile_or_what  # noqa: B018
    with pytest.raises(NotImplementedError):
        cp.maximum.accumulate(cp.ones(3))
    assert cp.add.accumulate(cp.ones(3)).get().tolist() == [1.0, 2.0, 3.0]


def test_arrays_belong_to_the_device_they_were_made_on():
    a = cp.ones(2)
    with cp.cuda.Device(1):
        b = cp.ones(2)
        with pytest.raises(ValueError, match=r"resides \(0\) is different from the current device \(1\)"):
            a + b
    assert a.device.id == 0 and b.device.id == 1
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        cp.cuda.Device(fake_cupy.DEVICE_COUNT)


def test_memory_pool_counts_live_arrays_and_enforces_its_limit():
    pool = cp.get_default_memory_pool()
    before = pool.used_bytes()
    a = cp.zeros(1000, dtype=np.float64)
    assert pool.used_bytes() == before + 8000
    del a
    assert pool.used_bytes() == before
    pool.set_limit(size=before + 4000)
    try:
        with pytest.raises(MemoryError, match="Out of memory allocating 8,000 bytes"):
            cp.zeros(1000, dtype=np.float64)
    finally:
        pool.set_limit(size=0)
