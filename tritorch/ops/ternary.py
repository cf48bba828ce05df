"""Three-operand pointwise ops: where, clamp (clamp_min/clamp_max/clip), lerp, addcmul, addcdiv.

Each is one instantiation of `pointwise.pointwise_kernel`: up to three strided operands (x, y, z; a broadcast dim
has stride 0, so nothing is materialised) and two scalar parameters (p0, p1). A Python-number argument that
changes the formula (clamp with only a min, lerp with a scalar weight) selects its own @triton.jit function rather
than a runtime branch. Bytes per launch: each tensor operand read once per output element (broadcast re-reads hit
cache), the output written once. The infer rules, dtype promotion and NumPy helpers are the binary family's.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from .. import _state
from ..device import CPU
from ..tensor import Tensor, _make
from . import _bind
from . import pointwise as pw
from .binary import (ALL, FLOATS, NUMERIC, _OPMATH, _tensor_grads, _int_ref, _must_be_tensor, _not_implemented, _operand_key,
                     _sample_tensor, _wrap_int, check_int_scalar, check_scalar_fits, finish, launch, np_in, np_scalar,
                     plan)
from .registry import _FLAGS, _GRAD, _TYPE_NAMES, BenchSpec, Meta, OpDef, Sample, broadcast_shapes, device_of, register
from .samples import rng_for

FAMILY = "ternary"

__all__ = ["where", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv"]

_NUMBER = (bool, int, float)

# The interpreter costs ~25 ms a launch: FULL_DTYPES run every sample case, the others a lean subset.
FULL_DTYPES = (_dt.float32, _dt.int64)
SHAPES3 = [((), (), ()), ((5,), (), (5,)), ((0, 3), (1, 3), (3,)), ((2 ** 6 + 17,),) * 3, ((4, 1), (1, 5), (4, 5)),
           ((2, 1, 3, 1, 2), (4, 3, 1, 1), (3, 1, 2))]
LEAN_SHAPES3 = [((4, 1), (1, 5), (5,))]


def _cached():
    """A per-op Meta cache: lookup(key, build) returns the Meta for key (the operands' dtypes/shapes/devices or
    scalar types), calling build() once per key."""
    cache: dict = {}

    def lookup(key, build):
        meta = cache.get(key)
        if meta is None:
            meta = build()
            if len(cache) > 2048:
                cache.clear()
            cache[key] = meta
        return meta

    return lookup


def _samples3(make_args, specials=None):
    """samples(device, dtype) over three-operand broadcast shapes (FULL_DTYPES: all of SHAPES3, non-contiguous
    and transposed operands; other dtypes: LEAN_SHAPES3), then specials(device, dtype, full) for the op's edge
    cases. make_args(shapes, dtype, device, rng, layout) -> (args, kwargs) builds one call."""

    def samples(device, dtype):
        rng = rng_for(FAMILY, dtype.name, make_args.__name__)
        full = dtype in FULL_DTYPES
        for shapes in SHAPES3 if full else LEAN_SHAPES3:
            args, kw = make_args(shapes, dtype, device, rng, "contiguous")
            yield Sample(args, kw, name="x".join(str(s) for s in shapes))
        if full:
            for layout in ("noncontig", "transposed"):
                args, kw = make_args(((3, 8),) * 3, dtype, device, rng, layout)
                yield Sample(args, kw, name=layout)
        if specials is not None:
            yield from specials(device, dtype, full)

    return samples


def _bench3(make_args, flops_per=2):
    """BenchSpec over three contiguous vectors: reads 3 and writes 1 element per output."""

    def make(size, device, dtype):
        rng = rng_for("bench3", size, dtype.name)
        return make_args(((size,),) * 3, dtype, device, rng, "contiguous")

    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dtype: 4 * size * dtype.itemsize,
                     flops=lambda size: flops_per * size, dtypes=(_dt.float32, _dt.float16))


def _host_tensor(values, dtype, device):
    from ..tensor import from_array
    t = from_array(np.array(values, dtype.np))
    return t if str(device) == "cpu" else t.to(device)


def _torch(name):
    return lambda torch, *a, **k: getattr(torch, name)(*a, **k)


def _register(name, infer, cpu, cuda, ref, samples, dtypes, bench, tl_fns, **kw):
    op = register(OpDef(name=name, infer=infer, impl={"cpu": cpu, "cuda": cuda}, family=FAMILY, ref=ref,
                        samples=samples, dtypes=dtypes, supports_out=True, bench=bench, **kw))
    op.extra["arity"] = 3
    op.extra["tl_fn"] = tl_fns
    op.extra["torch"] = _torch(name)
    return op


# ================================================================================================= where

@triton.jit
def _where(x, y, z, p0, p1):
    # x: the condition (any dtype, non-zero = true); y, z: the two choices in the result dtype
    x, y = tl.broadcast(x, y)  # scalar operands become blocks first (see binary._BROADCAST_NOTE)
    x, z = tl.broadcast(x, z)
    y, z = tl.broadcast(y, z)
    return tl.where(x != 0, y, z)


_where_cache = _cached()


def where_infer(condition, input, other):
    key = (_operand_key(condition), _operand_key(input), _operand_key(other), _dt._default_float)
    for v in (input, other):
        if v.__class__ is int:
            check_int_scalar(v)
    return _where_cache(key, lambda: _where_plan(condition, input, other))


def _where_plan(condition, input, other):
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not {type(condition).__name__}")
    if condition.dtype is not _dt.bool_:
        if condition.dtype is not _dt.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{_TYPE_NAMES[condition.dtype]}")
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in "
                      "a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=4)
    for i, v in ((2, input), (3, other)):
        if isinstance(v, complex) and not _state.FLAGS.complex:   # a first complex number: the registry's retry
            _dt._complex_in_use()
            raise _dt.ComplexOperand("where")
        if not isinstance(v, (Tensor,) + _NUMBER):
            raise TypeError(f"where(): argument '{'input' if i == 2 else 'other'}' (position {i}) must be Tensor or "
                            f"Number, not {type(v).__name__}")
    tensors = [t for t in (condition, input, other) if isinstance(t, Tensor)]
    dev = device_of(*tensors)
    dt = pw.result_dtype(input, other) if isinstance(input, Tensor) or isinstance(other, Tensor) else \
        _dt.result_type(input, other)
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return Meta(shape, dt, dev, (dt, dt, dt.np))


def _where_cpu(meta, condition, input, other, out=None):
    d = meta.dtype
    cond = condition._data if condition.dtype is _dt.bool_ else condition._data != 0
    if out is None:
        r = _where_zero_bits(cond, input, other, meta.dtype.np, meta.shape)
        if r is None:
            r = _where_bits(cond, np_in(input, d), np_in(other, d), meta.dtype.np, meta.shape)
        if r is not None:
            return r
    return finish(np.where(cond, np_in(input, d), np_in(other, d)), meta, out)


_UINT_OF_SIZE = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_BITS_MIN_SIZE = 2048  # below this np.where's per-call cost is the smaller


def _is_plus_zero(v) -> bool:
    return (v.__class__ is float or v.__class__ is int) and v == 0 and math.copysign(1.0, v) > 0


def _where_zero_bits(cond, input, other, dtype, shape):
    """where(cond, 0, x) and where(cond, x, 0) — relu's and masks' backward — as a bitwise AND of x's bits with a
    mask made from cond: np.where with a random mask is several times slower (a branch per element). Exact: the
    zero is +0 (all bits clear) and every other element keeps its bits, NaN included. None when it does not
    apply (scalar not +0, x not already the result's NumPy `dtype` and `shape`, small sizes)."""
    if _is_plus_zero(input) and other.__class__ is Tensor:
        x, keep_where_true = other._data, False
    elif _is_plus_zero(other) and input.__class__ is Tensor:
        x, keep_where_true = input._data, True
    else:
        return None
    if x.dtype != dtype or x.shape != shape or x.size < _BITS_MIN_SIZE or cond.shape != shape:
        return None
    return np_masked_bits(cond, x, keep_where_true)


def _where_bits(cond, a, b, dtype, shape):
    """where(cond, a, b) as b ^ ((a ^ b) & mask) on the operands' bits, the mask all ones where cond: exact (every
    element is one operand's bits), broadcasting as np.where does, and 4x faster than np.where's branch per
    element when the mask is unpredictable (leaky_relu's backward: 13 -> 3 ms for 2M float32 elements). None
    for small results (np.where's per-call cost is the smaller) and itemsizes without an unsigned type."""
    uint = _UINT_OF_SIZE.get(np.dtype(dtype).itemsize)
    if uint is None or math.prod(shape) < _BITS_MIN_SIZE:
        return None
    ua, ub = np.asarray(a, dtype).view(uint), np.asarray(b, dtype).view(uint)
    mask = cond.astype(uint)
    np.negative(mask, out=mask)          # all ones where cond
    r = np.bitwise_xor(ua, ub)
    if r.shape != shape:                 # (cond is the operand that spans the result)
        r = np.broadcast_to(r, shape) & mask
    else:
        r &= mask
    r ^= ub
    return r.view(dtype)


def np_masked_bits(cond: np.ndarray, x: np.ndarray, keep_where_true: bool = True) -> np.ndarray | None:
    """x where cond (or where not cond) else +0, for arrays of one shape: x's bits ANDed with a mask made from
    cond (exact, NaN payloads kept). None for an itemsize without an unsigned type."""
    uint = _UINT_OF_SIZE.get(x.dtype.itemsize)
    if uint is None:
        return None
    mask = cond.astype(uint)  # 1 where cond, else 0
    if keep_where_true:
        np.negative(mask, out=mask)  # all ones where cond
    else:
        np.subtract(mask, 1, out=mask)  # all ones where not cond
    x = x if x.flags.c_contiguous else np.ascontiguousarray(x)  # (ascontiguousarray makes a 0-d array 1-d)
    return np.bitwise_and(x.view(uint), mask, out=mask).view(x.dtype)


def _where_cuda(meta, condition, input, other, out=None):
    return launch(_where, [condition, input, other], meta.shape, meta.dtype, meta.dtype, out)


def _where_args(shapes, dtype, device, rng, layout):
    c = _sample_tensor(shapes[0], _dt.bool_, device, rng, layout=layout)
    return (c, _sample_tensor(shapes[1], dtype, device, rng, layout=layout),
            _sample_tensor(shapes[2], dtype, device, rng, layout=layout)), {}


def _where_specials(device, dtype, full):
    rng = rng_for("where-special", dtype.name)
    c = _sample_tensor((4, 3), _dt.bool_, device, rng)
    t = _sample_tensor((4, 3), dtype, device, rng)
    yield Sample((c, t, 2), name="scalar-other")
    if full:
        yield Sample((c, 1.5, t), name="float-scalar-input")  # promotes integer tensors to the default float
        yield Sample((c, True, False), name="two-scalars")
        other = _dt.float64 if dtype is not _dt.float64 else _dt.int8
        yield Sample((c, t, _sample_tensor((3,), other, device, rng)), name=f"with-{other.name}")
        yield Sample((_sample_tensor((), _dt.bool_, device, rng), t, _sample_tensor((4, 1), dtype, device, rng)),
                     name="0-dim-condition")


def _where_fast():
    """OpDef.fast for where(cond, +0, x) / where(cond, x, +0) on cpu, with a bool cond and a float x of cond's
    shape (relu's and masks' backward, on every training step): the AND-mask path without infer, recorded under
    autograd. Anything else returns None and takes the full path."""
    op_box = [None]

    def fast(cond, input, other, **kw):
        if kw or cond.__class__ is not Tensor or cond.dtype is not _dt.bool_ or cond.device is not CPU:
            return None
        x = other if other.__class__ is Tensor else input
        if x.__class__ is not Tensor or x.device is not CPU or x.dtype.kind != _dt.FLOAT:
            return None  # (a float tensor with a Python number keeps the tensor's dtype, as infer decides)
        d = x._data
        r = _where_zero_bits(cond._data, input, other, d.dtype, d.shape)
        if r is None:
            return None
        t = _make(r, x.dtype, CPU)
        if x._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled):
            _state.recorder(op_box[0], (cond, input, other), {}, t, None)
        return t

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


