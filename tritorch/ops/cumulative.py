"""Scans whose combine is not a sum or a product: cummax / cummin (the index of the running extreme) and
logcumsumexp, as registered ops.

  cummax_indices(input, dim) -> int64    the index of the last element attaining the running max (NaN wins and
  cummin_indices(input, dim) -> int64    stays: the last NaN so far, as in PyTorch); the public cummax/cummin
                                         gather the values at these indices, so the gradient goes to them
  logcumsumexp(input, dim)  -> float     log(cumsum(exp(input))), computed stably

Both run in O(n) along dim; they replace composites that reduced every prefix of 16-element chunks (0.1-0.6 s for
2048x1024 on the cpu; torch 8-27 ms).

NumPy fallback:
- cummax/cummin: the running extreme by ufunc.accumulate; an element is the extreme's new holder where it equals
  the running extreme (it is >= every earlier one: ties go to the later element) or is NaN; the index is then
  the running max of (holder ? position : 0). Three passes and two accumulates.
- logcumsumexp: in float64 against each row's max, m + log(cumsum(exp(x - m))), where every finite element is
  within 700 of its row's max (so no term underflows or turns subnormal); the other rows (+inf, NaN, all -inf,
  a wider spread) take np.logaddexp.accumulate in float64, PyTorch's sequential recurrence.
Both go in row blocks on the thread pool along a contiguous last dim, and position by position along a leading dim
(NumPy's accumulate walks such a dim element by element across the rows).

Triton: one program scans BLOCK_O rows, BLOCK_R positions at a time with tl.associative_scan, and carries the
running result from block to block.
"""
from __future__ import annotations

import builtins as _b

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from . import _bind, launch
from . import _cpu_parallel as par
from .reduce import (_PAST_GRADCHECK, _np_scan_outer, _numel, _quiet, _sample_tensor, _with_nan, return_types,
                     scan_tiles)
from .registry import BenchSpec, Meta, OpDef, Sample, device_of, register
from .unary import _log1p_accurate
from .registry import write_out as _write_out

FAMILY = "cumulative"
_LOWP = (_dt.float16, _dt.bfloat16)
# Positions one program scans at once. The interpreter takes short blocks so that the samples cross blocks (the
# carry from one block to the next is the part a long block would leave untested).
_MAX_BLOCK_R = 32 if _cuda.INTERPRET else 1024
_TILE = 2048
# float64 terms exp(x - max) of finite x within this of the max are normal numbers (exp(-708) is the smallest)
_SPREAD = 700.0


# ============================================================================================ infer

def _infer(name, float_only):
    def infer(input, dim):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"{name}(): argument 'dim' (position 2) must be int, not {type(dim).__name__}")
        n_dims = _b.max(input.dim(), 1)
        if not -n_dims <= dim < n_dims:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n_dims}, {n_dims - 1}], but "
                             f"got {dim})")
        if float_only and input.dtype.kind != _dt.FLOAT:
            from .registry import _TYPE_NAMES
            raise RuntimeError(f"\"{name}_out_cpu\" not implemented for '{_TYPE_NAMES[input.dtype]}'")
        dev = device_of(input)
        shape = tuple(input.shape)
        d = int(dim) % n_dims
        layout = (d, _numel(shape[:d]), shape[d], _numel(shape[d + 1:])) if shape else (0, 1, 1, 1)
        return Meta(shape, input.dtype if float_only else _dt.int64, dev, layout)
    return infer


# ======================================================================================== NumPy side

def _along(a: np.ndarray, d: int, fn, out_dtype) -> np.ndarray:
    """fn(block, axis) over a: row blocks on the pool when d is the contiguous last dim of a large array, else
    fn(a, d) whole."""
    if d != a.ndim - 1 or a.size < par.PARALLEL_MIN or not a.flags.c_contiguous:
        return fn(a, d)
    n = a.shape[-1]
    rows = a.reshape(-1, n)
    out = np.empty(rows.shape, out_dtype)

    def block(sl):
        out[sl] = fn(rows[sl], 1)

    par.run_row_blocks(block, rows.shape[0], n)
    return out.reshape(a.shape)


def _accumulate(ufunc, a: np.ndarray, d: int, dtype) -> np.ndarray:
    r = _np_scan_outer(ufunc, a, d, dtype)
    return ufunc.accumulate(a, axis=d, dtype=dtype) if r is None else r


