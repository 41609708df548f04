"""Which GPUs there are and which one is current (CuPy's current device is ember's)."""
from ember.backend.device import cuda_is_available, gpu_module, to_device


def _no_gpu(what):
    return RuntimeError(f"{what}: ember found no CUDA device (CuPy missing, or no visible NVIDIA GPU). "
                        "Install ember[cuda] on a machine with a GPU, or stay on 'cpu'.")


def _runtime(what):
    xp = gpu_module()
    if xp is None:
        raise _no_gpu(what)
    return xp.cuda.runtime


def _index(value, what="device"):
    """A device index from an int, a string, an ember.device or None (the current device)."""
    if value is None:
        return current_device()
    if isinstance(value, int):
        index = value
    else:
        dev = to_device(value)
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        index = dev.index
    count = device_count()
    if not 0 <= index < count:
        raise RuntimeError(f"CUDA error: invalid device ordinal ({what} {index}; this machine has {count} CUDA "
                           f"device{'s' if count != 1 else ''})")
    return index


def device_count():
    return _runtime("device_count").getDeviceCount() if cuda_is_available() else 0


def is_initialized():
    return cuda_is_available()


def init():
    """Nothing to set up ahead of use; raises when there is no GPU, as torch's does."""
    _runtime("ember.cuda.init()")


def current_device():
    return _runtime("current_device").getDevice()


def set_device(dev):
    """Make ``dev`` the device that a bare ``"cuda"`` and new CUDA work mean."""
    index = _index(dev)
    gpu_module().cuda.Device(index).use()


class device:
    """``with ember.cuda.device(1):`` makes GPU 1 current inside the block."""

    def __init__(self, dev):
        self.index = -1 if dev is None or (isinstance(dev, int) and dev < 0) else _index(dev)
        self._saved = None

    def __enter__(self):
        if self.index >= 0:
            self._saved = current_device()
            gpu_module().cuda.Device(self.index).use()
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            gpu_module().cuda.Device(self._saved).use()
        return False


class device_of(device):
    """``with ember.cuda.device_of(t):`` makes ``t``'s GPU current (nothing changes for a CPU tensor)."""

    def __init__(self, obj):
        super().__init__(obj.device.index if obj.device.type == "cuda" else None)


def synchronize(dev=None):
    """Wait for the work queued on a GPU (the current one by default)."""
    if cuda_is_available():
        gpu_module().cuda.Device(_index(dev)).synchronize()


class _DeviceProperties:
    """What ``get_device_properties`` answers (the fields torch's has that CuPy reports)."""

    def __init__(self, props):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else name
        self.major, self.minor = props["major"], props["minor"]
        self.total_memory = props["totalGlobalMem"]
        self.multi_processor_count = props["multiProcessorCount"]
        self.is_integrated = bool(props.get("integrated", 0))
        self.is_multi_gpu_board = bool(props.get("isMultiGpuBoard", 0))

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2**20}MB, multi_processor_count={self.multi_processor_count})")


def get_device_properties(dev=None):
    return _DeviceProperties(_runtime("get_device_properties").getDeviceProperties(_index(dev)))


def get_device_name(dev=None):
    return get_device_properties(dev).name


def get_device_capability(dev=None):
    props = get_device_properties(dev)
    return props.major, props.minor



def get_arch_list():
    """The GPU architectures kernels are built for: CuPy compiles at run time (NVRTC) for the GPUs
    present, so these are the visible devices' ``sm_XY`` (empty without a GPU)."""
    if not cuda_is_available():
        return []
    return sorted({"sm_{}{}".format(*get_device_capability(i)) for i in range(device_count())})


def get_gencode_flags():
    """nvcc's ``-gencode`` flags for ``get_arch_list()``."""
    return " ".join(f"-gencode compute=compute_{arch[3:]},code={arch}" for arch in get_arch_list())


def can_device_access_peer(device, peer_device):
    """Whether GPU ``device`` can read ``peer_device``'s memory directly (P2P)."""
    a, b = _index(device), _index(peer_device, "peer_device")
    return a != b and bool(_runtime("can_device_access_peer").deviceCanAccessPeer(a, b))


def is_tf32_supported():
    """TF32 tensor cores: compute capability 8.0 (Ampere) or newer."""
    return cuda_is_available() and get_device_capability()[0] >= 8


has_half = True  # float16 tensors work on every GPU CuPy drives
has_magma = False  # CuPy's linear algebra is cuSOLVER's
