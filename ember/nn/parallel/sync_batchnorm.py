"""The collective half of ``nn.SyncBatchNorm``: a differentiable all-reduce over a process group,
installed into ``ember.nn.modules.batchnorm.StatsSync`` when ``ember.nn.parallel`` is imported."""
from ember.autograd.function import Function
from ember.distributed import collectives
from ember.distributed.process_group import get_world_size, is_initialized
from ember.nn.modules.batchnorm import StatsSync


class _AllReduceSum(Function):
    """Sum over the ranks; its gradient is the sum of the ranks' gradients (each rank's output is
    used by every rank's loss)."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        out = tensor.clone()
        collectives.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        collectives.all_reduce(total, group=ctx.group)
        return total, None


def _world_size(group):
    return get_world_size(group) if is_initialized() else 1


StatsSync.world_size = staticmethod(_world_size)
StatsSync.all_reduce = staticmethod(_AllReduceSum.apply)
