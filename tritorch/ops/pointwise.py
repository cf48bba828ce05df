"""The pointwise machinery every elementwise op is declared with: one Triton kernel, one NumPy path, one infer.

`pointwise_kernel` applies an op's scalar function `FN(x, y, z, p0, p1)` to up to three strided operands (each a
pointer, a scalar, or absent) and writes a strided output; the op's file declares only `FN`, the NumPy
function, the dtype rule and the reference. Broadcast operands are read through stride 0, never copied.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..device import CPU
from ..tensor import Tensor, _make
from . import launch
from .registry import Meta, _type_name, broadcast_pair, broadcast_shapes, device_of

# Operand kinds (constexpr): how the kernel gets each input.
ABSENT, POINTER, SCALAR, SCALAR_F64_BITS = 0, 1, 2, 3


@triton.jit
def negate(v):
    # -v, keeping IEEE's sign of zero for floats: Triton compiles a tensor's unary minus as 0 - v (so -(+0.0) is
    # +0.0) and turns a -0.0 literal into +0.0; a multiply by -1 is exact and flips the sign of zeros too.
    if v.dtype.is_floating():
        r = v * -1.0
    else:
        r = -v
    return r


@triton.jit
def _operand(ptr, off, mask, KIND: tl.constexpr, COMPUTE: tl.constexpr):
    if KIND == 1:
        v = tl.load(ptr + off, mask=mask, other=0).to(COMPUTE)
    elif KIND == 3:
        v = ptr.to(tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)
    elif KIND == 2:
        v = tl.cast(ptr, COMPUTE)
    else:
        v = 0
    return v


@triton.jit
def _apply(x_ptr, y_ptr, z_ptr, out_ptr, xo, yo, zo, oo, mask, p0, p1, FN: tl.constexpr, X_KIND: tl.constexpr,
           Y_KIND: tl.constexpr, Z_KIND: tl.constexpr, P_KIND: tl.constexpr, COMPUTE: tl.constexpr):
    # out[oo] = FN(x[xo], y[yo], z[zo], p0, p1) for the masked lanes (both pointwise kernels' body)
    x = _operand(x_ptr, xo, mask, X_KIND, COMPUTE)
    y = _operand(y_ptr, yo, mask, Y_KIND, COMPUTE)
    z = _operand(z_ptr, zo, mask, Z_KIND, COMPUTE)
    if P_KIND == 3:
        q0 = p0.to(tl.int64).to(tl.float64, bitcast=True)
        q1 = p1.to(tl.int64).to(tl.float64, bitcast=True)
    else:
        q0 = p0
        q1 = p1
    result = FN(x, y, z, q0, q1)
    tl.store(out_ptr + oo, result.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def pointwise_kernel(
    x_ptr, y_ptr, z_ptr,        # inputs: pointers, scalars (per *_KIND), or unused
    out_ptr,                    # output pointer (any strides)
    n,                          # number of output elements
    s1, s2, s3,                 # sizes of collapsed dims 1..3 (dim 0 is implied by n)
    xs0, xs1, xs2, xs3,         # x strides in elements per collapsed dim (0 = broadcast)
    ys0, ys1, ys2, ys3,         # y strides
    zs0, zs1, zs2, zs3,         # z strides
    os0, os1, os2, os3,         # output strides
    p0, p1,                     # the op's scalar parameters (alpha, min/max, weight, ...)
    FN: tl.constexpr,           # @triton.jit scalar function FN(x, y, z, p0, p1) -> value
    X_KIND: tl.constexpr, Y_KIND: tl.constexpr, Z_KIND: tl.constexpr,  # ABSENT/POINTER/SCALAR/SCALAR_F64_BITS
    P_KIND: tl.constexpr,       # SCALAR or SCALAR_F64_BITS for p0/p1
    COMPUTE: tl.constexpr,      # dtype the inputs are converted to before FN (fp32 for fp16/bf16)
    RANK: tl.constexpr,         # 1 when every operand is 1-D after collapsing (no index arithmetic)
    BLOCK: tl.constexpr,        # elements per program
):
    # bytes: reads each pointer operand once per output element (broadcast reads hit cache), writes out once
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if RANK <= 1:
        xo = offs * xs3
        yo = offs * ys3
        zo = offs * zs3
        oo = offs * os3
    else:
        i3 = offs % s3
        r = offs // s3
        i2 = r % s2
        r = r // s2
        i1 = r % s1
        i0 = r // s1
        xo = i0 * xs0 + i1 * xs1 + i2 * xs2 + i3 * xs3
        yo = i0 * ys0 + i1 * ys1 + i2 * ys2 + i3 * ys3
        zo = i0 * zs0 + i1 * zs1 + i2 * zs2 + i3 * zs3
        oo = i0 * os0 + i1 * os1 + i2 * os2 + i3 * os3
    _apply(x_ptr, y_ptr, z_ptr, out_ptr, xo, yo, zo, oo, mask, p0, p1, FN, X_KIND, Y_KIND, Z_KIND, P_KIND, COMPUTE)


@triton.jit
def pointwise_flat_kernel(
    x_ptr, y_ptr, z_ptr,        # inputs: pointers laid out as the output, scalars (per *_KIND), or unused
    out_ptr,                    # output pointer (contiguous: a fresh array)
    n,                          # number of output elements
    p0, p1,                     # the op's scalar parameters (alpha, min/max, weight, ...)
    FN: tl.constexpr,           # @triton.jit scalar function FN(x, y, z, p0, p1) -> value
    X_KIND: tl.constexpr, Y_KIND: tl.constexpr, Z_KIND: tl.constexpr,  # ABSENT/POINTER/SCALAR/SCALAR_F64_BITS
    P_KIND: tl.constexpr,       # SCALAR or SCALAR_F64_BITS for p0/p1
    COMPUTE: tl.constexpr,      # dtype the inputs are converted to before FN (fp32 for fp16/bf16)
    BLOCK: tl.constexpr,        # elements per program
):
    # pointwise_kernel's RANK 1 case with 7 arguments instead of 26: a launch's host time grows with its argument
    # count (the launch key, Triton's argument packing), and this is the launch of nearly every elementwise op.
    # bytes: reads each pointer operand once per output element, writes out once
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    _apply(x_ptr, y_ptr, z_ptr, out_ptr, offs, offs, offs, offs, mask, p0, p1, FN, X_KIND, Y_KIND, Z_KIND, P_KIND,
           COMPUTE)


# Triton element types for compute dtypes; fp16/bf16 compute in fp32 (the interpreter cannot do bf16 math, and
# PyTorch's CPU kernels round each op's fp32 result the same way).
TL_DTYPE = {_dt.bool_: tl.int1, _dt.uint8: tl.uint8, _dt.int8: tl.int8, _dt.int16: tl.int16, _dt.int32: tl.int32,
            _dt.int64: tl.int64, _dt.float16: tl.float16, _dt.bfloat16: tl.bfloat16, _dt.float32: tl.float32,
            _dt.float64: tl.float64}
TL_COMPUTE = dict(TL_DTYPE)
TL_COMPUTE[_dt.float16] = tl.float32
TL_COMPUTE[_dt.bfloat16] = tl.float32


def kernel_view(arr: CudaArray) -> CudaArray:
    """The array as kernels see it: bool storage is passed as uint8 (Triton's i1 pointers are bytes anyway)."""
    return arr.reinterpret(np.uint8) if arr.dtype == np.bool_ else arr


def _scalar_arg(v, compute: _dt.dtype):
    """(value, kind) for a Python scalar operand: fp64 values travel as their bits so no precision is lost."""
    if isinstance(v, Tensor):  # a 0-dim cpu tensor joining a cuda op
        v = v.item()
    if compute is _dt.float64 and isinstance(v, float):
        return launch.f64_bits(v), SCALAR_F64_BITS
    if isinstance(v, bool):
        return int(v), SCALAR
    if isinstance(v, float) and compute.kind != _dt.FLOAT:
        return v, SCALAR
    return v, SCALAR


_FLAT = "flat"  # an operand laid out as the output (its strides are the flat (0, 0, 0, 1))
_NO_STRIDES = (0, 0, 0, 0)


def launch_pointwise(fn, inputs: list, out_shape: tuple, out_dtype: _dt.dtype, compute: _dt.dtype,
                     out: CudaArray | None = None, params=(0, 0)) -> CudaArray:
    """Run `fn` over broadcast operands (Tensors on cuda, or scalars) into `out` (allocated if None)."""
    fresh = out is None
    if fresh:
        out = CudaArray.empty(out_shape, out_dtype.np)
    n = 1
    for s in out_shape:
        n *= s
    if n == 0:
        return out
    # flat: every tensor operand laid out exactly as the fresh output (the common case) -> one dim, no collapse
    flat = fresh
    ptrs, kinds, strides = [], [], []
    for x in inputs:
        if isinstance(x, Tensor) and x.device.type == "cuda":
            arr = kernel_view(x._data)
            ptrs.append(arr)
            kinds.append(POINTER)
            strides.append(_FLAT)
            if flat and (arr.shape != out_shape or arr.strides != out.strides):
                flat = False
        else:
            v, k = _scalar_arg(x, compute)
            ptrs.append(v)
            kinds.append(k)
            strides.append(None)
    while len(ptrs) < 3:
        ptrs.append(0)
        kinds.append(ABSENT)
        strides.append(None)
    o = kernel_view(out)
    if compute is _dt.float64 and any(isinstance(p, float) for p in params):
        params = tuple(launch.f64_bits(p) for p in params)
        p_kind = SCALAR_F64_BITS
    else:
        p_kind = SCALAR
    block = launch.ELEMENTWISE_BLOCK
    if flat:
        pointwise_flat_kernel[(launch.num_programs(n, block),)](
            ptrs[0], ptrs[1], ptrs[2], o, n, params[0], params[1],
            FN=fn, X_KIND=kinds[0], Y_KIND=kinds[1], Z_KIND=kinds[2], P_KIND=p_kind,
            COMPUTE=TL_COMPUTE[compute], BLOCK=block)
        return out
    strides = [None if st is None else launch.broadcast_strides(p, out_shape) for p, st in zip(ptrs, strides)]
    all_strides = [st for st in strides if st is not None] + [o.strides]
    shape, collapsed = launch.collapse(out_shape, all_strides)
    if len(shape) > launch.MAX_RANK:
        _launch_split(fn, ptrs, kinds, strides, o, shape, collapsed, compute, params, p_kind)
        return out
    shape, collapsed = launch.pad_rank(shape, collapsed)
    it = iter(collapsed)
    full = [next(it) if st is not None else _NO_STRIDES for st in strides]
    ost = next(it)
    rank = 1 if shape[:3] == (1, 1, 1) else launch.MAX_RANK
    pointwise_kernel[(launch.num_programs(n, block),)](
        ptrs[0], ptrs[1], ptrs[2], o, n, shape[1], shape[2], shape[3],
        *full[0], *full[1], *full[2], *ost, params[0], params[1],
        FN=fn, X_KIND=kinds[0], Y_KIND=kinds[1], Z_KIND=kinds[2], P_KIND=p_kind,
        COMPUTE=TL_COMPUTE[compute], RANK=rank, BLOCK=block)
    return out


def _launch_split(fn, ptrs, kinds, strides, o, shape, collapsed, compute, params, p_kind):
    arrays = [p if k == POINTER else None for p, k in zip(ptrs, kinds)] + [o]
    for tail, sub, offs in launch.split_leading(shape, collapsed, arrays):
        it = iter(zip(sub, offs))
        views = []
        for p, k in zip(ptrs, kinds):
            if k == POINTER:
                st, off = next(it)
                views.append((p.view_as(p.shape, p.strides, p.offset + off), st))
            else:
                views.append((p, (0, 0, 0, 0)))
        ost, ooff = next(it)
        ov = o.view_as(o.shape, o.strides, o.offset + ooff)
        n = tail[0] * tail[1] * tail[2] * tail[3]
        block = launch.ELEMENTWISE_BLOCK
        pointwise_kernel[(launch.num_programs(n, block),)](
            views[0][0], views[1][0], views[2][0], ov, n, tail[1], tail[2], tail[3],
            *views[0][1], *views[1][1], *views[2][1], *ost, params[0], params[1],
            FN=fn, X_KIND=kinds[0], Y_KIND=kinds[1], Z_KIND=kinds[2], P_KIND=p_kind,
            COMPUTE=TL_COMPUTE[compute], RANK=launch.MAX_RANK, BLOCK=block)


# ------------------------------------------------------------------------------------------- infer rules

def _zero(t) -> bool:
    return not t._data.shape


def result_dtype(*operands) -> _dt.dtype:
    """PyTorch's result type for a mix of Tensors and Python scalars."""
    a = operands[0]
    if len(operands) == 2:
        b = operands[1]
        if a.__class__ is Tensor:
            if b.__class__ is Tensor:
                return _dt.binary_result_dtype(a.dtype, not a._data.shape, b.dtype, not b._data.shape)
            return _dt.tensor_scalar_result_dtype(a.dtype, b)
        if b.__class__ is Tensor:
            return _dt.tensor_scalar_result_dtype(b.dtype, a)
    return _dt.result_type(*operands)


def out_shape_of(*operands) -> tuple:
    shapes = [x._data.shape for x in operands if isinstance(x, Tensor)]
    if len(shapes) == 2:
        return broadcast_pair(shapes[0], shapes[1])
    if len(shapes) == 1:
        return shapes[0]
    return broadcast_shapes(*shapes)


def to_float(d: _dt.dtype) -> _dt.dtype:
    """Integer and bool inputs of floating ops compute in the default float dtype (torch.exp(int) is float32)."""
    return d if d.kind == _dt.FLOAT else _dt.get_default_dtype()


def _kind_rule(kind: str, name: str):
    """dtype -> (result dtype, compute dtype) for a pointwise op of `kind` (see pointwise_infer)."""

    def rule(dt: _dt.dtype):
        if kind == "same":
            return dt, dt
        if kind == "float":
            f = to_float(dt)
            return f, f
        if kind == "bool":
            return _dt.bool_, dt
        if kind == "int":
            if dt.kind == _dt.FLOAT:
                raise RuntimeError(f'"{name}" not implemented for \'{_type_name(dt)}\'')
            return dt, dt
        raise ValueError(kind)

    return rule


def pointwise_infer(kind: str, allowed=None, name: str = ""):
    """The infer rule of a pointwise op.

    kind: "same"  result and compute in the promoted dtype (add, mul, maximum, ...)
          "float" promoted dtype, integers -> default float (div, exp, sin, ...)
          "bool"  compute in the promoted dtype, result bool (eq, lt, isnan, ...)
          "int"   integers and bools only (bitwise ops, shifts)
    Meta.aux holds the compute dtype. The rule is on the hot path of every pointwise call: the dtype decision
    is cached per promoted dtype, and the one- and two-operand cases avoid any generic iteration.
    """
    rule = _kind_rule(kind, name)
    cache: dict = {}
    _dt.DEFAULT_DTYPE_CACHES.append(cache)

    def decide(dt):
        r = cache.get(dt)
        if r is None:
            if allowed is not None and dt not in allowed:
                raise RuntimeError(f'"{name}" not implemented for \'{_type_name(dt)}\'')
            r = cache[dt] = rule(dt)
        return r

    def infer(*operands, **_kw):
        if len(operands) == 2:
            a, b = operands
            if a.__class__ is Tensor:
                dev = a.device
                sa = a._data.shape
                if b.__class__ is Tensor:
                    sb = b._data.shape
                    if b.device is not dev:
                        dev = device_of(a, b)
                    dt = _dt.binary_result_dtype(a.dtype, not sa, b.dtype, not sb)
                    out, comp = decide(dt)
                    return Meta(sa if sa == sb else broadcast_pair(sa, sb), out, dev, comp)
                if isinstance(b, (int, float)):
                    out, comp = decide(_dt.tensor_scalar_result_dtype(a.dtype, b))
                    return Meta(sa, out, dev, comp)
        elif len(operands) == 1:
            a = operands[0]
            if a.__class__ is Tensor:
                out, comp = decide(a.dtype)
                return Meta(a._data.shape, out, a.device, comp)
        tensors = [x for x in operands if isinstance(x, Tensor)]
        if not tensors:
            raise TypeError(f"{name}(): expected at least one Tensor operand, got "
                            f"{', '.join(type(x).__name__ for x in operands)}")
        for x in operands:
            if not isinstance(x, (Tensor, int, float, bool)):
                raise TypeError(f"{name}(): unsupported operand type {type(x).__name__}")
        dev = device_of(*tensors)
        out, comp = decide(result_dtype(*operands))
        return Meta(out_shape_of(*operands), out, dev, comp)

    return infer


# ------------------------------------------------------------------------------------------ NumPy helpers

def np_operand(x, compute: _dt.dtype):
    """The NumPy value of an operand, in the compute dtype (casting a tensor only when it differs)."""
    if x.__class__ is Tensor or isinstance(x, Tensor):
        a = x._data if x.device is CPU else x._data.to_numpy()
        return a if a.dtype == compute.np else a.astype(compute.np)
    if isinstance(x, (bool, int, float)):
        return np.asarray(x, compute.np) if compute.kind != _dt.FLOAT or isinstance(x, bool) else x
    return x


_CONST_BLOCK = 1 << 16   # elements of a cached constant block (256 KiB in fp32)
_CONST_BLOCKS: dict = {}


def np_with_constant(ufunc, x: np.ndarray, value) -> np.ndarray:
    """ufunc(x, value) for a C-contiguous fp32/fp64 array and a Python number, against a cached read-only block
    filled with `value` instead of the number: NumPy's SIMD loops for maximum/minimum need both operands contiguous,
    and a broadcast scalar takes the scalar loop (np.maximum(x, 0) on 64x256 fp32 here: 21.6 us, against 4.6 us
    block by block). The same elementwise results, bit for bit."""
    key = (x.dtype, value)
    block = _CONST_BLOCKS.get(key)
    if block is None:
        block = np.full(_CONST_BLOCK, value, x.dtype)
        block.flags.writeable = False
        _CONST_BLOCKS[key] = block
    out = np.empty_like(x)
    xf, of, n = x.reshape(-1), out.reshape(-1), x.size
    for i in range(0, n, _CONST_BLOCK):
        j = min(i + _CONST_BLOCK, n)
        ufunc(xf[i:j], block[:j - i], out=of[i:j])
    return out


def np_result(value, meta: Meta, out):
    """Finish a NumPy fallback: give the result the op's dtype and shape, or write it into `out`."""
    if out is not None:
        np.copyto(out, value, casting="unsafe")
        return out
    if not isinstance(value, np.ndarray) or value.dtype != meta.dtype.np:
        value = np.asarray(value).astype(meta.dtype.np, copy=False)
    if value.shape != meta.shape:
        value = np.broadcast_to(value, meta.shape).copy()
    return value


# ------------------------------------------------------------------------------------------ declaring ops

def _fast_cpu(np_fn, kind: str, allowed, arity: int, op_box: list):
    """The registry's cpu shortcut for pointwise ops: operands that are cpu tensors of one dtype whose compute
    dtype is itself go straight to NumPy (NumPy checks the broadcast; on a mismatch the full path runs and
    raises PyTorch's error). Anything else returns None and takes the full path. Under autograd the result is
    recorded here too (op_box[0] is the op), so recording costs no second dispatch."""
    from .registry import _FLAGS, _GRAD
    rule = _kind_rule(kind, "")
    direct = {}
    for d in _dt.ALL:
        if allowed is not None and d not in allowed:
            continue
        try:
            out, comp = rule(d)
        except RuntimeError:
            continue
        if comp is d:
            direct[d] = out
    get = direct.get
    if arity == 1:
        def fast(*args, **kw):
            if kw or len(args) != 1:
                return None
            a = args[0]
            if a.__class__ is Tensor and a.device is CPU:
                out = get(a.dtype)
                if out is not None:
                    r = np_fn(a._data)
                    # NumPy returns scalars for 0-dim operands; storage is always an ndarray
                    t = _make(r if r.__class__ is np.ndarray else np.asarray(r), out, CPU)
                    # (a non-differentiable op: record_small skips it)
                    if a._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled):
                        _state.record_small(op_box[0], args, kw, t, None)
                    return t
            return None
        return fast
    if arity == 2:
        def fast(*args, **kw):
            if kw or len(args) != 2:
                return None
            a, b = args
            if a.__class__ is Tensor and b.__class__ is Tensor and a.device is CPU and b.device is CPU:
                dt = a.dtype
                if dt is b.dtype:
                    out = get(dt)
                    if out is not None:
                        try:
                            r = np_fn(a._data, b._data)
                        except ValueError:
                            return None
                        t = _make(r if r.__class__ is np.ndarray else np.asarray(r), out, CPU)
                        if (a._requires_grad or b._requires_grad) and (not _FLAGS.grad_off or _GRAD.enabled):
                            _state.record_small(op_box[0], args, kw, t, None)
                        return t
            return None
        return fast
    return None


