"""Training with DDP where one rank fails mid-way: ``kill`` (rank 2 is killed by SIGKILL at step 3)
or ``stall`` (rank 1 sleeps instead of joining the collectives). The other ranks must raise."""
import os
import signal
import sys
import time

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel

mode = sys.argv[1]
dist.init_process_group("gloo", timeout=60)  # generous: on a loaded machine the ranks start seconds apart
rank = dist.get_rank()
group = dist.new_group(timeout=2 if mode == "stall" else 20)  # the timeout under test
model = DistributedDataParallel(nn.Linear(8, 2), process_group=group)
opt = ember.optim.SGD(model.parameters(), lr=0.1)
for step in range(20):
    if step == 3 and mode == "kill" and rank == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    if step == 3 and mode == "stall" and rank == 1:
        time.sleep(120)
    opt.zero_grad()
    start = time.monotonic()
    try:
        model(ember.randn(4, 8)).sum().backward()
    except dist.DistBackendError:
        print(f"rank {rank} raised after {time.monotonic() - start:.2f} s", flush=True)
        raise
    opt.step()
