"""Anomaly mode: keep each forward call's traceback and raise when a backward produces NaN or inf."""
from __future__ import annotations

from .._state import FLAGS


class detect_anomaly:
    """Context manager (and decorator): while active, a backward that produces NaN/inf raises, naming the op
    and showing the traceback of its forward call. Like PyTorch's, the switch is process-wide."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (FLAGS.anomaly, FLAGS.anomaly_check_nan)
        FLAGS.anomaly, FLAGS.anomaly_check_nan = True, bool(self.check_nan)
        return self

    def __exit__(self, *exc):
        FLAGS.anomaly, FLAGS.anomaly_check_nan = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapper


def _set_anomaly_enabled(mode: bool, check_nan: bool = True) -> None:
    """torch.set_anomaly_enabled: the plain switch (returns None)."""
    FLAGS.anomaly, FLAGS.anomaly_check_nan = bool(mode), bool(check_nan)


class set_detect_anomaly:  # noqa: N801 - PyTorch's lower-case name
    """set_detect_anomaly(mode, check_nan=True): switches anomaly mode on or off when called (as a plain call) and,
    used as a context manager, restores the previous setting on exit, as PyTorch's set_grad_enabled does."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (FLAGS.anomaly, FLAGS.anomaly_check_nan)
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        _set_anomaly_enabled(self.mode, self.check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        FLAGS.anomaly, FLAGS.anomaly_check_nan = self._prev
        return False


def is_anomaly_enabled() -> bool:
    return FLAGS.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return FLAGS.anomaly_check_nan
