"""The gamma family (lgamma, digamma, polygamma, mvlgamma): accuracy against mpmath in float64, parity with
PyTorch's values, gradients and double gradients, special values (poles, signed zeros, infinities), the
documented differences from PyTorch, argument errors, methods and tritorch.special's names; cpu and cuda.
Shapes and dtypes at large are covered by the generated tests in test_registry_ops.py."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
mpmath = pytest.importorskip("mpmath")
DEVICES = devices()

# ordinary points on both sides of the series windows (|x - 1|, |x - 2| < 0.2) and of the recurrence shift (10),
# negative non-integers (reflection), tiny and large magnitudes
POINTS = [1e-8, 0.01, 0.3, 0.5, 0.79, 0.81, 0.95, 1.0 + 1e-9, 1.19, 1.21, 1.5, 1.79, 1.81, 2.0 - 1e-7, 2.19,
          2.21, 3.7, 9.99, 10.0, 10.01, 25.3, 171.5, 1e4, 1e8, -0.5, -0.99, -1.01, -2.5, -3.7, -7.3, -11.9, -40.25]


def _mp(fn, xs, *args):
    with mpmath.workdps(40):
        return np.array([float(fn(*args, mpmath.mpf(x))) for x in xs])


def _ours(fn, xs, device, dtype=tt.float64):
    return fn(tt.tensor(np.array(xs), dtype=dtype, device=device)).cpu().numpy()


@pytest.mark.parametrize("device", DEVICES)
def test_float64_accuracy_against_mpmath(device):
    lg = _ours(tt.lgamma, POINTS, device)
    want = _mp(lambda x: mpmath.log(abs(mpmath.gamma(x))), POINTS)
    # relative where |lgamma| is not small; lgamma's zeros (1, 2) are held in absolute terms by their series
    assert_close(lg, want, rtol=1e-13, atol=1e-15)
    assert_close(_ours(tt.digamma, POINTS, device), _mp(mpmath.digamma, POINTS), rtol=1e-13, atol=1e-15)
    for n in (1, 2, 3, 5):
        got = _ours(lambda t: tt.polygamma(n, t), POINTS, device)
        assert_close(got, _mp(lambda x: mpmath.psi(n, x), POINTS), rtol=1e-12, atol=0, msg=f"polygamma({n}):")


@pytest.mark.parametrize("device", DEVICES)
def test_float32_matches_torch(device):
    xs = np.random.default_rng(0).uniform(-8, 30, 2000).astype(np.float32)
    xs = xs[np.abs(xs - np.round(xs)) > 1e-3]   # away from the poles, where float32 inputs decide everything
    # PyTorch's float64 at the same float32 inputs, rounded once: ours is that within float32's rounding
    # (PyTorch's own float32 polygamma is up to ~4e-5 off near the poles, its float32 reflection)
    tx = torch.from_numpy(xs.astype(np.float64))
    for fn, tfn in ((tt.lgamma, torch.lgamma), (tt.digamma, torch.digamma),
                    (lambda t: tt.polygamma(1, t), lambda t: torch.polygamma(1, t)),
                    (lambda t: tt.polygamma(2, t), lambda t: torch.polygamma(2, t))):
        got = fn(tt.tensor(xs, device=device))
        assert got.dtype is tt.float32
        assert_close(got.cpu().numpy(), tfn(tx).numpy().astype(np.float32), rtol=2e-7, atol=1e-30)


@pytest.mark.parametrize("device", DEVICES)
def test_special_values_as_pytorch(device):
    inf, nan = math.inf, math.nan
    x = [0.0, -0.0, -1.0, -2.0, inf, -inf, nan, 1.0, 2.0, -1e20]
    t = tt.tensor(x, dtype=tt.float64, device=device)
    tx = torch.tensor(x, dtype=torch.float64)
    for name in ("lgamma", "digamma"):
        got = getattr(tt, name)(t).cpu().numpy()
        want = getattr(torch, name)(tx).numpy()
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite], want[~finite], err_msg=name)
        assert_close(got[finite], want[finite], rtol=2e-15, atol=0, msg=name)
        num = ~np.isnan(want)   # (signed zeros and infinities; a NaN's sign carries nothing)
        assert np.array_equal(np.signbit(got[num]), np.signbit(want[num])), name   # lgamma(1) = lgamma(2) = +0
    assert list(tt.digamma(tt.tensor([0.0, -0.0], device=device)).cpu().numpy()) == [-inf, inf]
    # polygamma at poles, signed zeros and NaN: as PyTorch for n >= 2
    for n in (2, 3):
        sub = [0.0, -0.0, -1.0, -2.0, nan, 1.0]
        got = tt.polygamma(n, tt.tensor(sub, dtype=tt.float64, device=device)).cpu().numpy()
        want = torch.polygamma(n, torch.tensor(sub, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(got[:-1], want[:-1])
        assert_close(got[-1:], want[-1:], rtol=2e-15, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_documented_differences_from_pytorch(device):
    inf = math.inf

    def pg(n, values):
        return tt.polygamma(n, tt.tensor(values, dtype=tt.float64, device=device)).cpu().numpy()
    # trigamma at a negative integer is a pole (PyTorch's reflection returns about 6.6e32 at -1)
    assert pg(1, [-1.0, -3.0]).tolist() == [inf, inf]
    # polygamma(n >= 1, +inf) = 0 (PyTorch: NaN for n >= 2); at -inf there is no limit: NaN
    assert pg(2, [inf]).tolist() == [0.0] and np.isnan(pg(2, [-inf])).all() and pg(1, [inf]).tolist() == [0.0]
    # far below zero the zeta's direct terms would take -x steps: NaN there instead
    assert np.isnan(pg(1, [-3e6 + 0.5])).all() and np.isfinite(pg(1, [-1000.5])).all()


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_and_second_derivatives_vs_torch(device):
    xs = np.array([0.3, 1.7, 4.2, -2.5, 12.0])
    for name, fn, tfn in (("lgamma", tt.lgamma, torch.lgamma), ("digamma", tt.digamma, torch.digamma),
                          ("polygamma2", lambda t: tt.polygamma(2, t), lambda t: torch.polygamma(2, t))):
        x = tt.tensor(xs, device=device, requires_grad=True)
        tx = torch.tensor(xs, requires_grad=True)
        (g,) = tt.autograd.grad(fn(x).sum(), [x], create_graph=True)
        (tg,) = torch.autograd.grad(tfn(tx).sum(), [tx], create_graph=True)
        assert_close(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-8, atol=1e-10, msg=f"{name}'")
        (gg,) = tt.autograd.grad(g.sum(), [x])
        (tgg,) = torch.autograd.grad(tg.sum(), [tx])
        assert_close(gg.cpu().numpy(), tgg.numpy(), rtol=1e-8, atol=1e-10, msg=f"{name}''")
    x = tt.tensor(xs, device=device, requires_grad=True)
    assert tt.autograd.gradcheck(tt.lgamma, (x,)) and tt.autograd.gradgradcheck(tt.digamma, (x,))


@pytest.mark.parametrize("device", DEVICES)
def test_polygamma_arguments_methods_and_dtypes(device):
    x = tt.tensor([0.5, 2.0, 3.5], device=device)
    np.testing.assert_array_equal(tt.polygamma(0, x).cpu().numpy(), tt.digamma(x).cpu().numpy())
    with pytest.raises(RuntimeError, match="does not support negative n"):
        tt.polygamma(-1, x)
    with pytest.raises(TypeError, match="must be int"):
        tt.polygamma(1.5, x)
    np.testing.assert_array_equal(x.polygamma(3).cpu().numpy(), tt.polygamma(3, x).cpu().numpy())
    assert x.lgamma().dtype is tt.float32
    ints = tt.tensor([1, 2, 5], device=device)
    assert_close(tt.lgamma(ints).cpu().numpy(), np.log([1.0, 1.0, 24.0]), rtol=1e-6, atol=1e-7)
    assert tt.digamma(ints).dtype is tt.float32 and tt.lgamma(tt.tensor([True], device=device)).dtype is tt.float32
    y = x.clone()
    y.lgamma_()
    np.testing.assert_array_equal(y.cpu().numpy(), tt.lgamma(x).cpu().numpy())
    y = x.clone()
    y.polygamma_(2)
    np.testing.assert_array_equal(y.cpu().numpy(), tt.polygamma(2, x).cpu().numpy())
    out = tt.empty(3, device=device)
    tt.digamma(x, out=out)
    np.testing.assert_array_equal(out.cpu().numpy(), tt.digamma(x).cpu().numpy())
    h = tt.tensor([0.7, 5.0], dtype=tt.float16, device=device)
    assert tt.lgamma(h).dtype is tt.float16
    assert_close(tt.lgamma(h).float().cpu().numpy(),
                 torch.lgamma(torch.tensor([0.7, 5.0], dtype=torch.float16)).float().numpy(), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_mvlgamma_and_special_names(device):
    xs = np.array([[2.5, 3.0], [1.6, 7.25]])
    x = tt.tensor(xs, device=device, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    for p in (1, 3):
        got = tt.mvlgamma(x, p)
        want = torch.mvlgamma(tx, p)
        assert_close(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
        (g,) = tt.autograd.grad(got.sum(), [x])
        (tg,) = torch.autograd.grad(want.sum(), [tx])
        assert_close(g.cpu().numpy(), tg.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match=r"All elements must be greater than \(p-1\)/2"):
        tt.mvlgamma(x, 5)
    assert_close(tt.special.multigammaln(x, 2).detach().cpu().numpy(),
                 torch.special.multigammaln(tx, 2).detach().numpy(), rtol=1e-12, atol=1e-12)
    for name in ("gammaln", "digamma", "psi"):
        assert_close(getattr(tt.special, name)(x).detach().cpu().numpy(),
                     getattr(torch.special, name)(tx).detach().numpy(), rtol=1e-12, atol=1e-12, msg=name)
    assert_close(tt.special.polygamma(2, x).detach().cpu().numpy(),
                 torch.special.polygamma(2, tx).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_close(x.mvlgamma(2).detach().cpu().numpy(), tx.mvlgamma(2).detach().numpy(), rtol=1e-12, atol=1e-12)
