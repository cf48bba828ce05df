"""Where the profiler hooks into dispatch, and the session that collects its ranges.

Dispatch is the hot path, so nothing here runs while no profile is active: `install()` swaps in profiling
versions of `OpDef.__call__`, of every op's cpu shortcut (`OpDef.fast`), of every backward rule (`vjp`) and
of the Function / in-place rebase nodes' rules, adds global optimizer step hooks (a range per step, named as
PyTorch names it: `Optimizer.step#AdamW.step`), and `uninstall()` puts the originals back. The shortcuts are
also held in closure cells by the Tensor operators and public functions that call them directly (`a * b`,
`x.exp()`); those cells are found once per profile with `gc.get_referrers` (those among the objects import
froze out of the collector, once before the freeze) and swapped too, because reading
`op.fast` on every call instead would cost the unprofiled hot path an attribute lookup.

Several sessions may be installed at once (a profile and a FlopCounterMode, forward AD inside either, nested
FlopCounterModes; not two profiles): SESSION is then a `_Fanout` that opens and closes each range in every
session, the oldest first on open and last on close. Each session sees every op call, including the ones the
others run (forward AD's reruns of an op to find its tangents are profiled and counted)."""
from __future__ import annotations

import gc
import threading
import time
import traceback
import types

import numpy as np

from .._session import ObservingSession
from ..autograd import function as _function, inplace as _inplace
from ..backends import cuda as _backend
from ..backends.cuda import CudaArray
from ..cuda.streams import Event
from ..ops import registry as _registry
from ..optim import optimizer as _optimizer
from ..tensor import Tensor
from ._events import FunctionEvent

SESSION = None          # the active Session (or _Fanout of several), or None (then no hook is installed)
ACTIVE: list = []       # the installed sessions, oldest first
_ORIGINAL_CALL = _registry.OpDef.__call__


