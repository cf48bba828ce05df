"""Activation checkpointing (torch.utils.checkpoint): run a piece of the model without keeping its
intermediate activations, and run it again during backward to get them.

`checkpoint(fn, *args)` runs fn under no_grad in the forward pass (only its inputs are kept) and, when the
gradient reaches its outputs, re-runs fn with grad enabled from the same random state (so dropout masks repeat)
and backpropagates through that recomputation. Memory goes from every activation of fn to its inputs and
outputs, for one extra forward of fn.
"""
from __future__ import annotations

import warnings

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _tt():
    import tritorch
    return tritorch


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        tt = _tt()
        ctx.run_function = run_function
        ctx.rng_state = tt.get_rng_state() if preserve_rng_state else None
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with grad_mode.no_grad():
            outputs = run_function(*args)
        return outputs

    @staticmethod
    def backward(ctx, *grad_outputs):
        tt = _tt()
        args = list(ctx.inputs)
        for pos, t in zip(ctx.tensor_positions, ctx.saved_tensors):
            detached = t.detach()
            detached.requires_grad_(t.requires_grad)
            args[pos] = detached
        current = tt.get_rng_state() if ctx.rng_state is not None else None
        if ctx.rng_state is not None:
            tt.set_rng_state(ctx.rng_state)
        try:
            with grad_mode.enable_grad():
                outputs = ctx.run_function(*args)
        finally:
            if current is not None:
                tt.set_rng_state(current)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            tt.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        grads = tuple(a.grad if isinstance(a, Tensor) else None for a in args)
        return (None, None) + grads


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state: bool = True, **kwargs):
    """function(*args), recomputed during backward instead of keeping its activations. Gradients reach the
    tensor arguments that require grad and the parameters function uses."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "tritorch recomputes in backward either way.", stacklevel=2)
    if kwargs:
        fn = function

        def function(*a):
            return fn(*a, **kwargs)
    if not grad_mode.is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        # nothing to recompute for (no grad), or no tensor input that requires grad: a recorded node could not
        # route gradients to the parameters fn uses, so fn runs plainly (gradients right, no memory saved)
        return function(*args)
    return _CheckpointFunction.apply(function, preserve_rng_state, *args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):
    """Run an nn.Sequential (or a list of modules) in `segments` checkpointed chunks (the last one plainly)."""
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)

    def run(start, end):
        def forward(x):
            for m in modules[start:end + 1]:
                x = m(x)
            return x
        return forward

    size = len(modules) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(modules) - 1)(input)
