"""torch.cuda's device selection and description: `device` / `device_of` (context managers over tritorch's one
GPU), lazy initialisation, get_device_properties, get_arch_list, bf16/tf32 support."""
from __future__ import annotations

import os

from ..backends import cuda as _backend

__all__ = ["device", "device_of", "init", "is_initialized", "get_device_properties", "get_arch_list",
           "get_gencode_flags", "is_bf16_supported", "is_tf32_supported", "can_device_access_peer",
           "get_allocator_backend", "has_half", "has_magma"]

has_half = True     # float16 tensors on the device
has_magma = False   # no MAGMA: linear algebra runs through Triton kernels and NumPy


def device_index(device, optional: bool = False) -> int:
    """The cuda index that `device` names (an int, "cuda[:i]", a tritorch.device; None -> the current one)."""
    if device is None:
        if optional:
            return _current()
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")
    if isinstance(device, str):
        from ..device import device as _dev
        device = _dev(device)
    if hasattr(device, "type"):
        if device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        index = device.index if device.index is not None else _current()
    elif isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")
    if index < -1 or index >= max(1, _count()):
        raise RuntimeError("CUDA error: invalid device ordinal")
    return index


def _count() -> int:
    return _backend.device_count()


def _current() -> int:
    from ..device import CUDA
    return CUDA.index


class device:
    """Context manager (and decorator) that makes device `device` current (-1 or None: no change). tritorch drives
    one GPU per process (see set_device): entering another device's block chooses it if no cuda work has run yet
    (else raises); leaving it goes back unless cuda work ran inside, which fixes the process on that device (the
    one before was never used)."""

    def __init__(self, device):
        self.idx = -1 if device is None else device_index(device, optional=True)
        self.prev_idx = -1

    def __enter__(self):
        from . import set_device
        self.prev_idx = _current()
        if self.idx not in (-1, self.prev_idx):
            set_device(self.idx)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self.idx not in (-1, self.prev_idx) and not _backend.started():
            from . import set_device
            set_device(self.prev_idx)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.idx):
                return fn(*args, **kwargs)
        return wrapper


class device_of(device):
    """Makes the device of tensor `obj` current (no change for a cpu tensor)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if getattr(obj, "is_cuda", False) else -1)


_interp_initialized = [False]


def init() -> None:
    """Initialise the cuda device now instead of at its first use (raises when there is none)."""
    _backend.require()
    _interp_initialized[0] = True


def is_initialized() -> bool:
    if _backend.INTERPRET:
        return _interp_initialized[0] or _backend.HOST_POOL.segment_count > 0
    return _backend.DRIVER.ready


class _CudaDeviceProperties:
    """What get_device_properties reports: the driver's attributes of the GPU, or the interpreter's stand-ins
    (the host's memory and cores; compute capability 0.0)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2**20}MB, multi_processor_count={self.multi_processor_count}, "
                f"uuid={self.uuid}, L2_cache_size={self.L2_cache_size // 2**20}MB)")


_GPU_ATTRIBUTES = {  # field name -> CUdevice_attribute suffix
    "multi_processor_count": "MULTIPROCESSOR_COUNT", "is_integrated": "INTEGRATED",
    "is_multi_gpu_board": "MULTI_GPU_BOARD", "max_threads_per_multi_processor": "MAX_THREADS_PER_MULTIPROCESSOR",
    "max_threads_per_block": "MAX_THREADS_PER_BLOCK", "regs_per_multiprocessor": "MAX_REGISTERS_PER_MULTIPROCESSOR",
    "shared_memory_per_block": "MAX_SHARED_MEMORY_PER_BLOCK",
    "shared_memory_per_block_optin": "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN",
    "shared_memory_per_multiprocessor": "MAX_SHARED_MEMORY_PER_MULTIPROCESSOR", "warp_size": "WARP_SIZE",
    "L2_cache_size": "L2_CACHE_SIZE", "clock_rate": "CLOCK_RATE", "memory_clock_rate": "MEMORY_CLOCK_RATE",
    "memory_bus_width": "GLOBAL_MEMORY_BUS_WIDTH", "pci_bus_id": "PCI_BUS_ID", "pci_device_id": "PCI_DEVICE_ID",
    "pci_domain_id": "PCI_DOMAIN_ID",
}


