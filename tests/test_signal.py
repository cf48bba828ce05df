"""tritorch.signal.windows against torch.signal.windows: every window, lengths 0 to 16, symmetric and periodic,
float32 and float64, on every device; and PyTorch's argument errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")

WINDOWS = [("hann", {}), ("hamming", {}), ("blackman", {}), ("bartlett", {}), ("cosine", {}), ("nuttall", {}),
           ("gaussian", {"std": 2.0}), ("kaiser", {"beta": 8.0}), ("exponential", {"tau": 3.0}),
           ("general_cosine", {"a": [0.4, 0.3, 0.3]}), ("general_hamming", {"alpha": 0.6})]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name, kwargs", WINDOWS, ids=[w for w, _ in WINDOWS])
def test_windows_equal_torch(name, kwargs, device):
    for M in (0, 1, 2, 7, 16):
        for sym in (True, False):
            for dtype in ("float32", "float64"):
                ours = getattr(tt.signal.windows, name)(M, sym=sym, dtype=getattr(tt, dtype), device=device,
                                                        **kwargs)
                theirs = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype), **kwargs)
                assert ours.device == as_device(device) and str(ours.dtype).endswith(dtype)
                np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=2e-6, atol=1e-7,
                                           err_msg=f"{name} M={M} sym={sym} {dtype}")


def test_defaults_and_errors():
    assert tt.signal.windows.hann(4).dtype is tt.get_default_dtype()
    assert tt.signal.windows.hann(3, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="non-negative window length"):
        tt.signal.windows.hann(-1)
    with pytest.raises(ValueError, match="float32 or float64"):
        tt.signal.windows.hann(4, dtype=tt.int32)
    with pytest.raises(ValueError, match="Tau must be positive"):
        tt.signal.windows.exponential(4, tau=0)
    with pytest.raises(ValueError, match="Center must be None for symmetric windows"):
        tt.signal.windows.exponential(4, center=1.0)
    with pytest.raises(ValueError, match="Standard deviation must be positive"):
        tt.signal.windows.gaussian(4, std=-1.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        tt.signal.windows.kaiser(4, beta=-1.0)
    with pytest.raises(ValueError, match="Coefficients cannot be empty"):
        tt.signal.windows.general_cosine(4, a=[])
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        tt.signal.windows.general_cosine(4, a=0.5)
    np.testing.assert_allclose(tt.signal.windows.exponential(5, center=1.0, sym=False).numpy(),
                               torch.signal.windows.exponential(5, center=1.0, sym=False).numpy(), rtol=1e-6)
