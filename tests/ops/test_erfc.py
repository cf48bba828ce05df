"""The erfc family (erfc, special.erfcx) and special.ndtr/log_ndtr built on it: float64 accuracy against mpmath
across the continued fraction's switch at 2 and deep into the tails, float32 against PyTorch, special values,
gradients and second derivatives against PyTorch, methods and dtype rules; cpu and cuda."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
mpmath = pytest.importorskip("mpmath")
DEVICES = devices()

POINTS = [-26.0, -9.5, -3.0, -1.99, -0.7, -1e-8, 0.0, 1e-300, 0.3, 0.84, 1.3, 1.99, 2.0, 2.01, 2.5, 4.0, 7.3, 12.0,
          26.5, 1e3]


def _mp(fn):
    with mpmath.workdps(400):   # (log(ncdf(12)) = log(1 - 1.8e-33) needs far more than 40 digits)
        return np.array([float(fn(mpmath.mpf(x))) for x in POINTS])


def _on(fn, device, values=POINTS, dtype=tt.float64):
    return fn(tt.tensor(np.array(values), dtype=dtype, device=device)).cpu().numpy()


@pytest.mark.parametrize("device", DEVICES)
def test_float64_accuracy_against_mpmath(device):
    assert_close(_on(tt.erfc, device), _mp(mpmath.erfc), rtol=3e-14, atol=0)
    erfcx = _mp(lambda x: mpmath.exp(x * x) * mpmath.erfc(x))
    got = _on(tt.special.erfcx, device)
    finite = np.isfinite(erfcx)
    assert_close(got[finite], erfcx[finite], rtol=3e-14, atol=0)
    assert np.isinf(got[~finite]).all()
    assert_close(_on(tt.special.ndtr, device), _mp(mpmath.ncdf), rtol=3e-14, atol=0)
    assert_close(_on(tt.special.log_ndtr, device), _mp(lambda x: mpmath.log(mpmath.ncdf(x))), rtol=3e-14, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_and_special_values_as_pytorch(device):
    xs = np.random.default_rng(0).uniform(-6, 12, 3000).astype(np.float32)
    for fn, tfn in ((tt.erfc, torch.erfc), (tt.special.erfcx, torch.special.erfcx)):
        got = fn(tt.tensor(xs, device=device))
        assert got.dtype is tt.float32
        want = tfn(torch.from_numpy(xs.astype(np.float64))).numpy().astype(np.float32)
        assert_close(got.cpu().numpy(), want, rtol=3e-7, atol=1e-37)
    special = [0.0, -0.0, math.inf, -math.inf, math.nan, 30.0, -30.0]
    for fn, tfn in ((tt.erfc, torch.erfc), (tt.special.erfcx, torch.special.erfcx),
                    (tt.special.log_ndtr, torch.special.log_ndtr)):
        got = fn(tt.tensor(special, dtype=tt.float64, device=device)).cpu().numpy()
        want = tfn(torch.tensor(special, dtype=torch.float64)).numpy()
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite], want[~finite])
        assert_close(got[finite], want[finite], rtol=1e-13, atol=0)
    # PyTorch's ndtr is 1 + erf in the lower tail (0 at -30, 2% off at -8); ours is erfc's, exact there
    lower = tt.special.ndtr(tt.tensor([-30.0, -8.0], dtype=tt.float64, device=device)).cpu().numpy()
    assert_close(lower, [float(mpmath.ncdf(-30)), float(mpmath.ncdf(-8))], rtol=1e-13, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_and_second_derivatives_vs_torch(device):
    xs = np.array([-4.0, -1.2, 0.0, 0.7, 1.99, 2.01, 3.5, 8.0])
    cases = ((tt.erfc, torch.erfc), (tt.special.erfcx, torch.special.erfcx),
             (tt.special.log_ndtr, torch.special.log_ndtr), (tt.special.ndtr, torch.special.ndtr))
    for fn, tfn in cases:
        x = tt.tensor(xs, device=device, requires_grad=True)
        tx = torch.tensor(xs, requires_grad=True)
        (g,) = tt.autograd.grad(fn(x).sum(), [x], create_graph=True)
        (tg,) = torch.autograd.grad(tfn(tx).sum(), [tx], create_graph=True)
        assert_close(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-300, msg=str(fn))
        (gg,) = tt.autograd.grad(g.sum(), [x])
        (tgg,) = torch.autograd.grad(tg.sum(), [tx])
        # (atol: ndtr'' is exactly 0 at 0, where the composition leaves a rounding of 1e-16)
        assert_close(gg.cpu().numpy(), tgg.numpy(), rtol=1e-11, atol=1e-15, msg=str(fn))
    # log_ndtr's gradient stays finite far into both tails (each branch sees only its half of the line)
    x = tt.tensor([-40.0, 40.0], dtype=tt.float64, device=device, requires_grad=True)
    (g,) = tt.autograd.grad(tt.special.log_ndtr(x).sum(), [x])
    assert np.isfinite(g.cpu().numpy()).all() and g.cpu().numpy()[0] > 39


@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_dtype_rules(device):
    x = tt.tensor([0.5, 3.0], device=device)
    np.testing.assert_array_equal(x.erfc().cpu().numpy(), tt.erfc(x).cpu().numpy())
    y = x.clone()
    y.erfc_()
    np.testing.assert_array_equal(y.cpu().numpy(), tt.erfc(x).cpu().numpy())
    assert tt.erfc(tt.tensor([1, 2], device=device)).dtype is tt.float32
    h = tt.erfc(tt.tensor([0.5, 3.0], dtype=tt.float16, device=device))
    assert h.dtype is tt.float16
    assert_close(h.float().cpu().numpy(), torch.erfc(torch.tensor([0.5, 3.0], dtype=torch.float16)).float().numpy(),
                 rtol=1e-3, atol=1e-6)
    with pytest.raises(RuntimeError, match="not implemented for 'Half'"):
        tt.special.erfcx(tt.tensor([1.0], dtype=tt.float16, device=device))
    assert tt.special.erfc(x).dtype is tt.float32