where_op = _register("where", where_infer, _where_cpu, _where_cuda,
                     lambda c, x, y: np.where(np.asarray(c, bool), x, y),
                     _samples3(_where_args, specials=_where_specials), ALL, _bench3(_where_args, flops_per=0),
                     _where, fast=_where_fast())


def where(condition, input=None, other=None, *, out=None):
    """input where condition else other (broadcast, promoted); where(condition) alone is nonzero(as_tuple=True)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return where_op(condition, _number(input), _number(other), out=out)


def _number(x):
    """NumPy scalars become Python scalars (PyTorch treats them as Numbers)."""
    return x.item() if isinstance(x, np.generic) else x


# ================================================================================================= clamp

@triton.jit
def _clamp_scalars(x, y, z, lo, hi):
    # lo/hi: the bounds as kernel scalars; joined to a block first (see binary._BROADCAST_NOTE). NaN anywhere
    # gives NaN; lo > hi gives hi (PyTorch's min(max(x, lo), hi))
    lo_b = tl.zeros_like(x) + lo
    hi_b = tl.zeros_like(x) + hi
    r = tl.where((x < lo_b) | (lo_b != lo_b), lo_b, x)
    return tl.where((r > hi_b) | (hi_b != hi_b), hi_b, r)


@triton.jit
def _clamp_min_scalar(x, y, z, lo, p1):
    lo_b = tl.zeros_like(x) + lo
    return tl.where((x < lo_b) | (lo_b != lo_b), lo_b, x)


@triton.jit
def _clamp_max_scalar(x, y, z, hi, p1):
    hi_b = tl.zeros_like(x) + hi
    return tl.where((x > hi_b) | (hi_b != hi_b), hi_b, x)


@triton.jit
def _clamp_tensors(x, y, z, p0, p1):
    # y: the min tensor, z: the max tensor (broadcast)
    x, y = tl.broadcast(x, y)
    x, z = tl.broadcast(x, z)
    y, z = tl.broadcast(y, z)
    r = tl.where((x < y) | (y != y), y, x)
    return tl.where((r > z) | (z != z), z, r)


@triton.jit
def _clamp_min_tensor(x, y, z, p0, p1):
    # y: the min tensor
    x, y = tl.broadcast(x, y)
    return tl.where((x < y) | (y != y), y, x)


@triton.jit
def _clamp_max_tensor(x, y, z, p0, p1):
    # y: the max tensor
    x, y = tl.broadcast(x, y)
    return tl.where((x > y) | (y != y), y, x)


_clamp_cache = _cached()


def clamp_infer(input, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    scalar_min, scalar_max = min.__class__ in _NUMBER, max.__class__ in _NUMBER
    key = (_operand_key(input), _operand_key(min), _operand_key(max), _dt._default_float)
    meta = _clamp_cache(key, lambda: _clamp_plan(input, min, max))
    for v in (min, max):
        if v.__class__ in _NUMBER and v.__class__ is not bool:
            check_int_scalar(v)
            check_scalar_fits(v, meta.dtype)
    if meta.dtype is _dt.bool_ and (min is not None and max is not None or scalar_min or scalar_max):
        # PyTorch's bool clamp takes a single tensor bound only
        which = "clamp" if min is not None and max is not None else ("clamp_min" if scalar_min else "clamp_max")
        raise _not_implemented(which + ("_scalar_{dev}" if scalar_min or scalar_max else "_{dev}"), meta.device,
                               _dt.bool_)
    return meta


def _clamp_plan(input, min, max):  # noqa: A002
    if not isinstance(input, Tensor):
        raise _must_be_tensor("clamp", input, 1)
    bounds = [b for b in (min, max) if b is not None]
    kinds = {isinstance(b, Tensor) for b in bounds}
    if len(kinds) > 1 or not all(isinstance(b, (Tensor,) + _NUMBER) for b in bounds):
        names = ", ".join(type(v).__name__ if not isinstance(v, Tensor) else "Tensor" for v in (input, min, max))
        raise TypeError(f"clamp() received an invalid combination of arguments - got ({names}), but expected one "
                        f"of: (Tensor input, Tensor min = None, Tensor max = None), (Tensor input, Number min = None, "
                        f"Number max = None)")
    return plan("clamp", (input, *bounds), "same", "clamp_{dev}", None, False)


def _clamp_bound(v, d: _dt.dtype):
    """A scalar bound as the kernel parameter: integer bounds wrap into d's range (uint8 bound -3 is 253)."""
    if d.kind == _dt.FLOAT:
        return float(v)
    return _wrap_int(int(v), d) if d.kind == _dt.INT else int(bool(v))


