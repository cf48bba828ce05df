"""Tensor creation: tensor/as_tensor/from_numpy, full/zeros/ones/empty, arange, linspace, eye, and *_like.

The ops that compute values on the device (full, arange, linspace, eye) are registered with a Triton kernel and a
NumPy fallback like any other op; `tensor()` copies host data to the device once.
"""
from __future__ import annotations

import builtins
import math

import numpy as np
import triton
import triton.language as tl

from .. import _memory_format as _mf
from .. import _settings
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..backends.meta import MetaArray
from ..device import CPU, CUDA, as_device, cuda_index_error
from ..tensor import Tensor, _make, from_array
from . import launch
from . import pointwise as pw
from .launch import f64_bits as _f64_bits
from .registry import BenchSpec, Meta, OpDef, Sample, register

FAMILY = "creation"

# Bench sizes of the 1-D creation ops (elements); each writes its output once and reads nothing.
BENCH_SIZES = (2 ** 16, 2 ** 20, 2 ** 24)


def _written(size, dtype):
    return size * dtype.itemsize

__all__ = ["tensor", "as_tensor", "from_numpy", "asarray", "zeros", "ones", "full", "empty", "arange", "range_",
           "linspace", "logspace", "eye", "zeros_like", "ones_like", "full_like", "empty_like", "scalar_tensor",
           "empty_strided"]


def _shape_arg(size) -> tuple:
    if len(size) == 1 and not isinstance(size[0], int):
        size = tuple(size[0])
    shape = tuple(int(s) for s in size)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


# tt.set_default_device: the device of factory calls that name none (None: cpu)
DEFAULT_DEVICE = [None]


def _dev(device):
    if device is None and DEFAULT_DEVICE[0] is not None:
        return DEFAULT_DEVICE[0]
    d = as_device(device)
    if d.type == "cuda":
        if d is not CUDA:   # (as_device gave another index than the process's device)
            raise cuda_index_error(d.index)
        _cuda.require()
    return d


def storage_of(arr: np.ndarray, dev):
    """`arr` as the storage of a tensor on `dev`: itself on the cpu, a device copy on cuda, its shape on meta."""
    if dev is CPU:
        return arr
    if dev.type == "meta":
        return MetaArray.empty(arr.shape, arr.dtype)
    return CudaArray.from_numpy(arr)


def empty_storage(shape: tuple, np_dtype, dev):
    """Uninitialised contiguous storage of `shape` on `dev`."""
    if dev is CPU:
        return np.empty(shape, np_dtype)
    return (MetaArray if dev.type == "meta" else CudaArray).empty(shape, np_dtype)


# ----------------------------------------------------------------------------------------- from data

def _infer_data_dtype(arr: np.ndarray, data) -> _dt.dtype:
    k = arr.dtype.kind
    if k == "b":
        return _dt.bool_
    if k in "iuf" and not isinstance(data, (np.ndarray, np.generic)) and arr.dtype.itemsize < 8:
        # a sequence of NumPy scalars keeps their dtype, as in PyTorch ([np.int32(1), np.int32(2)] is int32):
        # Python numbers in it would have widened NumPy's choice to int64 / float64
        return _dt.from_numpy_dtype(arr.dtype)
    if k in "iu":
        if isinstance(data, np.ndarray) or isinstance(data, np.generic):
            return _dt.from_numpy_dtype(arr.dtype)
        return _dt.int64
    if k == "f" or k == "V":
        if isinstance(data, np.ndarray) or isinstance(data, np.generic):
            return _dt.from_numpy_dtype(arr.dtype)
        if k == "f" and _holds_float64_scalar(data):
            return _dt.promote_types(_dt.float64, _dt.get_default_dtype())   # (float64: PyTorch's result too)
        return _dt.get_default_dtype()
    if k == "c":   # a NumPy array keeps its complex dtype; Python complex numbers take the default complex dtype
        if isinstance(data, np.ndarray) or isinstance(data, np.generic):
            return _dt.from_numpy_dtype(arr.dtype)
        return _dt.as_dtype(_dt.get_default_dtype().to_complex())
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _check_numbers_fit(arr: np.ndarray, dt: _dt.dtype) -> None:
    """PyTorch's check of the Python numbers given to tensor() with an integer dtype (a NumPy array is cast
    unchecked): a float outside the dtype's range (NaN, inf, -0.5 for uint8) or an integer outside it is its
    overflow error, where NumPy wrapped (tensor([300], dtype=uint8) gave 44); negative integers down to -max wrap
    into an unsigned dtype ([-1] is 255)."""
    info = _dt.iinfo(dt)
    if arr.dtype.kind == "f":
        bad = not (np.all(arr >= info.min) and np.all(arr <= info.max))   # (NaN fails both)
    else:
        lo = info.min if dt.is_signed else -info.max
        bad = arr.min() < lo or arr.max() > info.max
    if bad:
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")


