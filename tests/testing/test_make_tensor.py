"""tritorch.testing.make_tensor: PyTorch's ranges per dtype, shapes, noncontiguous/exclude_zero/requires_grad,
and its errors, checked against torch.testing.make_tensor's."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name, low, high", [("float32", -9, 9), ("float16", -9, 9), ("int64", -9, 10),
                                             ("int32", -9, 10), ("uint8", 0, 10), ("bool", 0, 2)])
def test_default_ranges_and_dtypes(device, name, low, high):
    x = tt.testing.make_tensor(64, 8, dtype=getattr(tt, name), device=device)
    assert x.shape == (64, 8) and x.dtype is getattr(tt, name) and x.device == as_device(device)
    values = x._host().astype(np.float64)
    assert values.min() >= low and values.max() < high and len(np.unique(values)) > 1


@pytest.mark.parametrize("device", devices())
def test_shape_forms_options_and_range(device):
    x = tt.testing.make_tensor((3, 4), dtype=tt.float32, device=device, low=2, high=3, noncontiguous=True,
                               requires_grad=True)
    assert x.shape == (3, 4) and not x.is_contiguous() and x.requires_grad
    assert 2 <= float(x.min()) and float(x.max()) < 3
    assert tt.testing.make_tensor([2], dtype=tt.float32, device=device).shape == (2,)
    assert tt.testing.make_tensor(dtype=tt.float32, device=device).shape == ()
    z = tt.testing.make_tensor(200, dtype=tt.int64, device=device, low=-1, high=1, exclude_zero=True)
    assert set(np.unique(z._host()).tolist()) <= {-1, 1}
    big = tt.testing.make_tensor(50, dtype=tt.float16, device=device, low=-1e6, high=1e6)  # clamped to fp16 range
    assert np.isfinite(big._host().astype(np.float32)).all()
    cl = tt.testing.make_tensor(2, 3, 4, 5, dtype=tt.float32, device=device, memory_format=tt.channels_last)
    assert cl.is_contiguous(memory_format=tt.channels_last)


@pytest.mark.parametrize("kwargs", [
    {"dtype": "int64", "requires_grad": True}, {"dtype": "float32", "low": 3, "high": 2},
    {"dtype": "float32", "low": float("nan")}, {"dtype": "uint8", "low": -5, "high": -1},
    {"dtype": "float32", "noncontiguous": True, "memory_format": "channels_last"},
])
def test_errors_match_torch(kwargs):
    def call(lib):
        kw = {k: (getattr(lib, v) if k in ("dtype", "memory_format") else v) for k, v in kwargs.items()}
        try:
            lib.testing.make_tensor(2, 2, 2, 2, device="cpu", **kw)
        except Exception as e:  # noqa: BLE001 - the exception is what is compared
            return type(e), str(e).replace("tritorch.", "torch.")
        return None

    ours, theirs = call(tt), call(torch)
    assert ours is not None and ours == theirs


def test_low_equal_high_warns_for_floats():
    with pytest.warns(FutureWarning, match="low==high"):
        x = tt.testing.make_tensor(3, dtype=tt.float32, device="cpu", low=1, high=1)
    assert (x._host() == 1).all()
