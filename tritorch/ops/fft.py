"""Discrete Fourier transforms: three registered ops, fft_c2c (complex to complex, forward or inverse), fft_r2c
(real to the onesided half spectrum) and fft_c2r (half spectrum to real), each along one dim; tritorch.fft's
functions (fft, ifft, rfft, irfft, the 2-d and n-d forms, hfft/ihfft, fftfreq, fftshift, ...) compose them.

cpu: NumPy's pocketfft (np.fft), which keeps complex64 in single precision.
cuda: a radix-2 Stockham FFT (`_stockham_kernel`, one launch per stage: log2(n) launches over every row at once,
ping-ponging two buffers; each stage reads its butterflies' inputs contiguously and writes them in sorted order, so
no bit reversal pass is needed). Other lengths use Bluestein's algorithm: the transform as a convolution with a
chirp, computed by three power-of-two transforms of length >= 2n - 1.

Normalisation as PyTorch's `norm`: "backward" (default: the inverse scaled by 1/n), "ortho" (both by 1/sqrt(n)),
"forward" (the forward transform scaled by 1/n). Gradients: the adjoint of a transform is the opposite transform
with the same scale, i.e. the "dual" norm (backward <-> forward, ortho stays); r2c's pads the gradient to the full
length and takes the real part; c2r's is an r2c of the gradient with the mirrored bins doubled (PyTorch's rules).
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import launch
from .complex import complex_cast_op, real as _real, view_as_complex, view_as_real
from .registry import BenchSpec, Meta, OpDef, Sample, register, wrap_dim
from .samples import make_tensor, rng_for

FAMILY = "fft"
COMPLEX = _dt.COMPLEX_DTYPES
_PARTS = (_dt.float32, _dt.float64)
_NORMS = (None, "backward", "ortho", "forward")
_DUAL = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _scale(norm, n: int, forward: bool) -> float:
    """What a transform of length n multiplies by under `norm`."""
    if norm == "ortho":
        return 1.0 / math.sqrt(n) if n else 1.0
    scaled = (norm == "forward") == forward   # "forward" scales the forward transform, "backward" the inverse
    return 1.0 / n if scaled and n else 1.0


def _check_norm(norm) -> None:
    if norm not in _NORMS:
        raise ValueError(f"Invalid normalization mode: {norm}")


# ================================================================================================== Triton

@triton.jit(do_not_specialize=["ns"])   # (ns = 1 would become a Python int constant, without .to())
def _stockham_kernel(src_ptr, dst_ptr, total, n, half, ns, scale, FORWARD: tl.constexpr, SCALED: tl.constexpr,
                     BLOCK: tl.constexpr):
    """One radix-2 Stockham stage: joins pairs of transforms of length ns into transforms of length 2 ns.
    src_ptr, dst_ptr: (rows, n) complex numbers as interleaved (re, im) floats, contiguous; dst != src
    total: rows * half butterflies; n: the transform length (a power of two); half: n // 2
    ns: the length of the transforms this stage joins (1, 2, 4, ..., n / 2)
    scale: multiplies the outputs where SCALED (the last stage's normalisation; an fp32 argument, so float64 data
    is scaled by the launcher instead)
    FORWARD: the twiddles' exponent sign (-: forward, +: inverse)
    Bytes: reads 2 and writes 2 complex numbers per butterfly."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    row = offs // half
    j = offs % half
    base = row * n
    k = j % ns
    ia = base + j
    ib = ia + half
    ar = tl.load(src_ptr + 2 * ia, mask=mask, other=0.0)
    ai = tl.load(src_ptr + 2 * ia + 1, mask=mask, other=0.0)
    br = tl.load(src_ptr + 2 * ib, mask=mask, other=0.0)
    bi = tl.load(src_ptr + 2 * ib + 1, mask=mask, other=0.0)
    # the twiddle exp(-+ i pi k / ns), in the data's precision (the constant meets a float64 k as float64)
    angle = k.to(ar.dtype) * 3.141592653589793 / ns.to(ar.dtype)
    if FORWARD:
        angle = -angle
    c = tl.cos(angle)
    s = tl.sin(angle)
    tr = br * c - bi * s
    ti = br * s + bi * c
    out = base + (j // ns) * 2 * ns + k
    re0, im0, re1, im1 = ar + tr, ai + ti, ar - tr, ai - ti
    if SCALED:
        re0, im0, re1, im1 = re0 * scale, im0 * scale, re1 * scale, im1 * scale
    tl.store(dst_ptr + 2 * out, re0, mask=mask)
    tl.store(dst_ptr + 2 * out + 1, im0, mask=mask)
    tl.store(dst_ptr + 2 * (out + ns), re1, mask=mask)
    tl.store(dst_ptr + 2 * (out + ns) + 1, im1, mask=mask)


def _pairs_flat(a: CudaArray) -> CudaArray:
    """A contiguous complex CudaArray as its float pairs, flat (what the kernel indexes)."""
    return CudaArray(a.block, (2 * a.size_,), (1,), 2 * a.offset, np.dtype(np.float64 if a.dtype == np.complex128
                                                                          else np.float32))


def _pow2_rows(x: CudaArray, forward: bool, scale: float) -> CudaArray:
    """The transforms of the rows of a contiguous (rows, n) complex array, n a power of two (x is not written)."""
    rows, n = x.shape
    if n == 1 or rows == 0:   # nothing to transform: the values, scaled
        t = _make(x, _dt.from_numpy_dtype(x.dtype), _cuda_device())
        return (t * scale if scale != 1.0 else t.clone())._data
    half = n // 2
    total = rows * half
    block = launch.ELEMENTWISE_BLOCK
    grid = (launch.num_programs(total, block),)
    bufs = [CudaArray.empty(x.shape, x.dtype), CudaArray.empty(x.shape, x.dtype)]
    stages = n.bit_length() - 1
    in_kernel = x.dtype == np.complex64 and scale != 1.0
    src = x
    for s in range(stages):
        dst = bufs[s % 2]
        _stockham_kernel[grid](_pairs_flat(src), _pairs_flat(dst), total, n, half, 1 << s, scale,
                               FORWARD=forward, SCALED=in_kernel and s == stages - 1, BLOCK=block)
        src = dst
    if scale != 1.0 and not in_kernel:
        return (_make(src, _dt.complex128, _cuda_device()) * scale)._data
    return src


def _cuda_device():
    from ..device import as_device
    return as_device("cuda")


def _chirp(k: Tensor, n: int, sign: float, dtype: _dt.dtype) -> Tensor:
    """exp(sign i pi k^2 / n) for integer k (k^2 taken modulo 2n first, so the angle stays small and exact)."""
    from .complex import polar
    angle = ((k * k) % (2 * n)).to(dtype.to_real()) * (sign * math.pi / n)
    return polar(_ones_like(angle), angle)


def _ones_like(t: Tensor) -> Tensor:
    from .creation import ones_like
    return ones_like(t)


def _rows(x: Tensor, forward: bool, scale: float) -> Tensor:
    """The transforms of the rows of a contiguous (rows, n) complex cuda tensor: Stockham for powers of two,
    Bluestein's chirp convolution otherwise."""
    rows, n = x.shape
    if n & (n - 1) == 0:
        return _make(_pow2_rows(x._data, forward, scale), x.dtype, x.device)
    from .creation import arange, zeros
    from .complex import conj_physical_op
    from .movement import cat
    m = 1 << (2 * n - 2).bit_length()          # a power of two >= 2n - 1
    sign = -1.0 if forward else 1.0
    k = arange(n, dtype=_dt.int64, device=x.device)
    w = _chirp(k, n, sign, x.dtype)               # the chirp: X_j = w_j sum_k (x_k w_k) conj(w_{j-k})
    a = cat([x * w, zeros(rows, m - n, dtype=x.dtype, device=x.device)], 1)
    back = _chirp(arange(n - 1, 0, -1, dtype=_dt.int64, device=x.device), n, sign, x.dtype)
    b = cat([conj_physical_op(w), zeros(m - 2 * n + 1, dtype=x.dtype, device=x.device), conj_physical_op(back)])
    fa = _make(_pow2_rows(a._data, True, 1.0), x.dtype, x.device)
    fb = _make(_pow2_rows(b.reshape(1, m)._data, True, 1.0), x.dtype, x.device)
    conv = _make(_pow2_rows((fa * fb).contiguous()._data, False, 1.0 / m), x.dtype, x.device)
    return conv[:, :n] * (w * scale)


def _cuda_transform(x: Tensor, dim: int, forward: bool, scale: float) -> Tensor:
    """A c2c transform of a complex cuda tensor along `dim` (the rows: dim moved last and made contiguous)."""
    from .movement import movedim
    t = _make(x._data, x.dtype, x.device)         # a fresh handle: nothing inside is recorded by autograd
    moved = movedim(t, dim, -1).contiguous()
    shape = tuple(moved.shape)
    n = shape[-1]
    rows = math.prod(shape[:-1])
    r = _rows(moved.reshape(rows, n), forward, scale).reshape(shape)
    return movedim(r, -1, dim)


# ================================================================================================ fft_c2c

def _c2c_infer(input, dim, norm=None, forward=True):
    if not isinstance(input, Tensor):
        raise TypeError(f"fft: argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    _check_norm(norm)
    d = wrap_dim(dim, input.ndim)
    if input._data.shape[d] < 1:
        raise RuntimeError("Invalid number of data points (0) specified")
    return Meta(tuple(input._data.shape), input.dtype, input.device, d)


def _c2c_cpu(meta, input, dim, norm=None, forward=True, out=None):
    f = np.fft.fft if forward else np.fft.ifft
    r = np.asarray(f(input._data, axis=meta.aux, norm=norm), meta.dtype.np)
    if out is not None:
        np.copyto(out, r)
        return out
    return r


def _c2c_cuda(meta, input, dim, norm=None, forward=True, out=None):
    n = meta.shape[meta.aux]
    r = _cuda_transform(input, meta.aux, forward, _scale(norm, n, forward))._data
    if out is not None:
        from .complex import _identity, _launch, pairs
        _launch(_identity, [pairs(r)], input, tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(out))
        return out
    return r


def _c2c_vjp(ctx, grad):
    dim = ctx.meta.aux
    norm = _arg(ctx, 2, "norm", None)
    forward = _arg(ctx, 3, "forward", True)
    return fft_c2c_op(grad, dim, _DUAL[norm], not forward)


def _arg(ctx, i, name, default):
    args = ctx.args
    return args[i] if len(args) > i else ctx.kwargs.get(name, default)


_LENGTHS = (1, 2, 8, 64, 5, 7, 12, 2 ** 6 + 17)


def _c2c_samples(device, dtype):
    rng = rng_for("fft_c2c", dtype.name)

    def T(shape, noncontiguous=False):
        return make_tensor(shape, dtype, device, rng=rng, noncontiguous=noncontiguous)
    for n in _LENGTHS:
        yield Sample((T((3, n)), -1), {"norm": None, "forward": True}, name=f"n={n}", reduction_size=n)
    yield Sample((T((12,)), 0), {"norm": "ortho", "forward": False}, name="ifft ortho", reduction_size=12)
    yield Sample((T((8,)), 0), {"norm": "forward", "forward": True}, name="forward norm", reduction_size=8)
    yield Sample((T((8, 3)), 0), {"norm": "backward", "forward": False}, name="ifft dim 0", reduction_size=8)
    yield Sample((T((2, 6, 4), noncontiguous=True), 1), {"forward": True}, name="noncontig dim 1",
                 reduction_size=6)
    yield Sample((T(()).reshape(1), 0), {"forward": False}, name="n=1 inverse")


def _c2c_ref(x, dim, norm=None, forward=True):
    f = np.fft.fft if forward else np.fft.ifft
    return f(np.asarray(x, np.complex128), axis=dim, norm=norm)


def _bench_c2c(size, device, dtype):
    return (make_tensor((size // 1024, 1024), dtype, device, rng=rng_for("fft-bench", size)), -1), {}


fft_c2c_op = register(OpDef(
    name="fft_c2c", infer=_c2c_infer, impl={"cpu": _c2c_cpu, "cuda": _c2c_cuda}, family=FAMILY, ref=_c2c_ref,
    samples=_c2c_samples, dtypes=COMPLEX, supports_out=True, vjp=_c2c_vjp, save="none",
    bench=BenchSpec(sizes=(1 << 16, 1 << 20), make=_bench_c2c, bytes=lambda size, dtype: 2 * size * dtype.itemsize,
                    flops=lambda size: 5 * size * 10, dtypes=(_dt.complex64,)),
    extra={"torch": lambda torch, x, dim, norm=None, forward=True:
           (torch.fft.fft if forward else torch.fft.ifft)(x, dim=dim, norm=norm)},
    doc="fft_c2c(x, dim, norm, forward): the DFT of complex x along dim (forward: exp(-2 pi i jk/n))"))


# ================================================================================================ fft_r2c

def _r2c_infer(input, dim, norm=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"rfft: argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    _check_norm(norm)
    d = wrap_dim(dim, input.ndim)
    n = input._data.shape[d]
    if n < 1:
        raise RuntimeError("Invalid number of data points (0) specified")
    _dt._complex_in_use()
    shape = list(input._data.shape)
    shape[d] = n // 2 + 1
    return Meta(tuple(shape), input.dtype.to_complex(), input.device, d)


def _r2c_cpu(meta, input, dim, norm=None, out=None):
    r = np.asarray(np.fft.rfft(input._data, axis=meta.aux, norm=norm), meta.dtype.np)
    if out is not None:
        np.copyto(out, r)
        return out
    return r


def _r2c_cuda(meta, input, dim, norm=None, out=None):
    d = meta.aux
    n = input._data.shape[d]
    z = complex_cast_op(_make(input._data, input.dtype, input.device), dtype=meta.dtype)
    full = _cuda_transform(z, d, True, _scale(norm, n, True))
    half = full.narrow(d, 0, meta.shape[d]).contiguous()._data
    if out is not None:
        from .complex import _identity, _launch, pairs
        _launch(_identity, [pairs(half)], input, tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(out))
        return out
    return half


def _r2c_vjp(ctx, grad):
    # the half spectrum's gradient padded with zeros to the full length, through the adjoint transform; the
    # input is real, so the real part (the engine's rule for a real input)
    from .creation import zeros
    from .movement import cat
    d = ctx.meta.aux
    n = ctx.inputs[0].shape[d]
    shape = list(grad.shape)
    shape[d] = n - shape[d]
    padded = cat([grad, zeros(*shape, dtype=grad.dtype, device=grad.device)], d) if shape[d] else grad
    return _real(fft_c2c_op(padded, d, _DUAL[_arg(ctx, 2, "norm", None)], False))


def _r2c_samples(device, dtype):
    rng = rng_for("fft_r2c", dtype.name)

    def T(shape, noncontiguous=False):
        return make_tensor(shape, dtype, device, rng=rng, noncontiguous=noncontiguous)
    for n in _LENGTHS:
        yield Sample((T((3, n)), -1), name=f"n={n}", reduction_size=n)
    yield Sample((T((12, 2)), 0), {"norm": "ortho"}, name="ortho dim 0", reduction_size=12)
    yield Sample((T((2, 7, 3), noncontiguous=True), 1), {"norm": "forward"}, name="noncontig", reduction_size=7)


fft_r2c_op = register(OpDef(
    name="fft_r2c", infer=_r2c_infer, impl={"cpu": _r2c_cpu, "cuda": _r2c_cuda}, family=FAMILY,
    ref=lambda x, dim, norm=None: np.fft.rfft(np.asarray(x, np.float64), axis=dim, norm=norm),
    samples=_r2c_samples, dtypes=_PARTS, supports_out=True, vjp=_r2c_vjp, save="inputs",
    bench=BenchSpec(sizes=(1 << 16, 1 << 20), make=_bench_c2c, bytes=lambda size, dtype: 2 * size * dtype.itemsize,
                    flops=lambda size: 5 * size * 10 // 2, dtypes=(_dt.float32,)),
    extra={"torch": lambda torch, x, dim, norm=None: torch.fft.rfft(x, dim=dim, norm=norm)},
    doc="fft_r2c(x, dim, norm): the DFT of real x along dim, its onesided half (n // 2 + 1 bins)"))


# ================================================================================================ fft_c2r

def _c2r_infer(input, dim, n, norm=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"irfft: argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    _check_norm(norm)
    d = wrap_dim(dim, input.ndim)
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    if input._data.shape[d] != n // 2 + 1:
        raise RuntimeError(f"fft_c2r: the input's size along dim {d} must be n // 2 + 1 = {n // 2 + 1}")
    shape = list(input._data.shape)
    shape[d] = n
    return Meta(tuple(shape), input.dtype.to_real(), input.device, d)


def _c2r_cpu(meta, input, dim, n, norm=None, out=None):
    r = np.asarray(np.fft.irfft(input._data, n=n, axis=meta.aux, norm=norm), meta.dtype.np)
    if out is not None:
        np.copyto(out, r)
        return out
    return r


def _c2r_cuda(meta, input, dim, n, norm=None, out=None):
    # the full spectrum (X_k, and conj(X_{n-k}) above the half) through the inverse transform; its real part
    from .complex import conj_physical_op
    from .movement import cat, flip
    d = meta.aux

    def reversed_along(t):   # (flip has no complex form: the pairs are flipped)
        return view_as_complex(flip(view_as_real(t), (d,)).contiguous())

    z = _make(input._data, input.dtype, input.device)
    m = n // 2 + 1
    rest = n - m
    parts = [z]
    if rest:
        mirrored = reversed_along(z.narrow(d, 1, rest)) if rest > 1 else z.narrow(d, 1, rest)
        parts.append(conj_physical_op(mirrored))
    full = cat(parts, d) if rest else z
    r = _cuda_transform(full, d, False, _scale(norm, n, False))
    res = _real(r).contiguous()._data
    if out is not None:
        from .complex import _identity, _launch
        _launch(_identity, [res], input, tuple(meta.shape), meta.dtype, out)
        return out
    return res


def _c2r_vjp(ctx, grad):
    # PyTorch's rule: the forward half transform of the gradient (same scale: the dual norm), its mirrored bins
    # (1 .. n - m) doubled
    d = ctx.meta.aux
    n = _arg(ctx, 2, "n", None)
    g = fft_r2c_op(grad, d, _DUAL[_arg(ctx, 3, "norm", None)])
    m = g.shape[d]
    twice = n - m
    if twice <= 0:
        return g
    from .creation import ones
    weight_shape = [1] * g.ndim
    weight_shape[d] = m
    w = ones(m, dtype=g.dtype.to_real(), device=g.device)
    w[1:1 + twice] = 2.0
    return g * w.reshape(weight_shape)


def _c2r_samples(device, dtype):
    rng = rng_for("fft_c2r", dtype.name)

    def T(shape, noncontiguous=False):
        return make_tensor(shape, dtype, device, rng=rng, noncontiguous=noncontiguous)
    for n in _LENGTHS:
        yield Sample((T((3, n // 2 + 1)), -1, n), name=f"n={n}", reduction_size=n)
    yield Sample((T((7, 2)), 0, 12), {"norm": "ortho"}, name="ortho dim 0", reduction_size=12)
    yield Sample((T((2, 4, 3), noncontiguous=True), 1, 7), {"norm": "forward"}, name="noncontig", reduction_size=7)


def _c2r_ref(x, dim, n, norm=None):
    return np.fft.irfft(np.asarray(x, np.complex128), n=n, axis=dim, norm=norm)


fft_c2r_op = register(OpDef(
    name="fft_c2r", infer=_c2r_infer, impl={"cpu": _c2r_cpu, "cuda": _c2r_cuda}, family=FAMILY, ref=_c2r_ref,
    samples=_c2r_samples, dtypes=COMPLEX, supports_out=True, vjp=_c2r_vjp, save="none",
    bench=BenchSpec(sizes=(1 << 16, 1 << 20), make=lambda size, device, dtype: (
        (make_tensor((size // 1024, 513), dtype, device, rng=rng_for("fft-bench", size)), -1, 1024), {}),
        bytes=lambda size, dtype: size * dtype.itemsize, flops=lambda size: 5 * size * 10 // 2,
        dtypes=(_dt.complex64,)),
    extra={"torch": lambda torch, x, dim, n, norm=None: torch.fft.irfft(x, n=n, dim=dim, norm=norm)},
    doc="fft_c2r(x, dim, n, norm): the real inverse DFT of length n from its onesided half spectrum"))
