"""GPU readings from NVML (``pynvml``, an optional package): utilization, temperature, power,
clock and the processes using a GPU, as torch reads them."""
from ember.cuda.devices import _index


def _handle(device):
    try:
        import pynvml
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError("pynvml does not seem to be installed or it can't be imported (pip install "
                                  "nvidia-ml-py).") from error
    pynvml.nvmlInit()
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(_index(device))


def utilization(device=None):
    """Percent of the last sample period in which a kernel ran on the GPU."""
    nvml, handle = _handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).gpu


def memory_usage(device=None):
    """Percent of the last sample period in which GPU memory was read or written."""
    nvml, handle = _handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).memory


def temperature(device=None):
    """The GPU's temperature in degrees C."""
    nvml, handle = _handle(device)
    return nvml.nvmlDeviceGetTemperature(handle, 0)  # NVML_TEMPERATURE_GPU


def power_draw(device=None):
    """The GPU's power draw in milliwatts."""
    nvml, handle = _handle(device)
    return nvml.nvmlDeviceGetPowerUsage(handle)


def clock_rate(device=None):
    """The SM clock in MHz."""
    nvml, handle = _handle(device)
    return nvml.nvmlDeviceGetClockInfo(handle, 1)  # NVML_CLOCK_SM


def list_gpu_processes(device=None):
    """A readable list of the processes on a GPU and their memory (a note when pynvml is missing)."""
    index = _index(device)
    try:
        nvml, handle = _handle(index)
    except ModuleNotFoundError:
        return "pynvml module not found, please install pynvml"
    lines = [f"GPU:{index}"]
    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / 2**20:>12.3f} MB GPU memory")
    return "\n".join(lines)


__all__ = ["clock_rate", "list_gpu_processes", "memory_usage", "power_draw", "temperature", "utilization"]
