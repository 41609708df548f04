"""What differs between the array modules (NumPy on the CPU, CuPy on GPUs), in one place:
ops ask these helpers instead of testing which module ``xp`` is."""
import numpy as np

from ember.backend.device import gpu_module


def is_numpy(xp):
    """Whether ``xp`` is NumPy (host memory; NumPy-only kernels such as ``ufunc.reduceat`` apply)."""
    return xp is np


def array_module_of(a):
    """NumPy for a host array, the GPU module for a device array."""
    return np if isinstance(a, (np.ndarray, np.generic)) else gpu_module()


def cupyx(xp):
    """CuPy's companion package for a GPU array module (the fake CUDA device brings its own)."""
    companion = getattr(xp, "_cupyx", None)
    if companion is not None:
        return companion
    import cupyx
    import cupyx.scipy.fft
    import cupyx.scipy.special  # noqa: F401  (loads the submodules special() and fft() return)
    return cupyx


def special(xp):
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy ones (imported on first use)."""
    if xp is np:
        import scipy.special
        return scipy.special
    return cupyx(xp).scipy.special


def fft(xp):
    """``scipy.fft`` for NumPy arrays (several times faster than numpy.fft, and it keeps single
    precision), ``cupyx.scipy.fft`` for CuPy ones; loaded on first use, not with ember."""
    if xp is np:
        import scipy.fft
        return scipy.fft
    return cupyx(xp).scipy.fft


def add_at(xp, out, key, values):
    """``out[key] += values`` where repeated positions add up (unbuffered); booleans add as a logical or."""
    if out.dtype == np.bool_:
        counts = out.astype(np.int64)
        add_at(xp, counts, key, values.astype(np.int64) if hasattr(values, "astype") else int(values))
        out[...] = counts != 0
    elif xp is np:
        np.add.at(out, key, values)
    else:
        cupyx(xp).scatter_add(out, key, values)


def accumulate(xp, name, x, axis):
    """``xp.<name>.accumulate(x, axis=axis)``. CuPy accumulates only ``add`` and ``multiply``; other
    ufuncs run there as a scan of log2(n) whole-array steps."""
    ufunc = getattr(xp, name)
    if xp is np or name in ("add", "multiply"):
        return ufunc.accumulate(x, axis=axis)
    out = xp.moveaxis(x, axis, 0).copy()
    shift = 1
    while shift < out.shape[0]:
        out[shift:] = ufunc(out[shift:], out[:-shift])
        shift *= 2
    return xp.moveaxis(out, 0, axis)


def pinned_empty(shape, dtype):
    """A host array in page-locked memory, which GPUs copy from fastest (and asynchronously)."""
    xp = gpu_module()
    if xp is None:
        raise RuntimeError("Cannot access accelerator device when none is available: pinned memory needs a CUDA "
                           "device (CuPy and a visible NVIDIA GPU).")
    return cupyx(xp).empty_pinned(shape, dtype)


def is_pinned(a):
    """Whether a host array lies in page-locked memory (made by ``pinned_empty``, or a view of one)."""
    xp = gpu_module()
    if xp is None or not isinstance(a, np.ndarray):
        return False
    while a is not None:
        if isinstance(a, xp.cuda.PinnedMemoryPointer):
            return True
        a = getattr(a, "base", None)
    return False


def to_host(a):
    """A NumPy array with the contents of a NumPy or CuPy array (a device array is copied: the
    one explicit way data leaves the GPU, for the few ops that need host code)."""
    return a if isinstance(a, np.ndarray) else a.get()


def address(a):
    """The memory address of an array's first element (host or device memory)."""
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr
