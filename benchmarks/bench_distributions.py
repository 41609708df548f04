"""log_prob time of ember.distributions against torch.distributions in one run.

Cases (10k values, float32, argument validation on as both libraries default to): Normal
(batch 10k), MultivariateNormal (d=8, one covariance, 10k vectors), Categorical (10k
rows of 32 logits), Dirichlet (10k vectors over 16 categories), each also with its
gradient w.r.t. the parameters. One thread each; both start from the same data and
alternate rounds; the ratio of the best round times (ember / torch) is printed. Run with
``python benchmarks/bench_distributions.py``.
"""
import time

import numpy as np
import torch

import ember

ROUNDS = 5
N = 10_000


def _timer(fn, steps=20):
    def run():
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps
    return run


def _cases(lib, data):
    D = lib.distributions  # noqa: N806
    loc, scale, x = (lib.tensor(data[k]) for k in ("loc", "scale", "x"))
    mvn_loc, cov, v = (lib.tensor(data[k]) for k in ("mvn_loc", "cov", "v"))
    logits, idx = lib.tensor(data["logits"]), lib.tensor(data["idx"])
    conc, simplex = lib.tensor(data["conc"]), lib.tensor(data["simplex"])
    loc_g, logits_g, conc_g = (lib.tensor(data[k], requires_grad=True) for k in ("loc", "logits", "conc"))

    def normal():
        D.Normal(loc, scale).log_prob(x)

    def normal_grad():
        D.Normal(loc_g, scale).log_prob(x).sum().backward()

    def mvn():
        D.MultivariateNormal(mvn_loc, covariance_matrix=cov).log_prob(v)

    def categorical():
        D.Categorical(logits=logits).log_prob(idx)

    def categorical_grad():
        D.Categorical(logits=logits_g).log_prob(idx).sum().backward()

    def dirichlet():
        D.Dirichlet(conc).log_prob(simplex)

    def dirichlet_grad():
        D.Dirichlet(conc_g).log_prob(simplex).sum().backward()
    return {"Normal log_prob (10k)": _timer(normal), "Normal log_prob + grad (10k)": _timer(normal_grad),
            "MultivariateNormal d=8 log_prob (10k)": _timer(mvn),
            "Categorical 32 log_prob (10k)": _timer(categorical),
            "Categorical 32 log_prob + grad (10k)": _timer(categorical_grad),
            "Dirichlet 16 log_prob (10k)": _timer(dirichlet),
            "Dirichlet 16 log_prob + grad (10k)": _timer(dirichlet_grad)}


def main():
    torch.set_num_threads(1)
    ember.set_num_threads(1)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 8))
    conc = rng.uniform(0.5, 3.0, (N, 16))
    simplex = rng.dirichlet(np.ones(16), N)
    data = {"loc": rng.standard_normal(N), "scale": rng.uniform(0.5, 2.0, N), "x": rng.standard_normal(N),
            "mvn_loc": rng.standard_normal(8), "cov": a @ a.T + 8 * np.eye(8), "v": rng.standard_normal((N, 8)),
            "logits": rng.standard_normal((N, 32)), "idx": rng.integers(0, 32, N), "conc": conc, "simplex": simplex}
    data = {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in data.items()}
    runs = {"ember": _cases(ember, data), "torch": _cases(torch, data)}
    best = {name: dict.fromkeys(cases, float("inf")) for name, cases in runs.items()}
    for _ in range(ROUNDS):  # alternate, keeping the best of each
        for name, cases in runs.items():
            for case, run in cases.items():
                best[name][case] = min(best[name][case], run())
    print(f"{'case':40s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for case in runs["ember"]:
        e, t = best["ember"][case], best["torch"][case]
        print(f"{case:40s} {e * 1e3:9.2f} {t * 1e3:9.2f} {e / t:6.2f}")


if __name__ == "__main__":
    main()
