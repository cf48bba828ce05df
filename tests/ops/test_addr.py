"""addr (ops/addr.py, a composite) against PyTorch: values and dtypes over float, integer and bool inputs,
broadcasting of input, beta = 0 ignoring NaN, alpha/beta rules, gradients, out= and addr_, errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")


def _both(values, dtype, device):
    a = np.array(values)
    return torch.tensor(a, dtype=getattr(torch, dtype)), tt.tensor(a, device=device).to(getattr(tt, dtype))


CASES = [  # (input shape, input dtype, vec dtypes, beta, alpha)
    ((3, 2), "float32", ("float32", "float32"), 1, 1),
    ((3, 2), "float64", ("float64", "float64"), 0.5, -2.0),
    ((2,), "float32", ("float32", "float32"), 2, 1),
    ((3, 1), "float32", ("float16", "float32"), 1, 3),
    ((), "int64", ("int64", "int64"), 2, 3),
    ((3, 2), "int32", ("float32", "float32"), 1, 1),
    ((3, 2), "float16", ("float16", "float64"), 1, 0.5),
    ((3, 2), "int64", ("int64", "bool"), 1, 1),
    ((3, 2), "bool", ("bool", "bool"), True, True),
    ((3, 2), "bool", ("bool", "bool"), 0, True),
    ((3, 2), "bool", ("bool", "bool"), 2, False),
    ((3, 2), "uint8", ("uint8", "uint8"), 0, 2),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", CASES, ids=str)
def test_values_and_dtypes_match_torch(case, device):
    shape, dt, (d1, d2), beta, alpha = case
    rng = np.random.default_rng(0)
    tm, m = _both(rng.integers(-3, 4, shape), dt, device)
    tv1, v1 = _both(rng.integers(-3, 4, 3), d1, device)
    tv2, v2 = _both(rng.integers(-3, 4, 2), d2, device)
    want = torch.addr(tm, tv1, tv2, beta=beta, alpha=alpha)
    got = tt.addr(m, v1, v2, beta=beta, alpha=alpha)
    assert got.dtype.name == str(want.dtype).removeprefix("torch.") and got.device == as_device(device)
    np.testing.assert_allclose(got.cpu().float().numpy(), want.float().numpy(), rtol=1e-3)


@pytest.mark.parametrize("device", devices())
def test_beta_zero_ignores_nan_and_empty_vectors(device):
    m = tt.tensor([[np.nan, 1.0], [2.0, np.inf], [4.0, 5.0]], device=device)
    v1, v2 = tt.tensor([1.0, 2.0, 3.0], device=device), tt.tensor([1.0, 2.0], device=device)
    assert tt.addr(m, v1, v2, beta=0).tolist() == [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]
    assert np.isnan(tt.addr(m, v1, v2).cpu().numpy()[0, 0])
    e = tt.addr(tt.zeros(0, 2, device=device), tt.zeros(0, device=device), v2)
    assert e.shape == (0, 2)


def test_gradients_match_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((3, 1), (3,), (4,))]
    tvals = [torch.tensor(a, requires_grad=True) for a in arrays]
    vals = [tt.tensor(a, requires_grad=True) for a in arrays]
    g = rng.standard_normal((3, 4))
    torch.addr(*tvals, beta=0.5, alpha=-1.5).backward(torch.tensor(g))
    tt.addr(*vals, beta=0.5, alpha=-1.5).backward(tt.tensor(g))
    for a, b in zip(vals, tvals):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    ok = tt.autograd.gradcheck(lambda m, x, y: tt.addr(m, x, y, beta=2.0, alpha=0.5),
                               [tt.tensor(a, requires_grad=True) for a in arrays])
    assert ok


def test_out_and_inplace():
    v1, v2 = tt.tensor([1.0, 2.0, 3.0]), tt.tensor([1.0, 2.0])
    out = tt.empty(3, 2)
    assert tt.addr(tt.ones(3, 2), v1, v2, alpha=2, out=out) is out
    assert out.tolist() == [[3.0, 5.0], [5.0, 9.0], [7.0, 13.0]]
    m = tt.zeros(3, 2)
    assert m.addr_(v1, v2, alpha=2) is m and m.tolist() == [[2.0, 4.0], [4.0, 8.0], [6.0, 12.0]]
    assert m.addr(v1, v2, beta=0).tolist() == [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]
    with pytest.raises(RuntimeError, match=r"size mismatch, input: \[3, 1\], v1: \[3\], v2: \[2\]"):
        tt.zeros(3, 1).addr_(v1, v2)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        tt.addr(tt.zeros(3, 2), v1, v2, out=tt.zeros(3, 2, dtype=tt.int64))


def test_errors_match_torch():
    m, v1, v2 = tt.zeros(3, 2), tt.tensor([1.0, 2.0, 3.0]), tt.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="addr: Expected 1-D argument vec1, but got 2-D"):
        tt.addr(m, v1[None], v2)
    with pytest.raises(RuntimeError, match="The expanded size of the tensor"):
        tt.addr(tt.zeros(2, 3), v1, v2)
    mi, vi = tt.zeros(3, 2, dtype=tt.int64), tt.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="argument beta must not be a floating point number"):
        tt.addr(mi, vi, tt.tensor([4, 5]), beta=0.5)
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point number"):
        tt.addr(mi, vi, tt.tensor([4, 5]), alpha=0.5)
    with pytest.raises(RuntimeError, match="Boolean beta only supported for Boolean results"):
        tt.addr(mi, vi, tt.tensor([4, 5]), beta=True)
    with pytest.raises(TypeError, match=r"argument 'vec2' \(position 3\) must be Tensor, not list"):
        tt.addr(m, v1, [1.0, 2.0])
