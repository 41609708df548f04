"""Recorded events as PyTorch presents them: ``FunctionEvent``, ``EventList`` (``key_averages``,
``table``, ``export_chrome_trace``) and ``FunctionEventAvg``. Times are in microseconds."""
import gzip
import json
import os

_SORT_KEYS = ("cpu_time_total", "self_cpu_time_total", "cpu_time", "count", "cpu_memory_usage",
              "self_cpu_memory_usage", "flops")


class FunctionEvent:
    """One op, ``record_function`` range or module call, with its place in the call tree."""

    def __init__(self, id, raw, start_us):
        self.id, self.name, self.kind, self.thread = id, raw.name, raw.kind, raw.thread
        self.start_us = raw.start_ns / 1e3 - start_us
        self.cpu_time_total = (raw.end_ns - raw.start_ns) / 1e3
        self.input_shapes = raw.input_shapes
        self.cpu_memory_usage = raw.memory
        self.stack = list(raw.stack)
        self.flops = raw.flops
        self.cpu_parent, self.cpu_children = None, []
        self.count = 1
        self.device_type = "cpu"

    @property
    def key(self):
        return self.name

    @property
    def end_us(self):
        return self.start_us + self.cpu_time_total

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def cpu_time(self):
        return self.cpu_time_total

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one key, summed: ``count``, ``cpu_time_total``, ``self_cpu_time_total``..."""

    def __init__(self, key, input_shapes=None, stack=None):
        self.key, self.input_shapes, self.stack = key, input_shapes, stack
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.flops = 0

    def add(self, e):
        self.count += e.count
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.cpu_memory_usage += e.cpu_memory_usage
        self.self_cpu_memory_usage += e.self_cpu_memory_usage
        self.flops += e.flops
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us count={self.count} input_shapes={self.input_shapes}>")


def build(raw_events):
    """FunctionEvents from recorded ranges, each thread's nested by time into a call tree."""
    if not raw_events:
        return EventList()
    origin = min(r.start_ns for r in raw_events) / 1e3
    ordered = sorted(raw_events, key=lambda r: (r.thread, r.start_ns, -r.end_ns))
    events, open_ = [], {}
    for i, raw in enumerate(ordered):
        e = FunctionEvent(i, raw, origin)
        stack = open_.setdefault(e.thread, [])
        while stack and stack[-1].end_us <= e.start_us:
            stack.pop()
        if stack and e.end_us <= stack[-1].end_us + 1e-3:
            e.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(e)
        stack.append(e)
        events.append(e)
    for e in reversed(events):  # a range's memory is what the ops inside it allocated (children come later)
        if e.kind != "cpu_op" and e.cpu_children:
            e.cpu_memory_usage = sum(c.cpu_memory_usage for c in e.cpu_children)
    events.sort(key=lambda e: e.start_us)
    return EventList(events)


