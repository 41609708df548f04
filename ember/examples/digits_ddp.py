"""The digits example trained data-parallel: one model replica per rank, gradients averaged by DDP.

    python -m ember.distributed.run --nproc-per-node 2 -m ember.examples.digits_ddp

Each rank reads its share of every epoch (``DistributedSampler``) in batches of
``--batch-size / world size``, so one step sees the same global batch as ``ember.examples.digits``
and reaches the same accuracy. Only rank 0 shows progress and writes the checkpoint.
"""
import argparse
import os
import time

from tqdm import tqdm

from ember import distributed as dist
from ember.examples.digits import CHECKPOINT, build_model, evaluate, load_data, train_one_epoch
from ember.nn.parallel import DistributedDataParallel
from ember.optim import Adam
from ember.random import manual_seed
from ember.utils.data import DataLoader
from ember.utils.data.distributed import DistributedSampler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch, split over the ranks")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("runs", "digits_ddp"), help="folder for the checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not split evenly over {world} ranks")
    manual_seed(args.seed)
    train_set, test_loader = load_data(0)
    model = DistributedDataParallel(build_model())
    optimizer = Adam(model.parameters(), lr=args.lr)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, seed=args.seed)
    loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        manual_seed(args.seed * 1000 + epoch * world + rank)  # each rank its own dropout masks
        with tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.quiet or rank) as bar:
            loss, train_acc = train_one_epoch(model, loader, optimizer, bar)
        dist.save_on_main({"epoch": epoch + 1, "model": model.module.state_dict(),
                           "optimizer": optimizer.state_dict()}, os.path.join(args.out, CHECKPOINT))
    test_acc = evaluate(model.module, test_loader)
    if rank == 0:
        print(f"test accuracy {test_acc:.4f} on {len(test_loader.dataset)} digits with {world} ranks "
              f"({time.perf_counter() - start:.1f}s)")
    dist.destroy_process_group()
    return model.module, test_acc


if __name__ == "__main__":
    main()