class Session:
    """The ranges of one profile: every range opened on any thread, in the order they began. (The hooks take any
    object with this interface: _session.ObservingSession is the base of the ones that observe calls instead.)"""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False, use_cuda=False):
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        # device work is timed (ProfilerActivity.CUDA) with CUDA events on a GPU; interpreted kernels run on the
        # host, in the call, so there a launch's host time is its device time
        self.use_cuda = use_cuda
        self.cuda_events = use_cuda and not _backend.INTERPRET
        self.events: list[FunctionEvent] = []
        self._stacks = threading.local()
        self._lock = threading.Lock()
        self._pending = []      # (event, start CUDA event, end CUDA event) read once the profile ends
        self.origin_ns = time.perf_counter_ns()
        self.base_time_ns = time.time_ns()     # the wall clock at the origin (the trace's timestamps)
        if self.cuda_events:
            self._origin_event = Event(enable_timing=True)
            self._origin_event.record()

    def stack(self) -> list:
        s = getattr(self._stacks, "open", None)
        if s is None:
            s = self._stacks.open = []
        return s

    def clear(self) -> None:
        with self._lock:
            self.events = []
            self._pending = []

    def open(self, name, args, cat="cpu_op", op=None, device=None, kwargs=None, out=None) -> FunctionEvent:
        # (kwargs and out: the call's, for sessions that look at what an op is called with; a profile does not)
        stack = self.stack()
        device = device or _device_type(args)
        shapes = [_shape(a) for a in args] if self.record_shapes else None
        frames = _user_frames() if self.with_stack else None
        with self._lock:
            e = FunctionEvent(len(self.events), name, threading.get_native_id(), 0, cat, shapes, frames, device)
            self.events.append(e)
        e.op = op
        if stack:
            e.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(e)
        stack.append(e)
        if self.profile_memory and device == "cuda" and not _backend.INTERPRET:
            e.memory_before = _backend.memory_stats()["allocated_bytes"]
        if device == "cuda" and self.cuda_events:   # kept in case no launch of its own is timed (see close)
            e.cuda_start = Event(enable_timing=True)
            e.cuda_start.record()
        e.start_ns = time.perf_counter_ns() - self.origin_ns
        return e

    def close(self, e: FunctionEvent, result, allocates: bool = True) -> None:
        """End a range; `allocates` is False for calls whose result is memory they did not allocate (views,
        out=), which count 0 bytes on the host (the device figure is the allocator's own, where it keeps one)."""
        e.end_ns = time.perf_counter_ns() - self.origin_ns
        e.closed = True
        stack = self.stack()
        if stack and stack[-1] is e:
            stack.pop()
        elif e in stack:     # ranges opened inside it and never closed (an optimizer step that raised)
            del stack[stack.index(e):]
        if e.device_type != "cuda" and _device_type((result,)) == "cuda":
            e.device_type = "cuda"       # a range that made device data from host arguments
        if (self.use_cuda and e.device_type == "cuda" and not e.launched
                and not any(c.device_type == "cuda" for c in e.cpu_children)):
            # device work that did not pass through a registered cuda impl (a cuda shortcut such as layer_norm's,
            # a driver memset): the whole range is its device time
            e.launched = True
            start = getattr(e, "cuda_start", None)
            if start is not None:
                end = Event(enable_timing=True)
                end.record()
                self._pending.append((e, start, end))
            elif not self.cuda_events:
                e.launches.append((e.start_ns / 1e3, e.cpu_time_total))
        if self.profile_memory and result is not None:
            before = getattr(e, "memory_before", None)
            if before is not None:
                e.device_memory_usage = _backend.memory_stats()["allocated_bytes"] - before
            elif e.device_type == "cuda":
                e.device_memory_usage = _result_bytes(result) if allocates else 0
            else:
                e.cpu_memory_usage = _result_bytes(result) if allocates else 0

    def discard(self, e: FunctionEvent) -> None:
        """Forget a range that turned out not to be a call of its own (a shortcut that declined)."""
        stack = self.stack()
        if stack and stack[-1] is e:
            stack.pop()
        parent = e.cpu_parent
        if parent is not None:
            parent.cpu_children.remove(e)
            parent.cpu_children.extend(e.cpu_children)
        for c in e.cpu_children:
            c.cpu_parent = parent
        with self._lock:
            for i in range(len(self.events) - 1, -1, -1):
                if self.events[i] is e:
                    del self.events[i]
                    break

    def launch(self, impl, meta, args, kwargs):
        """Run a cuda impl (its kernel launches) timed on the device, as device work of the innermost range."""
        stack = self.stack()
        if not stack or not self.use_cuda:
            return impl(meta, *args, **kwargs)
        e = stack[-1]
        e.launched = True
        if self.cuda_events:
            start, end = Event(enable_timing=True), Event(enable_timing=True)
            start.record()
            r = impl(meta, *args, **kwargs)
            end.record()
            self._pending.append((e, start, end))
            return r
        # interpreted kernels run on the host, in the call: its host time is their device time
        t0 = time.perf_counter_ns()
        r = impl(meta, *args, **kwargs)
        t1 = time.perf_counter_ns()
        e.launches.append(((t0 - self.origin_ns) / 1e3, (t1 - t0) / 1e3))
        return r

    def finish(self) -> list[FunctionEvent]:
        """The events of the profile, with device times read from their CUDA events (waits for the device); a
        range's device time is its own launches' and its children's."""
        for e, start, end in self._pending:
            end.synchronize()
            e.launches.append((self._origin_event.elapsed_time(start) * 1e3, start.elapsed_time(end) * 1e3))
        self._pending = []
        now = time.perf_counter_ns() - self.origin_ns
        for i, e in enumerate(self.events):
            e.id = i
            e.__dict__.pop("cuda_start", None)   # (a CUDA event no launch needed: released now)
            if not getattr(e, "closed", False):   # still open when the profile ended: it ends there
                e.end_ns = now
        for e in reversed(self.events):          # children began after their parent: they are summed first
            e.device_time_total = (sum(d for _, d in e.launches)
                                   + sum(c.device_time_total for c in e.cpu_children))
        return list(self.events)


def _shape(a) -> list:
    if a.__class__ is Tensor:
        return list(a._data.shape)
    if isinstance(a, (list, tuple)) and a and all(x.__class__ is Tensor for x in a):
        return [list(x._data.shape) for x in a]
    return []


def _device_type(args) -> str:
    for a in args:
        if a.__class__ is Tensor:
            return "cuda" if a._data.__class__ is CudaArray else "cpu"
        if isinstance(a, (list, tuple)) and a and a[0].__class__ is Tensor:
            return "cuda" if a[0]._data.__class__ is CudaArray else "cpu"
    return "cpu"


def _result_bytes(result) -> int:
    if result.__class__ is Tensor:
        d = result._data
        return int(d.nbytes) if d.__class__ is np.ndarray else int(np.prod(d.shape)) * d.dtype.itemsize
    if isinstance(result, (list, tuple)):
        return sum(_result_bytes(r) for r in result)
    return 0


def _user_frames() -> list[str]:
    """The Python stack outside tritorch, innermost first, as PyTorch writes it ("file.py(12): fn")."""
    frames = traceback.extract_stack()
    return [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames)
            if "/tritorch/" not in f.filename.replace("\\", "/")]


# ---------------------------------------------------------------------------------------------- the hooks

