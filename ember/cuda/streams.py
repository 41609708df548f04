"""Streams and events: CuPy's, under torch's names. Events time GPU work (``elapsed_time`` in ms)."""
from ember.backend.device import gpu_module
from ember.cuda.devices import _index, _no_gpu


def _gpu(what):
    xp = gpu_module()
    if xp is None:
        raise _no_gpu(what)
    return xp


class Stream:
    """A queue of GPU work; ``with ember.cuda.stream(s):`` makes it current."""

    def __init__(self, device=None, priority=0, _cupy_stream=None):
        xp = _gpu("ember.cuda.Stream")
        self.device_index = _index(device)
        self.priority = priority
        if _cupy_stream is not None:
            self._stream = _cupy_stream
        else:
            with xp.cuda.Device(self.device_index):
                self._stream = xp.cuda.Stream(non_blocking=True)

    @property
    def cuda_stream(self):
        return self._stream.ptr

    def synchronize(self):
        self._stream.synchronize()

    def query(self):
        done = getattr(self._stream, "done", True)
        return bool(done)

    def wait_event(self, event):
        event.wait(self)

    def wait_stream(self, other):
        self.wait_event(other.record_event())

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and other.cuda_stream == self.cuda_stream

    def __hash__(self):
        return hash(self.cuda_stream)

    def __repr__(self):
        return f"<ember.cuda.Stream device=cuda:{self.device_index} cuda_stream={self.cuda_stream:#x}>"


class Event:
    """A mark in a stream; ``start.elapsed_time(end)`` is the GPU time between two marks, in ms."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self.enable_timing = enable_timing
        self._event = _gpu("ember.cuda.Event").cuda.Event(block=blocking, disable_timing=not enable_timing)
        self._recorded = False

    def record(self, stream=None):
        self._event.record((stream or current_stream())._stream)
        self._recorded = True

    def wait(self, stream=None):
        (stream or current_stream())._stream.wait_event(self._event)

    def synchronize(self):
        self._event.synchronize()

    def query(self):
        return bool(self._event.done)

    def elapsed_time(self, end_event):
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._recorded and end_event._recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return gpu_module().cuda.get_elapsed_time(self._event, end_event._event)


def current_stream(device=None):
    xp = _gpu("ember.cuda.current_stream")
    with xp.cuda.Device(_index(device)):
        return Stream(device, _cupy_stream=xp.cuda.get_current_stream())


def default_stream(device=None):
    xp = _gpu("ember.cuda.default_stream")
    return Stream(device, _cupy_stream=xp.cuda.Stream.null)


class stream:
    """``with ember.cuda.stream(s):`` queues the block's GPU work on ``s`` (None: no change)."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        if self.s is not None:
            self.s._stream.__enter__()
        return self.s

    def __exit__(self, *exc):
        if self.s is not None:
            self.s._stream.__exit__(*exc)
        return False


StreamContext = stream


class ExternalStream(Stream):
    """A stream made elsewhere (another library's ``cudaStream_t``), given by its address."""

    def __init__(self, stream_ptr, device=None):
        xp = _gpu("ember.cuda.ExternalStream")
        index = _index(device)
        super().__init__(index, _cupy_stream=xp.cuda.ExternalStream(stream_ptr, index))


def set_stream(s):
    """Make ``s`` the current stream of its device (outside any ``stream`` block)."""
    if s is not None:
        s._stream.use()


def is_current_stream_capturing():
    """Whether the current stream is being captured into a CUDA graph."""
    xp = gpu_module()
    return xp is not None and bool(xp.cuda.get_current_stream().is_capturing())


_SYNC_DEBUG = {"default": 0, "warn": 1, "error": 2}
_sync_debug = [0]


def set_sync_debug_mode(debug_mode):
    """Recorded: 0/"default", 1/"warn", 2/"error" (CuPy reports no synchronising calls to act on)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_DEBUG:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = _SYNC_DEBUG[debug_mode]
    _sync_debug[0] = int(debug_mode)


def get_sync_debug_mode():
    return _sync_debug[0]