def declare(name: str, *, np_fn, tl_fn, kind: str, ref, samples, arity: int, family: str,
            dtypes=_dt.ALL, params: tuple = (), np_params=None, allowed=None, **opdef_kwargs):
    """Declare and register a pointwise op.

    np_fn(*np_operands, *param_values) -> ndarray   the NumPy fallback's math, on operands in the compute dtype
    tl_fn(x, y, z, p0, p1)                          the @triton.jit scalar function
    params: ((name, default), ...)                  keyword parameters forwarded as p0, p1 (e.g. alpha)
    """
    from .registry import OpDef, register

    infer = pointwise_infer(kind, allowed, name)
    pnames = tuple(p for p, _ in params)
    pdefaults = tuple(d for _, d in params)

    def cpu(meta, *operands, out=None, **kw):
        # The hot path: cpu operands already in the compute dtype go to NumPy untouched; parameters left at
        # their defaults are not passed at all (np_fn's own defaults apply).
        c = meta.aux.np
        args = []
        for x in operands:
            if x.__class__ is Tensor:
                x = x._data
                if x.dtype != c:
                    x = x.astype(c)
            elif x.__class__ is not float or meta.aux.kind != _dt.FLOAT:
                x = np_operand(x, meta.aux)
            args.append(x)
        if kw:
            args.extend(kw.get(p, d) for p, d in zip(pnames, pdefaults))
        value = np_fn(*args)
        if out is None and value.__class__ is np.ndarray and value.dtype == meta.dtype.np:
            return value
        return np_result(value, meta, out)

    def cuda(meta, *operands, out=None, **kw):
        if kw or pnames:
            pv = tuple(kw.get(p, d) for p, d in zip(pnames, pdefaults)) + (0,) * (2 - len(pnames))
            if meta.aux.kind == _dt.FLOAT:
                pv = tuple(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in pv)
        else:
            pv = (0, 0)
        return launch_pointwise(tl_fn, list(operands), meta.shape, meta.dtype, meta.aux, out, pv)

    op_box = []
    op = OpDef(name=name, infer=infer, impl={"cpu": cpu, "cuda": cuda}, family=family, ref=ref, samples=samples,
               dtypes=dtypes, supports_out=True, fast=_fast_cpu(np_fn, kind, allowed, arity, op_box), **opdef_kwargs)
    op_box.append(op)
    op.extra["arity"] = arity
    op.extra["params"] = params
    op.extra["tl_fn"] = tl_fn
    return register(op)
