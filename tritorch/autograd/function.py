"""Custom autograd ops: `Function` with forward(ctx, ...) / backward(ctx, ...), used through `.apply`."""
from __future__ import annotations

import functools
import inspect

from ..tensor import Tensor
from . import forward_ad, grad_mode, saved_hooks
from .graph import InputMeta, Node, SavedTensor, edge_of


class FunctionCtx:
    """The `ctx` of a custom Function: save tensors, mark outputs, read which inputs need grad."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self._non_differentiable = set()
        self._node = None
        self._materialize = True
        self._packed = False  # saved tensors packed by saved_tensors_hooks, unpacked on first read

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Tensors for the Function's jvp (forward AD), read there through saved_tensors."""
        self._to_save_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        node = self._node
        if node is not None and node.freed:
            from .graph import _FREED
            raise RuntimeError(_FREED)
        if self._packed:
            saved_hooks.unpack_saved(self._saved)
            self._packed = False
        return tuple(s.unpack(node) if isinstance(s, SavedTensor) else s for s in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = value

    def release(self) -> None:
        self._saved = ()


class _FunctionOp:
    """Adapts a Function subclass to the engine's node interface."""

    def __init__(self, fn_cls):
        self.fn_cls = fn_cls
        self.name = fn_cls.__name__
        self.backward_name = f"{fn_cls.__name__}Backward"

    def vjp(self, ctx, *grads):
        if ctx._materialize:
            from ..ops.creation import zeros
            grads = tuple(zeros(*m.shape, dtype=m.dtype, device=m.device) if g is None else g
                          for g, m in zip(grads, ctx._out_meta))
        result = self.fn_cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(ctx._input_is_tensor)
        if len(result) < n:
            raise RuntimeError(f"function {self.backward_name} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        # keep the gradients of tensor inputs only (the engine's edges are per tensor input)
        return tuple(g for g, is_t in zip(result, ctx._input_is_tensor) if is_t)


class FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._op = _FunctionOp(cls)


class Function(metaclass=FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`; call `MyFn.apply(*args)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, ...) to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        if getattr(cls, "setup_context", None) is not None:
            # forward(*inputs) without ctx, then setup_context(ctx, inputs, output) (PyTorch 2's form): the
            # inputs are the call's arguments bound to forward's parameters, defaults included
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        tensors = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        jvp = getattr(cls, "jvp", None)
        if jvp is not None and forward_ad._LEVEL[0] is not None and any(
                forward_ad._tangent(t) is not None for t in tensors):
            out = _apply_with_jvp(cls, ctx, jvp, args, kwargs)
        else:
            with grad_mode.no_grad():
                out = _forward(cls, ctx, args, kwargs)
        record = grad_mode.STATE.enabled and any(t._requires_grad for t in tensors)
        outs = out if isinstance(out, tuple) else (out,)
        to_save = getattr(ctx, "_to_save", ())
        if not record:
            ctx._saved = to_save
            return out
        out_ids = {id(o): i for i, o in enumerate(outs)}
        ctx._saved = tuple(SavedTensor(t, is_output=id(t) in out_ids, out_index=out_ids.get(id(t), 0))
                           if isinstance(t, Tensor) else t for t in to_save)
        ctx._input_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        ctx._out_meta = ctx.out_meta = tuple(InputMeta(o) for o in outs)
        node = Node(cls._op, ctx, tuple(edge_of(t) for t in tensors), tuple(InputMeta(t) for t in tensors),
                    n_outputs=len(outs))
        ctx._node = node
        hooks = saved_hooks.current_hooks()
        if hooks is not None:
            saved_hooks.pack_saved(ctx._saved, node, hooks)
            ctx._packed = True
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and o.dtype.kind >= 2 and id(o) not in ctx._non_differentiable:
                if any(o is t for t in tensors):
                    raise RuntimeError("a Function's forward returned one of its inputs unchanged; return a view or "
                                       "a copy (x.clone()) instead")
                o.grad_fn = node
                o._requires_grad = True
                if i:
                    o._extra = {"output_nr": i}
        return out


def _forward(cls, ctx, args, kwargs):
    """The Function's forward, in either of its forms: forward(ctx, *args), or forward(*args) followed by
    setup_context(ctx, inputs, output)."""
    setup = getattr(cls, "setup_context", None)
    if setup is None:
        return cls.forward(ctx, *args, **kwargs)
    out = cls.forward(*args, **kwargs)
    setup(ctx, tuple(args), out)
    return out


def _apply_with_jvp(cls, ctx, jvp, args, kwargs):
    """forward, then the Function's own jvp(ctx, *input_tangents) -> output tangents (forward AD): the ops inside
    forward are not differentiated. An input without a tangent gets zeros, as PyTorch materializes them."""
    from ..ops.creation import zeros_like
    with grad_mode.no_grad(), forward_ad._quiet():
        out = _forward(cls, ctx, args, kwargs)
        tangents = [(forward_ad._tangent(a) if forward_ad._tangent(a) is not None else zeros_like(a))
                    if isinstance(a, Tensor) else None for a in args]
        ctx._saved = getattr(ctx, "_to_save_forward", None) or getattr(ctx, "_to_save", ())   # (for jvp only)
        out_tangents = jvp(ctx, *tangents)
        ctx._saved = ()
    outs = out if isinstance(out, tuple) else (out,)
    out_tangents = out_tangents if isinstance(out_tangents, tuple) else (out_tangents,)
    if len(out_tangents) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(out_tangents)} tangents for {len(outs)} outputs")
    for o, t in zip(outs, out_tangents):
        if isinstance(o, Tensor) and t is not None:
            if tuple(t.shape) != tuple(o.shape):
                raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape {list(t.shape)} for an output "
                                   f"of shape {list(o.shape)}")
            forward_ad._set_tangent(o, t)
    return out


def once_differentiable(backward_fn):
    """Decorate a Function's backward that cannot itself be differentiated: it runs without recording."""

    @functools.wraps(backward_fn)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            result = backward_fn(ctx, *grads)
        return result

    return wrapper
