"""``ExecutionTraceObserver`` and ``DeviceType``, as ``torch.profiler``'s.

The observer writes the ops a run executes, in order, as a JSON execution trace: one node per op with
its inputs' and outputs' shapes, dtypes and strides (in elements), between a process and a thread root
node, like PyTorch's schema. Op names are the profiler's (``ember.profiler.recorder.op_name``).
"""
import enum
import json
import os
import tempfile
import threading
import time

from ember._tensor import Tensor
from ember.ops import dispatch
from ember.profiler.recorder import op_name

__all__ = ["DeviceType", "ExecutionTraceObserver"]


class DeviceType(enum.IntEnum):
    """The device kinds of PyTorch's ``DeviceType`` with its numbers (ember's tensors run on CPU, CUDA, Meta)."""
    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    MTIA = 19
    PrivateUse1 = 20


def _describe(values):
    out = {"values": [], "shapes": [], "types": [], "strides": []}
    for v in values:
        if isinstance(v, Tensor):
            a = v._data
            out["values"].append([id(a), a.dtype.itemsize if hasattr(a.dtype, "itemsize") else 0])
            out["shapes"].append(list(a.shape))
            out["types"].append(f"Tensor({v.dtype})".replace("ember.", ""))
            out["strides"].append(list(v.stride()))
        else:
            out["values"].append(v if isinstance(v, (int, float, bool, str)) or v is None else repr(v))
            out["shapes"].append([])
            out["types"].append(type(v).__name__)
            out["strides"].append([])
    return out


class ExecutionTraceObserver:
    """Records the ops run between ``start()`` and ``stop()`` into the file given to ``register_callback``;
    pass it to ``profile(execution_trace_observer=...)`` to have the profiler start and stop it."""

    def __init__(self):
        self.is_registered = False
        self._running = False
        self._path = None
        self._nodes = []
        self._start_ts = 0

    @staticmethod
    def build_execution_trace_obs_from_env():
        """An observer writing to a temporary file when ``ENABLE_PYTORCH_EXECUTION_TRACE`` is 1/true, else None."""
        if os.environ.get("ENABLE_PYTORCH_EXECUTION_TRACE", "0").lower() not in ("1", "true"):
            return None
        fd, path = tempfile.mkstemp(prefix="ember_et_", suffix=".json")
        os.close(fd)
        return ExecutionTraceObserver().register_callback(path)

    def register_callback(self, output_file_path):
        if not self.is_registered:
            self._path = output_file_path
            self.is_registered = True
        return self

    def unregister_callback(self):
        if self._running:
            self.stop()
        self.is_registered = False

    def get_output_file_path(self):
        if not self.is_registered:
            raise RuntimeError("ExecutionTraceObserver: no output file; call register_callback(path) first")
        return self._path

    def is_running(self):
        return self._running

    def start(self):
        if not self.is_registered:
            raise RuntimeError("ExecutionTraceObserver: call register_callback(path) before start()")
        if self._running:
            return
        self._nodes = []
        self._start_ts = int(time.time() * 1e6)
        self._running = True
        dispatch.intercept("profiler_et", self._wrap)

    def stop(self):
        if not self._running:
            return
        dispatch.intercept("profiler_et", None)
        self._running = False
        self._write()

    def cleanup(self):
        self.unregister_callback()

    def _wrap(self, next_run):
        def run(prim, inputs, arrays, dev, params):
            out = next_run(prim, inputs, arrays, dev, params)
            outs = out if type(out) is tuple else (out,)
            self._nodes.append({"id": len(self._nodes) + 3, "name": op_name(prim), "ctrl_deps": 2,
                                "inputs": _describe(list(inputs) + list(params.values())),
                                "outputs": _describe(outs),
                                "attrs": [{"name": "tid", "type": "uint64", "value": threading.get_ident()},
                                          {"name": "op_schema", "type": "string", "value": prim.node_name or ""}]})
            return out
        return run

    def _write(self):
        empty = {"values": [], "shapes": [], "types": [], "strides": []}
        roots = [{"id": 1, "name": "[pytorch|profiler|execution_trace|process]", "ctrl_deps": 1,
                  "inputs": empty, "outputs": empty, "attrs": []},
                 {"id": 2, "name": "[pytorch|profiler|execution_trace|thread]", "ctrl_deps": 1,
                  "inputs": empty, "outputs": empty, "attrs": []}]
        trace = {"schema": "1.1.1-chakra.0.0.4", "pid": os.getpid(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "start_ts": self._start_ts, "nodes": roots + self._nodes, "finish_ts": int(time.time() * 1e6)}
        with open(self._path, "w") as f:
            json.dump(trace, f)
