"""torch._C, PyTorch's C extension, as far as library code reads it by name: the device-properties class (timm
looks it up with getattr), the tensor classes' metaclass, the TorchScript IR's class names for annotations
(Graph, Value), the reader of PyTorch's zip checkpoints, _nn._parse_to, the tracing state (None: nothing is
traced), the API-usage log call (no telemetry), and the dispatcher's key names and key sets with their
exclude/include guards (torchvision builds a set of the autocast keys at import). Anything else is absent
(AttributeError), as for a name a given PyTorch build lacks.

tritorch has no dispatcher: its ops go through one registry that handles autograd, autocast and the meta device
itself. So DispatchKeySet is plain set arithmetic over DispatchKey names, and the guards only act on the autocast
keys: excluding AutocastCPU / AutocastCUDA turns that device's autocast off inside the block (what excluding the key
does to every op in PyTorch); other keys are accepted and change nothing."""
from __future__ import annotations

import contextlib
import enum
import types

from ._torch_checkpoint import PyTorchFileReader
from .cuda._device import _CudaDeviceProperties

__all__ = ["Graph", "Value", "PyTorchFileReader", "_CudaDeviceProperties", "_nn", "_TensorMeta",
           "_get_tracing_state", "_log_api_usage_once", "DispatchKey", "DispatchKeySet", "_ExcludeDispatchKeyGuard",
           "_IncludeDispatchKeyGuard", "DisableTorchFunctionSubclass", "DisableTorchFunction",
           "_is_torch_function_enabled", "_disabled_torch_function_impl"]

# The metaclass of PyTorch's tensor classes (libraries name it in annotations of Tensor subclasses); tritorch's
# Tensor is an ordinary class, so its metaclass is type.
_TensorMeta = type


class Graph:
    """TorchScript's IR graph. tritorch has no TorchScript IR: the class exists for the annotations of ONNX
    `symbolic(g: torch._C.Graph, ...)` methods (transformers' SEW-D, DeBERTa), which Python evaluates at import."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("torch._C.Graph: tritorch has no TorchScript IR")


class Value:
    """A value of TorchScript's IR graph (see Graph): a name for annotations only."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("torch._C.Value: tritorch has no TorchScript IR")

# The dispatch keys library code names (backends, their autograd and autocast keys, the aliases kernels register
# under). The numbers are tritorch's own: only the names mean anything.
DispatchKey = enum.Enum("DispatchKey", [
    "Undefined", "CPU", "CUDA", "HIP", "XLA", "MPS", "IPU", "XPU", "HPU", "VE", "Lazy", "MTIA", "Meta",
    "PrivateUse1", "QuantizedCPU", "QuantizedCUDA", "SparseCPU", "SparseCUDA", "SparseCsrCPU", "SparseCsrCUDA",
    "NestedTensorCPU", "NestedTensorCUDA", "BackendSelect", "Python", "Fake", "FuncTorchDynamicLayerBackMode",
    "Functionalize", "Named", "Conjugate", "Negative", "ZeroTensor", "ADInplaceOrView", "AutogradOther",
    "AutogradCPU", "AutogradCUDA", "AutogradXLA", "AutogradMPS", "AutogradXPU", "AutogradHPU", "AutogradLazy",
    "AutogradMeta", "AutogradMTIA", "AutogradPrivateUse1", "AutogradNestedTensor", "Tracer", "AutocastCPU",
    "AutocastCUDA", "AutocastXPU", "AutocastMPS", "AutocastHPU", "AutocastXLA", "AutocastPrivateUse1",
    "FuncTorchBatched", "BatchedNestedTensor", "FuncTorchVmapMode", "Batched", "VmapMode",
    "FuncTorchGradWrapper", "DeferredInit", "PythonTLSSnapshot", "FuncTorchDynamicLayerFrontMode",
    "TESTING_ONLY_GenericWrapper", "TESTING_ONLY_GenericMode", "PreDispatch", "PythonDispatcher",
    "EndOfFunctionalityKeys",
    "Autograd", "CompositeImplicitAutograd", "FuncTorchBatchedDecomposition", "CompositeImplicitAutogradNestedTensor",
    "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional",
], module=__name__)
DispatchKey.__repr__ = lambda self: f"<DispatchKey.{self.name}: {self.value}>"


