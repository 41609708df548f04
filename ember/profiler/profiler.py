"""``ember.profiler.profile``: record the ops, ``record_function`` ranges and module calls of a run,
optionally on a ``schedule`` of steps, as ``torch.profiler.profile``.

>>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:   # doctest: +SKIP
...     model(x).sum().backward()
>>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))         # doctest: +SKIP
"""
import os
import socket
import time
import warnings
from enum import Enum

from ember.backend import cuda_is_available
from ember.profiler import recorder
from ember.profiler.events import EventList, build, write_chrome_trace


class ProfilerActivity(Enum):
    """What to record: CPU (ops' host time). CUDA asks for GPU kernels, which ember times on the host."""

    CPU = 0
    CUDA = 2
    XPU = 3
    MTIA = 4
    HPU = 5
    PrivateUse1 = 6


class ProfilerAction(Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if cuda_is_available() else {ProfilerActivity.CPU}


def kineto_available():
    """False: ember records with its own dispatcher hook, not Kineto."""
    return False


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """The action for each step: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup``
    and ``active`` recorded steps (the last one saves), ``repeat`` times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step):
        if step < 0:
            raise AssertionError(f"Invalid step number: {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:  # the first cycle starts at its warmup
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` that writes each trace to ``dir_name/<worker>.<ms>.pt.trace.json[.gz]``,
    where TensorBoard's profiler plugin looks."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{time.time_ns() // 1_000_000}.pt.trace.json")
        prof.export_chrome_trace(path + ".gz" if use_gzip else path)
    return handler


class profile:
    """Profile the ops of a run; a context manager, or ``start()``/``stop()``; ``step()`` ends a step."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None):
        self.activities = set(activities) if activities else supported_activities()
        if use_cuda:
            self.activities.add(ProfilerActivity.CUDA)
        self.schedule = schedule or _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops, self.with_modules = with_stack, with_flops, with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._recorder = None
        self._step_start = None
        self._events = EventList()
        self.execution_trace_observer = execution_trace_observer

    # running ---------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.step_num = 0
        if self.execution_trace_observer is not None:
            self.execution_trace_observer.start()
        self.current_action = self.schedule(self.step_num)
        self._enter(self.current_action)

    def stop(self):
        if self.current_action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._finish_trace()
        elif self._recorder is not None:
            self._halt()
        self.current_action = ProfilerAction.NONE
        if self.execution_trace_observer is not None:
            self.execution_trace_observer.stop()

    def step(self):
        """End the current step: the schedule's next action starts, a finished cycle's trace is handed
        to ``on_trace_ready``."""
        previous = self.current_action
        if previous in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._close_step()
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if previous is ProfilerAction.RECORD_AND_SAVE:
            self._finish_trace()
        elif previous in (ProfilerAction.RECORD, ProfilerAction.WARMUP) and self.current_action is ProfilerAction.NONE:
            if previous is ProfilerAction.RECORD:
                warnings.warn("Incorrect schedule: RECORD followed by NONE", stacklevel=2)
                self._finish_trace()
            else:
                self._halt()
        self._enter(self.current_action)

    def _enter(self, action):
        if action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE) and self._recorder is None:
            self._recorder = recorder.Recorder(self.record_shapes, self.profile_memory, self.with_stack,
                                               self.with_flops)
            recorder.start(self._recorder)
        if self._recorder is not None:
            self._step_start = time.perf_counter_ns()

    def _close_step(self):
        if self._recorder is not None and self._step_start is not None and self.schedule is not _always_record:
            self._recorder.span(f"ProfilerStep#{self.step_num}", "user_annotation", self._step_start,
                                time.perf_counter_ns())
        self._step_start = None

    def _halt(self):
        recorder.stop()
        self._recorder = None

    def _finish_trace(self):
        if self._recorder is None:
            return
        self._close_step()
        raw = self._recorder.events
        self._halt()
        events = build(raw)
        self._events = EventList(list(self._events) + list(events) if self.acc_events else events,
                                 self.profile_memory, self.with_flops)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # results ---------------------------------------------------------------------
    def events(self):
        """The recorded events of the last trace (all traces with ``acc_events=True``)."""
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._events.key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        write_chrome_trace(self._events, path)

    @property
    def profiler(self):
        return self
