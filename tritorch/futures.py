"""torch.futures: Future, a value that some code sets later (once) and others wait for or chain callbacks on, and
collect_all / wait_all over several. tritorch's jit.fork runs its function at once and returns a completed Future
(there is no TorchScript interpreter to run it asynchronously); Futures made directly may be completed from any
thread."""
from __future__ import annotations

import threading

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    """A result to come: set_result / set_exception complete it once; wait() blocks until then and returns the
    value (or raises the exception); then(callback) chains a new Future on callback(self)."""

    def __init__(self, *, devices=None):
        self._done = threading.Condition()
        self._completed = False
        self._value = None
        self._exception = None
        self._callbacks = []

    def done(self) -> bool:
        return self._completed

    def _complete(self, value, exception) -> None:
        with self._done:
            if self._completed:
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                                   "only be marked completed once.")
            self._value, self._exception, self._completed = value, exception, True
            callbacks, self._callbacks = self._callbacks, []
            self._done.notify_all()
        for callback in callbacks:
            callback(self)

    def set_result(self, result) -> None:
        self._complete(result, None)

    def set_exception(self, result) -> None:
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def wait(self):
        with self._done:
            while not self._completed:
                self._done.wait()
        if self._exception is not None:
            raise self._exception
        return self._value

    def value(self):
        """The result of a completed Future (raises its exception); do not call it before done()."""
        if self._exception is not None:
            raise self._exception
        return self._value

    def add_done_callback(self, callback) -> None:
        """callback(self) when the Future completes (at once if it has); its return value is dropped."""
        with self._done:
            if not self._completed:
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback) -> "Future":
        """A new Future completed with callback(self) once this one completes (or with the callback's error)."""
        chained = Future()

        def run(fut):
            try:
                chained.set_result(callback(fut))
            except Exception as e:  # noqa: BLE001 - handed to the chained Future, as PyTorch does
                chained.set_exception(RuntimeError(f"Got the following error when running the callback: "
                                                   f"{type(e).__name__}: {e}"))

        self.add_done_callback(run)
        return chained

    def __repr__(self) -> str:
        return f"<tritorch.futures.Future object at {hex(id(self))}>"


def collect_all(futures: list) -> Future:
    """A Future completed, with the list of `futures`, once they all are."""
    futures = list(futures)
    result = Future()
    remaining = [len(futures)]
    lock = threading.Lock()
    if not futures:
        result.set_result([])
        return result

    def one_done(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            result.set_result(futures)

    for f in futures:
        f.add_done_callback(one_done)
    return result


def wait_all(futures: list) -> list:
    """The values of `futures`, waiting for each (the first error raises)."""
    return [f.wait() for f in collect_all(futures).wait()]
