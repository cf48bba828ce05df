"""Summary statistics of repeated timings: median and interquartile range (robust to the outliers a shared machine
produces), plus what a reader needs to judge them (count, min, mean)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Seconds per call over `n` repeats (each repeat times `number` calls and divides)."""

    median: float
    q1: float
    q3: float
    min: float
    mean: float
    n: int
    number: int = 1

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def rel_iqr(self) -> float:
        """IQR / median: the spread as a fraction of the typical value."""
        return self.iqr / self.median if self.median > 0 else 0.0

    def scaled(self, factor: float) -> "Stats":
        return Stats(self.median * factor, self.q1 * factor, self.q3 * factor, self.min * factor, self.mean * factor,
                     self.n, self.number)

    def to_json(self) -> dict:
        d = asdict(self)
        d["iqr"] = self.iqr
        return d

    @staticmethod
    def from_json(d: dict | None) -> "Stats | None":
        if d is None:
            return None
        return Stats(float(d["median"]), float(d["q1"]), float(d["q3"]), float(d["min"]), float(d["mean"]),
                     int(d["n"]), int(d.get("number", 1)))


def summarize(samples, number: int = 1) -> Stats:
    """Stats of per-call times (seconds). Quartiles use linear interpolation (NumPy's default)."""
    a = np.asarray(samples, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no timings to summarize")
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return Stats(float(med), float(q1), float(q3), float(a.min()), float(a.mean()), int(a.size), int(number))