def _profiled_call(op, *args, out=None, **kwargs):
    """OpDef.__call__ while a profile is active: the original call inside an `aten::<name>` range."""
    s = SESSION
    if s is None:
        return _ORIGINAL_CALL(op, *args, out=out, **kwargs)
    # a factory's device is a keyword (tt.zeros(3, device="cuda")): its range is timed on that device
    device = "cuda" if kwargs and str(kwargs.get("device", "")).startswith("cuda") else None
    # (an op that is not in the registry, such as the cross-device copy, got no profile_name from install())
    e = s.open(getattr(op, "profile_name", None) or f"aten::{op.name}", args, op=op, device=device, kwargs=kwargs,
               out=out)
    r = None
    try:
        r = _ORIGINAL_CALL(op, *args, out=out, **kwargs)
        return r
    finally:
        s.close(e, r, out is None and not op.view)


def _timed_impl(impl):
    """A registered cuda impl whose launches are timed on the device while a profile is active."""

    def timed(meta, *args, **kwargs):
        s = SESSION
        return impl(meta, *args, **kwargs) if s is None else s.launch(impl, meta, args, kwargs)

    return timed


def _profiled_fast(op, fast):
    """A shortcut that times itself; when it declines (None) its range is dropped (the full call follows)."""
    name = op.profile_name

    def profiled(*args, **kwargs):
        s = SESSION
        if s is None:
            return fast(*args, **kwargs)
        stack = s.stack()
        if stack and getattr(stack[-1], "op", None) is op:   # inside this op's own profiled __call__
            return fast(*args, **kwargs)
        e = s.open(name, args, op=op, kwargs=kwargs, out=kwargs.get("out"))
        try:
            r = fast(*args, **kwargs)
        except BaseException:
            s.close(e, None)
            raise
        if r is None:
            s.discard(e)
        else:
            s.close(e, r, not op.view)
        return r

    profiled.__wrapped__ = fast
    return profiled


def _profiled_vjp(name, vjp):
    """A backward rule that runs inside a range named after its node (`MulBackward0`), as PyTorch's do."""

    def profiled(ctx, *grads):
        s = SESSION
        if s is None:
            return vjp(ctx, *grads)
        e = s.open(name, grads)
        r = None
        try:
            r = vjp(ctx, *grads)
            return r
        finally:
            s.close(e, r)

    return profiled


def _backward_name(op) -> str:
    return getattr(op, "backward_name", None) or "".join(p.capitalize() for p in op.name.split("_")) + "Backward0"


class _FanRecord:
    __slots__ = ("op", "parts")

    def __init__(self, op, parts):
        self.op = op          # (the shortcut and optimizer-step hooks read a record's op)
        self.parts = parts    # each session's own record


class _Fanout(ObservingSession):
    """Several installed sessions behind the one SESSION the hooks call (see the module docstring); of
    ObservingSession it keeps the per-thread stack of open records and replaces the rest."""

    def __init__(self, sessions):
        super().__init__()
        self.sessions = tuple(sessions)
        self.use_cuda = any(getattr(s, "use_cuda", False) for s in self.sessions)

    def open(self, name, args, cat="cpu_op", op=None, device=None, kwargs=None, out=None) -> _FanRecord:
        record = _FanRecord(op, tuple(s.open(name, args, cat=cat, op=op, device=device, kwargs=kwargs, out=out)
                                      for s in self.sessions))
        self.stack().append(record)
        return record

    def _pop(self, record) -> None:
        stack = self.stack()
        if record in stack:
            del stack[stack.index(record):]

    def close(self, record: _FanRecord, result, allocates: bool = True) -> None:
        self._pop(record)
        for s, part in reversed(list(zip(self.sessions, record.parts))):
            s.close(part, result, allocates)

    def discard(self, record: _FanRecord) -> None:
        self._pop(record)
        for s, part in reversed(list(zip(self.sessions, record.parts))):
            s.discard(part)

    def launch(self, impl, meta, args, kwargs):
        def through(i, meta, *args, **kwargs):   # each session's launch wraps the next one's
            if i == len(self.sessions):
                return impl(meta, *args, **kwargs)
            return self.sessions[i].launch(lambda m, *a, **k: through(i + 1, m, *a, **k), meta, args, kwargs)
        return through(0, meta, *args, **kwargs)


_undo: list = []        # (restore function) for everything install() swapped

# The shortcut-holding closure cells among the objects `import tritorch` froze out of the collector
# (_collector.py): gc.get_referrers does not search the permanent generation, so they are found just before.
_FROZEN_CELLS: list = []


def _cells_holding(shortcuts: dict) -> list:
    return [c for c in gc.get_referrers(*(f for _, f in shortcuts.values()))
            if type(c) is types.CellType and id(c.cell_contents) in shortcuts]


