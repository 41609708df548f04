"""The compiled layer norm kernels (``ember/ops/norm_kernels.py``) against the NumPy path and torch."""
import numpy as np
import pytest

import ember
from ember.backend import compiled
from tests.oracle import check, check_layouts, gradcheck, rand


def _layer_norm_run(x, w, b, g, shape):
    """Output and gradients of ember's layer norm on float arrays (weight/bias may be None)."""
    leaves = [ember.tensor(a, requires_grad=True) if a is not None else None for a in (x, w, b)]
    out = ember.nn.functional.layer_norm(leaves[0], shape, leaves[1], leaves[2])
    out.backward(ember.tensor(g))
    return [out.detach().numpy()] + [t.grad.numpy() for t in leaves if t is not None]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape,norm", [((37, 33), (33,)), ((3, 5, 7, 9), (7, 9)), ((1, 1), (1,)), ((300, 256), (256,))])
@pytest.mark.parametrize("affine", [True, False])
def test_kernel_matches_numpy_path(dtype, tol, shape, norm, affine):
    x = rand(*shape, dtype=dtype, seed=1) * 4 + 3
    w, b = (rand(*norm, dtype=dtype, seed=s) if affine else None for s in (2, 3))
    g = rand(*shape, dtype=dtype, seed=4)
    got = _layer_norm_run(x, w, b, g, norm)
    with compiled.disabled():
        want = _layer_norm_run(x, w, b, g, norm)
    for a, e in zip(got, want):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * np.abs(e).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_torch_with_layouts(dtype):
    atol = 1e-5 if dtype == np.float32 else 1e-10
    check_layouts(lambda lib, x, w, b: lib.layer_norm(x, [9], w, b), rand(11, 9, dtype=dtype, seed=5),
                  rand(9, dtype=dtype, seed=6), rand(9, dtype=dtype, seed=7), atol=atol)
    check(lambda lib, x, w: lib.nn.functional.layer_norm(x, (256,), w), rand(4, 33, 256, dtype=dtype, seed=8) * 100,
          rand(256, dtype=dtype, seed=9), atol=atol * 10)


def test_results_do_not_depend_on_the_thread_count():
    x, w, b, g = rand(517, 129, seed=10), rand(129, seed=11), rand(129, seed=12), rand(517, 129, seed=13)
    before = ember.get_num_threads()
    runs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            runs.append(_layer_norm_run(x, w, b, g, (129,)))
    finally:
        ember.set_num_threads(before)
    for other in runs[1:]:
        assert all(np.array_equal(a, o) for a, o in zip(runs[0], other))


def test_group_norm_with_one_group_of_single_channels_takes_the_row_kernel():
    check(lambda lib, x, w, b: lib.group_norm(x, 1, w, b), rand(5, 6, 1, seed=14), rand(6, seed=15), rand(6, seed=16))
    check(lambda lib, x, w, b: lib.group_norm(x, 3, w, b), rand(2, 6, 4, seed=17), rand(6, seed=18), rand(6, seed=19))


def test_constant_rows_and_extreme_values():
    x = np.full((3, 8), 7.0, np.float32)
    x[1] = np.linspace(-1e4, 1e4, 8)
    check(lambda lib, x: lib.layer_norm(x, [8]), x, atol=1e-4)


def test_float64_gradcheck_through_the_kernel():
    gradcheck(lambda lib, x, w, b: lib.layer_norm(x, [5], w, b), rand(3, 5, seed=20), rand(5, seed=21),
              rand(5, seed=22))
