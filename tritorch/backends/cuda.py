"""The cuda backend's storage: strided arrays over device memory, and their transfers.

Two modes share every line above the allocator:
- a GPU: memory comes from the driver through NVIDIA's cuda-python (`cuda.bindings.driver`) and is kept in a
  caching allocator, so that a training loop in steady state takes nothing new from the driver; one stream
  orders every kernel and copy.
- Triton's interpreter (`TRITON_INTERPRET=1`, no GPU): "device" memory is host memory owned by NumPy, and the
  same Triton kernels run in the interpreter. `CudaArray` carries the few tensor methods the interpreter calls
  (`untyped_storage`, `new_empty`, `set_`, `storage_offset`, `size`, `stride`); they hand it host memory as it
  is, so no copy is made around a launch.
"""
from __future__ import annotations

import os
import threading
import weakref

import numpy as np

from ._strided import StridedArray, contiguous_strides  # noqa: F401  (contiguous_strides: imported from here)
from .cuda_memory import HOST_POOL, MemoryCounters, OutOfMemoryError, host_memory_info  # noqa: F401

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

if INTERPRET:
    # The interpreter runs a kernel's arithmetic with NumPy on every lane, masked ones included (log(0) of a padded
    # lane, inf - inf of a masked row), and NumPy warns about it; a GPU raises no floating-point warnings, and
    # tritorch's cpu ops do not either, so the interpreter's are silenced (its module only).
    import warnings
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"triton\.runtime\.interpreter")

_NOT_AVAILABLE = ("Torch not compiled with CUDA enabled -- tritorch found no usable GPU (cuda-python reported: {why}). "
                  "To run tritorch's cuda device on the CPU through Triton's interpreter, set TRITON_INTERPRET=1 "
                  "in the environment before importing tritorch (or triton).")


class CudaUnavailableError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------------ driver

class _Driver:
    """Lazily initialised GPU state: context, stream, allocator, on the process's one device (tritorch.device.CUDA's
    index: 0 unless torch.cuda.set_device chose another before the first cuda work). Counting and describing the
    devices (api()) creates no context, so torch.cuda.is_available() does not choose the device."""

    def __init__(self):
        self.ready = False
        self.why = None
        self.cu = None
        self.count = 0
        self.lock = threading.Lock()

    def api(self):
        """cuda.bindings.driver after cuInit, with the device count (raises CudaUnavailableError without one)."""
        if self.cu is not None:
            return self.cu
        with self.lock:
            if self.cu is not None:
                return self.cu
            if self.why is not None:
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why))
            try:
                from cuda.bindings import driver as cu
            except Exception as e:  # cuda-python missing
                self.why = f"cuda-python is not installed ({e.__class__.__name__}: {e})"
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why)) from None
            try:
                _check(cu.cuInit(0))
                count = _check(cu.cuDeviceGetCount())
            except Exception as e:
                self.why = str(e)
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why)) from None
            if count < 1:
                self.why = "no CUDA device found"
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why))
            self.count = count
            self.cu = cu
            return cu

    def init(self):
        if self.ready:
            return self
        cu = self.api()
        with self.lock:
            if self.ready:
                return self
            if self.why is not None:
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why))
            from ..device import CUDA
            try:
                self.device = _check(cu.cuDeviceGet(CUDA.index))
                self.context = _check(cu.cuDevicePrimaryCtxRetain(self.device))
                _check(cu.cuCtxSetCurrent(self.context))
                self.stream = _check(cu.cuStreamCreate(cu.CUstream_flags.CU_STREAM_NON_BLOCKING.value))
                self.stream_handle = int(self.stream)
                attr = cu.CUdevice_attribute
                self.capability = (_check(cu.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, self.device)),
                                   _check(cu.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, self.device)))
                self.sm_count = _check(cu.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, self.device))
                name = _check(cu.cuDeviceGetName(256, self.device))
                self.name = bytes(name).split(b"\0", 1)[0].decode()
                self.total_memory = _check(cu.cuDeviceTotalMem(self.device))
                self.index = CUDA.index
            except Exception as e:
                self.why = str(e)
                raise CudaUnavailableError(_NOT_AVAILABLE.format(why=self.why)) from None
            self.allocator = CachingAllocator(self)
            _install_triton_driver(self)
            self.ready = True
            return self

    def ensure_context(self):
        # A thread that did not create the context (a DataLoader worker, a test runner's thread) needs it current.
        self.cu.cuCtxSetCurrent(self.context)

    def synchronize(self):
        _check(self.cu.cuStreamSynchronize(self.stream))


