"""torch.autograd.graph.saved_tensors_hooks, save_on_cpu, disable_saved_tensors_hooks and
allow_mutation_on_saved_tensors (saved-tensor hooks plus a call just before every in-place write, _state.BEFORE_WRITE,
that copies a saved tensor about to be overwritten).

Inside `saved_tensors_hooks(pack_hook, unpack_hook)` every tensor a recorded op keeps for its backward (its saved
inputs and outputs, and a custom Function's save_for_backward) is given to pack_hook when the op is recorded,
and only the packed object is kept; the first time backward (or anything else) reads the node's saved tensors,
unpack_hook turns each packed object back into a tensor. As in PyTorch the hooks are per thread, the innermost
pair applies, and an in-place change of a saved tensor between pack and unpack is still the usual error.

Cost when no hooks are active: none. The recording path is not touched: entering the first hooks context
swaps the two recorder entry points in tritorch._state (which every op call reads anyway) for versions that
record as usual and then pack the new node, and leaving the last one puts the plain recorders back.

What differs from PyTorch: a node's saved tensors are unpacked together, once, on first use (PyTorch calls
unpack_hook on each access); after that the node holds ordinary tensors until backward frees them."""
from __future__ import annotations

import contextlib
import threading


from .. import _state
from ..storage import memory_owner
from ..tensor import Tensor
from . import engine as _engine
from .graph import InputMeta, SavedTensor, modified_message


class _Local(threading.local):
    def __init__(self):
        self.stack = []              # (pack_hook, unpack_hook), innermost last
        self.disabled_message = None  # set by disable_saved_tensors_hooks


_LOCAL = _Local()
_lock = threading.Lock()
_active = 0  # hooks contexts open in any thread: the hooked recorders are installed while > 0
_plain = (_engine.record, _engine.record_small)


class _Packed:
    """A saved tensor as pack_hook returned it, with what unpacking needs: the hook, the tensor's version
    counter and version when packed (to detect in-place changes), and its shape, dtype and device."""

    __slots__ = ("packed", "unpack_hook", "counter", "version", "meta")

    def __init__(self, t: Tensor, hooks):
        # (allow_mutation_on_saved_tensors' pack keeps the value itself: a later write is no error there)
        self.counter, self.meta = t._version, InputMeta(t)
        self.version = None if getattr(hooks[0], "mutation_safe", False) else t._version[0]
        self.packed = hooks[0](t)
        self.unpack_hook = hooks[1]

    def unpack(self) -> Tensor:
        if self.version is not None and self.counter[0] != self.version:
            m = self.meta
            raise RuntimeError(modified_message(m.dtype, m.device, m.shape, self.counter[0], self.version))
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(t).__name__}")
        return t


class HookedOpNode(_engine.OpNodeFull):
    """An OpNode whose saved tensors are packed: any read of them unpacks them all first and makes the node an
    OpNodeFull again (same slots, so the class can be swapped in place)."""

    __slots__ = ()

    def _unpack_all(self) -> None:
        if self._versions is not None:  # the saved inputs themselves sit in _args
            args = tuple(a.unpack() if a.__class__ is _Packed else a for a in self._args)
            self._args = args
            self._versions = tuple(a._version[0] for a in args if a.__class__ is Tensor)
        else:
            unpack_saved(_saved_in(self._args))
        unpack_saved(self._output or ())
        self.__class__ = _engine.OpNodeFull

    def apply(self, grads):
        if not self.freed:
            self._unpack_all()
        return _engine.OpNode.apply(self, grads)

    def release(self):
        self.__class__ = _engine.OpNodeFull
        _engine.OpNode.release(self)

    def __getattribute__(self, name):
        # the properties that read saved tensors (inputs, args, output, meta, input_meta) see them unpacked
        if name in ("inputs", "args", "output", "meta", "input_meta", "_unpacked_args") and not self.freed:
            HookedOpNode._unpack_all(self)
        return object.__getattribute__(self, name)


def _saved_in(args) -> list:
    """The SavedTensors among a node's args (list ops keep them, alone or in tuples)."""
    return [s for a in args for s in (a if a.__class__ is tuple else (a,)) if s.__class__ is SavedTensor]


def pack_saved(saved, node, hooks) -> None:
    """Pack SavedTensors in place: an input's tensor, or an output (re-attached to `node`, as backward sees it)."""
    for s in saved:
        if s.__class__ is not SavedTensor:
            continue
        if s.tensor is not None:
            s.tensor = _Packed(s.tensor, hooks)
        elif s.data is not None:
            s.data = _Packed(s.unpack(node), hooks)


def unpack_saved(saved) -> None:
    for s in saved:
        if s.__class__ is not SavedTensor:
            continue
        if s.tensor.__class__ is _Packed:
            s.tensor = s.tensor.unpack()
        elif s.data.__class__ is _Packed:
            t = s.data.unpack()
            s.data, s.counter, s.version = t._data, t._version, t._version[0]


