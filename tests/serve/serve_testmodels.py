"""Models the serve tests install for the server (allowed with --allow-module serve_testmodels)."""
import os
import time

from ember import nn

POISON = -999.0   # a request holding this value makes the model raise
SLOW = 555.0      # a request holding this value makes the model sleep 10 s


class Doubler(nn.Module):
    """Returns 2 * x after sleeping ``delay`` seconds per batch; raises on POISON, stalls on SLOW."""

    def __init__(self, delay=0.0):
        super().__init__()
        self.delay = delay

    def forward(self, x):
        values = x.numpy()
        if (values == POISON).any():
            raise ValueError("poisoned input")
        time.sleep(10.0 if (values == SLOW).any() else self.delay)
        return x * 2


class Broken(nn.Module):
    """Cannot be built: stands for a model whose load fails."""

    def __init__(self):
        raise RuntimeError(f"Broken model refuses to load (pid {os.getpid()})")