def _clamp_cpu(meta, input, min=None, max=None, out=None, quiet=False):  # noqa: A002
    d = meta.aux[1]
    if d is _dt.bfloat16 and not quiet:  # ml_dtypes warns on NaN comparisons
        with np.errstate(invalid="ignore"):
            return _clamp_cpu(meta, input, min, max, out, quiet=True)
    r = np_in(input, d)
    if min is not None:
        r = np.maximum(r, np_in(min, d))
    if max is not None:
        r = np.minimum(r, np_in(max, d))
    return finish(r, meta, out)


def _clamp_cuda(meta, input, min=None, max=None, out=None):  # noqa: A002
    d = meta.dtype
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None and max is not None:
            fn, operands = _clamp_tensors, [input, min, max]
        elif min is not None:
            fn, operands = _clamp_min_tensor, [input, min]
        else:
            fn, operands = _clamp_max_tensor, [input, max]
        return launch(fn, operands, meta.shape, d, d, out)
    if min is not None and max is not None:
        fn, params = _clamp_scalars, (_clamp_bound(min, d), _clamp_bound(max, d))
    elif min is not None:
        fn, params = _clamp_min_scalar, (_clamp_bound(min, d), 0)
    else:
        fn, params = _clamp_max_scalar, (_clamp_bound(max, d), 0)
    return launch(fn, [input], meta.shape, d, d, out, params)


