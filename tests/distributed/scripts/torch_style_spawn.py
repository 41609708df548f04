"""A PyTorch program (torch.multiprocessing.spawn, init_process_group("gloo", "tcp://..."), DDP)
run unchanged with ``import ember as torch``. Saves rank 0's trained weights to argv[1]."""
import sys

import ember as torch


def run(rank, world_size, port, out):
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                         world_size=world_size)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    x = torch.linspace(-1, 1, 32).reshape(8, 4)
    y = x.sum(1, keepdim=True) * 0.5 + 1
    for _ in range(5):
        opt.zero_grad()
        xs, ys = x.chunk(world_size)[rank], y.chunk(world_size)[rank]
        torch.nn.functional.mse_loss(ddp(xs), ys).backward()
        opt.step()
    if rank == 0:
        torch.save(model.state_dict(), out)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    torch.multiprocessing.spawn(run, args=(2, 29512, sys.argv[1]), nprocs=2, join=True)
