"""``DataParallel``: PyTorch's single-process wrapper."""
from ember.nn.modules.module import Module


class DataParallel(Module):
    """Run ``module`` on the batch; on the CPU and on one GPU this is the module itself.

    Splitting a batch over several GPUs needs the CUDA backend; until it lands, more than one entry
    in ``device_ids`` is refused. For several processes or machines use ``DistributedDataParallel``.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if device_ids is not None and len(device_ids) > 1:
            raise RuntimeError(f"DataParallel over several GPUs ({list(device_ids)}) needs ember's CUDA backend; "
                               "use DistributedDataParallel with one process per GPU")
        self.module = module
        self.device_ids = list(device_ids or [])
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
