"""`Timer`: warm up, repeat until a time budget, report the median and its spread.

cpu (and cuda through Triton's interpreter): `time.perf_counter` around batches of calls, sized so one repeat lasts
at least `min_repeat_time` (a single 5 us call is below the clock's useful resolution on a loaded machine).

cuda on a GPU: CUDA events through cuda-python, recorded on tritorch's stream (or a peer's stream), never torch's
timers. Each repeat may first flush the L2 by writing a 256 MiB buffer on the same stream; that write also gives
the host a head start, so the events then measure the kernel's own time, not the Python time to launch it. The
host clock around the same call measures the Python side from call to launch (the call returns once the kernels
are queued). Per repeat, `time` = max(kernel, host): what one call costs in a loop of such calls.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

from .stats import Stats, summarize

FLUSH_BYTES = 256 << 20  # larger than any current GPU's L2 (H100: 50 MB); also the host's head start per repeat


@dataclass
class Measurement:
    time: Stats                  # seconds per call (what the row reports and compare gates on)
    host: Stats | None = None    # cuda: host seconds from call to return (Python side up to the launch)
    kernel: Stats | None = None  # cuda: seconds between the events around the call (the kernel's own time)
    timer: str = "perf_counter"
    threads: int | None = None   # cpu: threads the backend may use
    flush_l2: bool = False

    def to_json(self) -> dict:
        return {"time": self.time.to_json(), "host": self.host.to_json() if self.host else None,
                "kernel": self.kernel.to_json() if self.kernel else None, "timer": self.timer,
                "threads": self.threads, "flush_l2": self.flush_l2}

    @staticmethod
    def from_json(d: dict) -> "Measurement":
        return Measurement(Stats.from_json(d["time"]), Stats.from_json(d.get("host")),
                           Stats.from_json(d.get("kernel")), d.get("timer", "perf_counter"), d.get("threads"),
                           bool(d.get("flush_l2", False)))


def cpu_threads() -> int:
    """Threads a NumPy/BLAS call may use here: OMP/OPENBLAS/MKL limits if set, else the CPUs this process may run on."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def uses_gpu_events(device: str) -> bool:
    """True when `device` is cuda on a real GPU (not the interpreter): timing then goes through CUDA events."""
    if not str(device).startswith("cuda"):
        return False
    from ..backends import cuda as _cuda
    return not _cuda.INTERPRET


