"""The compiled-kernel machinery: lazy numba, the disk cache, threads and fork safety."""
import os
import subprocess
import sys

import numpy as np

import ember
from ember.backend import compiled
from ember.utils.data import DataLoader, Dataset


@compiled.kernel
def _row_sums(lo, hi, x, out):
    for i in range(lo, hi):
        total = 0.0
        for j in range(x.shape[1]):
            total += np.sin(x[i, j])
        out[i] = total


def _run(code, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_ember_neither_imports_nor_compiles_numba():
    out = _run("import sys, ember; ember.randn(3).exp().sum(); print('numba' in sys.modules)")
    assert out.strip() == "False"


def test_kernels_cache_under_numba_cache_dir(tmp_path):
    code = ("from ember.backend import compiled\n"
            "import numpy as np\n"
            "@compiled.kernel\n"
            "def twice(lo, hi, x):\n"
            "    for i in range(lo, hi):\n"
            "        x[i] *= 2\n"
            "x = np.ones(4); compiled.parallel(twice, 4, x); print(x.sum())\n")
    script = tmp_path / "kernel_user.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8.0"
    cached = [name for _, _, files in os.walk(tmp_path / "cache") for name in files]
    assert any(name.endswith(".nbi") for name in cached) and any(name.endswith(".nbc") for name in cached)


def test_default_cache_dir_is_in_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compiled.cache_dir() == os.path.join(str(tmp_path), "ember", "numba")


def test_results_do_not_depend_on_the_thread_count():
    x = np.random.default_rng(0).standard_normal((1001, 37))
    before = ember.get_num_threads()
    outs = []
    try:
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            out = np.empty(1001)
            compiled.parallel(_row_sums, 1001, x, out)
            outs.append(out)
    finally:
        ember.set_num_threads(before)
    np.testing.assert_allclose(outs[0], np.sin(x).sum(1), rtol=1e-12)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_usable_refuses_what_numba_cannot_run():
    assert compiled.usable(np.ones(3, np.float32))
    assert not compiled.usable(np.ones(3, np.float16))
    assert not compiled.usable(np.ones(3, np.complex64), np.ones(3))
    with compiled.disabled():
        assert not compiled.usable(np.ones(3))
    assert compiled.usable(np.ones(3))


def test_kernel_records_its_first_call_time():
    @compiled.kernel(cache=False)
    def add_one(lo, hi, x):
        for i in range(lo, hi):
            x[i] += 1

    x = np.zeros(5)
    add_one(0, 5, x)
    assert add_one.compile_seconds > 0 and x.tolist() == [1.0] * 5


class _KernelDataset(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = np.full((64, 16), float(i))
        out = np.empty(64)
        compiled.parallel(_row_sums, 64, x, out, min_rows_per_thread=8)
        return ember.from_numpy(out)


def test_forked_dataloader_workers_run_kernels_after_the_parent_did():
    out = np.empty(64)
    compiled.parallel(_row_sums, 64, np.ones((64, 16)), out, min_rows_per_thread=8)  # threads up, kernel loaded
    batches = list(DataLoader(_KernelDataset(), batch_size=4, num_workers=2))
    got = ember.cat(batches).numpy()
    want = np.stack([np.full(64, np.sin(float(i)) * 16) for i in range(8)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _ops_on(i):
    """Ember ops whose host paths run compiled kernels: softmax, layer norm, max pooling and their backward."""
    x = (ember.arange(2 * 3 * 8 * 8, dtype=ember.float32).reshape(2, 3, 8, 8) * (0.01 * (i + 1))).sin()
    x.requires_grad_()
    y = ember.nn.functional.max_pool2d(x, 2)
    y = ember.nn.functional.layer_norm(y, (4,)).softmax(-1)
    y.sum().backward()
    return ember.cat([y.detach().flatten(), x.grad.flatten()])


class _OpsDataset(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return _ops_on(i)


def test_forked_dataloader_workers_run_ember_ops_on_kernels():
    want = ember.stack([_ops_on(i) for i in range(6)])  # the parent loads the kernels and starts its threads first
    got = ember.cat(list(DataLoader(_OpsDataset(), batch_size=2, num_workers=2)))
    assert ember.equal(got, want)
