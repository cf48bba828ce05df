"""What the torch.special families beyond bessel.py share (ops/bessel_jy.py, bessel_k.py, airy.py,
polynomials.py): Horner's rule over constexpr coefficient tuples on the Triton side and over the same tuples on the
NumPy side, one declaration of a float64-computed unary pointwise op, mpmath references, and PyTorch as an
oracle for dtypes its cpu kernels lack.

Every op declared here computes in float64 on both backends (float32/16/bf16 inputs widened, the result rounded
once): the rational approximations they use are float64 fits, and one algorithm on both devices keeps cuda and
cpu within an ulp of each other.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from . import pointwise as pw
from .unary import _bench, _public, _with_checks


@triton.jit
def polevl(z, C: tl.constexpr, N: tl.constexpr):
    # C[0] z^(N-1) + ... + C[N-1] (Cephes' polevl)
    p = tl.full(z.shape, C[0], tl.float64)
    for i in tl.static_range(1, N):
        p = p * z + C[i]
    return p


@triton.jit
def p1evl(z, C: tl.constexpr, N: tl.constexpr):
    # z^N + C[0] z^(N-1) + ... + C[N-1] (Cephes' p1evl: a monic polynomial)
    p = z + C[0]
    for i in tl.static_range(1, N):
        p = p * z + C[i]
    return p


def polevl_np(z: np.ndarray, c) -> np.ndarray:
    """polevl on a float64 array; c a constexpr tuple (or a sequence)."""
    c = getattr(c, "value", c)
    p = np.full_like(z, c[0])
    for v in c[1:]:
        p *= z
        p += v
    return p


def p1evl_np(z: np.ndarray, c) -> np.ndarray:
    """p1evl on a float64 array."""
    c = getattr(c, "value", c)
    p = z + c[0]
    for v in c[1:]:
        p *= z
        p += v
    return p


def const(values) -> tl.constexpr:
    """A coefficient table both sides read: a constexpr tuple of floats."""
    return tl.constexpr(tuple(float(v) for v in values))


def float64_fallback(fn64):
    """The NumPy fallback of a unary op computed in float64: fn64(float64 array) -> float64 array; the result in the
    input's dtype (the compute dtype: float32 for float16/bfloat16, which the caller rounds)."""

    def run(x):
        with np.errstate(all="ignore"):   # (overflow to inf in a narrower dtype is the right result)
            r = fn64(np.asarray(x, np.float64))
            return r.astype(x.dtype, copy=False) if isinstance(x, np.ndarray) and x.dtype != np.float64 else r

    return run


def mp_ref(one):
    """A float64 reference from one(float) -> float (mpmath inside), elementwise."""

    def ref(x):
        x = np.asarray(x, np.float64)
        with np.errstate(all="ignore"):
            return np.vectorize(one, otypes=[np.float64])(x) if x.size else x.copy()

    return ref


def torch_via_float32(fn):
    """op.extra['torch'] for a torch function whose cpu kernel has no float16/bfloat16: those go through float32
    and back (the generated tests compare result dtypes and shapes with PyTorch's)."""

    def call(torch, *args, **kwargs):
        halves = (torch.float16, torch.bfloat16)
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        dtype = torch.result_type(*args[:2]) if len(args) > 1 and tensors else tensors[0].dtype
        if dtype not in halves:
            return fn(torch, *args, **kwargs)
        wide = [a.float() if isinstance(a, torch.Tensor) and a.dtype in halves else a for a in args]
        return fn(torch, *wide, **kwargs).to(dtype)

    return call


def declare_unary(name, *, family, np_fn, tl_fn, ref, samples, torch_fn, vjp=None, flops=60, doc=""):
    """A unary pointwise op computed in float64 (see the module note): the registry declaration with PyTorch's
    argument checks, and its public function name(input, *, out=None). vjp None: not differentiable, as in
    PyTorch (a call on a tensor that requires grad gives a result that does not)."""
    extra = {"torch": torch_via_float32(torch_fn)}
    op = pw.declare(name, np_fn=np_fn, tl_fn=tl_fn, kind="float", ref=ref, arity=1, family=family,
                    samples=samples, extra=extra, vjp=vjp, differentiable=vjp is not None,
                    bench=_bench("float", -30, 30, flops, (_dt.float32, _dt.float64)))
    op = _with_checks(op)
    return op, _public(op, doc)
