"""The gradient reducer behind ``DistributedDataParallel``.

Parameters are packed, in reverse registration order (roughly the order backward produces their
gradients), into flat buckets of at most ``bucket_cap_mb``. A hook after each parameter's gradient
accumulation copies the gradient into its bucket; once a bucket is full it is scaled by
``1 / world_size`` and all-reduced with a non-blocking call while backward goes on (buckets are
started in the same order on every rank, as MPI requires). The hook that fills the last bucket
waits for them all and writes the averages back into ``.grad``.
"""
import numpy as np

from ember._tensor import Tensor
from ember.backend.device import array_module
from ember.backend.dtype import uint8
from ember.distributed import collectives
from ember.distributed.constants import ReduceOp


class _Bucket:
    def __init__(self, index, params, device, dtype):
        self.index, self.params = index, params
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        xp = array_module(device)
        self.flat = Tensor._make(xp.zeros(int(self.offsets[-1]), dtype=dtype.np), dtype, device)
        self.views = [self.flat._data[lo:hi].reshape(p._data.shape)
                      for p, lo, hi in zip(params, self.offsets[:-1], self.offsets[1:])]
        self.pending = len(params)
        self.work = None


def used_parameters(outputs):
    """The leaves reachable from ``outputs``' autograd graph (the parameters this forward used)."""
    stack, seen, used = [], set(), set()
    _collect_nodes(outputs, stack)
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            used.add(id(variable))
        stack.extend(child for child, _ in node.next_functions)
    return used


def _collect_nodes(obj, out):
    if isinstance(obj, Tensor):
        if obj.grad_fn is not None:
            out.append(obj.grad_fn)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_nodes(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_nodes(v, out)


class Reducer:
    def __init__(self, named_params, group, bucket_cap_bytes, find_unused, gradient_as_bucket_view):
        self.group, self.find_unused, self.as_view = group, find_unused, gradient_as_bucket_view
        self.names = {id(p): name for name, p in named_params}
        self.order = [p for _, p in named_params]
        self.index = {id(p): i for i, p in enumerate(self.order)}
        self.buckets, self.slot = [], {}
        current, size = [], 0
        for p in reversed(self.order):
            nbytes = p.numel() * p.dtype.itemsize
            if current and (size + nbytes > bucket_cap_bytes or p.dtype != current[0].dtype
                            or p.device != current[0].device):
                self._add_bucket(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            self._add_bucket(current)
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in self.order]
        self.sync = True
        self._reset()

    def _add_bucket(self, params):
        bucket = _Bucket(len(self.buckets), params, params[0].device, params[0].dtype)
        for i, p in enumerate(params):
            self.slot[id(p)] = (bucket, i)
        self.buckets.append(bucket)

    def _reset(self):
        self.ready, self.next_bucket, self.started = set(), 0, False
        self.expected = None  # ids of the parameters this iteration's forward used (find_unused only)
        for b in self.buckets:
            b.pending, b.work = len(b.params), None
            b.flat._data[...] = 0

    def prepare(self, outputs):
        """Called by the wrapper's forward when gradients will be synchronised."""
        if self.started:
            missing = [p for p in self.order if id(p) not in self.ready]
            names = ", ".join(self.names[id(p)] for p in missing)
            indices = " ".join(str(self.index[id(p)]) for p in missing)
            rank = self.group.ranks[self.group.rank()] if self.group.comm is not None else -1
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. Pass "
                "`find_unused_parameters=True` to `DistributedDataParallel`, or make sure every output of the "
                "module's forward takes part in the loss.\n"
                f"Parameters which did not receive grad for rank {rank}: {names}\n"
                f"Parameter indices which did not receive grad for rank {rank}: {indices}")
        self._reset()
        if self.find_unused:
            self.expected = used_parameters(outputs)

    def _on_grad(self, param):
        if not self.sync or id(param) in self.ready:
            return
        if not self.started:
            self.started = True
            if self.expected is not None:  # unused parameters are ready from the start, with a zero gradient
                for p in self.order:
                    if id(p) not in self.expected:
                        self._mark(p, None)
        self._mark(param, param.grad)
        self._launch_ready()
        for b in self.buckets[:self.next_bucket]:
            b.work.is_completed()  # MPI progresses only inside its calls
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _mark(self, param, grad):
        bucket, i = self.slot[id(param)]
        view = bucket.views[i]
        if grad is not None and grad._data is not view:
            view[...] = grad._data
            if self.as_view:
                param.grad = Tensor._make(view, param.dtype, param.device)
        self.ready.add(id(param))
        bucket.pending -= 1

    def _launch_ready(self):
        n = self.group.size()
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            bucket.flat._data *= bucket.flat._data.dtype.type(1.0 / n)
            bucket.work = collectives.all_reduce(bucket.flat, ReduceOp.SUM, group=self.group, async_op=True)
            self.next_bucket += 1

    def _finish(self):
        for bucket in self.buckets:
            bucket.work.wait()
        used = self._globally_used()
        for bucket in self.buckets:
            for p, view in zip(bucket.params, bucket.views):
                if used is not None and not used[self.index[id(p)]]:
                    continue  # no rank used it: its .grad stays as it was, as in PyTorch
                if p.grad is None:
                    p.grad = Tensor._make(view if self.as_view else view.copy(), p.dtype, p.device)
                elif p.grad._data is not view:
                    p.grad._data[...] = view
        self.started = False

    def _globally_used(self):
        if self.expected is None:
            return None
        xp = array_module(self.order[0].device)
        flags = xp.array([id(p) in self.expected for p in self.order], dtype=np.uint8)
        mask = Tensor._make(flags, uint8, self.order[0].device)
        collectives.all_reduce(mask, ReduceOp.MAX, group=self.group)
        return mask._data.astype(bool)

    def remove_hooks(self):
        for h in self.handles:
            h.remove()

