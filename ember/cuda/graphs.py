"""CUDA graphs: record a whole step's GPU work once, then ``replay()`` it with one launch.

Built on CuPy's stream capture: work queued on a side stream inside ``with graph(g):`` is recorded,
not run, and replays on the same memory. As in torch, inputs must be copied into the tensors the
capture used (static inputs), and nothing may synchronise with the host during capture. The fake
CUDA device runs work at once and cannot record it, so it raises here."""
from ember.backend.device import gpu_module
from ember.cuda.devices import _no_gpu
from ember.cuda.streams import Stream, stream


class CUDAGraph:
    def __init__(self):
        self._graph = None
        self._stream = None

    def capture_begin(self, pool=None, capture_error_mode="global"):
        xp = gpu_module()
        if xp is None:
            raise _no_gpu("CUDA graph capture")
        if not hasattr(xp.cuda.Stream, "begin_capture"):
            raise RuntimeError("CUDA graph capture needs CuPy on a real GPU; the fake CUDA device runs "
                               "work at once and cannot record it")
        self._stream = Stream()
        self._context = stream(self._stream)
        self._context.__enter__()
        self._stream._stream.begin_capture()

    def capture_end(self):
        try:
            self._graph = self._stream._stream.end_capture()
        finally:
            self._context.__exit__(None, None, None)

    def replay(self):
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay() before a capture: record one with ember.cuda.graph(g) first")
        self._graph.launch(self._stream._stream)

    def reset(self):
        self._graph = None

    def pool(self):
        """Captures share CuPy's memory pool: this names it for torch's API."""
        return None


class graph:
    """``with ember.cuda.graph(g):`` records the block's GPU work into ``g``."""

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        self.cuda_graph = cuda_graph

    def __enter__(self):
        gpu = gpu_module()
        if gpu is not None:
            gpu.cuda.Device().synchronize()
        self.cuda_graph.capture_begin()
        return self

    def __exit__(self, *exc):
        self.cuda_graph.capture_end()
        return False
