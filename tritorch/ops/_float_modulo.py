"""The cpu (NumPy) form of fmod, remainder and floor division for float32 operands, exact and branch-free.

NumPy computes these per element with C's fmod (fmodf), ~25-40 ns an element (2M float32 fmod: ~60-80 ms against
PyTorch's ~3-10 ms). In float64 the same results need five arithmetic passes: for float32 x and y whose quotient
rounded towards zero (floor for remainder and floor division) is below 2**22 in magnitude,
  - x / y rounded to float64 never crosses an integer (x / y is an integer or at least 2**-24 from one), so
    trunc / floor of it is the exact integer quotient q;
  - q * y (under 2**46) and x - q * y are exact in float64: that is C's fmod (trunc) or Python's modulo (floor);
  - PyTorch's float32 floor division (div_floor_floating) is exact in that range too (its two roundings stay
    under 0.5), so floor(x / y) is its result; PyTorch's remainder (fmod, plus y where the signs differ) rounds
    once, in float32, and so does the cast of the exact float64 value.
The results are PyTorch's bit for bit. Blocks whose quotients fall outside that range (huge x / y, infinite x,
zero or infinite y, NaN) take NumPy's per-element functions. Large contiguous inputs go in cache-sized blocks on
the thread pool.
"""
from __future__ import annotations

import numpy as np

from . import _cpu_parallel as par

_EXACT_QUOTIENT = float(2 ** 22)
# Below this many elements NumPy's per-element loop (~30 ns an element) costs less than the float64 form's ~10 us of
# fixed cost (a dozen NumPy calls); both give PyTorch's values (a zero remainder's sign is fixed either way).
_NUMPY_BELOW = 512
_NUMPY = {"fmod": np.fmod, "remainder": np.remainder, "floor": np.floor_divide}


def _block_f64(x: np.ndarray, y, kind: str):
    """The float64 form of one block (x float32, y a float32 array of x's shape or a float32 scalar), or None
    where some quotient is outside the exact range or some y is infinite."""
    x64 = x.astype(np.float64)
    y64 = y.astype(np.float64) if y.__class__ is np.ndarray else np.float64(y)
    q = x64 / y64
    (np.trunc if kind == "fmod" else np.floor)(q, out=q)
    if not (q.min(initial=0.0) > -_EXACT_QUOTIENT and q.max(initial=0.0) < _EXACT_QUOTIENT):
        return None    # (NaN fails both comparisons)
    if np.isinf(y).any():
        return None    # x / inf is 0 but x - 0 * inf is NaN
    if kind == "floor":
        return q.astype(np.float32)
    q *= y64
    np.subtract(x64, q, out=x64)
    if kind == "fmod":
        np.copysign(x64, x, out=x64)   # the dividend's sign, on a zero result too
        return x64.astype(np.float32)
    return zeros_signed_as(x64.astype(np.float32), x)


def zeros_signed_as(r: np.ndarray, x) -> np.ndarray:
    """PyTorch's remainder is fmod's plus y where that is not 0 and its sign differs from y's: a zero keeps the
    dividend's sign. NumPy's remainder gives a zero the divisor's sign, and x - floor(x / y) * y gives +0."""
    if r.__class__ is np.ndarray and r.ndim and not r.all():
        # (in place through a mask: r may be F-ordered, from transposed operands, where r.reshape(-1) is a copy)
        np.copyto(r, np.copysign(r.dtype.type(0), np.broadcast_to(x, r.shape)), where=r == 0)
    return r


def _block(x, y, kind):
    r = _block_f64(x, y, kind)
    if r is not None:
        return r
    r = _NUMPY[kind](x, y)
    return zeros_signed_as(r, x) if kind == "remainder" else r


def float_modulo(x: np.ndarray, y, kind: str) -> np.ndarray:
    """fmod (kind "fmod"), Python's modulo ("remainder") or floor division ("floor") of x by y, NumPy's result
    dtype; float32 operands (y a float32 array of x's shape or a scalar) take the exact float64 form."""
    numpy = x.__class__ is not np.ndarray or x.size < _NUMPY_BELOW   # (a Python scalar dividend: 7 % t)
    scalar = y.__class__ is float or y.__class__ is int and -2 ** 24 <= y <= 2 ** 24
    if scalar and not numpy and x.dtype == np.float32:
        y = np.float32(y)   # (as NumPy and PyTorch take a Python scalar: in the tensor's dtype)
    if (numpy or x.dtype != np.float32 or getattr(y, "dtype", None) != np.float32 or not x.ndim
            or (np.ndim(y) and y.shape != x.shape)):
        r = _NUMPY[kind](x, y)
        return zeros_signed_as(r, x) if kind == "remainder" and r.dtype.kind == "f" else r
    if x.size < 2 * par.BLOCK_ELEMS or not x.flags.c_contiguous or (np.ndim(y) and not y.flags.c_contiguous):
        return _block(x, y, kind)
    flat_x = x.reshape(-1)
    flat_y = y.reshape(-1) if np.ndim(y) else y
    out = np.empty(flat_x.shape, np.float32)

    def run(rows):
        out[rows] = _block(flat_x[rows], flat_y[rows] if np.ndim(flat_y) else flat_y, kind)

    par.run_row_blocks(run, flat_x.size, 1)
    return out.reshape(x.shape)
