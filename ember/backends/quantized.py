"""Quantized-kernel engine: ember has no quantized tensors, so the only engine is ``"none"``."""
import sys

supported_engines = ["none"]


class _Module(type(sys)):
    @property
    def engine(self):
        return "none"

    @engine.setter
    def engine(self, value):
        if value != "none":
            raise RuntimeError(f"quantized engine {value} is not supported (ember has no quantized kernels; "
                               f"supported engines: {supported_engines})")


sys.modules[__name__].__class__ = _Module