def _np_extreme_index(a: np.ndarray, d: int, is_max: bool) -> np.ndarray:
    best = _accumulate(np.maximum if is_max else np.minimum, a, d, a.dtype)   # NaN propagates from the first
    holder = a == best
    if a.dtype.kind == "f" and np.isnan(np.take(best, -1, axis=d)).any():
        holder |= np.isnan(a)
    n = a.shape[d]
    pos = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (a.ndim - 1 - d))
    return _accumulate(np.maximum, holder * pos, d, np.int64)   # (a product by the mask: np.where is slow)


def _extreme_cpu(is_max):
    def cpu(meta, input, dim):
        a = input._data
        if a.size == 0:
            return np.zeros(meta.shape, np.int64)
        if a.ndim == 0:
            return np.zeros((), np.int64)
        if a.dtype == np.bool_:
            a = a.view(np.uint8)
        elif input.dtype is _dt.bfloat16:
            a = a.astype(np.float32)   # exact; NumPy compares bfloat16 through float32 anyway
        with _quiet():
            return _along(a, meta.aux[0], lambda x, d: _np_extreme_index(x, d, is_max), np.int64)
    return cpu


def _np_logcumsumexp(a: np.ndarray, d: int) -> np.ndarray:
    """float64 rows against their max where that is exact enough; elsewhere PyTorch's recurrence, in float64."""
    m = a.max(axis=d, keepdims=True)
    low = a.min(axis=d, keepdims=True)
    tame = np.isfinite(m) & (m - low <= _SPREAD)   # (NaN, +inf, all -inf or -inf inside: False)
    if not tame.all():
        # -inf elements are exact zeros in the sum: a row of them with finite others close to its max stays tame
        finite_low = np.where(np.isneginf(a), m, a).min(axis=d, keepdims=True)
        tame = np.isfinite(m) & (m - finite_low <= _SPREAD)
    t = a.astype(np.float64)
    m64 = np.where(tame, m, 0).astype(np.float64)
    t -= m64
    np.exp(t, out=t)
    t = _accumulate(np.add, t, d, np.float64)
    np.log(t, out=t)
    t += m64
    r = t.astype(a.dtype)
    if not tame.all():
        rv, av = np.moveaxis(r, d, -1), np.moveaxis(a, d, -1)
        wild = ~np.moveaxis(tame, d, -1)[..., 0]
        rv[wild] = np.logaddexp.accumulate(av[wild].astype(np.float64), axis=-1)
    return r


def _logcumsumexp_cpu(meta, input, dim):
    a = input._data
    if a.size == 0:
        return np.empty(meta.shape, meta.dtype.np)
    acc = np.float64 if input.dtype is _dt.float64 else np.float32
    a = a.reshape(1) if a.ndim == 0 else a
    with _quiet():
        r = _along(a.astype(acc, copy=False), meta.aux[0], _np_logcumsumexp, acc)
    return r.reshape(meta.shape).astype(meta.dtype.np, copy=False)


# ======================================================================================== Triton side

@triton.jit
def _later_max(v1, i1, v2, i2):
    # (v1, i1) comes before (v2, i2): the later wins if it is NaN, or >= the earlier unless that is NaN
    take = (v2 != v2) | ((v1 == v1) & (v2 >= v1))
    return tl.where(take, v2, v1), tl.where(take, i2, i1)


@triton.jit
def _later_min(v1, i1, v2, i2):
    take = (v2 != v2) | ((v1 == v1) & (v2 <= v1))
    return tl.where(take, v2, v1), tl.where(take, i2, i1)


