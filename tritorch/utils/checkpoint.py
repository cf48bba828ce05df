"""Activation checkpointing (torch.utils.checkpoint): run a piece of the model without keeping its
intermediate activations, and run it again during backward to get them.

Two variants, as in PyTorch:
- use_reentrant=False (recommended): fn runs with grad enabled inside saved_tensors_hooks whose pack hook keeps
  only a ticket per saved tensor (plus its shape, dtype and device). The first time backward needs one, fn is run
  again from the same random state (so dropout masks repeat) and autocast state, collecting the tensors its ops
  save in the same order, and each ticket is answered from that run. The graph is the ordinary one, so
  parameters get their gradients whether or not an input requires grad, and autograd.grad works. The
  recomputation stops once every ticket is answered (early_stop) and its results are checked against the
  forward's metadata (determinism_check="default"); with debug the error lists the ops that made the saved
  tensors in both runs.
- use_reentrant=True: fn runs under no_grad inside a custom Function that keeps only its inputs; its backward
  re-runs fn with grad enabled and backpropagates through that, accumulating into the .grad of what fn used.
Memory goes from every activation of fn to its inputs and outputs, for one extra forward of fn.
"""
from __future__ import annotations

import contextlib
import warnings

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.saved_hooks import saved_tensors_hooks
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "check_backward_validity",
           "detach_variable", "get_device_states", "set_device_states", "noop_context_fn", "set_checkpoint_early_stop",
           "DefaultDeviceType", "set_checkpoint_debug_enabled"]


def _tt():
    import tritorch
    return tritorch


class CheckpointError(RuntimeError):
    """The recomputation of a checkpointed function did not reproduce what its forward saved."""


def noop_context_fn():
    """The default context_fn: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


_EARLY_STOP = [None]   # set_checkpoint_early_stop's override (None: each call's early_stop argument)
_DEBUG = [None]


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Inside, non-reentrant checkpoints made here stop (or, with False, do not stop) their recomputation once
    every needed tensor is recomputed, whatever their early_stop argument says."""
    previous = _EARLY_STOP[0]
    _EARLY_STOP[0] = enable
    try:
        yield
    finally:
        _EARLY_STOP[0] = previous


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None):
    """Inside, checkpoints use this debug setting whatever their debug argument says (None: theirs)."""
    previous = _DEBUG[0]
    _DEBUG[0] = enabled
    try:
        yield
    finally:
        _DEBUG[0] = previous


class DefaultDeviceType:
    """The device type whose random state checkpoint saves when no tensor argument says (default "cuda")."""

    _default_device_type = "cuda"

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        return DefaultDeviceType._default_device_type


def detach_variable(inputs: tuple) -> tuple:
    """Each tensor of the tuple detached, keeping its requires_grad; other values as they are."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            d = x.detach()
            d.requires_grad_(x.requires_grad)
            x = d
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    if not any(x.requires_grad for x in inputs if isinstance(x, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


def get_device_states(*args) -> tuple:
    """([device index], [random state]) for the cuda devices of the tensor arguments. tritorch has one generator
    for every device, so a state is that generator's."""
    tt = _tt()
    ids = sorted({a.device.index or 0 for a in args if isinstance(a, Tensor) and a.device.type == "cuda"})
    return ids, [tt.cuda.get_rng_state(i) for i in ids]


def set_device_states(devices, states, *, device_type=None) -> None:
    tt = _tt()
    if (device_type or DefaultDeviceType.get_device_type()) == "meta":
        return
    for device, state in zip(devices, states):
        tt.cuda.set_rng_state(state, device)


def _autocast_state():
    tt = _tt()
    return {d: (tt.is_autocast_enabled(d), tt.get_autocast_dtype(d)) for d in ("cpu", "cuda")}


@contextlib.contextmanager
def _replay(rng_state, autocast_state):
    """The forward's random state and autocast regions, for the recomputation (the caller's restored after)."""
    tt = _tt()
    current = tt.get_rng_state() if rng_state is not None else None
    if rng_state is not None:
        tt.set_rng_state(rng_state)
    try:
        with contextlib.ExitStack() as stack:
            for device, (enabled, dtype) in autocast_state.items():
                stack.enter_context(tt.autocast(device, dtype=dtype, enabled=enabled))
            yield
    finally:
        if current is not None:
            tt.set_rng_state(current)


# ============================================================================================ reentrant

