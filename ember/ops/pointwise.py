"""Pointwise ops beyond plain unary/binary: clamp, where, lerp, addcmul/addcdiv, closeness tests, softmax."""
