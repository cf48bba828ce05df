"""torch.cuda's NVML readings (utilization, temperature, power, clocks), process list, IPC collection and the
synchronisation debug mode. NVML readings come from pynvml (nvidia-ml-py) when installed; without it they raise
as PyTorch does."""
from __future__ import annotations

from ..backends import cuda as _backend

__all__ = ["utilization", "memory_usage", "temperature", "power_draw", "clock_rate", "list_gpu_processes", "ipc_collect",
           "set_sync_debug_mode", "get_sync_debug_mode", "device_memory_used"]


def _nvml_handle(device=None):
    try:
        import pynvml
    except ImportError:
        raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be imported.") from None
    from ._device import device_index
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded as e:
        raise RuntimeError("cuda driver can't be loaded, is cuda enabled?") from e
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(device_index(device, optional=True))


def utilization(device=None) -> int:
    """Percent of the last sample period in which a kernel ran on the GPU (NVML)."""
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).gpu


def memory_usage(device=None) -> int:
    """Percent of the last sample period in which device memory was read or written (NVML)."""
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetUtilizationRates(handle).memory


def temperature(device=None) -> int:
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetTemperature(handle, 0)  # 0: NVML_TEMPERATURE_GPU


def power_draw(device=None) -> int:
    """Power drawn by the GPU in milliwatts."""
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetPowerUsage(handle)


def clock_rate(device=None) -> int:
    """SM clock in MHz."""
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetClockInfo(handle, 1)  # 1: NVML_CLOCK_SM


def device_memory_used(device=None) -> int:
    nvml, handle = _nvml_handle(device)
    return nvml.nvmlDeviceGetMemoryInfo(handle).used


def list_gpu_processes(device=None) -> str:
    try:
        import pynvml  # noqa: F401  (only whether it imports)
    except ImportError:
        return "pynvml module not found, please install nvidia-ml-py"
    nvml, handle = _nvml_handle(device)
    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    lines = [f"GPU:{0}"]
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / 2**20:>12.3f} MB GPU memory")
    return "\n".join(lines)


def ipc_collect() -> None:
    """Free memory shared with other processes through CUDA IPC once they released it. tritorch never exports
    cuda memory by IPC, so there is none to collect."""
    _backend.require()


_SYNC_MODES = {"default": 0, "warn": 1, "error": 2}


def set_sync_debug_mode(debug_mode) -> None:
    """0/"default": quiet; 1/"warn": warn on a synchronising cuda operation (a device-to-host copy: .item(),
    .cpu(), ...); 2/"error": raise. Under the interpreter nothing runs asynchronously, so nothing synchronises."""
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = _SYNC_MODES[debug_mode]
    _backend.SYNC_DEBUG_MODE[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    return _backend.SYNC_DEBUG_MODE[0]