def _clamp_ref(x, min=None, max=None):  # noqa: A002
    r = np.asarray(x, np.float64)
    if min is not None:
        r = np.where(np.isnan(min) | (r < min), min, r)
    if max is not None:
        r = np.where(np.isnan(max) | (r > max), max, r)
    return r


def _clamp_args(shapes, dtype, device, rng, layout):
    x = _sample_tensor(shapes[0], dtype, device, rng, layout=layout)
    lo = _sample_tensor(shapes[1], dtype, device, rng, low=-3, high=1, layout=layout)
    if dtype is _dt.bool_:  # PyTorch's bool clamp takes one tensor bound
        return (x,), {"min": lo}
    hi = _sample_tensor(shapes[2], dtype, device, rng, low=0, high=4, layout=layout)
    return (x,), {"min": lo, "max": hi}


def _clamp_specials(device, dtype, full):
    rng = rng_for("clamp-special", dtype.name)
    x = _sample_tensor((5, 4), dtype, device, rng)
    if dtype is not _dt.bool_:
        yield Sample((x,), {"min": -2, "max": 3}, name="scalars")
        yield Sample((x, 1), name="scalar-min")
        yield Sample((x,), {"max": 2}, name="scalar-max")
    yield Sample((x,), {"min": _sample_tensor((4,), dtype, device, rng)}, name="tensor-min")
    yield Sample((x,), {"max": _sample_tensor((5, 1), dtype, device, rng)}, name="tensor-max")
    if full or dtype.kind == _dt.FLOAT:
        if dtype.kind == _dt.FLOAT:
            if dtype is _dt.float64:  # gradcheck: NaN has no derivative; infinities stay (zero gradient)
                vals = _host_tensor([0.75, 1.0, -5.0, 5.0, np.inf, -np.inf], dtype, device)
                yield Sample((vals, -2.0, 2.5), name="inf")
                return
            vals = _host_tensor([np.nan, 1.0, -5.0, 5.0, np.inf, -np.inf], dtype, device)
            yield Sample((vals, -2.0, 2.5), name="nan-inf")
            yield Sample((vals,), {"min": float("nan")}, name="nan-bound")
            yield Sample((vals,), {"min": _host_tensor([np.nan, 0.0, 0.0, np.nan, 0.0, 0.0], dtype, device),
                                   "max": _host_tensor([1.0, np.nan, 1.0, 1.0, 1.0, np.nan], dtype, device)},
                         name="nan-tensor-bounds")
        else:
            yield Sample((x, 2.5), name="float-bound-promotes")
        yield Sample((x,), {"min": 3, "max": -1}, name="min-above-max")