def _gpu_properties(index: int) -> _CudaDeviceProperties:
    """The driver's description of GPU `index` (no context is made: asking does not choose the device)."""
    cu = _backend.DRIVER.api()
    check, attr = _backend._check, cu.CUdevice_attribute
    dev = check(cu.cuDeviceGet(index))
    fields = {name: int(check(cu.cuDeviceGetAttribute(getattr(attr, "CU_DEVICE_ATTRIBUTE_" + key), dev)))
              for name, key in _GPU_ATTRIBUTES.items()}
    major = int(check(cu.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev)))
    minor = int(check(cu.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev)))
    name = bytes(check(cu.cuDeviceGetName(256, dev))).split(b"\0", 1)[0].decode()
    uuid = bytes(check(cu.cuDeviceGetUuid(dev)).bytes).hex()
    uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:32]}"
    fields.update(is_integrated=bool(fields["is_integrated"]), is_multi_gpu_board=bool(fields["is_multi_gpu_board"]))
    return _CudaDeviceProperties(name=name, major=major, minor=minor, total_memory=int(check(cu.cuDeviceTotalMem(dev))),
                                 uuid=uuid, gcnArchName="NVIDIA", **fields)


def _interpreter_properties() -> _CudaDeviceProperties:
    total = _backend.host_memory_info()[1]
    return _CudaDeviceProperties(
        name="Triton interpreter (CPU)", major=0, minor=0, total_memory=total,
        multi_processor_count=os.cpu_count() or 1, is_integrated=True, is_multi_gpu_board=False,
        max_threads_per_multi_processor=1, max_threads_per_block=1, regs_per_multiprocessor=0,
        shared_memory_per_block=0, shared_memory_per_block_optin=0, shared_memory_per_multiprocessor=0,
        warp_size=1, L2_cache_size=0, clock_rate=0, memory_clock_rate=0, memory_bus_width=0, pci_bus_id=0,
        pci_device_id=0, pci_domain_id=0, uuid="00000000-0000-0000-0000-000000000000", gcnArchName="")


def get_device_properties(device=None) -> _CudaDeviceProperties:
    index = device_index(device, optional=True)
    if index < 0 or index >= _count():
        raise AssertionError("Invalid device id")
    return _interpreter_properties() if _backend.INTERPRET else _gpu_properties(index)


def get_arch_list() -> list:
    """The architectures kernels are built for. Triton compiles each kernel for the GPU it runs on, so that is the
    device's own sm_XY; [] when there is no GPU (the interpreter compiles nothing), as PyTorch without CUDA."""
    if _backend.INTERPRET or not _backend.is_available():
        return []
    props = get_device_properties()
    return [f"sm_{props.major}{props.minor}"]


def get_gencode_flags() -> str:
    """nvcc's -gencode flags for get_arch_list() ('' without a GPU), as PyTorch formats them."""
    return " ".join(f"-gencode compute=compute_{arch},code={kind}_{arch}"
                    for kind, arch in (a.split("_") for a in get_arch_list()))


def can_device_access_peer(device, peer_device) -> bool:
    """Whether `device` can read `peer_device`'s memory directly: the driver's answer on a GPU (a device is not its
    own peer), False under the interpreter. (tritorch itself drives one GPU per process.)"""
    device, peer_device = device_index(device, optional=True), device_index(peer_device, optional=True)
    if device < 0 or device >= _count():
        raise AssertionError("Invalid device id")
    if peer_device < 0 or peer_device >= _count():
        raise AssertionError("Invalid peer device id")
    if _backend.INTERPRET or device == peer_device:
        return False
    cu = _backend.DRIVER.api()
    check = _backend._check
    return bool(check(cu.cuDeviceCanAccessPeer(check(cu.cuDeviceGet(device)), check(cu.cuDeviceGet(peer_device)))))


def get_allocator_backend() -> str:
    """'native': tritorch's own caching allocator (backends/cuda.py), as PyTorch names its own."""
    return "native"


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """bfloat16 runs natively from compute capability 8.0; the interpreter (and older GPUs) emulate it."""
    if not _backend.is_available():
        return False
    if get_device_properties().major >= 8:
        return True
    return including_emulation


def is_tf32_supported() -> bool:
    return is_bf16_supported(including_emulation=False)