class EventList(list):
    """A list of FunctionEvents (or, from ``key_averages``, FunctionEventAvgs)."""

    def __init__(self, events=(), profile_memory=False, with_flops=False):
        super().__init__(events)
        self._profile_memory, self._with_flops = profile_memory, with_flops

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        """One FunctionEventAvg per name (and input shapes, and top stack frames, when asked)."""
        groups = {}
        for e in self:
            key = (e.key, str(e.input_shapes) if group_by_input_shape else None,
                   tuple(e.stack[:group_by_stack_n]) if group_by_stack_n else None)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(
                    e.key, e.input_shapes if group_by_input_shape else None,
                    list(e.stack[:group_by_stack_n]) if group_by_stack_n else None)
            avg.add(e)
        return EventList(groups.values(), self._profile_memory, self._with_flops)

    def total_average(self):
        total = FunctionEventAvg("Total")
        for e in self:
            total.add(e)
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        """PyTorch's summary table; ``sort_by`` one of cpu_time_total, self_cpu_time_total, cpu_time, count,
        cpu_memory_usage, self_cpu_memory_usage (descending)."""
        rows = [e for e in self if not top_level_events_only or getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS and not sort_by.startswith(("cuda", "device", "xpu")):
                raise AttributeError(f"sort_by: unknown key {sort_by!r} (one of {', '.join(_SORT_KEYS)})")
            rows.sort(key=lambda e: getattr(e, sort_by, 0), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        return _format(self, rows, header, max_name_column_width, max_shapes_column_width)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        """Write the Chrome Trace Event JSON (chrome://tracing, Perfetto) to ``path`` (``.gz``: gzipped)."""
        write_chrome_trace(self, path)


def _time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _memory(b):
    for unit, size in (("Gb", 2**30), ("Mb", 2**20), ("Kb", 2**10)):
        if abs(b) >= size:
            return f"{b / size:.2f} {unit}"
    return f"{b} b"


def _format(all_events, rows, header, name_width, shapes_width):
    total_self = sum(e.self_cpu_time_total for e in all_events) or 1.0
    name_width = min(max([len(e.key) for e in rows] + [4]) + 4, name_width)
    columns = [("Name", name_width, lambda e: e.key[:name_width - 2]),
               ("Self CPU %", 12, lambda e: f"{100 * e.self_cpu_time_total / total_self:.2f}%"),
               ("Self CPU", 12, lambda e: _time(e.self_cpu_time_total)),
               ("CPU total %", 12, lambda e: f"{100 * e.cpu_time_total / total_self:.2f}%"),
               ("CPU total", 12, lambda e: _time(e.cpu_time_total)),
               ("CPU time avg", 12, lambda e: _time(e.cpu_time_total / max(e.count, 1)))]
    if all_events._profile_memory:
        columns += [("CPU Mem", 12, lambda e: _memory(e.cpu_memory_usage)),
                    ("Self CPU Mem", 13, lambda e: _memory(e.self_cpu_memory_usage))]
    columns.append(("# of Calls", 12, lambda e: str(e.count)))
    if all_events._with_flops:
        columns.append(("Total MFLOPs", 13, lambda e: f"{e.flops / 1e6:.3f}"))
    if any(getattr(e, "input_shapes", None) for e in rows):
        columns.append(("Input Shapes", shapes_width, lambda e: str(e.input_shapes)[:shapes_width]))
    line = "  ".join("-" * w for _, w, _ in columns)
    out = [header] if header else []
    out += [line, "  ".join(f"{t:>{w}}" if i else f"{t:<{w}}" for i, (t, w, _) in enumerate(columns)), line]
    for e in rows:
        out.append("  ".join(f"{f(e):>{w}}" if i else f"{f(e):<{w}}" for i, (_, w, f) in enumerate(columns)))
    out += [line, f"Self CPU time total: {_time(total_self)}", ""]
    return "\n".join(out)


def chrome_trace(events):
    """The Chrome Trace Event document of ``events``: complete ("X") events plus process/thread names."""
    pid = os.getpid()
    threads = sorted({e.thread for e in events})
    tids = {t: i for i, t in enumerate(threads)}
    trace = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "ember"}}]
    trace += [{"ph": "M", "name": "thread_name", "pid": pid, "tid": tids[t], "args": {"name": f"thread {t}"}}
              for t in threads]
    for e in events:
        item = {"ph": "X", "cat": e.kind, "name": e.name, "pid": pid, "tid": tids[e.thread],
                "ts": round(e.start_us, 3), "dur": round(e.cpu_time_total, 3), "args": {}}
        if e.input_shapes:
            item["args"]["Input Dims"] = e.input_shapes
        if e.stack:
            item["args"]["Call stack"] = ";".join(e.stack)
        if e.cpu_memory_usage:
            item["args"]["Bytes"] = e.cpu_memory_usage
        trace.append(item)
    return {"traceEvents": trace, "displayTimeUnit": "ms", "schemaVersion": 1}


def write_chrome_trace(events, path):
    text = json.dumps(chrome_trace(events))
    path = os.fspath(path)
    if path.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
