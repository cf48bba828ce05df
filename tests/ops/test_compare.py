"""Hand-written tests of tritorch/ops/compare.py (isclose, allclose, equal) against PyTorch: infinities, NaN
with and without equal_nan, integer and bool inputs, broadcasting, PyTorch's errors, the method forms."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

A = [1.0, float("inf"), float("-inf"), float("nan"), 0.0, 1e-9, 100.0, float("inf")]
B = [1.0 + 1e-6, float("inf"), float("inf"), float("nan"), 1e-9, 0.0, 100.001, 1e300]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 1e-3, "atol": 0}])
def test_isclose_matches_torch(device, kw):
    ours = tt.isclose(tt.tensor(A, dtype=tt.float64, device=device), tt.tensor(B, dtype=tt.float64, device=device),
                      **kw)
    theirs = torch.isclose(torch.tensor(A, dtype=torch.float64), torch.tensor(B, dtype=torch.float64), **kw)
    assert ours.dtype == tt.bool
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_isclose_integers_bools_and_broadcast():
    a, b = [1, 5, 100, -3], [1, 6, 101, -3]
    for kw in ({}, {"rtol": 0.02}, {"atol": 1.0}):
        np.testing.assert_array_equal(tt.isclose(tt.tensor(a), tt.tensor(b), **kw).numpy(),
                                      torch.isclose(torch.tensor(a), torch.tensor(b), **kw).numpy())
    np.testing.assert_array_equal(tt.isclose(tt.tensor([True, False]), tt.tensor([True, True])).numpy(),
                                  [True, False])
    assert tt.isclose(tt.ones(3, 1), tt.ones(4)).shape == (3, 4)


def test_isclose_errors():
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        tt.isclose(tt.ones(2), tt.ones(2, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero"):
        tt.isclose(tt.ones(2), tt.ones(2), rtol=-1)
    with pytest.raises(RuntimeError, match="atol must be greater than or equal to zero"):
        tt.isclose(tt.ones(2), tt.ones(2), atol=-1)
    with pytest.raises(TypeError):
        tt.isclose([1.0], tt.ones(1))


def test_allclose_and_equal():
    x = tt.tensor([1.0, 2.0, float("nan")])
    assert tt.allclose(x, x + 1e-9, equal_nan=True) is True
    assert tt.allclose(x, x) is False
    assert x.allclose(x, equal_nan=True)
    assert tt.equal(tt.tensor([1, 2]), tt.tensor([1, 2])) is True
    assert tt.equal(tt.tensor([1, 2]), tt.tensor([1, 3])) is False
    assert tt.equal(tt.ones(2), tt.ones(2, 1)) is False
    assert tt.equal(x, x) is False
    assert tt.ones(2, device="cuda").equal(tt.ones(2, device="cuda"))
