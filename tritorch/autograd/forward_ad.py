"""torch.autograd.forward_ad: forward-mode AD with dual tensors.

    with dual_level():
        x = make_dual(primal, tangent)
        y = f(x)
        jvp = unpack_dual(y).tangent     # J_f(primal) @ tangent

How: while a dual level is open, the profiler's dispatch hooks (profiler/_hooks.py) report every registered op
call to a session that, for a call with an input carrying a tangent, computes the output's tangent after the
call: it runs the op again under grad mode from the same inputs (pre-write copies for an in-place or out= call,
the random generators' state of the call) and differentiates its vjp with respect to the cotangent (the
double-vjp trick: J t = d/du <J^T u, t>). Backward rules are written in registered ops, so this works for every
differentiable op, on every device, and tangents are themselves differentiable (reverse over forward). Only the
outermost op call with dual inputs computes (an op made of other registered ops is not differentiated twice);
code that is not registered ops (Python composites, custom Functions' forwards) propagates tangents through the
registered ops it calls. Costs about two extra forward-and-backward passes per dual op call.

As in PyTorch: one level at a time; tangents live in the level (None after it closes); detach() and factories
(zeros_like, ...) drop them; an in-place op on a dual tensor updates its tangent. Not supported (an error, never
a silent stale tangent): an in-place write into a view of a dual tensor, and opening a level while a profiler or
FlopCounterMode runs (they use the same hooks).
"""
from __future__ import annotations

import contextlib
import threading
from typing import NamedTuple

from .._session import ObservingSession
from ..tensor import Tensor
from . import grad_mode

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]

_KEY = "fw_grad"          # a dual tensor's _extra entry: (level, tangent)
_ROOT = "fw_dual_root"    # make_dual's result: the level it was made in
_LEVEL = [None]           # the open level's number, or None
_NEXT = [0]
_SESSION = [None]


class _Local(threading.local):
    busy = False          # computing a tangent (or making a dual): the op calls inside are not differentiated


_LOCAL = _Local()


@contextlib.contextmanager
def _quiet():
    prev, _LOCAL.busy = _LOCAL.busy, True
    try:
        yield
    finally:
        _LOCAL.busy = prev


def _tangent(t):
    """The tangent of a tensor in the open level, or None."""
    extra = t._extra if t.__class__ is Tensor or isinstance(t, Tensor) else None
    if not extra:
        return None
    entry = extra.get(_KEY)
    return entry[1] if entry is not None and entry[0] == _LEVEL[0] else None


def _set_tangent(t: Tensor, tangent: Tensor) -> None:
    extra = t._extra if t._extra is not None else {}
    extra[_KEY] = (_LEVEL[0], tangent)
    t._extra = extra


def _tensors(args):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, Tensor))


# ---------------------------------------------------------------------------------------------- the session

class _Call:
    __slots__ = ("op", "args", "kwargs", "out", "active", "before", "rng")

    def __init__(self, op, args, kwargs, out):
        self.op, self.args, self.kwargs, self.out = op, args, kwargs, out
        self.active = False
        self.before = None
        self.rng = None


def _generators(kwargs) -> list:
    from ..ops.random import Generator, default_generator
    return [default_generator] + [v for v in (kwargs or {}).values() if isinstance(v, Generator)]


def _same_memory(a: Tensor, b: Tensor) -> bool:
    return a is b or (a._base if a._base is not None else a) is (b._base if b._base is not None else b)


class _DualSession(ObservingSession):
    """Computes tangents on the profiler's hooks (profiler/_hooks.py): see the module docstring."""

    def begin(self, stack, op, args, kwargs, out) -> _Call:
        call = _Call(op, args, kwargs, out)
        if (op is not None and hasattr(op, "impl") and not _LOCAL.busy and not any(c.active for c in stack)
                and any(_tangent(t) is not None for t in _tensors(args))):
            call.active = True
            if out is not None:
                for t in _tensors((out,)):
                    # a write into a view would leave the tangents of the other views of its base stale (a dual
                    # tensor from make_dual is a view of its primal, but the only one that carries a tangent)
                    if t._base is not None and not (t._extra and t._extra.get(_ROOT) == _LEVEL[0]):
                        raise RuntimeError("forward AD: an in-place or out= write into a view, with dual inputs, "
                                           "is not supported; write into the dual tensor itself, or use an "
                                           "out-of-place op")
                with _quiet():   # the inputs as they are before the call writes into `out`
                    call.before = {id(a): a.clone() for a in _tensors(args)
                                   if any(_same_memory(a, o) for o in _tensors((out,)))}
            call.rng = [(g, g.get_offset()) for g in _generators(kwargs)]
        return call

    def end(self, call: _Call, result) -> None:
        if call.active:
            _attach_tangents(call, result)