def _pack_node(node, hooks) -> None:
    if node._versions is not None:
        node._args = tuple(_Packed(a, hooks) if a.__class__ is Tensor else a for a in node._args)
    else:
        pack_saved(_saved_in(node._args), node, hooks)
    pack_saved(node._output or (), node, hooks)
    _engine.full_node(node)  # (sets the slots a plain OpNode leaves to its class defaults)
    node.__class__ = HookedOpNode


def _new_node(result, before):
    first = result[0] if result.__class__ is tuple else result
    node = first.grad_fn if first.__class__ is Tensor else None
    plain = node.__class__ is _engine.OpNode or node.__class__ is _engine.OpNodeFull
    return node if node is not before and plain else None


def _hooked(plain):
    def record(op, args, kwargs, result, meta) -> None:
        stack = _LOCAL.stack
        if not stack:  # hooks are open in another thread only
            return plain(op, args, kwargs, result, meta)
        first = result[0] if result.__class__ is tuple else result
        before = first.grad_fn if first.__class__ is Tensor else None
        plain(op, args, kwargs, result, meta)
        node = _new_node(result, before)
        if node is not None:
            _pack_node(node, stack[-1])
    return record


_HOOKED = (_hooked(_plain[0]), _hooked(_plain[1]))


def current_hooks():
    """This thread's innermost (pack_hook, unpack_hook), or None (custom Functions' save_for_backward reads it)."""
    stack = _LOCAL.stack
    return stack[-1] if stack else None


class saved_tensors_hooks:
    """Context manager: pack_hook(tensor) -> anything when a tensor is saved for backward, unpack_hook(that) ->
    tensor when backward needs it."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        global _active
        if _LOCAL.disabled_message is not None:
            raise RuntimeError(_LOCAL.disabled_message)
        _LOCAL.stack.append((self.pack_hook, self.unpack_hook))
        with _lock:
            _active += 1
            _state.recorder, _state.record_small = _HOOKED
        return self

    def __exit__(self, *exc):
        global _active
        _LOCAL.stack.pop()
        with _lock:
            _active -= 1
            if _active == 0:
                _state.recorder, _state.record_small = _plain


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors wait for backward in cpu memory and go back to their device when it needs them."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack(t: Tensor):
            # a copy even of a cpu tensor, as PyTorch makes: a later in-place change must not reach the saved value
            return t.device, (t.cpu() if t.device.type != "cpu" else t.clone())

        def unpack(packed) -> Tensor:
            device, t = packed
            return t.to(device, non_blocking=pin_memory)

        super().__init__(pack, unpack)


class _SavedValue:
    """A tensor saved under allow_mutation_on_saved_tensors, and the copy of it made before a write."""

    __slots__ = ("tensor", "copy", "context")

    def __init__(self, tensor: Tensor, context):
        self.tensor, self.copy, self.context = tensor, None, context


class _MutationContext:
    """The saved tensors of one allow_mutation_on_saved_tensors block, by the memory they live in."""

    def __init__(self):
        self.by_storage: dict = {}
        self.open = True

    def pack(self, t: Tensor) -> _SavedValue:
        saved = _SavedValue(t, self)
        self.by_storage.setdefault(id(memory_owner(t._data)), []).append(saved)
        return saved

    @staticmethod
    def unpack(saved: _SavedValue) -> Tensor:
        if not saved.context.open:
            raise AssertionError("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context in which "
                               "the graph was originally recorded.")
        return saved.copy if saved.copy is not None else saved.tensor

    def before_write(self, t: Tensor) -> None:
        """Copy every saved tensor that lives in t's memory, before t is written."""
        for saved in self.by_storage.get(id(memory_owner(t._data)), ()):
            if saved.copy is None:
                from .grad_mode import no_grad
                with no_grad():
                    saved.copy = saved.tensor.detach().clone()


_MUTATION_OPEN = []


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """torch.autograd.graph.allow_mutation_on_saved_tensors: inside, a tensor saved for backward may be written in
    place; it is copied just before the first write, and backward (which must run inside the block) uses the copy.
    The copies are made only for tensors actually written."""
    if _MUTATION_OPEN:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    context = _MutationContext()

    def pack(t):
        return context.pack(t)
    pack.mutation_safe = True
    _MUTATION_OPEN.append(context)
    _state.BEFORE_WRITE.append(context.before_write)
    try:
        with saved_tensors_hooks(pack, _MutationContext.unpack):
            yield context
    finally:
        _state.BEFORE_WRITE.remove(context.before_write)
        _MUTATION_OPEN.pop()
        context.open = False
        context.by_storage.clear()


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Inside, entering saved_tensors_hooks (or save_on_cpu) raises RuntimeError(error_message)."""
    previous = _LOCAL.disabled_message
    _LOCAL.disabled_message = error_message
    try:
        yield
    finally:
        _LOCAL.disabled_message = previous
