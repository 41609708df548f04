"""Fit a small two-layer network to a noisy sine with ember's autograd.

Run ``python -m ember.examples.fit``: it prints the loss falling and ends with
the final mean squared error against the clean curve.
"""
import argparse
import math
import time

from ember.autograd import no_grad
from ember.creation import linspace, zeros_like
from ember.random import Generator, rand, randn


def make_data(n, generator):
    x = linspace(-math.pi, math.pi, n).unsqueeze(1)
    noise = 0.1 * randn(n, 1, generator=generator)
    return x, x.sin() + noise


def init_params(hidden, generator):
    def uniform(*shape, bound):
        return (rand(*shape, generator=generator) * 2 - 1) * bound
    params = [uniform(1, hidden, bound=1.0), uniform(hidden, bound=1.0),
              uniform(hidden, 1, bound=1 / math.sqrt(hidden)), uniform(1, bound=1 / math.sqrt(hidden))]
    return [p.requires_grad_() for p in params]


def forward(params, x):
    w1, b1, w2, b2 = params
    return (x @ w1 + b1).tanh() @ w2 + b2


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ember.examples.fit", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    args = parser.parse_args(argv)

    generator = Generator().manual_seed(args.seed)
    x, y = make_data(256, generator)
    params = init_params(args.hidden, generator)
    velocity = [zeros_like(p) for p in params]
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        loss = ((forward(params, x) - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with no_grad():  # SGD with momentum, in place on the parameters
            for p, v in zip(params, velocity):
                v.mul_(0.9).add_(p.grad)
                p.sub_(args.lr * v)
        if step == 1 or step % (args.steps // 10) == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")
    with no_grad():
        clean_mse = ((forward(params, x) - x.sin()) ** 2).mean().item()
    print(f"done in {time.perf_counter() - start:.1f}s: mse against the clean sine {clean_mse:.5f}")
    return clean_mse


if __name__ == "__main__":
    main()
