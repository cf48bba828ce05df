"""Module full backward hooks: identity Functions around a module call catch the gradients of its outputs (for
backward pre-hooks, and to hand to the hooks) and of its inputs (for register_full_backward_hook), as PyTorch's
BackwardHook does. The identities clone their tensors, so in-place ops inside the module stay legal."""
from __future__ import annotations

from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor


class _State:
    __slots__ = ("module", "n_inputs", "grad_outputs", "inputs_need_grad")

    def __init__(self, module, n_inputs: int, inputs_need_grad: bool):
        self.module, self.n_inputs, self.inputs_need_grad = module, n_inputs, inputs_need_grad
        self.grad_outputs = None


def _run_full_hooks(state: _State, grad_input: tuple) -> tuple:
    from .module import _global_backward_hooks
    for hook in list(_global_backward_hooks.values()) + list(state.module._backward_hooks.values()):
        result = hook(state.module, grad_input, state.grad_outputs)
        if result is not None:
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(result)}, but "
                                   f"expected {len(grad_input)}")
            grad_input = result
    return grad_input


class _Identity(Function):
    """Copies of its tensors; subclasses decide what the gradients go through on the way back."""

    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.clone() for t in tensors)


class _OutputsHook(_Identity):
    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        from .module import _global_backward_pre_hooks
        for hook in list(_global_backward_pre_hooks.values()) + list(state.module._backward_pre_hooks.values()):
            result = hook(state.module, grads)
            if result is not None:
                grads = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        state.grad_outputs = grads
        if not state.inputs_need_grad:   # no input gradient will come: the hooks see None for each input
            _run_full_hooks(state, (None,) * state.n_inputs)
        return (None,) + tuple(grads)


class _InputsHook(_Identity):
    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(_run_full_hooks(ctx.state, grads))


def _wrap(fn, state, values):
    """values with their tensors replaced by fn's identity outputs (a tuple, or a single value)."""
    single = not isinstance(values, tuple)
    values = (values,) if single else values
    positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
    if not positions:
        return values[0] if single else values
    outs = fn.apply(state, *[values[i] for i in positions])
    outs = outs if isinstance(outs, tuple) else (outs,)
    values = list(values)
    for i, o in zip(positions, outs):
        values[i] = o
    return values[0] if single else tuple(values)


def call_with_backward_hooks(module, call, args, kwargs):
    if not grad_mode.is_grad_enabled():
        return call(*args, **kwargs)
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    needs = any(a.requires_grad for a in tensor_args)
    state = _State(module, len(tensor_args), needs)
    from .module import _global_backward_hooks
    if needs and (module._backward_hooks or _global_backward_hooks):
        args = _wrap(_InputsHook, state, tuple(args))
    result = call(*args, **kwargs)
    return _wrap(_OutputsHook, state, result)
