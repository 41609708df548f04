"""Hogwild (as pytorch/examples' mnist_hogwild): two processes update one model in shared memory.
Prints the loss before and after; the parent sees the children's updates only through sharing."""
import sys

import ember as torch


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.25


def train(rank, model, steps):
    x, y = data()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for i in range(steps):
        lo = (i * 16 + rank * 128) % 256
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x[lo:lo + 16]), y[lo:lo + 16]).backward()
        opt.step()


if __name__ == "__main__":
    method = sys.argv[1]
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    model.share_memory()
    x, y = data()
    before = torch.nn.functional.mse_loss(model(x), y).item()
    ctx = torch.multiprocessing.get_context(method)
    procs = [ctx.Process(target=train, args=(r, model, 60)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    after = torch.nn.functional.mse_loss(model(x), y).item()
    print(f"loss {before:.4f} -> {after:.4f}; exit codes {[p.exitcode for p in procs]}")