def _attach_tangents(call: _Call, result) -> None:
    """Run the call again under grad mode and give each floating output of `result` its tangent J t."""
    from ..ops.creation import zeros_like
    from .tensor_methods import grad as autograd_grad
    outs = result if isinstance(result, (tuple, list)) else (result,)
    before = call.before or {}
    inputs = list(_tensors(call.args))
    # the tangents get a graph of their own (reverse over forward) only when grad mode is on and a primal or a
    # tangent requires grad; otherwise the inputs are differentiated as detached copies
    higher = grad_mode.STATE.enabled and any(a.requires_grad or (_tangent(a) is not None and
                                                                 _tangent(a).requires_grad) for a in inputs)
    stand_ins, duals, tangents = {}, [], []
    for a in inputs:
        if id(a) in stand_ins:
            continue     # one stand-in per tensor (mul(x, x) differentiates x once)
        value = before.get(id(a), a)
        t = _tangent(a)
        if t is not None:
            value = value if higher and value.requires_grad else value.detach().requires_grad_(True)
            duals.append(value)
            tangents.append(t)
        elif not higher:
            value = value.detach()
        stand_ins[id(a)] = value

    def swap(a):
        if isinstance(a, Tensor):
            return stand_ins[id(a)]
        if isinstance(a, (list, tuple)):
            return type(a)(stand_ins[id(x)] if isinstance(x, Tensor) else x for x in a)
        return a

    with _quiet(), grad_mode.enable_grad():
        after = [(g, g.get_offset()) for g, _ in call.rng]
        for g, offset in call.rng:          # the same random numbers as the call drew
            g.set_offset(offset)
        try:
            again = call.op(*[swap(a) for a in call.args], **(call.kwargs or {}))
        finally:
            for g, offset in after:
                g.set_offset(offset)
        again = again if isinstance(again, (tuple, list)) else (again,)
        pairs = [(o, r) for o, r in zip(again, outs) if isinstance(o, Tensor) and isinstance(r, Tensor)
                 and o.requires_grad and o.dtype.is_floating_point]
        if not pairs:
            return
        cotangents = [zeros_like(o).requires_grad_(True) for o, _ in pairs]
        grads = autograd_grad([o for o, _ in pairs], duals, cotangents, create_graph=True, allow_unused=True)
        terms = [(g * t).sum() for g, t in zip(grads, tangents) if g is not None]
        if not terms:
            return
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        jvps = autograd_grad(total, cotangents, allow_unused=True, create_graph=higher)
    for (_, r), jvp, u in zip(pairs, jvps, cotangents):
        _set_tangent(r, jvp if jvp is not None else zeros_like(u).detach())


# -------------------------------------------------------------------------------------------------- the API

def enter_dual_level() -> int:
    """Open a forward-AD level (only one at a time) and return its number."""
    if _LEVEL[0] is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    from ..profiler import _hooks
    session = _DualSession()
    _hooks.install(session)
    _SESSION[0] = session
    _LEVEL[0] = _NEXT[0]
    _NEXT[0] += 1
    return _LEVEL[0]


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the level: the tangents of its dual tensors are gone."""
    if _LEVEL[0] is None:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    if level is not None and level != _LEVEL[0]:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    from ..profiler import _hooks
    _hooks.uninstall(_SESSION[0])
    _SESSION[0] = None
    _LEVEL[0] = None


class dual_level(contextlib.ContextDecorator):
    """with dual_level(): ... (or as a decorator): a forward-AD level for the block."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of `tensor` carrying `tangent` (same shape; a floating primal) in the open level."""
    if level is None:
        level = _LEVEL[0]
    if level is None:
        raise RuntimeError("To create a dual Tensor, you must first enter a dual level using "
                           "forward_ad.dual_level() or forward_ad.enter_dual_level().")
    if level != _LEVEL[0]:
        raise RuntimeError(f"Trying to use forward AD level {level} which is not the current level")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual: expected the primal and the tangent to be tensors")
    if not tensor.dtype.is_floating_point:
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not tangent.dtype.is_floating_point:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"Expected tangent to be on the primal's device {tensor.device}, but got {tangent.device}")
    with _quiet():
        dual = tensor.view_as(tensor)
    _set_tangent(dual, tangent)
    dual._extra[_ROOT] = level
    return dual


class UnpackedDualTensor(NamedTuple):
    """unpack_dual's result: the primal (a view without the tangent) and the tangent (None if there is none)."""

    primal: Tensor
    tangent: Tensor | None


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    if level is None:
        level = _LEVEL[0]
    if level is None or level != _LEVEL[0]:
        return UnpackedDualTensor(tensor, None)
    t = _tangent(tensor)
    if t is None:
        return UnpackedDualTensor(tensor, None)
    with _quiet():
        primal = tensor.view_as(tensor)
    return UnpackedDualTensor(primal, t)
