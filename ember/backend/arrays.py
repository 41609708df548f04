"""What differs between the array modules (NumPy on the CPU, CuPy on GPUs), in one place:
ops ask these helpers instead of testing which module ``xp`` is."""
import numpy as np


def is_numpy(xp):
    """Whether ``xp`` is NumPy (host memory; NumPy-only kernels such as ``ufunc.reduceat`` apply)."""
    return xp is np


def special(xp):
    """``scipy.special`` for NumPy arrays, ``cupyx.scipy.special`` for CuPy ones (imported on first use)."""
    if xp is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special


def add_at(xp, out, key, values):
    """``out[key] += values`` where repeated positions add up (unbuffered)."""
    if xp is np:
        np.add.at(out, key, values)
    else:
        import cupyx
        cupyx.scatter_add(out, key, values)


def to_host(a):
    """A NumPy array with the contents of a NumPy or CuPy array."""
    return a if isinstance(a, np.ndarray) else a.get()
