"""Building blocks for ops' sample generators (OpInfo-style) and bench specs.

`make_tensor` draws reproducible values on the host and moves them to the device, optionally as a
non-contiguous view; the shape lists below are the ones every elementwise op is tested on.
"""
from __future__ import annotations

import zlib

import numpy as np

from .. import dtypes as _dt
from ..device import as_device
from ..tensor import from_array
from .registry import Sample

# Shapes every elementwise op is tested on: 0-dim, one element, empty, odd sizes (2^k + 17), several dims.
UNARY_SHAPES = [(), (1,), (0,), (5,), (2 ** 6 + 17,), (3, 0, 2), (4, 7), (2, 3, 5)]
# (shape a, shape b) pairs: equal, broadcast both ways, scalar-like, empty.
BINARY_SHAPES = [((), ()), ((5,), ()), ((), (5,)), ((1,), (4,)), ((2 ** 6 + 17,), (2 ** 6 + 17,)),
                 ((4, 1), (1, 5)), ((2, 3, 4), (3, 1)), ((0, 3), (1, 3)), ((2, 1, 3, 1, 2), (4, 3, 1, 1)), ((2, 3, 2, 3, 2, 3), (3, 1, 3, 1, 3))]


def rng_for(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def make_array(shape, dtype: _dt.dtype, rng: np.random.Generator, low=None, high=None) -> np.ndarray:
    if dtype is _dt.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind == _dt.INT:
        lo = -9 if low is None else int(low)
        hi = 10 if high is None else int(high)
        if dtype is _dt.uint8:
            lo = max(lo, 0)
        return rng.integers(lo, hi, size=shape).astype(dtype.np)
    lo = -3.0 if low is None else low
    hi = 3.0 if high is None else high
    if dtype.kind == _dt.COMPLEX:   # real and imaginary parts each in [low, high)
        parts = rng.uniform(lo, hi, size=tuple(shape) + (2,))
        return np.asarray(parts[..., 0] + 1j * parts[..., 1], dtype.np)
    return rng.uniform(lo, hi, size=shape).astype(dtype.np)


def make_tensor(shape, dtype, device="cpu", *, low=None, high=None, noncontiguous=False, rng=None,
                requires_grad=False):
    """A tensor of random values in [low, high); `noncontiguous` returns a strided view with the same shape."""
    dtype = _dt.as_dtype(dtype)
    rng = rng if rng is not None else rng_for(shape, dtype.name, low, high)
    shape = tuple(shape)
    if noncontiguous and len(shape) >= 1 and int(np.prod(shape)) > 1:
        big = make_array(shape[:-1] + (shape[-1] * 2,), dtype, rng, low, high)
        arr = big[..., ::2]
    else:
        arr = make_array(shape, dtype, rng, low, high)
    t = from_array(arr)
    dev = as_device(device)
    if dev.type != "cpu":
        t = t.to(dev)
        if noncontiguous and arr.ndim >= 1 and arr.size > 1:
            # rebuild the same strided view on the device
            from . import movement  # noqa: F401  (binds .to and slicing)
            t_big = from_array(np.ascontiguousarray(big)).to(dev)
            t = t_big[..., ::2]
    if requires_grad:
        t.requires_grad_(True)
    return t


def unary_samples(low=None, high=None, shapes=None):
    """samples(device, dtype) for a one-operand op: every shape, plus a non-contiguous one."""

    def samples(device, dtype):
        rng = rng_for("unary", dtype.name, low, high)
        for shape in shapes or UNARY_SHAPES:
            yield Sample((make_tensor(shape, dtype, device, low=low, high=high, rng=rng),), name=f"{shape}")
        yield Sample((make_tensor((5, 6), dtype, device, low=low, high=high, rng=rng, noncontiguous=True),),
                     name="noncontig")
        yield Sample((make_tensor((6, 4), dtype, device, low=low, high=high, rng=rng).t(),), name="transposed")

    return samples


def binary_samples(low=None, high=None, rhs_low=None, rhs_high=None, scalars=(2,), kwargs=()):
    """samples(device, dtype) for a two-operand op: broadcast pairs, non-contiguous, Python scalars, kwargs."""
    rhs_low = low if rhs_low is None else rhs_low
    rhs_high = high if rhs_high is None else rhs_high

    def samples(device, dtype):
        rng = rng_for("binary", dtype.name, low, high)
        for sa, sb in BINARY_SHAPES:
            a = make_tensor(sa, dtype, device, low=low, high=high, rng=rng)
            b = make_tensor(sb, dtype, device, low=rhs_low, high=rhs_high, rng=rng)
            yield Sample((a, b), name=f"{sa}x{sb}")
        a = make_tensor((3, 8), dtype, device, low=low, high=high, rng=rng, noncontiguous=True)
        b = make_tensor((8, 3), dtype, device, low=rhs_low, high=rhs_high, rng=rng).t()
        yield Sample((a, b), name="noncontig")
        for s in scalars:
            if dtype.kind != _dt.FLOAT and isinstance(s, float):
                continue
            yield Sample((make_tensor((4, 3), dtype, device, low=low, high=high, rng=rng), s), name=f"scalar{s}")
        for kw in kwargs:
            a = make_tensor((4, 3), dtype, device, low=low, high=high, rng=rng)
            b = make_tensor((3,), dtype, device, low=rhs_low, high=rhs_high, rng=rng)
            yield Sample((a, b), dict(kw), name=f"kw{kw}")

    return samples


def cpu_extras(samples, names):
    """samples(device, dtype) with the named samples moved to the end and given on cpu only: the interpreter is
    slow, and the generated cuda-vs-cpu gradient test pairs samples by position (the shorter list ends first).
    Every sample is still built on both devices, so the shared samples draw the same values on each."""
    def wrapped(device, dtype):
        built = list(samples(device, dtype))
        yield from (s for s in built if s.name not in names)
        if str(device).split(":")[0] == "cpu":
            yield from (s for s in built if s.name in names)
    return wrapped
