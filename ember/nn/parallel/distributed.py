"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward."""
import contextlib

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.backend.device import array_module
from ember.distributed import collectives
from ember.distributed.process_group import resolve
from ember.nn.modules.module import Module
from ember.nn.parallel._reducer import Reducer


def broadcast_coalesced(tensors, group, src=0):
    """Broadcast ``tensors`` from ``src`` with one call per dtype and device (flattened together)."""
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    for same in groups.values():
        xp = array_module(same[0].device)
        flat = Tensor._make(xp.concatenate([t._data.reshape(-1) for t in same]), same[0].dtype, same[0].device)
        collectives.broadcast(flat, src, group)
        offset = 0
        for t in same:
            n = t.numel()
            t._data[...] = flat._data[offset:offset + n].reshape(t._data.shape)
            t._bump()
            offset += n


class DistributedDataParallel(Module):
    """Wrap ``module`` so that each rank trains a replica on its share of the data.

    At construction rank 0's parameters and buffers are copied to every rank. During backward the
    gradients are averaged across the ranks in buckets of ``bucket_cap_mb`` with non-blocking
    all-reduces that overlap the rest of backward; after ``backward()`` every rank holds the same
    gradients (those of the mean loss over all ranks' batches), so the optimizers stay in step.
    ``no_sync()`` skips the averaging (gradients accumulate locally until the next synced backward).

    >>> model = DistributedDataParallel(nn.Linear(4, 2))  # doctest: +SKIP
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, init_sync=True):
        super().__init__()
        self.module = module
        self.process_group = resolve(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.require_backward_grad_sync = True
        self.bucket_cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        if init_sync:
            broadcast_coalesced([p for _, p in module.named_parameters()] + list(module.buffers()), self.process_group)
        self.reducer = Reducer(named, self.process_group, int(self.bucket_cap_mb * 1024 * 1024),
                               find_unused_parameters, gradient_as_bucket_view)

    def forward(self, *inputs, **kwargs):
        syncing = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if syncing and self.reducer.started:
            self.reducer.prepare(None)  # raises: the previous backward left gradients unreduced
        if self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                broadcast_coalesced(buffers, self.process_group)
        output = self.module(*inputs, **kwargs)
        if syncing:
            self.reducer.prepare(output)
        self.reducer.sync = syncing
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context, backward accumulates gradients locally without averaging them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
