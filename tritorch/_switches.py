"""torch.* process switches beyond _settings.py: anomaly mode, inference mode, warn-always, inter-op threads, flush
denormal, the deterministic debug mode, and the autocast getters/setters of torch._C, wired to the state the
rest of tritorch reads (autograd's anomaly flags, the autocast regions of tritorch.amp, use_deterministic_algorithms).
"""
from __future__ import annotations

import warnings

from . import _settings, _state
from . import dtypes as _dt
from .amp import autocast_mode as _autocast
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .autograd.anomaly_mode import _set_anomaly_enabled as set_anomaly_enabled
from .autograd.grad_mode import is_inference_mode_enabled

__all__ = ["is_anomaly_enabled", "set_anomaly_enabled", "is_anomaly_check_nan_enabled", "is_inference_mode_enabled",
           "set_warn_always", "is_warn_always_enabled", "get_num_interop_threads", "set_num_interop_threads",
           "set_flush_denormal", "get_deterministic_debug_mode", "set_deterministic_debug_mode",
           "set_autocast_enabled", "is_autocast_cpu_enabled", "get_autocast_cpu_dtype", "set_autocast_cpu_dtype",
           "get_autocast_gpu_dtype", "set_autocast_gpu_dtype", "set_autocast_dtype", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache", "set_autocast_cpu_enabled", "init_num_threads"]

_switches = {"warn_always": False, "interop_threads": None}


# ------------------------------------------------------------------------------------------- warnings, threads

def set_warn_always(b: bool, /) -> None:
    """PyTorch's switch for its warn-once warnings; every tritorch warning goes through Python's `warnings` (no
    warn-once of its own), so the flag is kept for scripts that set and read it."""
    _switches["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _switches["warn_always"]


def get_num_interop_threads() -> int:
    """Threads running independent ops at once: tritorch runs ops one after another on the calling thread (1),
    unless a script chose a number."""
    n = _switches["interop_threads"]
    return 1 if n is None else n


def set_num_interop_threads(n: int) -> None:
    if int(n) < 1:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    if _switches["interop_threads"] is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has started or "
                           "set_num_interop_threads called")
    _switches["interop_threads"] = int(n)


def init_num_threads() -> None:
    """Nothing to do: tritorch's cpu thread pool (set_num_threads) is process-wide, ready for every thread."""


def set_flush_denormal(mode: bool) -> bool:
    """False: not supported. NumPy gives no control of the CPU's flush-to-zero bits, and a Triton kernel's
    denormal handling is fixed when it is compiled, so tritorch cannot switch denormals off (PyTorch returns False
    on systems without the support too)."""
    return False


# --------------------------------------------------------------------------------------- deterministic mode

_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """0 / 'default': off; 1 / 'warn': use_deterministic_algorithms(True, warn_only=True); 2 / 'error': on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    _settings.use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _settings.are_deterministic_algorithms_enabled():
        return 0
    return 1 if _settings.is_deterministic_algorithms_warn_only_enabled() else 2


# ---------------------------------------------------------------------------------------------------- autocast

def _device_type(device_type) -> str:
    name = str(device_type).split(":")[0]
    if name not in ("cpu", "cuda"):
        raise RuntimeError(f"Invalid device string: '{device_type}'")
    return name


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def set_autocast_enabled(*args) -> None:
    """set_autocast_enabled(device_type, enabled), or the legacy set_autocast_enabled(enabled) for cuda: switch
    autocast on or off for ops on that device type (in the dtype get_autocast_dtype gives), outside any region."""
    if len(args) == 1:
        device, enabled = "cuda", args[0]
    elif len(args) == 2:
        device, enabled = _device_type(args[0]), args[1]
    else:
        raise TypeError(f"set_autocast_enabled() takes 1 or 2 arguments ({len(args)} given)")
    state = _state.AUTOCAST
    if enabled:
        state.devices[device] = _autocast.get_autocast_dtype(device)
        if device not in state.set_on:  # ops look at the regions only while FLAGS.autocast > 0
            state.set_on.add(device)
            _state.FLAGS.autocast += 1
    else:
        state.devices.pop(device, None)
        if device in state.set_on:
            state.set_on.discard(device)
            _state.FLAGS.autocast -= 1


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return _autocast.is_autocast_enabled("cpu")


def set_autocast_dtype(device_type, dtype) -> None:
    """The dtype "lower"-policy ops use on device_type while autocast is on there (now, if it is)."""
    device, dtype = _device_type(device_type), _dt.as_dtype(dtype)
    state = _state.AUTOCAST
    state.dtypes[device] = dtype
    if device in state.devices:
        state.devices[device] = dtype


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return _autocast.get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return _autocast.get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def is_autocast_cache_enabled() -> bool:
    return _state.AUTOCAST.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """PyTorch caches the lowered copies of leaf weights inside a region; tritorch casts each time (a cast is one
    recorded `to` op), so the flag is state that regions save and restore, with nothing cached."""
    _state.AUTOCAST.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Nothing to clear: tritorch keeps no cache of autocast casts (see set_autocast_cache_enabled)."""
