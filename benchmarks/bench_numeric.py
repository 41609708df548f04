"""fft, special functions, cdist and a complex matmul: ember against PyTorch, measured in one run.

Each case runs in ember and in torch alternately (best of several rounds) and reports the
ratio ember / torch. Run with ``python benchmarks/bench_numeric.py``.
"""
import timeit

import numpy as np
import torch

import ember

ROUNDS = 5


def _tensor(lib, array, requires_grad=False):
    return lib.tensor(array, requires_grad=requires_grad)


def _fft_case(lib):
    x = _tensor(lib, np.random.default_rng(0).standard_normal((64, 4096)).astype(np.float32))
    return lambda: lib.fft.rfft(x)


def _fft_grad_case(lib):
    x = _tensor(lib, np.random.default_rng(0).standard_normal((64, 1024)).astype(np.float32), True)

    def step():
        lib.fft.fft(x).abs().sum().backward()
        x.grad = None
    return step


def _stft_case(lib):
    x = _tensor(lib, np.random.default_rng(0).standard_normal((4, 16000)).astype(np.float32))
    w = lib.hann_window(400)
    return lambda: lib.stft(x, 400, 160, window=w, return_complex=True)


def _special_case(name):
    def make(lib):
        x = _tensor(lib, np.random.default_rng(0).uniform(0.1, 3, 1_000_000).astype(np.float32))
        fn = getattr(lib.special, name)
        return lambda: fn(x)
    return make


def _cdist_case(lib):
    rng = np.random.default_rng(0)
    a, b = (_tensor(lib, rng.standard_normal((512, 64)).astype(np.float32)) for _ in range(2))
    return lambda: lib.cdist(a, b)


def _complex_matmul_case(lib):
    rng = np.random.default_rng(0)
    a = _tensor(lib, (rng.standard_normal((256, 256)) + 1j * rng.standard_normal((256, 256))).astype(np.complex64))
    return lambda: a @ a


CASES = {
    "rfft (64 x 4096)": (_fft_case, 20),
    "fft + abs + backward (64 x 1024)": (_fft_grad_case, 20),
    "stft (4 x 16000, n_fft 400)": (_stft_case, 10),
    "special.erfcx (1M)": (_special_case("erfcx"), 10),
    "special.i0e (1M)": (_special_case("i0e"), 10),
    "special.ndtri (1M)": (_special_case("ndtri"), 10),
    "cdist (512 x 512 x 64)": (_cdist_case, 20),
    "complex64 matmul (256)": (_complex_matmul_case, 20),
}


def measure(make, number):
    ember_fn, torch_fn = make(ember), make(torch)
    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(ROUNDS):
        best["ember"] = min(best["ember"], timeit.timeit(ember_fn, number=number) / number)
        best["torch"] = min(best["torch"], timeit.timeit(torch_fn, number=number) / number)
    return best


def main():
    torch.set_num_threads(1)  # one core each: the machine is shared, and threads fighting for it distort ratios
    ember.set_num_threads(1)
    print(f"{'case':36s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, (make, number) in CASES.items():
        best = measure(make, number)
        print(f"{name:36s} {best['ember'] * 1e3:9.3f} {best['torch'] * 1e3:9.3f} {best['ember'] / best['torch']:6.2f}")


if __name__ == "__main__":
    main()