class CheckpointFunction(Function):
    """The reentrant checkpoint: CheckpointFunction.apply(run_function, preserve_rng_state, *args)."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        tt = _tt()
        ctx.run_function = run_function
        ctx.rng_state = tt.get_rng_state() if preserve_rng_state else None
        ctx.autocast_state = _autocast_state()
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with grad_mode.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grad_outputs):
        tt = _tt()
        args = list(ctx.inputs)
        for pos, t in zip(ctx.tensor_positions, detach_variable(tuple(ctx.saved_tensors))):
            args[pos] = t
        with _replay(ctx.rng_state, ctx.autocast_state), grad_mode.enable_grad():
            outputs = ctx.run_function(*args)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        tt.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        grads = tuple(a.grad if isinstance(a, Tensor) else None for a in args)
        return (None, None) + grads


# ======================================================================================== non-reentrant

class _StopRecomputation(Exception):
    pass


def _maker(t: Tensor) -> str:
    return t.grad_fn.name() if t.grad_fn is not None else "input"


class _Frame:
    """One non-reentrant checkpoint call: how to rerun it, the forward's saved-tensor metadata, and the tensors
    the recomputation gave back (each handed out once)."""

    def __init__(self, run, rng_state, autocast_state, recompute_context, check, early_stop, debug):
        self.run, self.rng_state, self.autocast_state = run, rng_state, autocast_state
        self.recompute_context, self.check, self.early_stop, self.debug = recompute_context, check, early_stop, debug
        self.metas = []
        self.trace = []   # debug: the op that made each saved tensor (its grad_fn; "input" for a leaf or input)
        self.recomputed = None

    def pack(self, t: Tensor):
        self.metas.append((tuple(t.shape), t.dtype, t.device))
        if self.debug:
            self.trace.append(_maker(t))
        return self, len(self.metas) - 1

    def recompute(self) -> None:
        got, trace = [], []
        wanted = len(self.metas)

        def collect(t):
            got.append(t)
            if self.debug:
                trace.append(_maker(t))
            if self.early_stop and len(got) == wanted:
                raise _StopRecomputation
            return None

        def never(_):
            raise CheckpointError("torch.utils.checkpoint: a tensor saved during the recomputation was unpacked")

        try:
            with _replay(self.rng_state, self.autocast_state), self.recompute_context, grad_mode.enable_grad(), \
                    saved_tensors_hooks(collect, never):
                self.run()
        except _StopRecomputation:
            pass
        if self.check:
            try:
                self._check(got)
            except CheckpointError as e:
                if not self.debug:
                    raise
                raise CheckpointError(f"{e}\n\nOps that made the saved tensors, original forward:\n"
                                      f"{', '.join(self.trace)}\nrecomputation:\n{', '.join(trace)}") from None
        self.recomputed = got

    def _check(self, got) -> None:
        if len(got) < len(self.metas):
            raise CheckpointError(f"torch.utils.checkpoint: A different number of tensors was saved during the "
                                  f"original forward and recomputation.\nNumber of tensors saved during forward: "
                                  f"{len(self.metas)}\nNumber of tensors saved during recomputation: {len(got)}")
        bad = [f"tensor at position {i}:\nsaved metadata: {dict(zip(('shape', 'dtype', 'device'), m))}\n"
               f"recomputed metadata: {dict(zip(('shape', 'dtype', 'device'), (tuple(t.shape), t.dtype, t.device)))}"
               for i, (m, t) in enumerate(zip(self.metas, got)) if m != (tuple(t.shape), t.dtype, t.device)]
        if bad:
            raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                  "different metadata than during the forward pass.\n" + "\n".join(bad))

    @staticmethod
    def unpack(ticket) -> Tensor:
        frame, index = ticket
        if frame.recomputed is None:
            frame.recompute()
        t = frame.recomputed[index]
        if t is None:
            raise CheckpointError("torch.utils.checkpoint: Unpack is being triggered for a tensor that was already "
                                  "unpacked once. If you are calling ctx.saved_tensors in backward, make sure to do "
                                  "so only once. Otherwise please open an issue with details on your use case.")
        frame.recomputed[index] = None   # each saved tensor is read once: let it go after
        return t


def _without_reentrant(function, preserve, context_fn, determinism_check, debug, early_stop, args, kwargs):
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    tt = _tt()
    forward_context, recompute_context = context_fn()
    stop = early_stop if _EARLY_STOP[0] is None else _EARLY_STOP[0]
    debug = debug if _DEBUG[0] is None else _DEBUG[0]
    frame = _Frame(lambda: function(*args, **kwargs), tt.get_rng_state() if preserve else None, _autocast_state(),
                   recompute_context, determinism_check == "default", stop, debug)
    with forward_context, saved_tensors_hooks(frame.pack, _Frame.unpack):
        return function(*args, **kwargs)


def _reentrant_default(use_reentrant, first: str) -> bool:
    """use_reentrant, or PyTorch's default (True) with its warning when None."""
    if use_reentrant is None:
        warnings.warn(first + " use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the differences "
                      "between the two variants.", stacklevel=3)
        return True
    return use_reentrant


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True, **kwargs):
    """function(*args, **kwargs), recomputed during backward instead of keeping its activations (see the module
    docstring for the two variants; use_reentrant=None warns and takes the reentrant one, as PyTorch does)."""
    use_reentrant = _reentrant_default(use_reentrant, "torch.utils.checkpoint: the use_reentrant parameter should "
                                       "be passed explicitly. Starting in PyTorch 2.9, calling checkpoint without "
                                       "use_reentrant will raise an exception.")
    preserve = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    if not grad_mode.is_grad_enabled():
        forward_context, _ = context_fn()
        with forward_context:
            return function(*args, **kwargs)   # nothing will be saved for backward: nothing to recompute
    return _without_reentrant(function, preserve, context_fn, determinism_check, debug, early_stop, args, kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):
    """Run an nn.Sequential (or a list of modules) in `segments` checkpointed chunks (the last one plainly)."""
    use_reentrant = _reentrant_default(use_reentrant, "torch.utils.checkpoint.checkpoint_sequential: the "
                                       "use_reentrant parameter should be passed explicitly. In version 2.9 we will "
                                       "raise an exception if use_reentrant is not passed.")
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
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
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(modules) - 1)(input)
