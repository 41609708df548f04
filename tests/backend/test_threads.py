"""ember.backend.threads: large kernels split over threads and cache-sized pieces give
exactly what the kernel gives on the whole arrays; ember.set_num_threads controls it."""
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.special
import threadpoolctl

import ember
from ember.backend import threads

BIG = threads.MIN_ELEMENTS * 3 + 17  # above the inline threshold, and not a multiple of anything


def _ndtr_into(out, a):
    scipy.special.ndtr(a, out=out)


def _axpy_into(out, a, b):
    np.multiply(a, 2.5, out=out)
    out += b


@pytest.mark.parametrize("shape", [(BIG,), (3, BIG // 3 + 1), (BIG // 64, 64), (2, 1, BIG // 2), (5,), ()])
def test_blocked_matches_whole_kernel(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    got = threads.blocked(_ndtr_into, np.empty_like(a), a)
    np.testing.assert_array_equal(got, scipy.special.ndtr(a))
    assert got.shape == a.shape


def test_blocked_broadcasts_inputs_and_keeps_strided_outputs():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((BIG // 256 + 1, 256)).astype(np.float32)
    row = rng.standard_normal(256).astype(np.float32)
    got = threads.blocked(_axpy_into, np.empty_like(a), a, row)
    np.testing.assert_array_equal(got, a * 2.5 + row)
    transposed = np.asfortranarray(a)  # same shape, not C-contiguous: split along rows of a strided array
    out = np.empty_like(transposed)
    threads.blocked(_axpy_into, out, transposed, transposed)
    np.testing.assert_array_equal(out, a * 2.5 + a)


def test_blocked_pieces_cover_every_element_once():
    """Each element is visited by exactly one piece, whatever the thread count and piece size."""
    def count(out):
        out += 1

    for n in (1, 2, 3):
        old = threads.get_num_threads()
        threads.set_num_threads(n)
        try:
            out = np.zeros(BIG, dtype=np.float64)
            threads.blocked(count, out)
        finally:
            threads.set_num_threads(old)
        assert out.min() == 1 and out.max() == 1


def test_blocked_reraises_a_kernel_error():
    def fail(out):
        raise ValueError("boom in a piece")

    with pytest.raises(ValueError, match="boom in a piece"):
        threads.blocked(fail, np.zeros(BIG, dtype=np.float32))


def _gelu_sum_in_child(queue):
    x = ember.linspace(-3, 3, BIG)
    queue.put(float(ember.nn.functional.gelu(x).sum()))


def test_forked_child_starts_its_own_pool():
    """A DataLoader worker is a fork: the parent's threads are gone there, the kernels must still run."""
    x = ember.linspace(-3, 3, BIG)
    expected = float(ember.nn.functional.gelu(x).sum())  # the parent's pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_gelu_sum_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == pytest.approx(expected, rel=1e-6)


def _blas_threads():
    return {info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}


def test_set_num_threads_round_trip_and_errors():
    old = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        assert _blas_threads() == {1}  # GEMMs follow, as torch.set_num_threads
        x = ember.linspace(-4, 4, BIG)
        np.testing.assert_allclose(ember.nn.functional.gelu(x).numpy(),
                                   x.numpy() * scipy.special.ndtr(x.numpy()), rtol=4e-7, atol=0)
    finally:
        ember.set_num_threads(old)
    assert ember.get_num_threads() == old
    assert _blas_threads() == {old}
    for bad, message in ((0, "expects a positive integer"), (-2, "expects a positive integer"),
                         (1.5, "expects an int, but got float"), ("2", "expects an int, but got str")):
        with pytest.raises(RuntimeError, match=message):
            ember.set_num_threads(bad)


def _env_after_import(prelude, env_value=None):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if env_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_value
    code = f"{prelude}\nimport os, ember\nprint(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_openblas_spin_is_shortened_only_when_ember_loads_first():
    assert _env_after_import("") == "18"
    assert _env_after_import("import numpy") == "None"  # too late to matter: left alone
    assert _env_after_import("", env_value="25") == "25"  # the user's choice wins


def test_init_num_threads_starts_the_worker_pool():
    old = threads.get_num_threads()
    threads.set_num_threads(2)
    try:
        threads._forget_pool_after_fork()  # no pool yet
        ember.init_num_threads()
        assert threads._pool is not None and threads._pool._max_workers == 1
    finally:
        threads.set_num_threads(old)
