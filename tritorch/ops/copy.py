"""Copies and casts: contiguous, clone, copy_, to(dtype), and moving tensors between devices.

`_identity` through the pointwise kernel is the strided copy for any rank and strides; with an output of another
dtype it is the cast (Triton's conversions: float -> int truncates toward zero, anything -> bool is `!= 0`).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import _memory_format as _mf
from .. import _state
from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..backends.meta import NO_DATA
from ..device import CPU, CUDA, as_device, cuda_index_error
from ..tensor import Tensor, _make
from . import pointwise as pw
from .registry import _FLAGS, _GRAD, BenchSpec, Meta, OpDef, Sample, register
from .samples import make_tensor, rng_for, unary_samples

FAMILY = "copy"


@triton.jit
def _identity(x, y, z, p0, p1):
    return x


def _cast_compute(src: _dt.dtype, dst: _dt.dtype) -> _dt.dtype:
    # Convert straight from the source type; bool results compare with zero in the source type.
    if dst is _dt.bool_:
        return _dt.bool_
    if src is _dt.bool_:
        return dst
    if src.kind == _dt.FLOAT and dst is _dt.uint8:
        # A GPU's float -> uint8 conversion saturates (-1.0 -> 0); PyTorch (cpu and cuda) and NumPy go through a
        # signed integer and wrap (-1.0 -> 255): truncate to int64 first, the store then keeps the low byte.
        return _dt.int64
    return src if src.kind == _dt.FLOAT and dst.kind != _dt.FLOAT else dst


# ------------------------------------------------------------------------------------------------ clone

def _same_infer(x, **_kw):
    return Meta(x._data.shape, x.dtype, x.device, x.dtype)


def _clone_cpu(meta, x, out=None):
    src = x._data
    if out is None:
        out = np.empty(src.shape, src.dtype)
    np_copy_into(out, src)
    return out


_TILE = 64
_TILED_MIN = 1 << 16


def np_copy_into(dst: np.ndarray, src: np.ndarray) -> None:
    """np.copyto(dst, src) for arrays of one shape. A src whose unit-stride axis is not the last (a transpose)
    goes in 64x64 tiles of those two axes: NumPy walks dst in its (row-major) order and so reads src a column at a
    time, missing the cache on every element; tile by tile both stay in cache (2048x1024 float32 .t().contiguous():
    14 -> 1.9 ms, torch 2.3)."""
    last = src.ndim - 1
    if src.size >= _TILED_MIN and last >= 1 and src.shape == dst.shape and abs(src.strides[last]) != src.itemsize:
        unit = [d for d in range(last) if abs(src.strides[d]) == src.itemsize and src.shape[d] > _TILE]
        if unit:
            u = unit[-1]
            index = [slice(None)] * src.ndim
            for j in range(0, src.shape[u], _TILE):
                index[u] = slice(j, j + _TILE)
                for k in range(0, src.shape[last], _TILE):
                    index[last] = slice(k, k + _TILE)
                    tile = tuple(index)
                    dst[tile] = src[tile]
            return
    np.copyto(dst, src)


def _clone_cuda(meta, x, out=None):
    return pw.launch_pointwise(_identity, [x], meta.shape, meta.dtype, meta.aux, out)


def _identity_vjp(ctx, grad):
    # clone: the identity. cast: the gradient as it is; the engine casts it back to the input's dtype (only float
    # outputs carry gradient, so a cast to an integer or bool dtype never gets here).
    return grad


BENCH_SIZES = (2 ** 16, 2 ** 20, 2 ** 24)


def _bench_input(size, device, dtype):
    return make_tensor((size,), dtype, device, rng=rng_for("copy-bench", size))


def _cast_target(dtype: _dt.dtype) -> _dt.dtype:
    """The bench's cast: float32 <-> float16, the mixed-precision step (other sources to float32)."""
    return _dt.float16 if dtype is _dt.float32 else _dt.float32


clone_op = register(OpDef(name="clone", infer=_same_infer, impl={"cpu": _clone_cpu, "cuda": _clone_cuda},
                          family=FAMILY, ref=lambda x: x, samples=unary_samples(), supports_out=True,
                          vjp=_identity_vjp, save="none",
                          bench=BenchSpec(sizes=BENCH_SIZES, make=lambda size, device, dtype: (
                              (_bench_input(size, device, dtype),), {}),
                              bytes=lambda size, dtype: 2 * size * dtype.itemsize, flops=lambda size: 0),
                          extra={"torch": lambda torch, x: torch.clone(x),
                                 "numpy": lambda x: np.array(x, copy=True)}))


# ------------------------------------------------------------------------------------------------- cast

