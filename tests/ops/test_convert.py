"""Tensor.copy_ against torch: broadcasting, casting, gradients and errors."""
import pytest
import torch

import ember
from tests.oracle import check, gradcheck, rand


@pytest.mark.parametrize("dst_shape, src_shape", [((2, 3), (3,)), ((2, 3), (2, 3)), ((2, 3), (1, 1)), ((0, 3), (3,))])
@pytest.mark.parametrize("dst_dtype", ["float32", "float64"])
def test_copy_into_matches_torch(dst_shape, src_shape, dst_dtype):
    src = rand(*src_shape, seed=3)

    def fn(lib, src):
        dst = lib.zeros(dst_shape, dtype=getattr(lib, dst_dtype)) * lib.ones(())  # a non-leaf destination
        return dst.copy_(src) * 2
    check(fn, src)
    gradcheck(lambda lib, s: lib.zeros(dst_shape, dtype=lib.float64).copy_(s), src.astype("float64"))


def test_copy_casts_and_errors_like_torch():
    for lib in (ember, torch):
        ints = lib.zeros(3, dtype=lib.int64).copy_(lib.tensor([1.7, 2.2, -3.9]))
        assert ints.tolist() == [1, 2, -3]
    x = ember.zeros(2, 3)
    assert x.copy_(ember.ones(3)) is x and x._version[0] == 1
    assert ember.zeros(2).copy_(ember.ones(2, requires_grad=True)).grad_fn.name() == "CopyBackwards"
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           r"at non-singleton dimension 1"):
        x.copy_(ember.ones(4))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        ember.zeros(3).copy_(ember.ones(2, 3))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        x.copy_([1, 2, 3])
