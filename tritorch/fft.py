"""torch.fft: discrete Fourier transforms, composed from the registered fft_c2c / fft_r2c / fft_c2r ops
(ops/fft.py), so every function runs on both devices and has gradients.

`n` (or `s`) trims or zero-pads the input along the transformed dims first, as PyTorch's; real inputs of the
complex transforms are made complex, integer inputs take the default float dtype first.
"""
from __future__ import annotations

from . import dtypes as _dt
from .ops.fft import _DUAL, fft_c2c_op, fft_r2c_op, fft_c2r_op
from .ops.registry import wrap_dim
from .tensor import Tensor
from .ops.registry import write_out as _write_out

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _floating(x: Tensor) -> Tensor:
    return x if x.dtype.kind >= _dt.FLOAT else x.to(_dt.get_default_dtype())


def _as_complex(x: Tensor) -> Tensor:
    x = _floating(x)
    if x.dtype.kind == _dt.COMPLEX:
        return x
    return x.to(x.dtype.to_complex() if x.dtype in (_dt.float32, _dt.float64) else _dt.complex64)


def _as_real(x: Tensor) -> Tensor:
    x = _floating(x)
    if x.dtype.kind == _dt.COMPLEX:
        raise RuntimeError("rfft expects a real input tensor, but got ComplexFloat" if x.dtype is _dt.complex64
                           else "rfft expects a real input tensor, but got ComplexDouble")
    return x if x.dtype in (_dt.float32, _dt.float64) else x.to(_dt.float32)


def _resized(x: Tensor, n, dim: int) -> Tensor:
    """x trimmed or zero-padded to length n along dim (n None: as it is)."""
    if n is None:
        return x
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    have = x.shape[dim]
    if n == have:
        return x
    if n < have:
        return x.narrow(dim, 0, n)
    from .ops.creation import zeros
    from .ops.movement import cat
    shape = list(x.shape)
    shape[dim] = n - have
    return cat([x, zeros(*shape, dtype=x.dtype, device=x.device)], dim)


def _c2c(input, n, dim, norm, forward):
    x = _as_complex(input)
    d = wrap_dim(dim, x.ndim)
    return fft_c2c_op(_resized(x, n, d), d, norm, forward)


def fft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    return _out(_c2c(input, n, dim, norm, True), out)


def ifft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    return _out(_c2c(input, n, dim, norm, False), out)


def rfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    x = _as_real(input)
    d = wrap_dim(dim, x.ndim)
    return _out(fft_r2c_op(_resized(x, n, d), d, norm), out)


def irfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    x = _as_complex(input)
    d = wrap_dim(dim, x.ndim)
    length = 2 * (x.shape[d] - 1) if n is None else n
    return _out(fft_c2r_op(_resized(x, length // 2 + 1, d), d, length, norm), out)


def hfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The FFT of a Hermitian-symmetric signal given by its first half: irfft of the conjugate, with the
    opposite normalisation (the dual norm, as a transform's adjoint takes)."""
    x = _as_complex(input)
    d = wrap_dim(dim, x.ndim)
    length = 2 * (x.shape[d] - 1) if n is None else n
    return _out(fft_c2r_op(_resized(x.conj(), length // 2 + 1, d), d, length, _DUAL[norm]), out)


def ihfft(input: Tensor, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:
    """The inverse of hfft: the conjugate of rfft with the opposite normalisation."""
    x = _as_real(input)
    d = wrap_dim(dim, x.ndim)
    return _out(fft_r2c_op(_resized(x, n, d), d, _DUAL[norm]).conj(), out)


def _dims(x: Tensor, s, dim, default_last: int | None) -> tuple:
    if dim is None:
        dims = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
        if default_last is not None and s is None:
            dims = tuple(range(max(x.ndim - default_last, 0), x.ndim))
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(wrap_dim(d, x.ndim) for d in dims)
    if s is not None and len(s) != len(dims):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    return dims


def _cn(input, s, dim, norm, forward, last=None):
    x = _as_complex(input)
    dims = _dims(x, s, dim, last)
    for i, d in enumerate(dims):
        x = fft_c2c_op(_resized(x, None if s is None else s[i], d), d, norm, forward)
    return x


def fftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    return _out(_cn(input, s, dim, norm, True), out)


def ifftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    return _out(_cn(input, s, dim, norm, False), out)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return fftn(input, s, dim, norm, out=out)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return ifftn(input, s, dim, norm, out=out)


def rfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The real transform over the last of the dims, then complex transforms over the others."""
    x = _as_real(input)
    dims = _dims(x, s, dim, None)
    last = dims[-1]
    x = fft_r2c_op(_resized(x, None if s is None else s[-1], last), last, norm)
    for i, d in enumerate(dims[:-1]):
        x = fft_c2c_op(_resized(x, None if s is None else s[i], d), d, norm, True)
    return _out(x, out)


def irfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """Complex inverse transforms over all dims but the last of them, then the real inverse over that one."""
    x = _as_complex(input)
    dims = _dims(x, s, dim, None)
    last = dims[-1]
    for i, d in enumerate(dims[:-1]):
        x = fft_c2c_op(_resized(x, None if s is None else s[i], d), d, norm, False)
    length = 2 * (x.shape[last] - 1) if s is None else s[-1]
    return _out(fft_c2r_op(_resized(x, length // 2 + 1, last), last, length, norm), out)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return rfftn(input, s, dim, norm, out=out)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return irfftn(input, s, dim, norm, out=out)


def hfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The n-d FFT of a Hermitian-symmetric signal given by its half along the last dim: irfftn of the conjugate
    with the dual normalisation (as hfft is irfft's)."""
    return irfftn(_as_complex(input).conj(), s, dim, _DUAL[norm], out=out)


def ihfftn(input: Tensor, s=None, dim=None, norm=None, *, out=None) -> Tensor:
    """The inverse of hfftn: the conjugate of rfftn with the dual normalisation."""
    return _out(rfftn(input, s, dim, _DUAL[norm]).conj(), out)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:
    return ihfftn(input, s, dim, norm, out=out)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """The sample frequencies of an n-point FFT: [0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d n)."""
    from .ops.creation import arange
    from .ops.movement import cat
    k = arange(n, dtype=dtype, device=device)
    pos = (n + 1) // 2
    r = cat([k[:pos], k[pos:] - n]) / (d * n) if n else k
    return _out(r.requires_grad_() if requires_grad else r, out)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad=False, out=None) -> Tensor:
    """The sample frequencies of rfft's n // 2 + 1 bins: [0, 1, ..., n // 2] / (d n)."""
    from .ops.creation import arange
    r = arange(n // 2 + 1, dtype=dtype, device=device) / (d * n)
    return _out(r.requires_grad_() if requires_grad else r, out)


def _shifted(input: Tensor, dim, sign: int) -> Tensor:
    """A roll by n // 2 (sign -1: back) along each dim, as two slices joined (cat has a complex form)."""
    from .ops.movement import cat
    dims = tuple(range(input.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    x = input
    for d in dims:
        d = wrap_dim(d, x.ndim)
        n = x.shape[d]
        k = (sign * (n // 2)) % n if n else 0
        if k:
            x = cat([x.narrow(d, n - k, k), x.narrow(d, 0, n - k)], d)
    return x


def fftshift(input: Tensor, dim=None) -> Tensor:
    """The zero frequency moved to the centre (roll by n // 2 along each dim)."""
    return _shifted(input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    return _shifted(input, dim, -1) if input.ndim else input


def _out(r: Tensor, out) -> Tensor:
    if out is None:
        return r
    return _write_out(out, r)

