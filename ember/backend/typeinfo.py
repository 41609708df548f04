"""``finfo``/``iinfo``: the numerical limits of ember's dtypes, as PyTorch reports them."""
import numpy as np

from ember.backend.dtype import bfloat16, dtype as _dtype, get_default_dtype, to_dtype


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating (or complex: of its real part) dtype: ``ember.finfo(ember.float32).eps``."""

    def __init__(self, type=None):  # noqa: A002
        d = get_default_dtype() if type is None else to_dtype(type)
        if d.category < 2:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{d.name}'")
        real = d.to_real()
        info = _bfloat16_info() if real is bfloat16 else np.finfo(real.np)
        self.dtype = real.name
        self.bits = real.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(10.0 ** -int(info.precision))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, eps={self.eps:e}, "
                f"smallest_normal={self.smallest_normal:e}, tiny={self.tiny:e}, dtype={self.dtype})")


def _bfloat16_info():
    import ml_dtypes
    return ml_dtypes.finfo(ml_dtypes.bfloat16)


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: ``ember.iinfo(ember.int32).max``."""

    def __init__(self, type):  # noqa: A002
        d = to_dtype(type) if not isinstance(type, _dtype) else type
        if d.category != 1 and d.name != "bool":
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{d.name}'")
        info = np.iinfo(np.uint8 if d.name == "bool" else d.np)
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.max = int(info.max)
        self.min = int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