def remember_frozen_cells() -> None:
    """Find the cells that hold the ops' shortcuts now, before import freezes them (~10 ms)."""
    shortcuts = {id(op.fast): (op, op.fast) for op in _registry.ops() if op.fast is not None}
    _FROZEN_CELLS[:] = _cells_holding(shortcuts)


def _shortcut_cells(shortcuts: dict) -> list:
    """The closure cells that hold one of `shortcuts` (id -> (op, fast)): those remembered at import that still
    do, and any made since (found by the collector)."""
    found = {id(c): c for c in _FROZEN_CELLS if id(c.cell_contents) in shortcuts}
    found.update((id(c), c) for c in _cells_holding(shortcuts))
    return list(found.values())


def install(session: Session) -> None:
    """Put `session` on the hooks (swapping them in if it is the first)."""
    global SESSION
    if isinstance(session, Session) and any(isinstance(s, Session) for s in ACTIVE):
        raise RuntimeError("Profiler is already enabled on this thread")
    if ACTIVE:
        ACTIVE.append(session)
        SESSION = _Fanout(ACTIVE)
        return
    ops = _registry.ops()
    shortcuts = {}
    for op in ops:
        op.profile_name = f"aten::{op.name}"
        if op.fast is not None:
            shortcuts.setdefault(id(op.fast), (op, op.fast))
    # the closure cells that hold a shortcut, found before any wrapper exists (a wrapper's own cell holds one)
    cells = _shortcut_cells(shortcuts)
    wrappers = {key: _profiled_fast(op, fast) for key, (op, fast) in shortcuts.items()}
    try:
        _registry.OpDef.__call__ = _profiled_call
        _undo.append(lambda: setattr(_registry.OpDef, "__call__", _ORIGINAL_CALL))
        for op in ops:
            if op.fast is not None:
                _swap_attr(op, "fast", wrappers[id(op.fast)])
            if op.vjp is not None:
                _swap_attr(op, "vjp", _profiled_vjp(_backward_name(op), op.vjp))
            impl = op.impl["cuda"]     # the dispatch table both OpDef.__call__ and out= calls read
            op.impl["cuda"] = _timed_impl(impl)
            _undo.append(lambda table=op.impl, impl=impl: table.__setitem__("cuda", impl))
        for cell in cells:
            original = cell.cell_contents
            cell.cell_contents = wrappers[id(original)]
            _undo.append(lambda cell=cell, original=original: setattr(cell, "cell_contents", original))
        vjp = _function._FunctionOp.vjp
        _function._FunctionOp.vjp = lambda self, ctx, *g: _profiled_vjp(self.backward_name,
                                                                          vjp.__get__(self))(ctx, *g)
        _undo.append(lambda: setattr(_function._FunctionOp, "vjp", vjp))
        for cls in vars(_inplace).values():
            if isinstance(cls, type) and "backward_name" in vars(cls) and isinstance(vars(cls).get("vjp"),
                                                                                      staticmethod):
                original = vars(cls)["vjp"]
                cls.vjp = staticmethod(_profiled_vjp(cls.backward_name, original.__func__))
                _undo.append(lambda cls=cls, original=original: setattr(cls, "vjp", original))
        for handle in (_optimizer.register_optimizer_step_pre_hook(_step_begins),
                       _optimizer.register_optimizer_step_post_hook(_step_ends)):
            _undo.append(handle.remove)
    except BaseException:
        uninstall()
        raise
    ACTIVE.append(session)
    SESSION = session


def _step_begins(optimizer, args, kwargs) -> None:
    s = SESSION
    if s is not None:
        name = type(optimizer).__name__
        s.open(f"Optimizer.step#{name}.step", (), cat="user_annotation", op=optimizer)


def _step_ends(optimizer, args, kwargs) -> None:
    s = SESSION
    stack = s.stack() if s is not None else ()
    for e in reversed(stack):
        if getattr(e, "op", None) is optimizer:
            s.close(e, None)
            break


def _swap_attr(obj, name, value) -> None:
    original = getattr(obj, name)
    setattr(obj, name, value)
    _undo.append(lambda: setattr(obj, name, original))


def uninstall(session=None) -> None:
    """Take `session` off the hooks; with the last one (or with no session named) put back everything install()
    swapped, newest first."""
    global SESSION
    if session is not None:
        if session not in ACTIVE:
            return
        ACTIVE.remove(session)
        if ACTIVE:
            SESSION = ACTIVE[0] if len(ACTIVE) == 1 else _Fanout(ACTIVE)
            return
    ACTIVE.clear()
    SESSION = None
    while _undo:
        _undo.pop()()


def is_installed() -> bool:
    return SESSION is not None
