"""The profiler's results, shaped as torch.autograd.profiler_util's: FunctionEvent (one timed range),
FunctionEventAvg (events grouped by key) and EventList (key_averages, table, export_chrome_trace).

Times are microseconds (floats), memory is bytes, as in PyTorch. "Self" values are the event's own less its
children's (ranges opened inside it on the same thread)."""
from __future__ import annotations

import json
import os


class FunctionEvent:
    """One timed range: an op call (`aten::mul`), a backward node (`MulBackward0`) or a `record_function`."""

    def __init__(self, id, name, thread, start_ns, cat="cpu_op", input_shapes=None, stack=None,
                 device_type="cpu"):
        self.id = id
        self.name = name
        self.thread = thread
        self.cat = cat                      # the trace category: cpu_op / user_annotation
        self.start_ns = start_ns
        self.end_ns = start_ns
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.device_type = device_type      # "cuda" when the range ran device work (timed on the device)
        self.device_time_total = 0.0        # us of device time (CUDA events; the launch's host time when interpreted)
        self.launches = []                  # (start, duration) in us of the device work it ran itself
        self.launched = False               # whether a registered cuda impl ran in it (its launches are timed)
        self.cpu_memory_usage = 0           # bytes the range allocated on the host
        self.device_memory_usage = 0        # bytes the range allocated on the device
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.count = 1
        self.is_user_annotation = cat == "user_annotation"
        self.is_async = False
        self.is_legacy = False
        self.node_id = -1
        self.overload_name = ""
        self.flops = 0

    key = property(lambda self: self.name)
    use_device = property(lambda self: "cuda" if self.device_type == "cuda" else None)
    time_range = property(lambda self: (self.start_ns / 1e3, self.end_ns / 1e3))
    cpu_time_total = property(lambda self: (self.end_ns - self.start_ns) / 1e3)
    cpu_time = cpu_time_total
    device_time = property(lambda self: self.device_time_total)
    cuda_time = cuda_time_total = device_time

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_device_time_total(self) -> float:
        return max(0.0, self.device_time_total - sum(c.device_time_total for c in self.cpu_children))

    self_cuda_time_total = self_device_time_total

    @property
    def self_cpu_memory_usage(self) -> int:
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_memory_usage(self) -> int:
        return self.device_memory_usage - sum(c.device_memory_usage for c in self.cpu_children)

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_total:.3f}us "
                f"device_time={self.device_time_total:.3f}us thread={self.thread} "
                f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg:
    """Events of one key (name, and input shapes or stack when grouped by them), summed; `cpu_time` and
    `device_time` are the per-call means."""

    _SUMMED = ("cpu_time_total", "self_cpu_time_total", "device_time_total", "self_device_time_total",
               "cpu_memory_usage", "self_cpu_memory_usage", "device_memory_usage", "self_device_memory_usage",
               "count")

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.device_memory_usage = self.self_device_memory_usage = 0
        self.input_shapes = None
        self.stack = None
        self.cpu_parent = None
        self.device_type = "cpu"
        self.is_user_annotation = False
        self.is_async = self.is_legacy = False
        self.node_id = -1
        self.overload_name = ""
        self.flops = 0

    def add(self, other) -> "FunctionEventAvg":
        if self.key is None:
            self.key = other.key
            self.input_shapes = other.input_shapes
            self.stack = other.stack
            self.cpu_parent = other.cpu_parent
            self.is_user_annotation = other.is_user_annotation
        for name in self._SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.device_type == "cuda":
            self.device_type = "cuda"
        return self

    __iadd__ = add
    use_device = property(lambda self: "cuda" if self.device_type == "cuda" else None)
    cpu_time = property(lambda self: self.cpu_time_total / self.count if self.count else 0.0)
    device_time = property(lambda self: self.device_time_total / self.count if self.count else 0.0)
    cuda_time = device_time
    cuda_time_total = property(lambda self: self.device_time_total)
    self_cuda_time_total = property(lambda self: self.self_device_time_total)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us self_device_time={self.self_device_time_total:.3f}us "
                f"input_shapes={self.input_shapes} count={self.count}>")


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _format_unit(us: float, unit) -> str:
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0}.get(unit)
    return _format_time(us) if scale is None else f"{us / scale:.3f}{unit}"


class EventList(list):
    """A list of FunctionEvent (or FunctionEventAvg) with PyTorch's summaries."""

    def __init__(self, *args, use_device=None, profile_memory=False, with_flops=False, trace_meta=None):
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._trace_meta = trace_meta or {}

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        """Events summed per name (and per input shapes / the innermost `group_by_stack_n` stack frames)."""
        groups: dict = {}
        for e in self:
            key = (e.key, str(e.input_shapes) if group_by_input_shape else None,
                   tuple(e.stack[:group_by_stack_n]) if group_by_stack_n > 0 else None)
            groups.setdefault(key, FunctionEventAvg()).add(e)
        averages = EventList(groups.values(), use_device=self._use_device, profile_memory=self._profile_memory,
                             with_flops=self._with_flops)
        for avg in averages:    # as PyTorch: only what was grouped by is shown
            avg.stack = avg.stack[:group_by_stack_n]
            if not group_by_input_shape:
                avg.input_shapes = ""
        return averages

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
        total.key = "Total"
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None) -> str:
        """PyTorch's summary table: its columns, widths and footers (sort_by: any numeric attribute, e.g.
        "cpu_time_total", "self_cuda_time_total", "cpu_memory_usage"; descending)."""
        from ._table import build_table
        return build_table(self, sort_by, header, row_limit, max_src_column_width, max_name_column_width,
                           max_shapes_column_width, self._profile_memory, top_level_events_only, time_unit)

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events in Chrome's trace-event JSON (chrome://tracing and Perfetto open it)."""
        from ._trace import chrome_trace
        with open(os.fspath(path), "w") as f:
            json.dump(chrome_trace(self, self._trace_meta), f)
