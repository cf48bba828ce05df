"""The session interface of the profiler's dispatch hooks (profiler/_hooks.py) for code that observes op calls
instead of timing them (utils.flop_counter, autograd.forward_ad): while installed, every registered op call,
shortcut and backward rule opens a record on entry and closes it on return. Kept apart from the profiler so that
autograd can build on it without importing the profiler."""
from __future__ import annotations

import threading


class ObservingSession:
    """A session that observes op calls instead of timing them (FlopCounterMode, forward AD): `begin(stack, op,
    args, kwargs, out)` makes a call's record (the records of the calls it runs inside are on `stack`, this
    thread's), `end(record, result)` acts on it once the call has returned."""

    use_cuda = False

    def __init__(self):
        self._stacks = threading.local()

    def stack(self) -> list:
        s = getattr(self._stacks, "open", None)
        if s is None:
            s = self._stacks.open = []
        return s

    def begin(self, stack: list, op, args, kwargs, out):
        raise TypeError(f"{type(self).__name__} must define begin()")

    def end(self, record, result) -> None:
        raise TypeError(f"{type(self).__name__} must define end()")

    def open(self, name, args, cat="cpu_op", op=None, device=None, kwargs=None, out=None):
        stack = self.stack()
        record = self.begin(stack, op, args, kwargs, out)
        stack.append(record)
        return record

    def close(self, record, result, allocates: bool = True) -> None:
        stack = self.stack()
        if record in stack:
            del stack[stack.index(record):]
        if result is not None:
            self.end(record, result)

    def discard(self, record) -> None:
        stack = self.stack()
        if record in stack:
            stack.remove(record)

    def launch(self, impl, meta, args, kwargs):
        return impl(meta, *args, **kwargs)

    def finish(self) -> list:
        return []