clamp_op = _register("clamp", clamp_infer, _clamp_cpu, _clamp_cuda, _int_ref(_clamp_ref),
                     _samples3(_clamp_args, specials=_clamp_specials), ALL, _bench3(_clamp_args),
                     (_clamp_scalars, _clamp_min_scalar, _clamp_max_scalar, _clamp_tensors, _clamp_min_tensor,
                      _clamp_max_tensor))


def clamp(input, min=None, max=None, *, out=None):  # noqa: A002
    """input limited to [min, max] (Numbers or Tensors, broadcast); NaN stays NaN; min > max gives max."""
    return clamp_op(input, _number(min), _number(max), out=out)


clip = clamp


def clamp_min(input, min, *, out=None):  # noqa: A002
    if min is None:
        raise TypeError("clamp_min() received an invalid combination of arguments - got (Tensor, NoneType)")
    return clamp_op(input, _number(min), None, out=out)


def clamp_max(input, max, *, out=None):  # noqa: A002
    if max is None:
        raise TypeError("clamp_max() received an invalid combination of arguments - got (Tensor, NoneType)")
    return clamp_op(input, None, _number(max), out=out)


# ================================================================================================== lerp

@triton.jit
def _lerp_scalar(x, y, z, w, p1):
    # x: start, y: end, w: the weight (a kernel scalar). PyTorch's two-sided formula keeps lerp exact at both
    # ends: x + w (y - x) for |w| < 0.5, else y - (y - x)(1 - w)
    x, y = tl.broadcast(x, y)
    wb = tl.zeros_like(x) + w
    d = y - x
    return tl.where(tl.abs(wb) < 0.5, x + wb * d, y - d * (1.0 - wb))


@triton.jit
def _lerp_tensor(x, y, z, p0, p1):
    # z: the weight tensor
    x, y = tl.broadcast(x, y)
    x, z = tl.broadcast(x, z)
    y, z = tl.broadcast(y, z)
    d = y - x
    return tl.where(tl.abs(z) < 0.5, x + z * d, y - d * (1.0 - z))