def _check(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error: {err!r}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else tuple(rest)


DRIVER = _Driver()


def _install_triton_driver(drv: _Driver) -> None:
    """Point Triton's launcher at tritorch's context and stream, without letting it import torch.

    Triton's CUDA driver asks torch for the current device and stream when torch is importable (Triton ≤ 3.6
    always imports it). tritorch builds the driver object itself and supplies those four callbacks from
    cuda-python, so launches run on tritorch's stream and `import tritorch` never imports torch.
    """
    import triton
    from triton.backends.nvidia import driver as nvd

    _keep_triton_specialiser_from_importing_torch()
    inst = nvd.CudaDriver.__new__(nvd.CudaDriver)
    inst.utils = nvd.CudaUtils()
    inst.launcher_cls = nvd.CudaLauncher
    inst.get_device_capability = lambda device=0: drv.capability
    inst.get_current_stream = lambda device=0: drv.stream_handle
    inst.get_current_device = lambda: drv.index
    inst.set_current_device = lambda device: None
    triton.runtime.driver.set_active(inst)


class _RefuseTorch:
    """A meta-path finder that makes `import torch` fail (installed for one call only)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("tritorch does not import torch")
        return None


class _FloatPointer:
    """What Triton's specialiser reads from a pointer argument: an address and a dtype."""
    dtype = np.dtype(np.float32)

    def data_ptr(self):
        return 0


def _keep_triton_specialiser_from_importing_torch() -> None:
    """Triton 3.6's argument specialiser (C++) imports torch on its first call, to recognise torch tensors, and
    remembers when that import fails. So that `import tritorch` never brings torch in, its first call is made
    here with `import torch` refused, unless the program has imported torch itself (then nothing changes).
    Triton versions whose specialiser does not import torch are unaffected. (A thread importing torch during
    this one call would see the refusal too; it runs once, when the GPU is first set up.)"""
    import sys
    if "torch" in sys.modules:
        return
    try:
        from triton.backends.compiler import BaseBackend
        from triton.runtime.jit import native_specialize_impl
    except ImportError:
        return
    refuse = _RefuseTorch()
    sys.meta_path.insert(0, refuse)
    try:
        native_specialize_impl(BaseBackend, _FloatPointer(), False, True, True)
    except Exception:  # a specialiser with another signature: it is then not the one that imports torch
        pass
    finally:
        sys.meta_path.remove(refuse)


def is_available() -> bool:
    if INTERPRET:
        return True
    try:
        DRIVER.api()
        return True
    except CudaUnavailableError:
        return False


def _interpreter_devices() -> int:
    """How many devices the interpreter presents: TRITORCH_INTERPRET_DEVICES (default 1). Each process still
    drives one of them, as on a multi-GPU machine, so that torchrun programs that give every worker its own GPU
    (torch.cuda.set_device(LOCAL_RANK)) run, and are tested, without GPUs."""
    try:
        return max(1, int(os.environ.get("TRITORCH_INTERPRET_DEVICES", "1")))
    except ValueError:
        raise RuntimeError("TRITORCH_INTERPRET_DEVICES must be a whole number of devices, not "
                           f"{os.environ['TRITORCH_INTERPRET_DEVICES']!r}") from None


def device_count() -> int:
    """The cuda devices this process can see (CUDA_VISIBLE_DEVICES applies), 0 when there is none."""
    if INTERPRET:
        return _interpreter_devices()
    try:
        DRIVER.api()
    except CudaUnavailableError:
        return 0
    return DRIVER.count


# Set by the first cuda allocation under the interpreter (on a GPU, DRIVER.ready says it): from then on the
# process's cuda device is fixed.
_INTERPRETER_STARTED = [False]


def started() -> bool:
    """Whether cuda work has begun in this process (its device can no longer change)."""
    return _INTERPRETER_STARTED[0] if INTERPRET else DRIVER.ready


def on_gpu() -> bool:
    """True when cuda tensors live in GPU memory (not the interpreter's host memory)."""
    return not INTERPRET


def require() -> None:
    if not INTERPRET:
        DRIVER.init()


def synchronize() -> None:
    if not INTERPRET and DRIVER.ready:
        DRIVER.synchronize()


# ------------------------------------------------------------------------------------------------ memory

_ALIGN = 256


class HostBlock:
    """Interpreter-mode memory: a NumPy byte buffer standing in for device memory."""

    __slots__ = ("host", "ptr", "nbytes", "pool", "__weakref__")

    def __init__(self, nbytes: int, pool=None):
        raw = np.empty(nbytes + 64, dtype=np.uint8)
        start = (-raw.ctypes.data) % 64
        self.host = raw[start:start + nbytes]
        self.ptr = raw.ctypes.data + start
        self.nbytes = nbytes
        self.pool = pool  # the counting pool (device memory of the interpreter) or None (a plain host buffer)

    def __del__(self):
        pool = self.pool
        if pool is not None:
            pool.release(self.ptr, self.nbytes)

    # The interpreter's storage protocol: host memory is already "on the cpu".
    def data_ptr(self) -> int:
        return self.ptr

    def cpu(self):
        return self

    def copy_(self, other):
        if other is not self:
            self.host[:] = other.host
        return self


class DeviceBlock:
    """GPU memory from the caching allocator; returned to the cache when the last array using it dies."""

    __slots__ = ("ptr", "nbytes", "pool", "__weakref__")

    def __init__(self, ptr: int, nbytes: int, pool):
        self.ptr, self.nbytes, self.pool = ptr, nbytes, pool

    def data_ptr(self) -> int:
        return self.ptr

    def __del__(self):
        pool = self.pool
        if pool is not None:
            pool.release(self.ptr, self.nbytes)


def _round_size(nbytes: int) -> int:
    if nbytes <= 1 << 20:
        return max(_ALIGN, (nbytes + _ALIGN - 1) // _ALIGN * _ALIGN)
    return (nbytes + (1 << 21) - 1) >> 21 << 21  # 2 MiB granules for large blocks


class CachingAllocator(MemoryCounters):
    """Free lists by rounded size. All work runs on one stream, so a block freed by one kernel's output can be
    handed to the next kernel without a synchronisation: the stream orders them. Counters (cuda_memory.py): bytes
    handed to live blocks (`allocated`), taken from the driver (`reserved`), peaks, calls."""

    def __init__(self, drv: _Driver):
        super().__init__()
        self.drv = drv
        self.free: dict[int, list[int]] = {}

    def total_memory(self) -> int:
        return self.drv.total_memory

    def allocate(self, nbytes: int) -> DeviceBlock:
        size = _round_size(nbytes)
        lst = self.free.get(size)
        if lst:
            ptr = lst.pop()
        else:
            ptr = self._driver_alloc(size)
        self.note_alloc(size)
        return DeviceBlock(ptr, size, self)

    def _driver_alloc(self, size: int) -> int:
        """cuMemAlloc within the memory fraction; on failure the cache is emptied and the call retried once, as
        PyTorch's allocator does, before OutOfMemoryError."""
        cu = self.drv.cu
        err = ptr = None
        if self.fits_fraction(size):
            err, ptr = cu.cuMemAlloc(size)
        if err is None or int(err) != 0:
            self.num_alloc_retries += 1
            self.empty_cache()
            if not self.fits_fraction(size):
                raise self.out_of_memory(size, _check(cu.cuMemGetInfo())[0])
            err, ptr = cu.cuMemAlloc(size)
            if int(err) != 0:
                raise self.out_of_memory(size, _check(cu.cuMemGetInfo())[0])
        self.note_reserve(size)
        return int(ptr)

    def release(self, ptr: int, size: int) -> None:
        self.note_free(size)
        self.free.setdefault(size, []).append(ptr)

    def empty_cache(self) -> None:
        self.drv.synchronize()
        cu = self.drv.cu
        for size, ptrs in self.free.items():
            for p in ptrs:
                cu.cuMemFree(p)
                self.note_unreserve(size)
        self.free.clear()


def _alloc_block(nbytes: int):
    if INTERPRET:
        _INTERPRETER_STARTED[0] = True
        HOST_POOL.reserve(nbytes)  # (raises OutOfMemoryError past the memory fraction)
        return HostBlock(nbytes, HOST_POOL)
    return DRIVER.init().allocator.allocate(nbytes)


def allocator() -> MemoryCounters:
    """The counters of the allocator cuda tensors use now: the interpreter's host pool, or the GPU's cache
    (initialising the driver, as torch.cuda's memory functions initialise CUDA)."""
    if INTERPRET:
        return HOST_POOL
    return DRIVER.init().allocator


def mem_get_info() -> tuple[int, int]:
    """(free, total) bytes of the device (cudaMemGetInfo), or of the host under the interpreter."""
    if INTERPRET:
        return host_memory_info()
    DRIVER.init().ensure_context()
    return tuple(int(v) for v in _check(DRIVER.cu.cuMemGetInfo()))


def memory_stats() -> dict:
    a = HOST_POOL if INTERPRET else DRIVER.allocator if DRIVER.ready else MemoryCounters()
    return {"allocated_bytes": a.allocated, "reserved_bytes": a.reserved,
            "peak_allocated_bytes": a.peak_allocated, "driver_allocations": a.driver_allocs}


# ------------------------------------------------------------------------------------------------ arrays

def upload(block, arr: np.ndarray) -> None:
    """Copy the bytes of a C-contiguous host array to the start of a device block (stream-ordered)."""
    nbytes = arr.size * arr.dtype.itemsize
    if nbytes:
        if INTERPRET:
            block.host[:nbytes] = arr.reshape(-1).view(np.uint8)
        else:
            drv = DRIVER
            _check(drv.cu.cuMemcpyHtoDAsync(block.ptr, arr.ctypes.data, nbytes, drv.stream))


_LAYOUTS: dict = {}
_MAX_LAYOUTS = 4096


class CudaArray(StridedArray):
    """A strided view of a device block: (block, shape, strides in elements, offset in elements, dtype).

    Triton kernels take it directly: it has `data_ptr()` (address of element 0 of the view) and `dtype`
    (a NumPy dtype, whose name Triton maps to its pointer type).
    """

    __slots__ = ("__weakref__",)

    # ---- construction
    @staticmethod
    def empty(shape, dtype) -> "CudaArray":
        shape = tuple(shape)
        layout = _LAYOUTS.get(shape)
        if layout is None:  # (element count, contiguous strides) per shape: every cuda op allocates its output
            n = 1
            for s in shape:
                n *= s
            layout = (max(n, 1), contiguous_strides(shape))
            if len(_LAYOUTS) >= _MAX_LAYOUTS:
                _LAYOUTS.clear()
            _LAYOUTS[shape] = layout
        return CudaArray(_alloc_block(layout[0] * dtype.itemsize), shape, layout[1], 0, dtype)

    @staticmethod
    def from_numpy(arr: np.ndarray) -> "CudaArray":
        arr = np.ascontiguousarray(arr).reshape(arr.shape)  # (ascontiguousarray makes 0-d arrays 1-d)
        out = CudaArray.empty(arr.shape, arr.dtype)
        upload(out.block, arr)
        return out

    # ---- metadata (ndim, itemsize, size_, view_as, reinterpret, span: StridedArray's)
    def data_ptr(self) -> int:
        return self.block.ptr + self.offset * self.dtype.itemsize

    def is_contiguous(self) -> bool:
        layout = _LAYOUTS.get(self.shape)
        if layout is not None and layout[1] == self.strides:  # the usual case: a fresh array or a view like one
            return True
        return self.dense_in_order()

    # ---- transfers
    def to_numpy(self) -> np.ndarray:
        """A host copy (a fresh NumPy array that owns its memory) of this view."""
        n = self.size_
        if n == 0:
            return np.empty(self.shape, self.dtype)
        lo, hi = self.span()
        isz = self.dtype.itemsize
        if INTERPRET:
            span = self.block.host[lo * isz:hi * isz].view(self.dtype)
        else:
            span = np.empty(hi - lo, self.dtype)
            if SYNC_DEBUG_MODE[0]:
                _report_sync()
            drv = DRIVER
            _check(drv.cu.cuMemcpyDtoHAsync(span.ctypes.data, self.block.ptr + lo * isz, (hi - lo) * isz, drv.stream))
            drv.synchronize()
        view = np.lib.stride_tricks.as_strided(span[self.offset - lo:], self.shape, tuple(s * isz for s in self.strides))
        return np.array(view, copy=True)

    def host_view(self) -> np.ndarray:
        """Interpreter mode only: a NumPy view sharing this array's memory (for tests of aliasing)."""
        assert INTERPRET
        isz = self.dtype.itemsize
        base = self.block.host.view(self.dtype) if self.block.nbytes % isz == 0 else self.block.host[: self.block.nbytes // isz * isz].view(self.dtype)
        return np.lib.stride_tricks.as_strided(base[self.offset:], self.shape, tuple(s * isz for s in self.strides))

    # ---- the tensor protocol Triton's interpreter calls on kernel arguments
    def untyped_storage(self):
        return self.block

    def storage_offset(self) -> int:
        return self.offset

    def size(self) -> tuple:
        return self.shape

    def stride(self) -> tuple:
        return self.strides

    def new_empty(self, *_args, **_kwargs) -> "CudaArray":
        return CudaArray(self.block, (0,), (1,), 0, self.dtype)

    def set_(self, storage, offset, size, stride) -> "CudaArray":
        self.block, self.offset, self.shape, self.strides = storage, offset, tuple(size), tuple(stride)
        return self

    def copy_(self, other):
        return self

    def __repr__(self) -> str:
        return f"CudaArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, dtype={self.dtype})"


# torch.cuda.set_sync_debug_mode: 0 quiet, 1 warn, 2 raise on an operation that waits for the stream (a copy to
# the host). The interpreter runs nothing asynchronously, so it never reports.
SYNC_DEBUG_MODE = [0]


def _report_sync() -> None:
    if SYNC_DEBUG_MODE[0] >= 2:
        raise RuntimeError("called a synchronizing CUDA operation")
    import warnings
    warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=3)


def memset_zero(arr: CudaArray) -> None:
    """Zero a contiguous array's bytes (cuMemsetD8Async on a GPU)."""
    nbytes = arr.size_ * arr.dtype.itemsize
    if not nbytes:
        return
    if INTERPRET:
        start = arr.offset * arr.dtype.itemsize
        arr.block.host[start:start + nbytes] = 0
    else:
        _check(DRIVER.cu.cuMemsetD8Async(arr.data_ptr(), 0, nbytes, DRIVER.stream))


_UINT_OF_SIZE = {1: np.uint8, 2: np.uint16, 4: np.uint32}


def memset_pattern(arr: CudaArray, bits: int) -> None:
    """Fill a contiguous array of 1-, 2- or 4-byte elements with one element's bit pattern (cuMemsetD8/16/32Async on
    a GPU: a driver call instead of a kernel launch)."""
    n = arr.size_
    if not n:
        return
    size = arr.dtype.itemsize
    if INTERPRET:
        start = arr.offset * size
        arr.block.host[start:start + n * size].view(_UINT_OF_SIZE[size])[:] = bits
        return
    cu = DRIVER.cu
    fill = {1: cu.cuMemsetD8Async, 2: cu.cuMemsetD16Async, 4: cu.cuMemsetD32Async}[size]
    _check(fill(arr.data_ptr(), bits, n, DRIVER.stream))


def copy_contiguous_bytes(dst: CudaArray, src: CudaArray) -> None:
    """Device-to-device copy between two contiguous arrays of equal byte size."""
    nbytes = src.size_ * src.dtype.itemsize
    if not nbytes:
        return
    if INTERPRET:
        d0, s0 = dst.offset * dst.dtype.itemsize, src.offset * src.dtype.itemsize
        dst.block.host[d0:d0 + nbytes] = src.block.host[s0:s0 + nbytes]
    else:
        _check(DRIVER.cu.cuMemcpyDtoDAsync(dst.data_ptr(), src.data_ptr(), nbytes, DRIVER.stream))


_ = weakref  # (weakref slots are declared so arrays can be weakly referenced by caches)


# ------------------------------------------------------------------------------------------------ flags

class _MatmulFlags:
    """torch.backends.cuda.matmul: `allow_tf32` lets fp32 matmuls use TF32 tensor cores on a GPU (default
    False, as in PyTorch); fp16/bf16 matmuls always accumulate in fp32."""

    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


# torch.backends.cuda's scaled-dot-product-attention switches (views of tritorch.nn.attention's selection)
from .cuda_sdp import *  # noqa: E402,F401,F403
