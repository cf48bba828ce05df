"""torch.stft / torch.istft (and the Tensor methods), composed from registered ops (no kernel of their own; both
devices, differentiable): frames are a strided view of the (centre-padded) signal, windowed and transformed by
tritorch.fft; istft inverts each frame, windows it again, overlap-adds the frames with F.fold and divides by the
overlap-added squared window (PyTorch's least-squares inverse).
"""
from __future__ import annotations

import warnings

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind

__all__ = ["stft", "istft"]


def _window(window, win_length: int, n_fft: int, like: Tensor) -> Tensor:
    """The window (ones when None) zero-padded on both sides to n_fft, centred, as PyTorch does."""
    from .creation import ones, zeros
    from .movement import cat
    real = like.dtype.to_real() if like.dtype.kind == _dt.COMPLEX else like.dtype
    if window is None:
        w = ones(win_length, dtype=real, device=like.device)
    else:
        if window.ndim != 1 or window.shape[0] != win_length:
            raise RuntimeError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but "
                               f"got window with size {list(window.shape)}")
        if window.device is not like.device:
            raise RuntimeError(f"stft input and window must be on the same device but got self on {like.device} "
                               f"and window on {window.device}")
        w = window
    if win_length == n_fft:
        return w
    left = (n_fft - win_length) // 2
    return cat([zeros(left, dtype=w.dtype, device=w.device), w,
                zeros(n_fft - win_length - left, dtype=w.dtype, device=w.device)])


def _lengths(n_fft, hop_length, win_length):
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win}")
    return hop, win


def _center_pad(x: Tensor, pad: int, mode: str) -> Tensor:
    """x (batch, length) padded by `pad` at both ends (a complex signal: each part)."""
    from ..nn import functional as F
    if x.dtype.kind == _dt.COMPLEX:
        from .complex import complex as make_complex
        return make_complex(_center_pad(x.real.contiguous(), pad, mode), _center_pad(x.imag.contiguous(), pad, mode))
    return F.pad(x.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)


def stft(input: Tensor, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided=None, return_complex=None,
         align_to_window=None) -> Tensor:
    """The short-time Fourier transform of a 1-D (length) or 2-D (batch, length) signal: (batch,) n_freq x
    n_frames complex, n_freq = n_fft // 2 + 1 when onesided (the default for real signals). align_to_window
    (center=False only): frames start where a window shorter than n_fft starts, not where its zero-padded
    n_fft frame does (the signal is zero-padded by the window's padding: the window is zero there)."""
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    from .. import fft
    from .complex import view_as_real
    complex_input = input.dtype.kind == _dt.COMPLEX
    if return_complex is None:
        if not complex_input and (window is None or window.dtype.kind != _dt.COMPLEX):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will "
                      "return complex tensors for all inputs, and return_complex=False will raise an error.",
                      UserWarning, stacklevel=2)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D")
    hop, win = _lengths(n_fft, hop_length, win_length)
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if x.dtype.kind < _dt.FLOAT:
        x = x.to(_dt.get_default_dtype())
    if center:
        x = _center_pad(x, n_fft // 2, pad_mode)
    elif align_to_window and win < n_fft:
        from ..nn import functional as F
        left = (n_fft - win) // 2
        x = F.pad(x, (left, n_fft - win - left))
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * _window(window, win, n_fft, x)     # (batch, n_frames, n_fft)
    onesided = (not complex_input) if onesided is None else onesided
    if onesided and complex_input:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    spec = fft.rfft(frames, dim=-1, norm=norm) if onesided else fft.fft(frames, dim=-1, norm=norm)
    spec = spec.transpose(-1, -2)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    return spec if return_complex else view_as_real(spec.contiguous())


def istft(input: Tensor, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
          normalized: bool = False, onesided=None, length=None, return_complex: bool = False) -> Tensor:
    """The inverse of stft: each frame's inverse transform windowed, overlap-added, divided by the overlap-added
    squared window; `length` trims or zero-pads the result."""
    from .. import fft
    from ..nn import functional as F
    from .complex import view_as_complex
    if input.dtype.kind != _dt.COMPLEX:
        if input.ndim >= 3 and input.shape[-1] == 2:   # the deprecated real (..., 2) form
            input = view_as_complex(input.contiguous())
        else:
            raise RuntimeError("istft requires a complex-valued input tensor")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex, but got {input.ndim}D")
    hop, win = _lengths(n_fft, hop_length, win_length)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied. Please provide the same "
                      "window used by stft to make the inversion lossless. To suppress this warning and use a "
                      "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.",
                      UserWarning, stacklevel=2)
    spec = input if input.ndim == 3 else input.unsqueeze(0)              # (batch, n_freq, n_frames)
    n_freq, n_frames = spec.shape[-2], spec.shape[-1]
    onesided = (n_freq != n_fft) if onesided is None else onesided
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"istft: expected the frequency dimension (2nd to last) of the input to equal "
                           f"n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    if not onesided and n_freq != n_fft:
        raise RuntimeError(f"istft: expected the frequency dimension (2nd to last) of the input to equal n_fft "
                           f"when onesided=False, but got {n_freq}")
    norm = "ortho" if normalized else "backward"
    frames_spec = spec.transpose(-1, -2)
    if onesided:
        if return_complex:
            raise RuntimeError("cannot have onesided output if window or input is complex")
        frames = fft.irfft(frames_spec, n=n_fft, dim=-1, norm=norm)
    else:
        frames = fft.ifft(frames_spec, dim=-1, norm=norm)
        if not return_complex:
            frames = frames.real
    w = _window(window, win, n_fft, frames)
    frames = frames * w                                                  # (batch, n_frames, n_fft)
    expected = n_fft + hop * (n_frames - 1)

    def overlap_add(t):   # (batch, n_frames, n_fft) -> (batch, expected)
        return F.fold(t.transpose(1, 2), (1, expected), (1, n_fft), stride=(1, hop)).reshape(t.shape[0], expected)
    if frames.dtype.kind == _dt.COMPLEX:
        from .complex import complex as make_complex
        y = make_complex(overlap_add(frames.real.contiguous()), overlap_add(frames.imag.contiguous()))
    else:
        y = overlap_add(frames)
    envelope = overlap_add((w * w).expand(1, n_frames, n_fft).contiguous())
    start = n_fft // 2 if center else 0
    if length is not None:
        end = min(start + length, expected)
    else:
        end = expected - n_fft // 2 if center else expected
    y, envelope = y[:, start:end], envelope[:, start:end]
    if float(envelope.abs().min()) < 1e-11:
        raise RuntimeError("istft: window overlap add min: the window's squared overlap-add is zero somewhere "
                           "(NOLA condition not met)")
    y = y / envelope
    if length is not None and y.shape[-1] < length:
        from .creation import zeros
        from .movement import cat
        y = cat([y, zeros(y.shape[0], length - y.shape[-1], dtype=y.dtype, device=y.device)], 1)
    return y.squeeze(0) if input.ndim == 2 else y


_bind.methods(stft=stft, istft=istft)
