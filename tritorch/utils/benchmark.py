"""torch.utils.benchmark's wall-clock tools: Timer (timeit, autorange, blocked_autorange, adaptive_autorange),
Measurement (per-run times and their statistics) and Compare (a table of measurements).

A Timer runs `stmt` (source text, or a callable) in a namespace of `globals` plus `torch` (this module's framework,
so `import tritorch as torch` scripts time the same code), after `setup`, with the framework's thread count set to
`num_threads` while it measures. Measurements are blocks of `number` runs each timed with `timer`; a run's time is
the block's over `number`. Timing a cuda stmt should synchronize in the stmt, as with PyTorch's Timer. Not here:
callgrind instruction counts and the C++ language (PyTorch builds those with a compiler toolchain), and the
fuzzers.
"""
from __future__ import annotations

import contextlib
import enum
import math
import textwrap
import time
import timeit

import numpy as np

__all__ = ["Timer", "Measurement", "Compare", "TaskSpec", "Language", "select_unit", "trim_sigfig",
           "unit_to_english"]


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


class TaskSpec:
    """What was timed: the statement, its setup and the labels Compare groups by."""

    def __init__(self, stmt, setup="pass", global_setup="", label=None, sub_label=None, description=None,
                 env=None, num_threads=1):
        self.stmt, self.setup, self.global_setup = stmt, setup, global_setup
        self.label, self.sub_label, self.description = label, sub_label, description
        self.env, self.num_threads = env, num_threads

    @property
    def title(self) -> str:
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        return _source(self.stmt)

    def summarize(self) -> str:
        """The title, the description and a non-trivial setup, one per line (Measurement's repr)."""
        lines = [self.title]
        if self.description:
            lines.append(self.description)
        if self.setup and self.setup != "pass" and not callable(self.setup):
            setup = textwrap.dedent(self.setup).strip()
            lines.append("setup:" + (" " + setup if "\n" not in setup else "\n" + textwrap.indent(setup, "  ")))
        return "\n".join(lines)


def _source(stmt) -> str:
    return getattr(stmt, "__name__", repr(stmt)) if callable(stmt) else textwrap.dedent(stmt).strip()


_UNITS = (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0))


def select_unit(t: float) -> tuple:
    """(unit name, unit in seconds) that shows `t` seconds with 1-3 digits before the point."""
    for name, scale in _UNITS:
        if t / scale < 999.95:   # (not t < 1000 * scale: 1e-9 * 1000 rounds above 1e-6)
            return name, scale
    return "s", 1.0


