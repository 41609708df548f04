"""Rank 1 all-reduces a tensor of another shape than rank 0 (a bug that TORCH_DISTRIBUTED_DEBUG=DETAIL reports)."""
import ember
import ember.distributed as dist

dist.init_process_group("gloo", timeout=60)
dist.all_reduce(ember.ones(2))
dist.all_reduce(ember.ones(4 + dist.get_rank()))