class CudaEvents:
    """A start/end event pair and an L2-flush buffer on one stream (tritorch's, or a raw CUstream handle)."""

    def __init__(self, stream=None):
        from ..backends import cuda as _cuda
        drv = _cuda.DRIVER.init()
        drv.ensure_context()
        self._check = _cuda._check
        self.cu = cu = drv.cu
        self.stream = drv.stream if stream is None else cu.CUstream(int(stream))
        self.start = self._check(cu.cuEventCreate(0))
        self.end = self._check(cu.cuEventCreate(0))
        self._elapsed = getattr(cu, "cuEventElapsedTime", None) or getattr(cu, "cuEventElapsedTime_v2")
        self._flush_ptr = None

    def flush_l2(self) -> None:
        """Overwrite FLUSH_BYTES on the stream: evicts the L2 and keeps the GPU busy while the host queues the call."""
        if self._flush_ptr is None:
            self._flush_ptr = self._check(self.cu.cuMemAlloc(FLUSH_BYTES))
        self._check(self.cu.cuMemsetD32Async(self._flush_ptr, 0, FLUSH_BYTES // 4, self.stream))

    def record_start(self) -> None:
        self._check(self.cu.cuEventRecord(self.start, self.stream))

    def record_end(self) -> None:
        self._check(self.cu.cuEventRecord(self.end, self.stream))

    def elapsed(self) -> float:
        """Seconds between the two events (waits for the end event)."""
        self._check(self.cu.cuEventSynchronize(self.end))
        return self._check(self._elapsed(self.start, self.end)) * 1e-3

    def synchronize(self) -> None:
        self._check(self.cu.cuStreamSynchronize(self.stream))

    def close(self) -> None:
        for ev in (self.start, self.end):
            self.cu.cuEventDestroy(ev)
        if self._flush_ptr is not None:
            self.cu.cuMemFree(self._flush_ptr)
            self._flush_ptr = None


class Timer:
    """Times a zero-argument callable.

    budget          seconds of repeats to take (after warm-up); at least `min_repeats` are taken regardless
    warmup          seconds of warm-up calls after the first call (which may compile a kernel)
    min_repeat_time cpu: each repeat runs enough calls to last this long (per-call time = repeat time / calls)
    flush_l2        cuda: flush the L2 before each repeat (default True on a GPU)
    stream          cuda: raw CUstream handle to time on (a peer's stream); None = tritorch's stream
    clock           the host clock (tests pass a synthetic one)
    """

    def __init__(self, device="cpu", *, budget: float = 0.2, warmup: float = 0.02, min_repeats: int = 5,
                 max_repeats: int = 100_000, min_repeat_time: float = 2e-4, number: int | None = None,
                 flush_l2: bool | None = None, stream=None, threads: int | None = None, clock=time.perf_counter):
        self.device = str(device)
        self.budget = budget
        self.warmup = warmup
        self.min_repeats = min_repeats
        self.max_repeats = max(max_repeats, min_repeats)
        self.min_repeat_time = min_repeat_time
        self.number = number
        self.gpu = uses_gpu_events(self.device)
        self.flush_l2 = self.gpu if flush_l2 is None else (flush_l2 and self.gpu)
        self.stream = stream
        self.threads = threads
        self.clock = clock
        self._events = None

    # ------------------------------------------------------------------------------------------------ public

    def measure(self, fn) -> Measurement:
        if self.gpu:
            return self._measure_gpu(fn)
        return self._measure_host(fn)

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None

    # ------------------------------------------------------------------------------------------------ host

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            from ..backends import cuda as _cuda
            _cuda.synchronize()

    def _measure_host(self, fn) -> Measurement:
        clock = self.clock
        t0 = clock()
        fn()  # the first call may compile or fill caches; never timed
        self._sync()
        first = clock() - t0
        calls, t_warm = 0, clock()
        while True:
            fn()
            calls += 1
            elapsed = clock() - t_warm
            if elapsed >= self.warmup or elapsed + first >= self.budget:
                break
        self._sync()
        per_call = max(elapsed / calls, 1e-9)
        number = self.number or max(1, min(10_000, math.ceil(self.min_repeat_time / per_call)))
        samples = []
        start = clock()
        while len(samples) < self.max_repeats:
            r0 = clock()
            for _ in range(number):
                fn()
            self._sync()
            samples.append((clock() - r0) / number)
            if len(samples) >= self.min_repeats and clock() - start >= self.budget:
                break
        stats = summarize(samples, number)
        threads = self.threads if self.threads is not None else cpu_threads()
        timer = "perf_counter" if not self.device.startswith("cuda") else "perf_counter (Triton interpreter)"
        return Measurement(time=stats, timer=timer, threads=threads)

    # ------------------------------------------------------------------------------------------------ GPU

    def _measure_gpu(self, fn) -> Measurement:
        if self._events is None:
            self._events = CudaEvents(self.stream)
        ev, clock = self._events, self.clock
        fn()
        ev.synchronize()
        t_warm = clock()
        while True:
            fn()
            ev.synchronize()
            if clock() - t_warm >= self.warmup:
                break
        overhead = self._record_overhead(ev)
        kernel, host = [], []
        start = clock()
        while len(kernel) < self.max_repeats:
            if self.flush_l2:
                ev.flush_l2()
            h0 = clock()
            ev.record_start()
            fn()
            ev.record_end()
            host.append(max(clock() - h0 - overhead, 0.0))
            kernel.append(ev.elapsed())
            if len(kernel) >= self.min_repeats and clock() - start >= self.budget:
                break
        times = [max(k, h) for k, h in zip(kernel, host)]
        return Measurement(time=summarize(times), host=summarize(host), kernel=summarize(kernel),
                           timer="cuda-events", flush_l2=self.flush_l2)

    def _record_overhead(self, ev) -> float:
        """Host seconds the two event records themselves take (subtracted from the host time of each call)."""
        clock, spent = self.clock, []
        for _ in range(5):
            h0 = clock()
            ev.record_start()
            ev.record_end()
            spent.append(clock() - h0)
        ev.synchronize()
        return sorted(spent)[len(spent) // 2]
