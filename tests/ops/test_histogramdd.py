"""histogramdd (ops/histogramdd.py, a composite) against PyTorch: bin counts and edges for int, per-dimension and
tensor bins, range, weights, density, values on the edges, rows outside, empty and constant inputs, errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")


def _compare(got, want, device):
    assert type(got).__name__ == "histogramdd" and got.hist is got[0] and isinstance(got.bin_edges, tuple)
    assert got.hist.dtype.name == str(want.hist.dtype).removeprefix("torch.") and got.hist.device == as_device(device)
    np.testing.assert_allclose(got.hist.cpu().numpy(), want.hist.numpy(), rtol=1e-5, atol=1e-6)
    assert len(got.bin_edges) == len(want.bin_edges)
    for g, w in zip(got.bin_edges, want.bin_edges):
        np.testing.assert_allclose(g.cpu().numpy(), w.numpy(), rtol=1e-6)


def _run(x, device, **kw):
    want = torch.histogramdd(torch.from_numpy(x), **{k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else
                                                         [torch.from_numpy(e) for e in v] if k == "bins" and
                                                         isinstance(v, list) and isinstance(v[0], np.ndarray)
                                                         else v) for k, v in kw.items()})
    args = {k: (tt.tensor(v, device=device) if isinstance(v, np.ndarray) else
                [tt.tensor(e, device=device) for e in v] if k == "bins" and isinstance(v, list) and
                isinstance(v[0], np.ndarray) else v) for k, v in kw.items()}
    _compare(tt.histogramdd(tt.tensor(x, device=device), **args), want, device)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(dtype, device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)).astype(dtype)
    w = rng.uniform(0, 2, 50).astype(dtype)
    _run(x, device, bins=4)
    _run(x, device, bins=[2, 3, 5])
    _run(x, device, bins=(3, 1, 2), range=[-1.0, 1.0, -2.0, 0.5, 0.0, 3.0], weight=w)
    _run(x, device, bins=[3, 4, 2], weight=w, density=True)
    _run(x.reshape(5, 10, 3), device, bins=3, weight=w.reshape(5, 10))
    edges = [np.array([-1.0, 0.0, 0.5, 2.0], dtype), np.array([-3.0, 3.0], dtype), np.array([1.0, 0.0], dtype)]
    _run(x, device, bins=edges)
    grid = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.5, 0.5]], dtype)  # on edges
    _run(grid, device, bins=[2, 4])
    _run(grid, device, bins=2, range=[0.5, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("device", devices())
def test_empty_constant_and_nan_rows(device):
    _run(np.zeros((0, 2), np.float32), device, bins=2)
    _run(np.ones((3, 2), np.float32), device, bins=2)
    _run(np.array([[np.nan, 0.5], [0.2, 0.7]], np.float32), device, bins=2, range=[0.0, 1.0, 0.0, 1.0])


def test_errors_match_torch():
    x = tt.tensor([[0.0, 1.0], [1.0, 2.0]])
    cases = [
        (RuntimeError, "input tensor should have at least 2 dimensions", lambda: tt.histogramdd(x[0], bins=2)),
        (NotImplementedError, "\"histogramdd\" not implemented for 'Long'", lambda: tt.histogramdd(x.long(), bins=2)),
        (RuntimeError, "The size of bins must be equal to the innermost dimension of the input",
         lambda: tt.histogramdd(x, bins=[2, 3, 4])),
        (RuntimeError, "for a 2-dimensional histogram range should have 4 elements, but got 2",
         lambda: tt.histogramdd(x, bins=2, range=[0.0, 1.0])),
        (RuntimeError, "min should not exceed max, but got min 1 max 0 for dimension 0",
         lambda: tt.histogramdd(x, bins=2, range=[1.0, 0.0, 0.0, 1.0])),
        (RuntimeError, r"bins must be > 0, but got 0 for dimension 1", lambda: tt.histogramdd(x, bins=[2, 0])),
        (RuntimeError, "weight tensor is provided it should have the same shape",
         lambda: tt.histogramdd(x, bins=2, weight=tt.ones(3))),
        (RuntimeError, r"input tensor and weight tensor should have the same dtype, but got input\(float\), and "
                       r"weight\(double\)", lambda: tt.histogramdd(x, bins=2, weight=tt.ones(2, dtype=tt.float64))),
        (RuntimeError, "bins for dimension 0 with dtype double",
         lambda: tt.histogramdd(x, bins=[tt.tensor([0.0, 1.0], dtype=tt.float64), tt.tensor([0.0, 1.0])])),
        (RuntimeError, "expected 2 sequences of bin edges for a 2-dimensional histogram but got 1",
         lambda: tt.histogramdd(x, bins=[tt.tensor([0.0, 1.0])])),
        (RuntimeError, r"dimension 0's range \[0, inf\] is not finite",
         lambda: tt.histogramdd(x, bins=2, range=[0.0, float("inf"), 0.0, 1.0])),
        (RuntimeError, r"dimension 0's range \[nan, nan\] is not finite",
         lambda: tt.histogramdd(tt.tensor([[float("nan"), 1.0]]), bins=2)),
    ]
    for exc, msg, fn in cases:
        with pytest.raises(exc, match=msg):
            fn()