_LERP_TYPE = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16",
              _dt.int64: "long int", _dt.int32: "int", _dt.int16: "short int", _dt.int8: "signed char",
              _dt.uint8: "unsigned char", _dt.bool_: "bool"}
_lerp_cache = _cached()


def lerp_infer(input, end, weight):
    key = (_operand_key(input), _operand_key(end), _operand_key(weight))
    return _lerp_cache(key, lambda: _lerp_plan(input, end, weight))


def _lerp_plan(input, end, weight):
    if not isinstance(input, Tensor):
        raise _must_be_tensor("lerp", input, 1)
    if not isinstance(end, Tensor):
        raise _must_be_tensor("lerp", end, 2)
    if not isinstance(weight, (Tensor,) + _NUMBER):
        raise TypeError(f"lerp(): argument 'weight' (position 3) must be Tensor or Number, not "
                        f"{type(weight).__name__}")
    d = input.dtype
    for what, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.dtype is not d:
            raise RuntimeError(f"expected dtype {_LERP_TYPE[d]} for `{what}` but got dtype {_LERP_TYPE[t.dtype]}")
    tensors = [t for t in (input, end, weight) if isinstance(t, Tensor)]
    dev = device_of(*tensors)
    if d.kind != _dt.FLOAT:
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        raise _not_implemented(kernel, dev, d)
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return Meta(shape, d, dev, (d, _OPMATH.get(d, d), d.np))


def _lerp_cpu(meta, input, end, weight, out=None):
    c = meta.aux[1]
    x, y = np_in(input, c), np_in(end, c)
    w = np_in(weight, c)
    d = np.subtract(y, x)
    if not isinstance(weight, Tensor):   # one side of the formula for all elements: only that one is computed
        return finish(x + w * d if abs(w) < 0.5 else y - d * (1 - w), meta, out)
    near, far = x + w * d, y - d * (1 - w)
    near, far = np.broadcast_arrays(near, far)
    r = _where_bits(np.broadcast_to(np.abs(w) < 0.5, near.shape), near, far, c.np, near.shape)
    return finish(np.where(np.abs(w) < 0.5, near, far) if r is None else r, meta, out)


def _lerp_cuda(meta, input, end, weight, out=None):
    if isinstance(weight, Tensor):
        return launch(_lerp_tensor, [input, end, weight], meta.shape, meta.dtype, meta.dtype, out)
    return launch(_lerp_scalar, [input, end], meta.shape, meta.dtype, meta.dtype, out,
                               (float(weight), 0.0))


def _lerp_args(shapes, dtype, device, rng, layout):
    return tuple(_sample_tensor(s, dtype, device, rng, low=lo, high=hi, layout=layout)
                 for s, (lo, hi) in zip(shapes, ((-3, 3), (-3, 3), (-0.5, 1.5)))), {}


def _lerp_specials(device, dtype, full):
    rng = rng_for("lerp-special", dtype.name)
    x = _sample_tensor((4, 3), dtype, device, rng)
    y = _sample_tensor((3,), dtype, device, rng)
    for w in (0.25, 0.75, 2.5, -1, 0.5):
        yield Sample((x, y, w), name=f"weight{w}")
    yield Sample((x, y, _sample_tensor((), dtype, device, rng, low=0, high=1)), name="0-dim-weight")