@triton.jit
def _extreme_index_kernel(
    x_ptr,                      # input, contiguous (outer, n_len, inner); bool passed as uint8
    out_ptr,                    # int64 indices, same layout
    n_rows, n_len, inner,       # rows (outer * inner); scan length; row r starts at (r // inner) * n_len * inner
                                # + r % inner and steps by `inner`
    IS_MAX: tl.constexpr,       # running max (else min)
    WIDEN: tl.constexpr,        # compare fp16/bf16 as fp32 (exact)
    BLOCK_O: tl.constexpr, BLOCK_R: tl.constexpr,
):
    # bytes: reads each input element once, writes 8 bytes per element
    rows = tl.program_id(0).to(tl.int64) * BLOCK_O + tl.arange(0, BLOCK_O)
    row_ok = rows < n_rows
    base = (rows // inner) * n_len * inner + rows % inner
    lane = tl.arange(0, BLOCK_R)
    carry_v = tl.zeros([BLOCK_O], tl.float32 if WIDEN else x_ptr.dtype.element_ty)
    carry_i = tl.zeros([BLOCK_O], tl.int32)
    for r0 in range(0, n_len, BLOCK_R):
        t = r0 + lane
        ok = row_ok[:, None] & (t < n_len)[None, :]
        offs = base[:, None] + t[None, :].to(tl.int64) * inner
        # masked lanes trail the valid ones in each row, so whatever they hold never reaches a stored index
        v = tl.load(x_ptr + offs, mask=ok, other=0)
        if WIDEN:
            v = v.to(tl.float32)
        i = tl.zeros([BLOCK_O, BLOCK_R], tl.int32) + t[None, :]
        if IS_MAX:
            sv, si = tl.associative_scan((v, i), 1, _later_max)
            cv, ci = _later_max(carry_v[:, None], carry_i[:, None], sv, si)
        else:
            sv, si = tl.associative_scan((v, i), 1, _later_min)
            cv, ci = _later_min(carry_v[:, None], carry_i[:, None], sv, si)
        sv = tl.where(r0 > 0, cv, sv)
        si = tl.where(r0 > 0, ci, si)
        tl.store(out_ptr + offs, si.to(tl.int64), mask=ok)
        at_last = lane[None, :] == tl.minimum(n_len - r0, BLOCK_R) - 1
        carry_v = tl.sum(tl.where(at_last, sv, 0), 1).to(carry_v.dtype)
        carry_i = tl.sum(tl.where(at_last, si, 0), 1)


@triton.jit
def _logaddexp_combine(a, b):
    # log(e^a + e^b) = max + log1p(exp(-|a - b|)); equal infinities give themselves; NaN propagates
    hi = tl.maximum(a, b)
    r = hi + _log1p_accurate(tl.exp(-tl.abs(a - b)))
    r = tl.where((a == b) & (tl.abs(a) == float("inf")), a, r)
    return tl.where((a != a) | (b != b), a + b, r)


@triton.jit
def _logcumsumexp_kernel(
    x_ptr,                      # input, contiguous (outer, n_len, inner)
    out_ptr,                    # result, same layout and dtype
    n_rows, n_len, inner,       # as _extreme_index_kernel
    ACC: tl.constexpr,          # fp32 (fp16/bf16/fp32) or fp64
    BLOCK_O: tl.constexpr, BLOCK_R: tl.constexpr,
):
    # bytes: reads each input element once, writes each output element once
    rows = tl.program_id(0).to(tl.int64) * BLOCK_O + tl.arange(0, BLOCK_O)
    row_ok = rows < n_rows
    base = (rows // inner) * n_len * inner + rows % inner
    lane = tl.arange(0, BLOCK_R)
    carry = tl.zeros([BLOCK_O], ACC) - float("inf")
    for r0 in range(0, n_len, BLOCK_R):
        t = r0 + lane
        ok = row_ok[:, None] & (t < n_len)[None, :]
        offs = base[:, None] + t[None, :].to(tl.int64) * inner
        v = tl.load(x_ptr + offs, mask=ok, other=float("-inf")).to(ACC)
        s = tl.associative_scan(v, 1, _logaddexp_combine)
        s = _logaddexp_combine(carry[:, None], s)   # (logaddexp(-inf, s) = s exactly)
        tl.store(out_ptr + offs, s.to(out_ptr.dtype.element_ty), mask=ok)
        at_last = lane[None, :] == tl.minimum(n_len - r0, BLOCK_R) - 1
        carry = tl.max(tl.where(at_last, s, float("-inf")), 1)
        carry = tl.where(tl.sum(tl.where(at_last & (s != s), 1, 0), 1) > 0, float("nan"), carry)


def _tiles(rows: int, n: int, inner: int):
    return scan_tiles(rows, n, inner, _TILE, _MAX_BLOCK_R)


def _extreme_cuda(is_max):
    def cuda(meta, input, dim):
        out = CudaArray.empty(meta.shape, np.dtype(np.int64))
        _, outer, n, inner = meta.aux
        if out.size_ == 0:
            return out
        x = input.to(_dt.uint8) if input.dtype is _dt.bool_ else input
        bo, br = _tiles(outer * inner, n, inner)
        _extreme_index_kernel[(launch.num_programs(outer * inner, bo),)](
            x.contiguous()._data, out, outer * inner, n, inner, IS_MAX=is_max, WIDEN=input.dtype in _LOWP,
            BLOCK_O=bo, BLOCK_R=br)
        return out
    return cuda


def _logcumsumexp_cuda(meta, input, dim):
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    _, outer, n, inner = meta.aux
    if out.size_ == 0:
        return out
    bo, br = _tiles(outer * inner, n, inner)
    _logcumsumexp_kernel[(launch.num_programs(outer * inner, bo),)](
        input.contiguous()._data, out, outer * inner, n, inner,
        ACC=tl.float64 if input.dtype is _dt.float64 else tl.float32, BLOCK_O=bo, BLOCK_R=br)
    return out


# ========================================================================================== backward

def _logcumsumexp_vjp(ctx, grad):
    # d/dx_j = sum_{i >= j} g_i exp(x_j - out_i). Split by the sign of g, each part is a logcumsumexp from the end
    # of log|g_i| - out_i (PyTorch's formula): no exp(-out) that could overflow. Composed of ops, so it has its own
    # gradient.
    from .movement import flip
    from .ternary import where
    x, out = ctx.inputs[0], ctx.output
    d = ctx.meta.aux[0]
    if x.dim() == 0 or x.numel() == 0:
        return (grad,)
    lowest = float(np.finfo(_dt.float32.np if x.dtype in _LOWP else x.dtype.np).min)
    log_g = grad.abs().log()

    def from_end(t):
        return flip(logcumsumexp_op(flip(t, (d,)), d), (d,))

    positive = from_end(where(grad > 0, log_g, lowest) - out)
    negative = from_end(where(grad < 0, log_g, lowest) - out)
    return ((positive + x).exp() - (negative + x).exp(),)


# ================================================================================ references and samples

def _ref_extreme(is_max):
    def ref(x, dim):
        """PyTorch's loop, element by element: take x when x >= best (min: <=) or x is NaN."""
        a = np.asarray(x)
        if a.ndim == 0:
            return np.zeros((), np.int64)
        a = np.moveaxis(a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64), int(dim), -1)
        out = np.zeros(a.shape, np.int64)
        for row in np.ndindex(*a.shape[:-1]):
            best, at = None, 0
            for j, v in enumerate(a[row]):
                if best is None or np.isnan(v) or (v >= best if is_max else v <= best):
                    best, at = v, j
                out[row + (j,)] = at
        return np.moveaxis(out, -1, int(dim))
    return ref


def _ref_logcumsumexp(x, dim):
    """Each prefix's logsumexp in float64 from scratch, against the prefix's own max."""
    a = np.asarray(x, np.float64)
    if a.ndim == 0:
        return a.copy()
    a = np.moveaxis(a, int(dim), -1)
    out = np.empty(a.shape)
    with _quiet():
        for j in range(a.shape[-1]):
            p = a[..., :j + 1]
            m = p.max(-1, keepdims=True)
            shift = np.where(np.isfinite(m), m, 0)
            s = np.log(np.exp(p - shift).sum(-1)) + shift[..., 0]
            out[..., j] = np.where(np.isinf(m[..., 0]) & ~np.isnan(p).any(-1), m[..., 0], s)
    return np.moveaxis(out, -1, int(dim))


CASES = [((), 0, "contig"), ((1,), 0, "contig"), ((0,), 0, "contig"), ((3, 0, 2), 1, "contig"), ((7,), 0, "contig"),
         ((4, 7), 1, "contig"), ((4, 7), 0, "contig"), ((2, 3, 5), 1, "contig"), ((2, 3, 5), -1, "contig"),
         ((2, 2 ** 6 + 17), 1, "contig"), ((2 ** 6 + 17, 2), 0, "contig"), ((5, 6), 1, "noncontig"),
         ((5, 6), 0, "noncontig"), ((4, 6), 1, "reversed"), ((2, 3, 4, 5), 2, "reversed")]


def _tensor(a, dtype, device):
    from .creation import tensor
    return tensor(a, dtype=dtype, device=device)


def _samples(kind):
    def samples(device, dtype):
        from .samples import rng_for
        rng = rng_for(FAMILY, kind, dtype.name)
        for shape, d, layout in CASES:
            x = _sample_tensor(shape, dtype, device, rng, layout=layout)
            yield Sample((x, d), {}, name=f"{shape}-{layout}-dim{d}", reduction_size=shape[d] if shape else 1)
        if kind == "extreme":   # ties (the later element takes the index), across the interpreter's blocks too
            ties = rng.integers(-2, 3, (3, 2 ** 6 + 5))
            for d in (1, 0):
                yield Sample((_tensor(ties if dtype is not _dt.bool_ else ties > 0, dtype, device), d), {},
                             name=f"ties-dim{d}", reduction_size=ties.shape[d])
        if dtype.kind == _dt.FLOAT:   # NaN, +-inf
            for d in (1, 0):
                yield Sample((_with_nan(dtype, device), d), {}, name=f"nan-dim{d}")
            if kind == "logcumsumexp":   # -inf first, spreads past float64's exp range, +inf later in a row
                a = np.array([[-np.inf, -np.inf, 1.0, 2.0, -np.inf, 0.5, 3.0],
                              [-3e4, 0.0, -2e4, 1.0, -np.inf, 5.0, -6e4],
                              [0.0, 1.0, np.inf, 2.0, np.inf, -np.inf, 1.0]])
                a = np.pad(a, ((0, 0), (0, _PAST_GRADCHECK[1] - a.shape[1])), constant_values=-1.0)
                if dtype is not _dt.float64:
                    a = a[:, :7]
                yield Sample((_tensor(a, dtype, device), 1), {}, name="infinities-and-spread", reduction_size=7)
    return samples


def _bench_make(size, device, dtype):
    from .samples import make_tensor
    shape, dim = size
    return (make_tensor(shape, dtype, device), dim), {}


def _bench_spec(out_itemsize):
    # bytes: the input read once, the output written once; flops: one combine per element
    return BenchSpec(sizes=(((2048, 1024), 1), ((2048, 1024), 0), ((64, 65536), 1)), make=_bench_make,
                     bytes=lambda size, dtype: _numel(size[0]) * (dtype.itemsize + (out_itemsize or dtype.itemsize)),
                     flops=lambda size: _numel(size[0]), dtypes=(_dt.float32,))


def _declare_extreme(name, is_max):
    return register(OpDef(
        name=f"{name}_indices", family=FAMILY, infer=_infer(name, False),
        impl={"cpu": _extreme_cpu(is_max), "cuda": _extreme_cuda(is_max)}, ref=_ref_extreme(is_max),
        samples=_samples("extreme"), dtypes=_dt.ALL, differentiable=False, bench=_bench_spec(8),
        extra={"torch": lambda torch, x, dim: getattr(torch, name)(x, dim).indices},
        doc=f"{name}_indices(input, dim): the index of the last element attaining the running "
            f"{'max' if is_max else 'min'} along dim (NaN wins and stays)"))


cummax_indices_op = _declare_extreme("cummax", True)
cummin_indices_op = _declare_extreme("cummin", False)
logcumsumexp_op = register(OpDef(
    name="logcumsumexp", family=FAMILY, infer=_infer("logcumsumexp", True),
    impl={"cpu": _logcumsumexp_cpu, "cuda": _logcumsumexp_cuda}, ref=_ref_logcumsumexp,
    samples=_samples("logcumsumexp"), dtypes=_dt.FLOATS, vjp=_logcumsumexp_vjp, save="both",
    bench=_bench_spec(None), autocast="fp32",
    extra={"torch": lambda torch, x, dim: torch.logcumsumexp(x, dim)},
    doc="logcumsumexp(input, dim): log(cumsum(exp(input))) along dim, stably"))


# ==================================================================================== public functions

def logcumsumexp(input, dim, *, out=None):
    """log(cumsum(exp(input))) along `dim`."""
    r = logcumsumexp_op(input, dim)
    if out is not None:
        _write_out(out, r)
        return out
    return r


def _cumulative_extreme(op, name, input, dim):
    from .indexing import gather
    indices = op(input, dim)
    if input.dim() == 0:
        return getattr(return_types, name)(input.clone(), indices)
    return getattr(return_types, name)(gather(input, dim, indices), indices)


def cummax(input, dim):
    """(values, indices) of the running maximum along `dim`; indices point at the last element attaining it."""
    return _cumulative_extreme(cummax_indices_op, "cummax", input, dim)


def cummin(input, dim):
    """(values, indices) of the running minimum along `dim`."""
    return _cumulative_extreme(cummin_indices_op, "cummin", input, dim)


_bind.methods(logcumsumexp=logcumsumexp, cummax=cummax, cummin=cummin)
__all__ = ["logcumsumexp", "cummax", "cummin"]