def _cast_infer(x, dtype):
    return Meta(x._data.shape, dtype, x.device, _cast_compute(x.dtype, dtype))


def _cast_cpu(meta, x, dtype, out=None):
    a = x._data
    if dtype is _dt.bool_:
        r = a.astype(np.bool_)
    elif a.dtype.kind == "f" and dtype.kind == _dt.INT:
        # PyTorch truncates toward zero; NumPy does too, but warns on NaN/inf: keep the warning quiet.
        with np.errstate(invalid="ignore"):
            r = a.astype(dtype.np)
    else:
        r = a.astype(dtype.np)
    if out is not None:
        np.copyto(out, r)
        return out
    return r


def _cast_cuda(meta, x, dtype, out=None):
    return pw.launch_pointwise(_identity, [x], meta.shape, dtype, meta.aux, out)


def _past_gradcheck_samples(device, dtype):
    """Samples of more elements than the generated tests gradcheck (40), contiguous and not, for a float64 source
    cast to a narrower float type: that result lies on a coarser grid than gradcheck's float64 finite-difference
    step (1e-6), so a finite difference sees the rounding's staircase (0, or a jump) instead of the derivative 1
    that a cast has by convention. (Other sources cover the narrowing casts' 0-dim and empty shapes.)"""
    rng = rng_for("cast-past-gradcheck", dtype.name)
    yield Sample((make_tensor((2 ** 6 + 17,), dtype, device, rng=rng),), name="(81,)")
    yield Sample((make_tensor((7, 12), dtype, device, rng=rng, noncontiguous=True),), name="noncontig")
    yield Sample((make_tensor((12, 7), dtype, device, rng=rng).t(),), name="transposed")


def _cast_samples(device, dtype):
    for target in _dt.ALL:
        narrowing = dtype is _dt.float64 and target.kind == _dt.FLOAT and target is not _dt.float64
        for s in (_past_gradcheck_samples if narrowing else unary_samples())(device, dtype):
            s.kwargs = {"dtype": target}
            s.name = f"{s.name}->{target.name}"
            yield s


cast_op = register(OpDef(name="cast", infer=_cast_infer, impl={"cpu": _cast_cpu, "cuda": _cast_cuda},
                         family=FAMILY, ref=lambda x, dtype: x.astype(np.float64), samples=_cast_samples,
                         supports_out=True, differentiable=True, vjp=_identity_vjp, save="none",
                         bench=BenchSpec(sizes=BENCH_SIZES, make=lambda size, device, dtype: (
                             (_bench_input(size, device, dtype),), {"dtype": _cast_target(dtype)}),
                             bytes=lambda size, dtype: size * (dtype.itemsize + _cast_target(dtype).itemsize),
                             flops=lambda size: 0, dtypes=(_dt.float32, _dt.float16))))
cast_op.extra["ref_dtype_aware"] = True
cast_op.extra["torch"] = lambda torch, x, dtype: x.to(dtype)
cast_op.extra["numpy"] = lambda x, dtype: x.astype(dtype)


def cast(x: Tensor, dtype) -> Tensor:
    dtype = _dt.as_dtype(dtype)
    if dtype is x.dtype:
        return x
    return cast_op(x, dtype=dtype)


# ------------------------------------------------------------------------------------------------ copy_