lerp_op = _register("lerp", lerp_infer, _lerp_cpu, _lerp_cuda,
                    lambda x, y, w: np.asarray(x, np.float64) + np.asarray(w, np.float64) * (np.asarray(y) - x),
                    _samples3(_lerp_args, specials=_lerp_specials), FLOATS, _bench3(_lerp_args, flops_per=4),
                    (_lerp_scalar, _lerp_tensor))


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input), weight a Number or a Tensor (all of input's floating dtype)."""
    return lerp_op(input, end, _number(weight), out=out)


# ========================================================================================= addcmul / addcdiv

@triton.jit
def _addcmul(x, y, z, value, p1):
    # x + value * y * z, evaluated as PyTorch does: (value * y) * z
    return x + value * y * z


@triton.jit
def _addcdiv(x, y, z, value, p1):
    # x + (value * y) / z, in IEEE division (Triton's fp32 `/` is approximate)
    n = value * y
    if n.dtype == tl.float32:
        q = tl.math.div_rn(n, z.to(tl.float32))
    else:
        q = n / z
    return x + q


def _addc_infer(name):
    cache = _cached()

    def infer(input, tensor1, tensor2, value=1):
        key = (_operand_key(input), _operand_key(tensor1), _operand_key(tensor2), _dt._default_float)
        meta = cache(key, lambda: _addc_plan(name, input, tensor1, tensor2))
        if not isinstance(value, _NUMBER + (np.number, np.bool_)):
            raise TypeError(f"{name}(): argument 'value' must be Number, not {type(value).__name__}")
        if value.__class__ is not bool:
            check_int_scalar(value)
            if meta.dtype.kind == _dt.INT:
                check_scalar_fits(int(value), meta.dtype)
        return meta

    return infer


def _addc_plan(name, input, tensor1, tensor2):
    for i, t in enumerate((input, tensor1, tensor2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{('input', 'tensor1', 'tensor2')[i]}' (position {i + 1}) must be "
                            f"Tensor, not {type(t).__name__}")
    if name == "addcdiv" and tensor1.dtype.kind != _dt.FLOAT and tensor2.dtype.kind != _dt.FLOAT:
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
                           "for all dtypes.")
    allowed = NUMERIC if name == "addcmul" else None
    return plan(name, (input, tensor1, tensor2), "same", name + "_{dev}_out", allowed, True)


def _value_param(value, d: _dt.dtype):
    """value as the op's dtype: truncated and wrapped for integers (PyTorch's Scalar.to<int>())."""
    if d.kind == _dt.FLOAT:
        return float(value)
    return _wrap_int(int(value), d)


def _addcmul_cpu(meta, input, tensor1, tensor2, value=1, out=None):
    c, cc = meta.aux[0], meta.aux[1]
    x, y, z = np_in(input, cc), np_in(tensor1, cc), np_in(tensor2, cc)
    prod = np.multiply(np.multiply(np_scalar(_value_param(value, c), cc), y), z)
    return finish(np.add(x, prod), meta, out)


def _addcdiv_cpu(meta, input, tensor1, tensor2, value=1, out=None):
    c, cc = meta.aux[0], meta.aux[1]
    x, y, z = np_in(input, cc), np_in(tensor1, cc), np_in(tensor2, cc)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.true_divide(np.multiply(np_scalar(_value_param(value, c), cc), y), z)
    return finish(np.add(x, q), meta, out)


def _addc_cuda(tl_fn):
    def cuda(meta, input, tensor1, tensor2, value=1, out=None):
        c = meta.aux[0]
        return launch(tl_fn, [input, tensor1, tensor2], meta.shape, meta.dtype, c, out,
                                   (_value_param(value, c), 0))

    return cuda


def _addc_args(low=None, high=None):
    def make_args(shapes, dtype, device, rng, layout):
        x = _sample_tensor(shapes[0], dtype, device, rng, layout=layout)
        y = _sample_tensor(shapes[1], dtype, device, rng, layout=layout)
        z = _sample_tensor(shapes[2], dtype, device, rng, low=low, high=high, layout=layout)
        return (x, y, z), {}

    make_args.__name__ = f"addc{low}{high}"
    return make_args


def _addc_specials(name):
    def specials(device, dtype, full):
        rng = rng_for(name, dtype.name)
        x = _sample_tensor((4, 3), dtype, device, rng)
        y = _sample_tensor((3,), dtype, device, rng)
        z = _sample_tensor((4, 1), dtype, device, rng, low=0.5, high=3)
        if dtype.kind == _dt.FLOAT:
            yield Sample((x, y, z), {"value": 0.5}, name="value0.5")
        yield Sample((x, y, z), {"value": 2}, name="value2")
        if full and name == "addcmul":
            yield Sample((x, y, z), {"value": -3}, name="value-3")
            if dtype.kind != _dt.FLOAT:
                yield Sample((x, y, z), {"value": 2.5}, name="float-value-truncates")

    return specials


def _addcmul_ref(x, y, z, value=1):
    if np.asarray(x).dtype.kind in "biu" and np.asarray(y).dtype.kind in "biu" and np.asarray(z).dtype.kind in "biu":
        d = np.result_type(x, y, z)
        v = d.type(_wrap_int(int(value), _dt.from_numpy_dtype(d)))
        return x + v * y * z
    return np.asarray(x, np.float64) + value * np.asarray(y, np.float64) * z


addcmul_op = _register("addcmul", _addc_infer("addcmul"), _addcmul_cpu, _addc_cuda(_addcmul), _addcmul_ref,
                       _samples3(_addc_args(), specials=_addc_specials("addcmul")), NUMERIC,
                       _bench3(_addc_args(), flops_per=3), _addcmul)
addcdiv_op = _register("addcdiv", _addc_infer("addcdiv"), _addcdiv_cpu, _addc_cuda(_addcdiv),
                       lambda x, y, z, value=1: np.asarray(x, np.float64) + value * np.asarray(y, np.float64) / z,
                       _samples3(_addc_args(0.5, 3), specials=_addc_specials("addcdiv")), FLOATS,
                       _bench3(_addc_args(0.5, 3), flops_per=3), _addcdiv)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2 (broadcast, promoted over the three tensors)."""
    return addcmul_op(input, tensor1, tensor2, value=_number(value), out=out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 (tensor1 and tensor2 may not both be integral)."""
    return addcdiv_op(input, tensor1, tensor2, value=_number(value), out=out)


# ======================================================================================= backward rules
# vjp(ctx, grad) -> one gradient (or None) per Tensor positional argument (Python numbers and None get none),
# in tritorch ops, following PyTorch's derivatives.yaml.

def _zeros(g):
    from .creation import zeros_like
    return zeros_like(g)


def _where_vjp(ctx, grad):
    # the formula reads only the condition: x and y may be modified in place after the call (Longformer does)
    c, x, y = ctx.checked_input(0), *ctx.args[1:]
    c = c if c.dtype is _dt.bool_ else c != 0
    return _tensor_grads(ctx, (c, x, y), None, lambda: where_op(c, grad, 0.0), lambda: where_op(c, 0.0, grad))


def _clamp_vjp(ctx, grad):
    # PyTorch's clamp_backward / clamp_backward_min_max: the input passes where min <= x <= max; a tensor min gets
    # the gradient where x < min (and min < max), a tensor max where x > max (or max < min)
    x, lo, hi = (tuple(ctx.inputs) + (None, None))[:3]
    if lo is None and "min" in ctx.kwargs:
        lo = ctx.kwargs["min"]
    if hi is None and "max" in ctx.kwargs:
        hi = ctx.kwargs["max"]

    def g_input():
        if lo is not None and hi is not None:
            keep = (x >= lo) & (x <= hi)
        elif lo is not None:
            keep = x >= lo
        else:
            keep = x <= hi
        return where_op(keep, grad, 0.0)

    def g_min():
        pick = x < lo if hi is None else (x < lo) & (lo < hi)
        return where_op(pick, grad, 0.0)

    def g_max():
        pick = x > hi if lo is None else (x > hi) | (hi < lo)
        return where_op(pick, grad, 0.0)

    args = tuple(ctx.inputs) + (None, None)
    return _tensor_grads(ctx, args[:3], g_input, g_min, g_max)


def _lerp_vjp(ctx, grad):
    x, y, w = ctx.inputs
    if isinstance(w, _NUMBER):
        return _tensor_grads(ctx, (x, y, w), lambda: grad * (1.0 - w), lambda: grad * w, None)
    return _tensor_grads(ctx, (x, y, w), lambda: grad * (1.0 - w), lambda: grad * w, lambda: grad * (y - x))


def _addcmul_vjp(ctx, grad):
    x, t1, t2 = ctx.inputs
    v = ctx.kwargs.get("value", 1)
    return _tensor_grads(ctx, (x, t1, t2), lambda: grad, lambda: grad * t2 * v, lambda: grad * t1 * v)


def _addcdiv_vjp(ctx, grad):
    x, t1, t2 = ctx.inputs
    v = ctx.kwargs.get("value", 1)
    return _tensor_grads(ctx, (x, t1, t2), lambda: grad, lambda: grad * (v / t2),
                         lambda: -grad * (v * t1 / (t2 * t2)))


where_op.vjp = _where_vjp
clamp_op.vjp = _clamp_vjp
lerp_op.vjp = _lerp_vjp
addcmul_op.vjp = _addcmul_vjp
addcdiv_op.vjp = _addcdiv_vjp


# ============================================================================================== methods

def _where_method(self, condition, y):
    """Tensor.where(condition, y) is where(condition, self, y)."""
    return where_op(condition, self, _number(y))


def _inplace(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, out=self, **kwargs)

    method.__name__ = fn.__name__ + "_"
    return method


_bind.methods(
    where=_where_method, clamp=clamp, clip=clamp, clamp_min=clamp_min, clamp_max=clamp_max, lerp=lerp,
    addcmul=addcmul, addcdiv=addcdiv,
    clamp_=_inplace(clamp), clip_=_inplace(clamp), clamp_min_=_inplace(clamp_min), clamp_max_=_inplace(clamp_max),
    lerp_=_inplace(lerp), addcmul_=_inplace(addcmul), addcdiv_=_inplace(addcdiv),
)
