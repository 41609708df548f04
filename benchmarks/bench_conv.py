"""Convolution time, ember against PyTorch in one run.

Cases: conv2d forward, forward+backward and forward+input gradient at
(64, 32, 14, 14) 3x3 -> 64, max_pool2d(2) forward+backward at (64, 32, 28, 28),
the CNN training step of the nn issue (Conv(1,32,3)-ReLU-MaxPool-Conv(32,64,3)-
ReLU-MaxPool-Linear, 28x28, batch 64, SGD), and the two special cases
forward+backward: 1x1 at (32, 64, 28, 28) -> 128 and depthwise 3x3 at
(32, 128, 28, 28), padding 1, stride 1 and 2. Both libraries start from the same
weights and data and alternate rounds; the ratio of the best round times
(ember / torch) is printed. Run with ``python benchmarks/bench_conv.py``.

ember is imported first, as by a program that starts with ``import ember as torch``:
then it shortens OpenBLAS's idle spin (``ember/_blas_env.py``). With NumPy first, the
spinning BLAS threads of one case's GEMMs took a core from the next case's kernels
(depthwise fwd+bwd right after a GEMM: 17 ms instead of 10).
"""
import time

import ember  # before NumPy and torch: see above

import numpy as np
import torch

ROUNDS = 5


def _timer(fn, steps):
    def run():
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps
    return run


def _conv_cases(lib, x, w, b):
    F = lib.nn.functional  # noqa: N806
    xt, wt, bt = lib.tensor(x), lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
    xg = lib.tensor(x, requires_grad=True)

    def forward():
        with lib.no_grad():
            F.conv2d(xt, wt, bt, padding=1)

    def forward_backward():
        F.conv2d(xg, wt, bt, padding=1).sum().backward()

    wc = lib.tensor(w)
    g = lib.tensor(np.ones((x.shape[0], w.shape[0], *x.shape[2:]), dtype=x.dtype))

    def input_grad():
        lib.autograd.grad(F.conv2d(xg, wc, padding=1), xg, g)
    return {"conv2d fwd (64,32,14,14) 3x3->64": _timer(forward, 10),
            "conv2d fwd+bwd (64,32,14,14) 3x3->64": _timer(forward_backward, 5),
            "conv2d fwd+input grad (64,32,14,14)": _timer(input_grad, 5)}


def _special_cases(lib, x1, w1, xd, wd):
    """1x1 and depthwise convolutions, forward+backward with weight and bias gradients."""
    F = lib.nn.functional  # noqa: N806
    cases = {}
    for name, x, w, kw in (("conv2d 1x1 fwd+bwd (32,64,28,28)->128", x1, w1, {}),
                           ("depthwise 3x3 fwd+bwd (32,128,28,28)", xd, wd, dict(padding=1, groups=128)),
                           ("depthwise 3x3 s2 fwd+bwd (32,128,28,28)", xd, wd, dict(padding=1, stride=2, groups=128))):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(np.zeros(w.shape[0], x.dtype), requires_grad=True)

        def forward_backward(xt=xt, wt=wt, bt=bt, kw=kw):
            F.conv2d(xt, wt, bt, **kw).sum().backward()
        cases[name] = _timer(forward_backward, 5)
    return cases


def _pool_cases(lib, x):
    xg = lib.tensor(x, requires_grad=True)

    def forward_backward():
        lib.nn.functional.max_pool2d(xg, 2).sum().backward()
    return {"max_pool2d 2 fwd+bwd (64,32,28,28)": _timer(forward_backward, 10)}


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10))


def _cnn_case(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    xb, yb = lib.tensor(x), lib.tensor(y)

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    return {"CNN train step 28x28 b64, SGD": _timer(step, 5)}


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 14, 14)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32) * 0.1
    b = rng.standard_normal(64).astype(np.float32)
    runs = {"ember": _conv_cases(ember, x, w, b), "torch": _conv_cases(torch, x, w, b)}
    pooled = np.maximum(rng.standard_normal((64, 32, 28, 28)).astype(np.float32), 0)
    runs["ember"].update(_pool_cases(ember, pooled))
    runs["torch"].update(_pool_cases(torch, pooled))
    if hasattr(ember.nn, "MaxPool2d"):
        images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
        labels = rng.integers(0, 10, 64)
        t_model = _cnn(torch.nn)
        e_model = _cnn(ember.nn)
        e_model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
        runs["ember"].update(_cnn_case(ember, e_model, images, labels))
        runs["torch"].update(_cnn_case(torch, t_model, images, labels))
    special = (rng.standard_normal((32, 64, 28, 28)).astype(np.float32),
               rng.standard_normal((128, 64, 1, 1)).astype(np.float32) * 0.1,
               rng.standard_normal((32, 128, 28, 28)).astype(np.float32),
               rng.standard_normal((128, 1, 3, 3)).astype(np.float32) * 0.3)
    runs["ember"].update(_special_cases(ember, *special))  # last, so the earlier rows run as they always did
    runs["torch"].update(_special_cases(torch, *special))
    best = {name: dict.fromkeys(cases, float("inf")) for name, cases in runs.items()}
    for _ in range(ROUNDS):  # alternate, keeping the best of each
        for name, cases in runs.items():
            for case, run in cases.items():
                best[name][case] = min(best[name][case], run())
    print(f"{'case':42s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for case in runs["ember"]:
        e, t = best["ember"][case], best["torch"][case]
        print(f"{case:42s} {e * 1e3:9.2f} {t * 1e3:9.2f} {e / t:6.2f}")


if __name__ == "__main__":
    main()
