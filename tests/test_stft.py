"""torch.stft / torch.istft against PyTorch's: spectra, round trips and gradients on every device."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close, devices

torch = pytest.importorskip("torch")

DEVICES = devices()

CASES = [
    dict(n_fft=64), dict(n_fft=32, hop_length=8, window=True), dict(n_fft=30, hop_length=7, win_length=20,
                                                                   window=True, normalized=True),
    dict(n_fft=16, center=False), dict(n_fft=16, onesided=False, window=True), dict(n_fft=20, pad_mode="constant"),
]


def _args(case, device, lib):
    kw = dict(case)
    if kw.pop("window", False):
        size = kw.get("win_length", kw["n_fft"])
        kw["window"] = tt.hann_window(size, dtype=tt.float64, device=device) if lib is tt else \
            torch.hann_window(size, dtype=torch.float64)
    else:
        kw["window"] = tt.ones(kw.get("win_length", kw["n_fft"]), dtype=tt.float64, device=device) if lib is tt \
            else torch.ones(kw.get("win_length", kw["n_fft"]), dtype=torch.float64)
    return kw


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_stft_and_round_trip_match_torch(case, device):
    x = np.random.default_rng(case).standard_normal((2, 150))
    ours = tt.stft(tt.tensor(x, device=device), return_complex=True, **_args(CASES[case], device, tt))
    theirs = torch.stft(torch.tensor(x), return_complex=True, **_args(CASES[case], device, torch))
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype is tt.complex128
    assert_values_close(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)
    inverse = {k: v for k, v in _args(CASES[case], device, tt).items() if k != "pad_mode"}
    back = tt.istft(ours, length=150, **inverse)
    expected = torch.istft(theirs, length=150, **{k: v for k, v in _args(CASES[case], device, torch).items()
                                                  if k != "pad_mode"})
    assert_values_close(back, expected.numpy(), rtol=1e-10, atol=1e-10)
    covered = expected.shape[-1] if CASES[case].get("center", True) else 148   # (frames end before the signal)
    assert_values_close(back[:, :covered], x[:, :covered], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_one_dimensional_and_complex_signals(device):
    x = np.random.default_rng(0).standard_normal(100)
    ours = tt.stft(tt.tensor(x, device=device), 16, return_complex=True, window=tt.hann_window(16, dtype=tt.float64,
                                                                                               device=device))
    theirs = torch.stft(torch.tensor(x), 16, return_complex=True, window=torch.hann_window(16, dtype=torch.float64))
    assert_values_close(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)
    z = x + 1j * x[::-1]
    ours = tt.stft(tt.tensor(z, device=device), 16, return_complex=True, window=tt.ones(16, dtype=tt.float64,
                                                                                      device=device))
    theirs = torch.stft(torch.tensor(z.copy()), 16, return_complex=True, window=torch.ones(16, dtype=torch.float64))
    assert ours.shape == theirs.shape
    assert_values_close(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = tt.istft(ours, 16, onesided=False, return_complex=True, length=100)
    assert_values_close(back, z, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_match_torch(device):
    x = np.random.default_rng(1).standard_normal((2, 64))
    ours_in = tt.tensor(x, device=device, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    w = tt.hann_window(16, dtype=tt.float64, device=device)
    tw = torch.hann_window(16, dtype=torch.float64)
    spec = tt.stft(ours_in, 16, 4, window=w, return_complex=True)
    tspec = torch.stft(theirs_in, 16, 4, window=tw, return_complex=True)
    (spec.abs() ** 2).sum().backward()
    (tspec.abs() ** 2).sum().backward()
    assert_values_close(ours_in.grad, theirs_in.grad.numpy(), rtol=1e-9, atol=1e-9)
    spec_in = tt.tensor(tspec.detach().numpy(), device=device, requires_grad=True)
    tspec_in = tspec.detach().requires_grad_()
    weights = np.random.default_rng(2).standard_normal((2, 60))
    (tt.istft(spec_in, 16, 4, window=w, length=60) * tt.tensor(weights, device=device)).sum().backward()
    (torch.istft(tspec_in, 16, 4, window=tw, length=60) * torch.tensor(weights)).sum().backward()
    assert_values_close(spec_in.grad, tspec_in.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_errors():
    with pytest.raises(RuntimeError, match="return_complex parameter be given"):
        tt.stft(tt.ones(64), 16)
    with pytest.raises(RuntimeError, match="win_length"):
        tt.stft(tt.ones(64), 16, win_length=20, return_complex=True)
    with pytest.raises(RuntimeError, match="istft requires a complex-valued input"):
        tt.istft(tt.ones(9, 5), 16, window=tt.ones(16))
    with pytest.raises(RuntimeError, match="NOLA|overlap add"):
        tt.istft(tt.ones(9, 5, dtype=tt.complex64), 16, window=tt.hann_window(16), center=False)


@pytest.mark.parametrize("n_fft, win, hop, length, complex_input", [(8, 4, 2, 20, False), (16, 16, 4, 40, False),
                                                                    (12, 6, 3, 40, False), (8, 4, 2, 20, True)])
def test_align_to_window_matches_torch(n_fft, win, hop, length, complex_input):
    # center=False, align_to_window=True: frames start where the (shorter) window starts
    rng = np.random.default_rng(n_fft + length)
    x = rng.standard_normal(length) + (1j * rng.standard_normal(length) if complex_input else 0)
    w = np.hanning(win)
    want = torch.stft(torch.tensor(x), n_fft, hop_length=hop, win_length=win, window=torch.tensor(w), center=False,
                      return_complex=True, align_to_window=True)
    got = tt.stft(tt.tensor(x), n_fft, hop_length=hop, win_length=win, window=tt.tensor(w), center=False,
                  return_complex=True, align_to_window=True)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="align_to_window should only be set when center = false"):
        tt.stft(tt.tensor(x), n_fft, window=tt.tensor(np.hanning(n_fft)), return_complex=True, align_to_window=True)