def _holds_float64_scalar(data) -> bool:
    """Whether a nested sequence holds a NumPy float64 scalar (np.mean's result): PyTorch then infers float64
    for the whole tensor, where Python floats alone take the default dtype."""
    if isinstance(data, np.float64):
        return True
    if isinstance(data, (list, tuple)):
        return any(_holds_float64_scalar(x) for x in data)
    return False


def _to_numpy_data(data):
    if isinstance(data, Tensor):
        return data._host()
    if isinstance(data, (list, tuple)):
        if any(isinstance(x, Tensor) for x in data):
            return np.stack([_to_numpy_data(x) for x in data]) if data else np.asarray(data)
        if any(isinstance(x, (list, tuple)) and any(isinstance(y, Tensor) for y in x) for x in data):
            return np.stack([_to_numpy_data(x) for x in data])
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of `data` (nested sequences, scalars, NumPy arrays, Tensors)."""
    src = _to_numpy_data(data)
    arr = np.array(src)
    if arr.dtype == object:
        raise TypeError(f"Could not convert {type(data).__name__} to a tensor: ragged or mixed sequence")
    dt = _dt.as_dtype(dtype) if dtype is not None else (
        data.dtype if isinstance(data, Tensor) else _infer_data_dtype(arr, data))
    if arr.dtype.kind == "u" and not isinstance(src, np.ndarray) and dt.kind != _dt.FLOAT and arr.dtype.itemsize == 8:
        raise RuntimeError("Overflow when unpacking long long")
    if dtype is not None and dt.kind == _dt.INT and arr.size and arr.dtype.kind in "iuf" \
            and not isinstance(src, np.ndarray):
        _check_numbers_fit(arr, dt)
    if arr.dtype != dt.np:
        arr = arr.astype(dt.np)
    if arr is src or (isinstance(data, Tensor) and arr.base is not None):
        arr = arr.copy()
    dev = _dev(device if device is not None else (data.device if isinstance(data, Tensor) else None))
    t = _make(storage_of(arr, dev), dt, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like tensor(), but shares memory with a NumPy array or Tensor when dtype and device allow."""
    if isinstance(data, Tensor):
        from .copy import to
        return to(data, device=device, dtype=dtype) if (device is not None or dtype is not None) else data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.as_dtype(dtype).np == data.dtype) and \
            _dev(device) is CPU:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(arr: np.ndarray) -> Tensor:
    """A cpu tensor sharing memory with `arr`."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    return from_array(arr)


def _legacy_tensor_new(*args, **kwargs):
    if not args:
        return empty(0)
    if all(isinstance(a, int) for a in args):
        return empty(*args)
    return tensor(args[0], dtype=_dt.get_default_dtype())


# ----------------------------------------------------------------------------------------------- full

@triton.jit
def _fill(x, y, z, p0, p1):
    return x


def _full_infer(*, size, fill_value, dtype, device):
    return Meta(size, dtype, as_device(device), dtype)


def _full_cpu(meta, *, size, fill_value, dtype, device):
    return np.full(size, fill_value, dtype=dtype.np)


# dtypes whose fill is one memset of an element's bit pattern (the driver has 1-, 2- and 4-byte memsets)
_MEMSET_FLOAT = (_dt.float32, _dt.float16, _dt.bfloat16)
_MEMSET_INT = (_dt.int32, _dt.int16, _dt.int8, _dt.uint8, _dt.bool_)


def _fill_bits(v, dtype: _dt.dtype):
    """The bit pattern of `v` as one element of `dtype`, where a memset gives exactly what the fill kernel writes
    (the kernel takes a Python float as an fp32 scalar, so half types round through fp32); None otherwise."""
    if dtype in _MEMSET_FLOAT and v.__class__ in (float, int, bool):
        if (v.__class__ is int and not -2 ** 24 <= v <= 2 ** 24) or (dtype is not _dt.float32 and v != v):
            return None  # big ints: the kernel's conversion decides; NaN: a GPU's fp32 -> half gives its own payload
        x = np.array(v, np.float32)
        return int((x if dtype is _dt.float32 else x.astype(dtype.np)).view(_cuda._UINT_OF_SIZE[dtype.itemsize]))
    if dtype in _MEMSET_INT and v.__class__ in (int, bool):
        info = np.iinfo(dtype.np) if dtype is not _dt.bool_ else None
        if info is None or info.min <= v <= info.max:
            return int(np.array(v, dtype.np).view(_cuda._UINT_OF_SIZE[dtype.itemsize]))
    return None


def _full_cuda(meta, *, size, fill_value, dtype, device):
    out = CudaArray.empty(size, dtype.np)
    if fill_value == 0 and not (isinstance(fill_value, float) and math.copysign(1.0, fill_value) < 0):
        _cuda.memset_zero(out)
        return out
    v = fill_value
    if dtype.kind != _dt.FLOAT and isinstance(v, float) and not math.isfinite(v):
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
    bits = _fill_bits(v, dtype)
    if bits is not None:  # ones(), the implicit gradient of loss.backward(), masks: a driver memset, no launch
        _cuda.memset_pattern(out, bits)
        return out
    return pw.launch_pointwise(_fill, [v], size, dtype, dtype, out)


def _full_samples(device, dtype):
    for size, v in [((), 3), ((0,), 1), ((5,), 0), ((3, 4), 2), ((2 ** 6 + 17,), -1)]:
        val = builtins.bool(v) if dtype is _dt.bool_ else (float(v) + 0.5 if dtype.kind == _dt.FLOAT else
                                                           (abs(v) if dtype is _dt.uint8 else v))
        yield Sample((), {"size": size, "fill_value": val, "dtype": dtype, "device": device}, name=f"{size}")


full_op = register(OpDef(name="full", infer=_full_infer, impl={"cpu": _full_cpu, "cuda": _full_cuda},
                         family=FAMILY, ref=lambda *, size, fill_value, dtype, device: np.full(size, fill_value, np.float64),
                         samples=_full_samples, differentiable=False,
                         # ones(): the commonest fill (and the implicit gradient of loss.backward())
                         bench=BenchSpec(sizes=BENCH_SIZES, make=lambda size, device, dtype: (
                             (), {"size": (size,), "fill_value": 1.0, "dtype": dtype, "device": device}),
                             bytes=_written, flops=lambda size: 0),
                         extra={"torch": lambda torch, *, size, fill_value, dtype, device:
                                torch.full(size, fill_value, dtype=dtype, device=device),
                                "numpy": lambda *, size, fill_value, dtype: np.full(size, fill_value, dtype)}))


def _creation_dtype(dtype, fill_value=None):
    if dtype is not None:
        return _dt.as_dtype(dtype)
    if fill_value is None:
        return _dt.get_default_dtype()
    return _dt.scalar_dtype(fill_value)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    shape = _shape_arg((size,)) if not isinstance(size, int) else (size,)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if out is not None and dtype is None:
        dtype = out.dtype
    dt = _creation_dtype(dtype, fill_value)
    t = full_op(size=shape, fill_value=_checked_fill(fill_value, dt), dtype=dt,
                device=_dev(device) if out is None or device is not None else out.device)
    if out is not None:
        from .registry import write_out
        return write_out(out, t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _checked_fill(v, dt: _dt.dtype):
    """A fill value converted as PyTorch's checked Scalar conversion does: a value out of an integer dtype's range
    (NaN, inf, 1e10 for int8, -0.5 for uint8) or past a float type's largest is its overflow error, where NumPy wrapped
    silently or raised its own; a negative integer down to -max wraps into an unsigned dtype (full(..., -1,
    dtype=uint8) is 255, where NumPy refuses it)."""
    if v.__class__ is bool or not isinstance(v, (int, float, np.integer, np.floating)):
        return v
    bad = False
    if dt.kind == _dt.INT:
        info = _dt.iinfo(dt)
        if isinstance(v, (float, np.floating)):
            bad = not info.min <= v <= info.max
        elif not dt.is_signed and v < 0:
            bad = -v > info.max
            v = v + info.max + 1
        else:
            bad = not info.min <= v <= info.max
    elif dt in (_dt.float32, _dt.float16, _dt.bfloat16) and math.isfinite(v):
        # (past the largest finite value: PyTorch's one-element fill rounds to inf instead, its others raise)
        bad = abs(v) > _dt.finfo(dt).max
    if bad:
        from .binary import _C_TYPE
        raise RuntimeError(f"value cannot be converted to type {_C_TYPE[dt]} without overflow")
    return v


def size_arg(name: str, sizes: tuple, size) -> tuple:
    """A factory's size given as varargs (zeros(2, 3), zeros((2, 3))) or as PyTorch's keyword (zeros(size=(2, 3)))."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return (size,)


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    dt = _creation_dtype(dtype)
    dev = _dev(device)
    shape = _shape_arg(size_arg("zeros", sizes, size))
    if dev is CPU:
        t = _make(np.zeros(shape, dt.np), dt, CPU)
    else:
        t = full_op(size=shape, fill_value=0, dtype=dt, device=dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    dt = _creation_dtype(dtype)
    t = full_op(size=_shape_arg(size_arg("ones", sizes, size)), fill_value=True if dt is _dt.bool_ else 1, dtype=dt, device=_dev(device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False, memory_format=None, pin_memory=False,
          out=None) -> Tensor:
    dt = _creation_dtype(dtype)
    dev = _dev(device)
    shape = _shape_arg(size_arg("empty", sizes, size))
    if memory_format in _mf.PHYSICAL_ORDER:
        t = _empty_in_order(shape, _mf.physical_order(memory_format, len(shape)), dt, dev)
    else:
        t = _make(empty_storage(shape, dt.np, dev), dt, dev)
    if fills_uninitialized() and dev.type != "meta":
        fill_uninitialized(t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def fills_uninitialized() -> bool:
    """Whether new memory is filled: use_deterministic_algorithms and utils.deterministic.fill_uninitialized_memory."""
    return _settings._deterministic["mode"] and _settings._deterministic["fill"]


def uninitialized_value(dtype: _dt.dtype):
    """What fills new memory then, as in PyTorch: NaN for floating dtypes, the largest integer, True for bool."""
    if dtype.is_floating_point:
        return float("nan")
    return True if dtype is _dt.bool_ else int(np.iinfo(dtype.np).max)


def fill_uninitialized(t: Tensor) -> Tensor:
    if t.numel():
        from .copy import copy_
        copy_(t, full((), uninitialized_value(t.dtype), dtype=t.dtype, device=t.device))
    return t


def _empty_in_order(shape: tuple, order: tuple, dt, dev) -> Tensor:
    """An uninitialised tensor of `shape` whose memory holds its dims in `order` (outermost first)."""
    physical = tuple(shape[d] for d in order)
    inverse = tuple(order.index(d) for d in range(len(order)))
    if dev is CPU:
        return _make(np.empty(physical, dt.np).transpose(inverse), dt, dev)
    flat = empty_storage(physical, dt.np, dev)
    strides = tuple(flat.strides[i] for i in inverse)
    return _make(flat.view_as(shape, strides, flat.offset), dt, dev)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    t = empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)
    return t.as_strided(size, stride) if tuple(stride) != tuple(t.stride()) else t


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full((), s, dtype=dtype or _dt.get_default_dtype(), device=device, requires_grad=requires_grad)


def _like(x, dtype, device):
    return (_dt.as_dtype(dtype) if dtype is not None else x.dtype), (device if device is not None else x.device)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return zeros(*input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return ones(*input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return empty(*input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return full(tuple(input.shape), fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------- arange

@triton.jit
def _arange_kernel(out_ptr,        # output (contiguous, n elements)
                   n,              # number of elements
                   start, step,    # fp64 start and step (as bits when FLOAT, else integers)
                   FLOAT: tl.constexpr,   # float output: compute in fp64
                   HALF: tl.constexpr,    # fp16/bf16 output: round through fp32 (the interpreter needs it)
                   BLOCK: tl.constexpr):
    # bytes: writes n elements
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    if FLOAT:
        v = start.to(tl.int64).to(tl.float64, bitcast=True) + i.to(tl.float64) * step.to(tl.int64).to(tl.float64, bitcast=True)
    else:
        v = start + i * step
    if HALF:
        tl.store(out_ptr + i, v.to(tl.float32).to(out_ptr.dtype.element_ty), mask=i < n)
    else:
        tl.store(out_ptr + i, v.to(out_ptr.dtype.element_ty), mask=i < n)


def _arange_infer(*, start, end, step, dtype, device):
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = max(0, math.ceil((end - start) / step))
    return Meta((n,), dtype, as_device(device), None)


def _arange_cpu(meta, *, start, end, step, dtype, device):
    n = meta.shape[0]
    if dtype.kind == _dt.FLOAT:
        return (start + np.arange(n, dtype=np.float64) * step).astype(dtype.np)
    return (int(start) + np.arange(n, dtype=np.int64) * int(step)).astype(dtype.np)


def _arange_cuda(meta, *, start, end, step, dtype, device):
    out = CudaArray.empty(meta.shape, dtype.np)
    n = meta.shape[0]
    if n:
        fl = dtype.kind == _dt.FLOAT
        o = pw.kernel_view(out)
        _arange_kernel[(launch.num_programs(n, launch.ELEMENTWISE_BLOCK),)](
            o, n, _f64_bits(start) if fl else int(start), _f64_bits(step) if fl else int(step),
            FLOAT=fl, HALF=dtype in (_dt.float16, _dt.bfloat16), BLOCK=launch.ELEMENTWISE_BLOCK)
    return out


def _arange_samples(device, dtype):
    if dtype is _dt.bool_:
        return
    for s, e, st in [(0, 5, 1), (0, 0, 1), (2, 40, 3), (10, -3, -2)] + ([(0.5, 3.7, 0.25)] if dtype.kind == _dt.FLOAT else []):
        if dtype is _dt.uint8 and (e < 0 or s < 0):
            continue
        yield Sample((), {"start": s, "end": e, "step": st, "dtype": dtype, "device": device}, name=f"{s}:{e}:{st}")


arange_op = register(OpDef(name="arange", infer=_arange_infer, impl={"cpu": _arange_cpu, "cuda": _arange_cuda},
                           family=FAMILY, samples=_arange_samples, differentiable=False,
                           ref=lambda *, start, end, step, dtype, device: start + np.arange(max(0, math.ceil((end - start) / step))) * step,
                           dtypes=tuple(d for d in _dt.ALL if d is not _dt.bool_),
                           # int64 indices (arange's default dtype) and float32 positions
                           bench=BenchSpec(sizes=BENCH_SIZES, make=lambda size, device, dtype: (
                               (), {"start": 0, "end": size, "step": 1, "dtype": dtype, "device": device}),
                               bytes=_written, flops=lambda size: size, dtypes=(_dt.int64, _dt.float32)),
                           extra={"torch": lambda torch, *, start, end, step, dtype, device:
                                  torch.arange(start, end, step, dtype=dtype, device=device),
                                  "numpy": lambda *, start, end, step, dtype: np.arange(start, end, step, dtype)}))


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if dtype is None:
        dtype = _dt.get_default_dtype() if any(isinstance(v, float) for v in vals) else _dt.int64
    t = arange_op(start=start, end=end, step=step, dtype=_dt.as_dtype(dtype), device=_dev(device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """torch.range (deprecated there): like arange but includes `end`."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    return arange(start, start + n * step - step / 2 if isinstance(step, float) or isinstance(start, float) else start + n * step,
                  step, dtype=dtype or _dt.get_default_dtype(), device=device, requires_grad=requires_grad)


# -------------------------------------------------------------------------------------------- linspace

@triton.jit
def _linspace_kernel(out_ptr,      # output (contiguous, n elements)
                     n,            # number of points (>= 2)
                     start, end,   # fp64 bits of the end points
                     step,         # fp64 bits of (end - start) / (n - 1)
                     HALF: tl.constexpr,   # fp16/bf16 output: round through fp32 (the interpreter needs it)
                     BLOCK: tl.constexpr):
    # bytes: writes n elements. PyTorch's symmetric form: the first half counts up from start, the second half
    # down from end, so both end points are exact.
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    s = start.to(tl.int64).to(tl.float64, bitcast=True)
    e = end.to(tl.int64).to(tl.float64, bitcast=True)
    d = step.to(tl.int64).to(tl.float64, bitcast=True)
    half = n // 2
    v = tl.where(i < half, s + d * i.to(tl.float64), e - d * (n - 1 - i).to(tl.float64))
    v = tl.where(n == 1, s, v)
    if HALF:
        tl.store(out_ptr + i, v.to(tl.float32).to(out_ptr.dtype.element_ty), mask=i < n)
    else:
        tl.store(out_ptr + i, v.to(out_ptr.dtype.element_ty), mask=i < n)


def _linspace_infer(*, start, end, steps, dtype, device):
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return Meta((steps,), dtype, as_device(device), None)


def _linspace_np(start, end, steps):
    if steps == 1:
        return np.array([start], np.float64)
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1)
    return np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))


def _linspace_cpu(meta, *, start, end, steps, dtype, device):
    return _linspace_np(start, end, steps).astype(dtype.np)


def _linspace_cuda(meta, *, start, end, steps, dtype, device):
    out = CudaArray.empty((steps,), dtype.np)
    if steps:
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        _linspace_kernel[(launch.num_programs(steps, launch.ELEMENTWISE_BLOCK),)](
            pw.kernel_view(out), steps, _f64_bits(start), _f64_bits(end), _f64_bits(step),
            HALF=dtype in (_dt.float16, _dt.bfloat16), BLOCK=launch.ELEMENTWISE_BLOCK)
    return out


def _linspace_samples(device, dtype):
    for s, e, n in [(0.0, 1.0, 5), (-2.0, 3.0, 1), (1.0, 0.0, 0), (-1.5, 2.5, 2 ** 6 + 17)]:
        yield Sample((), {"start": s, "end": e, "steps": n, "dtype": dtype, "device": device}, name=f"{s}:{e}:{n}")


linspace_op = register(OpDef(name="linspace", infer=_linspace_infer, impl={"cpu": _linspace_cpu, "cuda": _linspace_cuda},
                             family=FAMILY, samples=_linspace_samples, differentiable=False, dtypes=_dt.FLOATS,
                             ref=lambda *, start, end, steps, dtype, device: np.linspace(start, end, steps),
                             bench=BenchSpec(sizes=BENCH_SIZES, make=lambda size, device, dtype: (
                                 (), {"start": -1.0, "end": 1.0, "steps": size, "dtype": dtype, "device": device}),
                                 bytes=_written, flops=lambda size: 2 * size),
                             extra={"torch": lambda torch, *, start, end, steps, dtype, device:
                                    torch.linspace(start, end, steps, dtype=dtype, device=device),
                                    "numpy": lambda *, start, end, steps, dtype: np.linspace(start, end, steps,
                                                                                             dtype=dtype)}))


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    start = start.item() if isinstance(start, Tensor) else float(start)
    end = end.item() if isinstance(end, Tensor) else float(end)
    if out is not None and dtype is None:
        dtype = out.dtype
    dtype = _creation_dtype(dtype)
    if dtype.kind in (_dt.INT, _dt.BOOL):   # PyTorch converts the ends to an integer dtype first (2.5 -> 2)
        start, end = float(math.trunc(start)), float(math.trunc(end))
    t = linspace_op(start=start, end=end, steps=int(steps), dtype=dtype,
                    device=_dev(device) if out is None or device is not None else out.device)
    if out is not None:
        from .registry import write_out
        return write_out(out, t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    from .binary import pow as _pow
    if out is not None and dtype is None:
        dtype = out.dtype
    t = _pow(base, linspace(start, end, steps, dtype=_dt.float64, device=device)).to(_creation_dtype(dtype))
    if out is not None:
        from .registry import write_out
        return write_out(out, t)
    return t.requires_grad_(True) if requires_grad else t


# ------------------------------------------------------------------------------------------------- eye

@triton.jit
def _eye_kernel(out_ptr,          # output (n, m), contiguous
                n, m,             # rows, columns
                BLOCK: tl.constexpr):
    # bytes: writes n*m elements
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    r = i // m
    c = i % m
    # via fp32: the interpreter cannot convert int1 straight to bf16
    tl.store(out_ptr + i, (r == c).to(tl.float32).to(out_ptr.dtype.element_ty), mask=i < n * m)


def _eye_infer(*, n, m, dtype, device):
    if n < 0 or m < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n if n < 0 else m}")
    return Meta((n, m), dtype, as_device(device), None)


def _eye_cpu(meta, *, n, m, dtype, device):
    return np.eye(n, m, dtype=dtype.np)


def _eye_cuda(meta, *, n, m, dtype, device):
    out = CudaArray.empty((n, m), dtype.np)
    if n * m:
        _eye_kernel[(launch.num_programs(n * m, launch.ELEMENTWISE_BLOCK),)](pw.kernel_view(out), n, m,
                                                                             BLOCK=launch.ELEMENTWISE_BLOCK)
    return out


def _eye_samples(device, dtype):
    for n, m in [(0, 0), (1, 1), (3, 3), (4, 7), (2 ** 5 + 17, 5)]:
        yield Sample((), {"n": n, "m": m, "dtype": dtype, "device": device}, name=f"{n}x{m}")


eye_op = register(OpDef(name="eye", infer=_eye_infer, impl={"cpu": _eye_cpu, "cuda": _eye_cuda}, family=FAMILY,
                        samples=_eye_samples, differentiable=False,
                        ref=lambda *, n, m, dtype, device: np.eye(n, m),
                        # size: n of an n x n identity
                        bench=BenchSpec(sizes=(256, 1024, 4096), make=lambda size, device, dtype: (
                            (), {"n": size, "m": size, "dtype": dtype, "device": device}),
                            bytes=lambda size, dtype: size * size * dtype.itemsize, flops=lambda size: 0),
                        extra={"torch": lambda torch, *, n, m, dtype, device:
                               torch.eye(n, m, dtype=dtype, device=device),
                               "numpy": lambda *, n, m, dtype: np.eye(n, m, dtype=dtype)}))


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    t = eye_op(n=int(n), m=int(n if m is None else m), dtype=_creation_dtype(dtype), device=_dev(device))
    if requires_grad:
        t.requires_grad_(True)
    return t


# ======================================================== triu_indices / tril_indices (appended section)

def _tri_indices(row, col, offset, upper, dtype, device):
    # The index pairs are a pure function of (row, col, offset): computed on the host, then copied once to
    # `device`, as arange's values are.
    from .. import dtypes as _dtypes
    dtype = _dtypes.int64 if dtype is None else _dtypes.as_dtype(dtype)
    if dtype not in (_dtypes.int32, _dtypes.int64):
        raise RuntimeError("\"tril_indices\" not implemented for '" + str(dtype) + "'")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    rows, cols = np.indices((row, col))
    keep = (cols - rows >= offset) if upper else (cols - rows <= offset)
    pairs = np.stack([rows[keep], cols[keep]]).astype(dtype.np)
    return tensor(pairs, dtype=dtype, device=device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) row/column indices of the upper triangle of a row x col matrix (diagonal `offset` up)."""
    return _tri_indices(row, col, offset, True, dtype, device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) row/column indices of the lower triangle of a row x col matrix (diagonal `offset` down)."""
    return _tri_indices(row, col, offset, False, dtype, device)


__all__ += ["triu_indices", "tril_indices"]
