import numpy as np
import pytest

from oracle import check, check_layouts, gradcheck, rand

SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((0, 3), (3,))]


@pytest.mark.parametrize("a_shape,b_shape", SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "atan2", "maximum", "minimum"])
def test_binary_matches_torch(op, a_shape, b_shape):
    check_layouts(lambda m, a, b: getattr(m, op)(a, b), rand(*a_shape), rand(*b_shape, seed=1, low=0.5))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "atan2"])
def test_binary_gradcheck(op):
    gradcheck(lambda m, a, b: getattr(m, op)(a, b), rand(2, 3), rand(3, seed=1, low=0.5))