def unit_to_english(u: str) -> str:
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x: float, n: int) -> float:
    """x rounded to n significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, n - 1 - int(math.floor(math.log10(abs(x)))))


class Measurement:
    """Blocks of `number_per_run` runs of a task and their times (raw_times: seconds per block)."""

    def __init__(self, number_per_run: int, raw_times, task_spec: TaskSpec, metadata=None):
        self.number_per_run = int(number_per_run)
        self.raw_times = [float(t) for t in raw_times]
        self.task_spec = task_spec
        self.metadata = metadata

    def __getattr__(self, name):   # the task's labels read through (m.label, m.stmt, ...)
        if name in ("stmt", "setup", "global_setup", "label", "sub_label", "description", "env", "num_threads",
                    "title"):
            return getattr(self.__dict__["task_spec"], name)
        raise AttributeError(f"'Measurement' object has no attribute '{name}'")

    @property
    def times(self) -> list:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def mean(self) -> float:
        return float(np.mean(self.times))

    @property
    def iqr(self) -> float:
        q1, q3 = np.percentile(self.times, [25, 75])
        return float(q3 - q1)

    @property
    def significant_figures(self) -> int:
        """Digits of the median the spread supports: as many as the IQR leaves unchanged (1 to 4)."""
        if len(self.times) < 2 or self.iqr == 0:
            return 1 if len(self.times) < 2 else 4
        return int(min(4, max(1, math.floor(math.log10(self.median / self.iqr)) + 1)))

    @property
    def has_warnings(self) -> bool:
        return bool(self._warnings())

    def _warnings(self) -> list:
        out = []
        if len(self.times) > 1 and self.iqr > 0.1 * self.median:
            out.append(f"WARNING: Interquartile range is {100 * self.iqr / self.median:.1f}% of the median "
                       f"measurement.\n         This could indicate system fluctuation.")
        return out

    def meets_confidence(self, threshold: float = 0.1) -> bool:
        return self.iqr / self.median < threshold if self.median else False

    def __repr__(self) -> str:
        unit, scale = select_unit(self.median)
        n = len(self.times)
        lines = [f"<tritorch.utils.benchmark.Measurement object at {hex(id(self))}>", self.task_spec.summarize()]
        if n > 1:
            q1, q3 = np.percentile(self.times, [25, 75])
            lines.append(f"  Median: {self.median / scale:.2f} {unit}")
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({q1 / scale:.2f} to {q3 / scale:.2f})")
            runs = "runs per measurement"
        else:
            lines.append(f"  {self.median / scale:.2f} {unit}")
            runs = "runs "
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n != 1 else ''}, {self.number_per_run} {runs}, {threads} "
                     f"thread{'s' if threads != 1 else ''}")
        lines.extend(self._warnings())
        return "\n".join(lines)

    @staticmethod
    def merge(measurements) -> list:
        """One Measurement per task, pooling the blocks of measurements of the same task and block size."""
        grouped = {}
        for m in measurements:
            spec = m.task_spec
            key = (_source(spec.stmt), spec.setup, spec.label, spec.sub_label, spec.description, spec.num_threads,
                   m.number_per_run)
            grouped.setdefault(key, []).append(m)
        return [Measurement(group[0].number_per_run, [t for m in group for t in m.raw_times], group[0].task_spec)
                for group in grouped.values()]


class Timer:
    """Times `stmt` after `setup` (see the module docstring)."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=time.perf_counter, globals=None,
                 label=None, sub_label=None, description=None, env=None, num_threads=1,
                 language=Language.PYTHON):
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError("tritorch's Timer times Python statements only (no C++ toolchain here)")
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
        import tritorch
        namespace = {"torch": tritorch, "tritorch": tritorch}
        namespace.update(globals or {})
        if global_setup:
            exec(global_setup, namespace)
        self._task = TaskSpec(stmt, setup, global_setup, label, sub_label, description, env, num_threads)
        self._timer = timeit.Timer(stmt=stmt if callable(stmt) else textwrap.dedent(stmt),
                                   setup=setup if callable(setup) else textwrap.dedent(setup), timer=timer,
                                   globals=namespace)

    @contextlib.contextmanager
    def _threads(self):
        """The framework's thread count set to the task's while measuring, then restored."""
        import tritorch
        previous = tritorch.get_num_threads()
        tritorch.set_num_threads(self._task.num_threads)
        try:
            yield
        finally:
            tritorch.set_num_threads(previous)

    def _block(self, number: int) -> float:
        return self._timer.timeit(number)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One block of `number` runs (after one warm-up run)."""
        with self._threads():
            self._block(1)
            return Measurement(number, [self._block(number)], self._task)

    def repeat(self, repeat: int = -1, number: int = -1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None) -> Measurement:
        """timeit's autorange: runs 1, 2, 5, 10, 20, ... times until a block takes 0.2 s; that block."""
        with self._threads():
            number, total = self._timer.autorange(callback)
        return Measurement(number, [total], self._task)

    def _block_size(self, min_block: float = 0.025) -> int:
        """Runs per block so that a block takes at least min_block seconds (the timer's overhead stays small)."""
        number = 1
        while True:
            if self._block(number) >= min_block or number >= 1 << 30:
                return number
            number *= 10

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        """Blocks of a fixed number of runs until min_run_time seconds of blocks have been timed."""
        with self._threads():
            number = self._block_size()
            times, total = [], 0.0
            while total < min_run_time or len(times) < 2:
                t = self._block(number)
                if callback is not None:
                    callback(number, t)
                times.append(t)
                total += t
        return Measurement(number, times, self._task)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> Measurement:
        """Blocks until the IQR is within `threshold` of the median (after min_run_time), or max_run_time."""
        with self._threads():
            number = self._block_size(min_block=0.005)
            times, total = [], 0.0
            while True:
                t = self._block(number)
                if callback is not None:
                    callback(number, t)
                times.append(t)
                total += t
                if total >= max_run_time:
                    break
                if total >= min_run_time and len(times) >= 3:
                    m = Measurement(number, times, self._task)
                    if m.meets_confidence(threshold):
                        break
        return Measurement(number, times, self._task)