def copy_(dst: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Write `src` (broadcast to dst's shape, any dtype, any device) into `dst` in place."""
    if not isinstance(src, Tensor):
        from .creation import full_like
        src = full_like(dst, src)
    from .registry import broadcast_shapes
    shape = broadcast_shapes(dst._data.shape, src._data.shape)
    if shape != tuple(dst._data.shape):
        raise RuntimeError(f"output with shape {list(dst._data.shape)} doesn't match the broadcast shape {list(shape)}")
    if _state.BEFORE_WRITE:
        for f in _state.BEFORE_WRITE:
            f(dst)
    if (not _FLAGS.grad_off or _GRAD.enabled) and (src._requires_grad or dst._requires_grad
                          or (dst._base is not None and dst._base._requires_grad)):
        return _copy_recorded(dst, src, shape)
    if src.device is not dst.device:
        src = to_device(src, dst.device)
    if dst.device.type == "meta":   # nothing to write
        pass
    elif dst.device is CPU:
        s = src._data
        if s.dtype.kind == "c" and dst.dtype.kind != _dt.COMPLEX:
            s = cast(src, dst.dtype)._data   # the real parts, with PyTorch's warning (and complex -> bool's rule)
        np.copyto(dst._data, s, casting="unsafe")
    elif src.dtype.kind == _dt.COMPLEX or dst.dtype.kind == _dt.COMPLEX:
        from .complex import copy_into
        copy_into(dst, src)
    else:
        pw.launch_pointwise(_identity, [src], tuple(dst._data.shape), dst.dtype, _cast_compute(src.dtype, dst.dtype),
                            dst._data)
    dst._version[0] += 1
    return dst


def _copy_recorded(dst: Tensor, src: Tensor, shape) -> Tensor:
    """copy_ under autograd: the value written is src moved, cast and expanded by recorded ops, so its gradient
    reaches src; dst (and its base, for a view) takes that history (autograd/inplace.py)."""
    from .registry import write_recorded
    _state.check_inplace(dst)
    value = cast(to_device(src, dst.device), dst.dtype)
    if tuple(value._data.shape) != shape:
        value = value.expand(shape)
    write_recorded(dst, value)
    return dst


# ---------------------------------------------------------------------------------------------- devices

def _to_device_infer(x, device):
    if x.device.type == "meta":
        raise NotImplementedError(NO_DATA)
    if device.type == "cuda" and device is not CUDA:   # (to_device's as_device gave another index)
        raise cuda_index_error(device.index)
    return Meta(x._data.shape, x.dtype, device)


def _upload(meta, x, device):
    from ..backends import cuda as _cuda
    _cuda.require()
    return CudaArray.from_numpy(x._data if x.device is CPU else x._data.to_numpy())


def _download(meta, x, device):
    return x._data.to_numpy()


def _to_device_vjp(ctx, grad):
    return to_device(grad, ctx.inputs[0].device)


# Not registered (the generated tests compare devices already): a differentiable copy between devices, whose
# backward moves the gradient back (PyTorch's ToCopyBackward0). To the meta device it keeps the shape (the
# registry's meta impl); from it there is nothing to copy.
_to_device_op = OpDef(name="_to_copy", infer=_to_device_infer, impl={"cpu": _download, "cuda": _upload},
                      family=FAMILY, vjp=_to_device_vjp, save="none", dtypes=_dt.ALL + _dt.COMPLEX_DTYPES)


def to_device(x: Tensor, dev) -> Tensor:
    dev = as_device(dev)
    if dev is x.device:
        return x
    return _to_device_op(x, dev)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    if memory_format in _mf.PHYSICAL_ORDER:
        return x if x.is_contiguous(memory_format) else _clone_in_order(x, memory_format)
    return x if x.is_contiguous() else clone_op(x)


def _clone_in_order(x: Tensor, fmt) -> Tensor:
    """A copy of x laid out in fmt's order (channels last): the permuted view cloned, then permuted back, so the
    copy is recorded by autograd as the clone of a view."""
    order = _mf.physical_order(fmt, x.ndim)
    inverse = tuple(order.index(d) for d in range(len(order)))
    return clone_op(x.permute(order)).permute(inverse)


def clone(x: Tensor, memory_format=None) -> Tensor:
    """Tensor.clone: row-major, or in a channels-last order when asked, or (preserve_format, the default) when x is
    laid out in one already, as PyTorch's clone keeps a dense tensor's layout."""
    if memory_format in _mf.PHYSICAL_ORDER:
        return _clone_in_order(x, memory_format)
    if memory_format in (None, _mf.preserve_format) and x.ndim in (4, 5) and not x.is_contiguous():
        for fmt in _mf.PHYSICAL_ORDER:
            if x.is_contiguous(fmt):
                return _clone_in_order(x, fmt)
    return clone_op(x)


def _parse_to(args, kwargs):
    dev = dtype = None
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, _dt.dtype):
            dtype = a
        elif a is not None:
            dev = as_device(a)
    if "device" in kwargs:
        dev = as_device(kwargs.pop("device"))
    if "dtype" in kwargs:
        dtype = _dt.as_dtype(kwargs.pop("dtype"))
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    return dev, dtype, copy


def to(x: Tensor, *args, **kwargs) -> Tensor:
    """Tensor.to(device=None, dtype=None, non_blocking=False, copy=False) and to(other)."""
    fmt = kwargs.get("memory_format")
    dev, dtype, copy = _parse_to(args, dict(kwargs))
    r = x
    if dtype is not None and dtype is not r.dtype and (dev is None or dev is r.device):
        r = cast(r, dtype)
    if dev is not None and dev is not r.device:
        r = to_device(r, dev)
    if dtype is not None and dtype is not r.dtype:
        r = cast(r, dtype)
    if fmt in _mf.PHYSICAL_ORDER and not r.is_contiguous(fmt):
        r = _clone_in_order(r, fmt)
    if copy and r is x:
        r = clone_op(x)
    return r
