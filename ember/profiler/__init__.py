"""``ember.profiler``: where a run spends its time, as ``torch.profiler``.

Op timings come from an interceptor in the dispatcher that only a running profiler installs;
module calls appear as ``nn.Module: <Class>`` ranges, user code as ``record_function`` ranges.
Op names are PyTorch's node names in snake case without the ``aten::`` prefix (see
``ember.profiler.recorder``).
"""
from ember.profiler.events import EventList, FunctionEvent, FunctionEventAvg
from ember.profiler.execution_trace import DeviceType, ExecutionTraceObserver
from ember.profiler.profiler import (
    ProfilerAction, ProfilerActivity, kineto_available, profile, schedule, supported_activities,
    tensorboard_trace_handler,
)
from ember.profiler.recorder import record_function

__all__ = [
    "DeviceType", "EventList", "ExecutionTraceObserver", "FunctionEvent",
    "FunctionEventAvg", "ProfilerAction", "ProfilerActivity", "kineto_available",
    "profile", "record_function", "schedule", "supported_activities", "tensorboard_trace_handler",
]