class DispatchKeySet:
    """A set of DispatchKeys: DispatchKeySet(key), combined with | & -, asked with has()."""

    __slots__ = ("_keys",)

    def __init__(self, key):
        if isinstance(key, DispatchKeySet):
            self._keys = key._keys
        elif key is DispatchKey.Undefined:
            self._keys = frozenset()
        elif isinstance(key, DispatchKey):
            self._keys = frozenset((key,))
        else:
            raise TypeError(f"DispatchKeySet(): expected a DispatchKey, got {type(key).__name__}")

    @classmethod
    def _of(cls, keys) -> "DispatchKeySet":
        ks = object.__new__(cls)
        ks._keys = frozenset(keys)
        return ks

    def __or__(self, other):
        return DispatchKeySet._of(self._keys | DispatchKeySet(other)._keys)

    def __and__(self, other):
        return DispatchKeySet._of(self._keys & DispatchKeySet(other)._keys)

    def __sub__(self, other):
        return DispatchKeySet._of(self._keys - DispatchKeySet(other)._keys)

    def __eq__(self, other):
        return isinstance(other, DispatchKeySet) and self._keys == other._keys

    def __hash__(self):
        return hash(self._keys)

    def has(self, key) -> bool:
        return key in self._keys

    def add(self, key) -> "DispatchKeySet":
        return self | key

    def remove(self, key) -> "DispatchKeySet":
        return self - key

    def __iter__(self):
        return iter(sorted(self._keys, key=lambda k: k.value))

    def __repr__(self) -> str:
        return f"DispatchKeySet({', '.join(k.name for k in self)})"


_AUTOCAST_DEVICES = {DispatchKey.AutocastCPU: "cpu", DispatchKey.AutocastCUDA: "cuda"}


class _ExcludeDispatchKeyGuard:
    """with _ExcludeDispatchKeyGuard(keyset): the ops inside skip those keys. Of tritorch's behaviours only
    autocast has a key: excluding AutocastCPU / AutocastCUDA runs the block with that device's autocast off."""

    def __init__(self, keyset):
        self._keyset = DispatchKeySet(keyset)
        self._stack = None

    def __enter__(self):
        from .amp.autocast_mode import autocast, is_autocast_enabled
        self._stack = contextlib.ExitStack()
        for key, device_type in _AUTOCAST_DEVICES.items():
            if self._keyset.has(key) and is_autocast_enabled(device_type):
                self._stack.enter_context(autocast(device_type, enabled=False))
        return self

    def __exit__(self, *exc):
        stack, self._stack = self._stack, None
        return stack.__exit__(*exc)


class _IncludeDispatchKeyGuard:
    """with _IncludeDispatchKeyGuard(keyset): PyTorch adds the keys to those every op dispatches on; tritorch's ops
    have no such keys, so the block runs unchanged."""

    def __init__(self, keyset):
        self._keyset = DispatchKeySet(keyset)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _get_tracing_state():
    """The JIT tracer's state: None (tritorch has no tracer)."""
    return None


def _log_api_usage_once(event: str) -> None:
    """PyTorch logs API use for its telemetry; tritorch records nothing."""


class DisableTorchFunctionSubclass:
    """with DisableTorchFunctionSubclass(): ops inside take Tensor subclass instances as plain tensors and return
    plain tensors, without calling the subclasses' __torch_function__ (active TorchFunctionModes still apply)."""

    def __enter__(self):
        from .ops.registry import _TORCH_FUNCTION_STATE
        _TORCH_FUNCTION_STATE.depth += 1
        return self

    def __exit__(self, *exc):
        from .ops.registry import _TORCH_FUNCTION_STATE
        _TORCH_FUNCTION_STATE.depth -= 1
        return None


class DisableTorchFunction(DisableTorchFunctionSubclass):
    """with DisableTorchFunction(): as DisableTorchFunctionSubclass, and the active TorchFunctionModes are set
    aside too until the block ends."""

    def __enter__(self):
        from .ops.registry import TORCH_FUNCTION_MODES
        self._modes = TORCH_FUNCTION_MODES[:]
        del TORCH_FUNCTION_MODES[:]
        return super().__enter__()

    def __exit__(self, *exc):
        from .ops.registry import TORCH_FUNCTION_MODES
        super().__exit__(*exc)
        TORCH_FUNCTION_MODES[:] = self._modes + TORCH_FUNCTION_MODES
        return None


def _is_torch_function_enabled() -> bool:
    """False inside DisableTorchFunction / DisableTorchFunctionSubclass blocks (and while a subclass's
    __torch_function__ runs the op on plain tensors)."""
    from .ops.registry import _TORCH_FUNCTION_STATE
    return not _TORCH_FUNCTION_STATE.depth


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """`__torch_function__ = torch._C._disabled_torch_function_impl` in a Tensor subclass: its ops run as on plain
    tensors and return plain tensors (the subclass does not propagate)."""
    with DisableTorchFunctionSubclass():
        return func(*args, **({} if kwargs is None else kwargs))


def _parse_to(*args, **kwargs) -> tuple:
    """torch._C._nn._parse_to: the (device, dtype, non_blocking, memory_format) that Tensor.to / Module.to would
    read from the same arguments (None for those not given; Module subclasses that override .to call it)."""
    from .ops.copy import _parse_to as parse
    non_blocking = bool(kwargs.get("non_blocking", False))
    memory_format = kwargs.get("memory_format")
    device, dtype, _ = parse(args, dict(kwargs))
    return device, dtype, non_blocking, memory_format


# torch._C._nn: the nn bindings' namespace, as far as library code calls it
_nn = types.ModuleType("torch._C._nn")
_nn._parse_to = _parse_to
del _parse_to
