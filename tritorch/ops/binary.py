"""Binary pointwise ops with broadcasting on strided operands: arithmetic, comparisons, logical and bitwise."""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from . import pointwise as pw
from .samples import binary_samples

FAMILY = "binary"
NUMERIC = tuple(d for d in _dt.ALL if d is not _dt.bool_)


def _declare(name, np_fn, tl_fn, kind, ref, samples=None, **kw):
    return pw.declare(name, np_fn=np_fn, tl_fn=tl_fn, kind=kind, ref=ref, arity=2, family=FAMILY,
                      samples=samples or binary_samples(), **kw)


# ---------------------------------------------------------------------------------------------- arithmetic

@triton.jit
def _add(x, y, z, alpha, p1):
    return x + y * alpha


@triton.jit
def _add1(x, y, z, p0, p1):
    return x + y


@triton.jit
def _sub(x, y, z, alpha, p1):
    return x - y * alpha


@triton.jit
def _mul(x, y, z, p0, p1):
    return x * y


@triton.jit
def _truediv(x, y, z, p0, p1):
    return x / y


def _np_add(x, y, alpha=1):
    return np.add(x, y) if alpha == 1 else np.add(x, np.multiply(y, alpha))


def _np_sub(x, y, alpha=1):
    return np.subtract(x, y) if alpha == 1 else np.subtract(x, np.multiply(y, alpha))


add_op = _declare("add", _np_add, _add, "same", lambda x, y, alpha=1: x + alpha * y, params=(("alpha", 1),),
                  samples=binary_samples(scalars=(2, 0.5), kwargs=({"alpha": 2},)))
sub_op = _declare("sub", _np_sub, _sub, "same", lambda x, y, alpha=1: x - alpha * y, params=(("alpha", 1),),
                  dtypes=NUMERIC, samples=binary_samples(scalars=(2, 0.5), kwargs=({"alpha": 3},)))
mul_op = _declare("mul", np.multiply, _mul, "same", lambda x, y: x * y, samples=binary_samples(scalars=(2, 0.5)))
div_op = _declare("div", np.true_divide, _truediv, "float", lambda x, y: x / y,
                  samples=binary_samples(rhs_low=0.5, rhs_high=3.0, scalars=(2, 0.5)))
