"""``ember.onnx``: PyTorch's ONNX export entry points, a face over ``ember.export`` (the ``onnx``
package, the ``onnx`` extra, loads on the first export)."""
from ember.export.onnx import (
    TrainingMode, coverage, export, is_in_onnx_export, register_custom_op_symbolic, unregister_custom_op_symbolic,
)

__all__ = ["TrainingMode", "coverage", "export", "is_in_onnx_export", "register_custom_op_symbolic",
           "unregister_custom_op_symbolic"]
