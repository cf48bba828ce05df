"""torch.autograd.profiler, PyTorch's older profiler API, over tritorch.profiler's recording:
`with profile() as prof: ...; prof.key_averages().table()`, `prof.function_events`, `record_function`."""
from __future__ import annotations

from ..profiler import EventList, FunctionEvent, FunctionEventAvg, ProfilerActivity, record_function  # noqa: F401
from ..profiler import _KinetoProfile

__all__ = ["profile", "record_function", "emit_itt", "emit_nvtx", "EventList", "FunctionEvent",
           "FunctionEventAvg"]


class profile(_KinetoProfile):
    """torch.autograd.profiler.profile(enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
    ...): records every op between __enter__ and __exit__; enabled=False records nothing."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None, post_processing_timeout_s: float | None = None,
                 activity_filters=None):
        if use_device is not None and use_device != "cuda":
            raise AssertionError(f"{use_device} is not a valid device")
        activities = {ProfilerActivity.CPU}
        if use_cuda or use_device == "cuda":
            activities.add(ProfilerActivity.CUDA)
        super().__init__(activities, record_shapes, profile_memory, with_stack)
        self.enabled = enabled
        self.use_device = "cuda" if ProfilerActivity.CUDA in activities else None
        self.entered = False

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start_trace()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop_trace()
        return False

    @property
    def function_events(self) -> EventList | None:
        return self._events

    def _check_finished(self) -> None:
        if self._events is None:
            raise RuntimeError("Profiler didn't finish running")

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False) -> str:
        self._check_finished()
        return self._events.table(sort_by, row_limit, max_src_column_width, max_name_column_width,
                                  max_shapes_column_width, header, top_level_events_only)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        self._check_finished()
        return self._events.key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def total_average(self) -> FunctionEventAvg:
        self._check_finished()
        return self._events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finished()
        return self._events.self_cpu_time_total

    def __str__(self) -> str:
        self._check_finished()
        return str(self._events)


class emit_nvtx:
    """torch.autograd.profiler.emit_nvtx(enabled=True, record_shapes=False): in PyTorch, an NVTX range around every
    op for nvprof/Nsight. tritorch's ops emit no ranges of their own (torch.cuda.nvtx.range_push/range_pop do), so
    the block runs unchanged; the context manager is not reentrant, as PyTorch's."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.entered = False

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("NVTX annotation context manager is not reentrant")
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.entered = False
        return False


class emit_itt(emit_nvtx):
    """torch.autograd.profiler.emit_itt: Intel ITT ranges around every op in PyTorch; none here (see emit_nvtx)."""

    def __enter__(self):
        if self.enabled and self.entered:
            raise RuntimeError("ITT annotation context manager is not reentrant")
        return super().__enter__()
