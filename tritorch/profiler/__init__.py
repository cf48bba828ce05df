"""tritorch.profiler: PyTorch's torch.profiler for tritorch's ops.

    with tritorch.profiler.profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA],
                                   record_shapes=True) as prof:
        with tritorch.profiler.record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

Every registered op call is a range named `aten::<op>` (also the cpu shortcuts that Tensor operators call),
every backward rule one named after its node (`MulBackward0`), every `record_function` one of its own. Host
time is perf_counter; device time is measured with CUDA events around a cuda op on a GPU, and is the op's host
time under Triton's interpreter (where kernels run on the host). Nothing is hooked while no profile is active
(see _hooks.py)."""
from __future__ import annotations

import contextlib
import enum
import gzip
import json
import os
import socket
import time
import warnings

from .. import cuda as _cuda
from . import _hooks
from ._events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from ._trace import chrome_trace

__all__ = ["profile", "schedule", "ProfilerAction", "ProfilerActivity", "record_function",
           "tensorboard_trace_handler", "supported_activities", "kineto_available"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 2

    def __repr__(self) -> str:
        return f"<ProfilerActivity.{self.name}: {self.value}>"


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities() -> set:
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if _cuda.is_available() else {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """Whether torch.profiler.profile (PyTorch's Kineto-based profiler, with activities and schedules) is
    available: it always is here (tritorch.profiler records it itself)."""
    return True


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """PyTorch's schedule: skip `skip_first` steps, then cycles of `wait` idle, `warmup` profiled-and-discarded
    and `active` recorded steps (the last one RECORD_AND_SAVE), `repeat` times (0: without end)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} (need >= 0), "
            f"active={active} (need > 0), repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


class record_function(contextlib.ContextDecorator):
    """A named range in the profile around a block (`with record_function("fwd"):`) or a function
    (`@record_function("fwd")`); free when no profile is active."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._open = []     # the ranges this object opened (a decorated function may recurse)

    def __enter__(self):
        s = _hooks.SESSION
        self._open.append(None if s is None else (s, s.open(self.name, (), cat="user_annotation")))
        return self

    def __exit__(self, *exc):
        opened = self._open.pop()
        if opened is not None:
            opened[0].close(opened[1], None)
        return False


class _KinetoProfile:
    """What both profilers share: options, one session at a time, and the results of the last one."""

    def __init__(self, activities, record_shapes, profile_memory, with_stack):
        activities = set(supported_activities() if activities is None else activities)
        for a in activities:
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"activities must be ProfilerActivity values, not {type(a).__name__}")
        self.activities = activities
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self._session = None
        self._events = None
        self._metadata = {}

    def add_metadata(self, key: str, value: str) -> None:
        """A key and string value written at the top level of the exported trace."""
        self._metadata[key] = str(value)

    def add_metadata_json(self, key: str, value: str) -> None:
        """A key and a JSON value (given as its text) written at the top level of the exported trace."""
        self._metadata[key] = json.loads(value)

    def _start_trace(self) -> None:
        self._session = _hooks.Session(self.record_shapes, self.profile_memory, self.with_stack,
                                       use_cuda=ProfilerActivity.CUDA in self.activities)
        _hooks.install(self._session)

    def _stop_trace(self) -> None:
        if self._session is None:
            return
        try:
            _hooks.uninstall(self._session)
        finally:
            session, self._session = self._session, None
            self._events = EventList(session.finish(), use_device="cuda" if session.use_cuda else None,
                                     profile_memory=self.profile_memory,
                                     trace_meta={"base_time_ns": session.base_time_ns,
                                                 "record_shapes": self.record_shapes,
                                                 "profile_memory": self.profile_memory})

    def events(self) -> EventList:
        if self._events is None:
            raise AssertionError("Profiler didn't finish running")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path: str) -> None:
        """Write the last trace as Chrome trace JSON (gzip-compressed when `path` ends in .gz)."""
        data = chrome_trace(self.events(), self.events()._trace_meta)
        data.update(self._metadata)
        path = os.fspath(path)
        if path.endswith(".gz"):
            with gzip.open(path, "wt") as f:
                json.dump(data, f)
        else:
            with open(path, "w") as f:
                json.dump(data, f)


class profile(_KinetoProfile):
    """torch.profiler.profile: a context manager (or start()/stop()) that records tritorch's ops. With a
    `schedule`, call `step()` at the end of each training step; `on_trace_ready(prof)` runs after each
    recorded cycle (and at stop() while recording)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda: bool | None = None, custom_trace_id_callback=None,
                 post_processing_timeout_s: float | None = None):
        if use_cuda is not None:
            warnings.warn("The use_cuda parameter is deprecated, use activities instead", FutureWarning,
                          stacklevel=2)
            activities = set(supported_activities() if activities is None else activities)
            if use_cuda:
                activities.add(ProfilerActivity.CUDA)
            else:
                activities.discard(ProfilerActivity.CUDA)
        unsupported = [name for name, given in (("with_flops", with_flops), ("with_modules", with_modules),
                                                ("execution_trace_observer", execution_trace_observer is not None))
                       if given]
        if unsupported:
            warnings.warn(f"tritorch.profiler does not record {', '.join(unsupported)}; the profile has times, "
                          "shapes, memory and stacks only", stacklevel=2)
        super().__init__(activities, record_shapes, profile_memory, with_stack)
        self.schedule = schedule if schedule is not None else _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._running = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self) -> None:
        self._running = True
        self._enter(self.current_action)

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        recording = self._session is not None and self.current_action != ProfilerAction.WARMUP
        self._stop_trace()
        if recording and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self) -> None:
        """Mark the end of a step: move to the schedule's next action."""
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if not self._running:
            return
        new = self.current_action
        if prev == ProfilerAction.RECORD_AND_SAVE or (
                prev in (ProfilerAction.WARMUP, ProfilerAction.RECORD) and new == ProfilerAction.NONE):
            saving = prev != ProfilerAction.WARMUP
            self._stop_trace()
            if saving and self.on_trace_ready is not None:
                self.on_trace_ready(self)
            self._enter(new)
        elif prev == ProfilerAction.WARMUP and new in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._session.clear()        # the warm-up's ranges are not part of the trace
        elif prev == ProfilerAction.NONE:
            self._enter(new)

    def _enter(self, action) -> None:
        if action != ProfilerAction.NONE and self._session is None:
            self._start_trace()


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False):
    """An on_trace_ready that writes each trace to `dir_name/<worker>.<ms>.pt.trace.json[.gz]`, the files
    TensorBoard's profiler plugin reads (tritorch's traces are always written by Python: `use_python_export`
    changes nothing)."""

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler
