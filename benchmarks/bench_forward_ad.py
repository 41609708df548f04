"""Forward-mode AD against PyTorch's, measured in one run: the Jacobian-vector product of a small
MLP (``torch.autograd.forward_ad``), and the same forward without tangents for reference.

Each case runs in ember and in torch alternately, several rounds; the ratio is of the best
per-iteration times: ember / torch. Run with ``python benchmarks/bench_forward_ad.py``.
"""
import timeit

import numpy as np
import torch

import ember

ROUNDS, NUMBER = 5, 200
RNG = np.random.default_rng(0)
X, T = RNG.standard_normal((32, 64)).astype(np.float32), RNG.standard_normal((32, 64)).astype(np.float32)


def _mlp(lib):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.LayerNorm(128),
                              torch.nn.Linear(128, 10))
    if lib is torch:
        return net
    ours = ember.nn.Sequential(ember.nn.Linear(64, 128), ember.nn.GELU(), ember.nn.LayerNorm(128),
                               ember.nn.Linear(128, 10))
    ours.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in net.state_dict().items()})
    return ours


def _jvp_case(lib):
    net, fw = _mlp(lib), lib.autograd.forward_ad
    x, t = lib.tensor(X), lib.tensor(T)

    def step():
        with lib.no_grad(), fw.dual_level():
            return fw.unpack_dual(lib.log_softmax(net(fw.make_dual(x, t)), 1)).tangent
    return step


def _forward_case(lib):
    net, x = _mlp(lib), lib.tensor(X)

    def step():
        with lib.no_grad():
            return lib.log_softmax(net(x), 1)
    return step


CASES = {"MLP forward (no tangents), batch 32": _forward_case, "MLP jvp (forward AD), batch 32": _jvp_case}


def main():
    torch.set_num_threads(1)
    e, t = _jvp_case(ember)(), _jvp_case(torch)()
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-4, atol=1e-5)  # same tangents before timing
    print(f"{'case':42s} {'ember us':>9s} {'torch us':>9s} {'ratio':>6s}")
    for name, make in CASES.items():
        fns = {"ember": make(ember), "torch": make(torch)}
        best = {k: float("inf") for k in fns}
        for _ in range(ROUNDS):
            for k, fn in fns.items():
                best[k] = min(best[k], timeit.timeit(fn, number=NUMBER) / NUMBER)
        print(f"{name:42s} {best['ember'] * 1e6:9.1f} {best['torch'] * 1e6:9.1f} {best['ember'] / best['torch']:6.2f}")


if __name__ == "__main__":
    main()
