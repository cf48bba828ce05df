"""tritorch.fft against torch.fft: values (several lengths: powers of two and not, n trimming and padding, every
norm) and gradients, on every device. The registered transforms themselves are also in the generated tests."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close, devices

torch = pytest.importorskip("torch")

DEVICES = devices()


def _data(shape, complex_, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if complex_:
        x = x + 1j * rng.standard_normal(shape)
    return x


def _both(fn_name, x, device, *args, **kwargs):
    ours = getattr(tt.fft, fn_name)(tt.tensor(x, device=device), *args, **kwargs)
    theirs = getattr(torch.fft, fn_name)(torch.tensor(x), *args, **kwargs)
    return ours, theirs


CASES = [
    ("fft", (4, 16), True, {}), ("fft", (3, 12), True, {"norm": "ortho"}), ("fft", (3, 7), True, {"n": 10}),
    ("fft", (3, 9), True, {"n": 4, "dim": 0}), ("fft", (5,), False, {"norm": "forward"}),
    ("ifft", (2, 8), True, {}), ("ifft", (2, 6), True, {"norm": "forward", "n": 5}),
    ("rfft", (3, 16), False, {}), ("rfft", (3, 15), False, {"norm": "ortho"}), ("rfft", (6, 4), False, {"dim": 0}),
    ("irfft", (3, 9), True, {}), ("irfft", (3, 9), True, {"n": 15}), ("irfft", (2, 5), True, {"n": 4, "norm": "ortho"}),
    ("hfft", (3, 5), True, {}), ("ihfft", (3, 8), False, {}),
    ("fft2", (2, 4, 6), True, {}), ("ifft2", (4, 5), True, {"s": (3, 8)}), ("fftn", (2, 3, 4), True, {}),
    ("fftn", (2, 3, 4), False, {"dim": (0, 2), "norm": "ortho"}), ("rfft2", (4, 6), False, {}),
    ("irfft2", (4, 4), True, {}), ("rfftn", (2, 4, 6), False, {}), ("irfftn", (2, 3, 5), True, {"s": (3, 8)}),
    ("hfft2", (3, 4, 5), True, {}), ("hfftn", (3, 4, 5), True, {"s": (4, 8), "dim": (0, 2), "norm": "ortho"}),
    ("hfftn", (2, 3, 4), True, {"norm": "forward"}), ("ihfft2", (3, 4, 6), False, {}),
    ("ihfftn", (2, 4, 6), False, {"s": (3, 5), "norm": "ortho"}), ("ihfftn", (4, 5), False, {"norm": "forward"}),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_values_match_torch(case, device):
    name, shape, complex_, kwargs = CASES[case]
    x = _data(shape, complex_, case).astype(np.complex64 if complex_ else np.float32)
    ours, theirs = _both(name, x, device, **kwargs)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.") and tuple(ours.shape) == tuple(theirs.shape)
    assert_values_close(ours, theirs.resolve_conj().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_match_torch(case, device):
    name, shape, complex_, kwargs = CASES[case]
    x = _data(shape, complex_, case)
    ours_in = tt.tensor(x, device=device, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    ours = getattr(tt.fft, name)(ours_in, **kwargs)
    theirs = getattr(torch.fft, name)(theirs_in, **kwargs)
    w = _data(tuple(theirs.shape) + ((2,) if theirs.is_complex() else ()), False, 99)
    theirs = theirs.resolve_conj()
    if theirs.is_complex():
        (tt.view_as_real(ours) * tt.tensor(w, device=device)).sum().backward()
        (torch.view_as_real(theirs) * torch.tensor(w)).sum().backward()
    else:
        (ours * tt.tensor(w, device=device)).sum().backward()
        (theirs * torch.tensor(w)).sum().backward()
    assert_values_close(ours_in.grad, theirs_in.grad.resolve_conj().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_frequencies_and_shifts(device):
    for n in (1, 4, 7):
        assert_values_close(tt.fft.fftfreq(n, 0.5, device=device), torch.fft.fftfreq(n, 0.5).numpy())
        assert_values_close(tt.fft.rfftfreq(n, device=device), torch.fft.rfftfreq(n).numpy())
    x = _data((4, 5), True, 0)
    for fn in ("fftshift", "ifftshift"):
        for dim in (None, 0, (1,)):
            ours = getattr(tt.fft, fn)(tt.tensor(x, device=device), dim=dim)
            assert_values_close(ours, getattr(torch.fft, fn)(torch.tensor(x), dim=dim).numpy())


def test_errors():
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        tt.fft.fft(tt.ones(4), n=0)
    with pytest.raises(ValueError, match="Invalid normalization mode"):
        tt.fft.fft(tt.ones(4), norm="bad")
    with pytest.raises(RuntimeError, match="rfft expects a real input"):
        tt.fft.rfft(tt.ones(4, dtype=tt.complex64))


@pytest.mark.parametrize("device", DEVICES)
def test_long_transforms_on_both_paths(device):
    """A power-of-two length (Stockham on cuda) and a prime one (Bluestein), against NumPy in float64."""
    for n in (1024, 509):
        x = _data((2, n), True, n)
        ours = tt.fft.fft(tt.tensor(x, device=device))
        assert_values_close(ours, np.fft.fft(x), rtol=1e-10, atol=1e-9)
        back = tt.fft.ifft(ours)
        assert_values_close(back, x, rtol=1e-10, atol=1e-10)