class Compare:
    """A table of measurements: one per label; rows by thread count and sub_label, columns by description."""

    def __init__(self, results):
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected a Measurement, got {type(r).__name__} instead.")
        self._results = list(results)
        self._trim = False
        self._colorize = False
        self._highlight = False

    def extend_results(self, results) -> None:
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Expected a Measurement, got {type(r).__name__} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        self._trim = True

    def colorize(self, rowwise: bool = False) -> None:
        self._colorize = True

    def highlight_warnings(self) -> None:
        self._highlight = True

    def __str__(self) -> str:
        return "\n".join(self._render())

    def print(self) -> None:
        print(str(self))

    def _render(self) -> list:
        merged = Measurement.merge(self._results)
        out = []
        labels = list(dict.fromkeys(m.task_spec.label for m in merged))
        for label in labels:
            group = [m for m in merged if m.task_spec.label == label]
            out.extend(self._table(label, group))
        return out

    def _table(self, label, group) -> list:
        columns = list(dict.fromkeys(m.task_spec.description for m in group))
        threads = sorted(dict.fromkeys(m.task_spec.num_threads for m in group))
        unit, scale = select_unit(min(m.median for m in group))
        cells, fastest = {}, {}
        for m in group:
            spec = m.task_spec
            value = m.median / scale
            digits = m.significant_figures if self._trim else 4
            text = f"{trim_sigfig(value, digits):g}" if self._trim else f"{value:.1f}"
            if self._highlight and m.has_warnings:
                text += " (! {:.0f}%)".format(100 * m.iqr / m.median)
            cells[(spec.num_threads, spec.sub_label, spec.description)] = (text, value)
            row = (spec.num_threads, spec.sub_label)
            fastest[row] = min(fastest.get(row, math.inf), value)
        rows = {n: list(dict.fromkeys(m.task_spec.sub_label for m in group if m.task_spec.num_threads == n))
                for n in threads}
        names = [str(c) if c is not None else "" for c in columns]
        row_names = [str(s) if s is not None else "" for n in threads for s in rows[n]]
        first = max([len(r) + 7 for r in row_names] + [len(f"{n} threads: ") for n in threads])
        widths = [max(len(nm), max((len(cells.get((n, s, c), ("",))[0]) for n in threads for s in rows[n]),
                                   default=0)) + 2 for nm, c in zip(names, columns)]
        head = " " * first + "|" + "|".join(nm.center(w) for nm, w in zip(names, widths))
        title = f" {label} " if label is not None else ""
        lines = [f"[{title.center(len(head) - 2, '-')}]", head]
        for n in threads:
            lines.append(f"{n} thread{'s' if n != 1 else ''}: ".ljust(first) + "-" * (len(head) - first))
            for s in rows[n]:
                parts = []
                for c, w in zip(columns, widths):
                    text, value = cells.get((n, s, c), ("", None))
                    left = (w - len(text)) // 2
                    if self._colorize and value is not None and value == fastest[(n, s)]:
                        text = f"\033[92m\033[1m{text}\033[0m"   # the row's fastest, in bold green
                    parts.append(" " * left + text + " " * (w - left - len(cells.get((n, s, c), ("",))[0])))
                lines.append(("      " + (str(s) if s is not None else "")).ljust(first) + "|" + "|".join(parts))
        lines += ["", f"Times are in {unit_to_english(unit)}s ({unit}).", ""]
        return lines
