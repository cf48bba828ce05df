"""Bessel functions of the first and second kind (ops/bessel_jy.py): accuracy against mpmath over a wide range on both
devices (PyTorch's port is measured too, and is far less accurate), special values, derivatives, dtypes."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

mpmath = pytest.importorskip("mpmath")

RNG = np.random.default_rng(0)
# both sides of the switch at 5, a wide spread, large arguments (the phase x - pi/4 carried exactly)
XS = np.concatenate([RNG.uniform(-25, 25, 120), 10 ** RNG.uniform(-3, 4, 60), np.linspace(4.9, 5.1, 9),
                     [1e-6, 2.404825557695773, 8167.241526916645, 1e5]])
CASES = [("bessel_j0", "j", 0), ("bessel_j1", "j", 1), ("bessel_y0", "y", 0), ("bessel_y1", "y", 1)]
EPS = np.finfo(np.float64).eps


def _exact(kind, order, x):
    f = mpmath.besselj if kind == "j" else mpmath.bessely
    with mpmath.workdps(40):
        return np.array([float(f(order, v)) for v in x])


@pytest.fixture(scope="module")
def exact():
    out = {}
    for name, kind, order in CASES:
        x = np.abs(XS) if kind == "y" else XS
        out[name] = (x, _exact(kind, order, x), _exact(kind, order, x.astype(np.float32).astype(np.float64)))
    return out


def _envelope(x, want):
    # the scale the oscillation lives on: |f| itself, or sqrt(2 / (pi x)) past the first zeros
    return np.maximum(np.abs(want), np.minimum(1.0, np.sqrt(2 / (np.pi * np.abs(x)))))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name,kind,order", CASES)
def test_float64_and_float32_against_mpmath(name, kind, order, device, exact):
    x, want, want32 = exact[name]
    fn = getattr(tt.special, name)
    got = fn(tt.tensor(x, device=device)).cpu().numpy()
    err = np.abs(got - want) / _envelope(x, want)
    assert err.max() <= 16 * EPS, (x[np.argmax(err)], err.max())
    # where the value is not near a zero, relative accuracy too
    away = np.abs(want) > 0.1 * _envelope(x, want)
    assert (np.abs(got - want)[away] / np.abs(want[away])).max() <= 64 * EPS
    x32 = x.astype(np.float32)
    got32 = fn(tt.tensor(x32, device=device)).cpu().numpy().astype(np.float64)
    err32 = np.abs(got32 - want32) / _envelope(x32, want32)
    assert err32.max() <= 6e-8, (x32[np.argmax(err32)], err32.max())


@pytest.mark.parametrize("device", devices())
def test_special_values(device):
    x = tt.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0, -1.0], dtype=tt.float64, device=device)
    got = {name: getattr(tt.special, name)(x).cpu().numpy() for name, _, _ in CASES}
    # J and Y go to 0 at infinity (PyTorch's kernels give NaN there: cos(inf))
    np.testing.assert_array_equal(got["bessel_j0"][:5], [0.0, 0.0, math.nan, 1.0, 1.0])
    np.testing.assert_array_equal(got["bessel_j1"][:5], [0.0, 0.0, math.nan, 0.0, 0.0])
    assert np.signbit(got["bessel_j1"][4])                                # odd: J1(-0) = -0, as PyTorch
    np.testing.assert_array_equal(got["bessel_y0"], [0.0, math.nan, math.nan, -math.inf, -math.inf, math.nan])
    np.testing.assert_array_equal(got["bessel_y1"], [0.0, math.nan, math.nan, -math.inf, -math.inf, math.nan])


torch = pytest.importorskip("torch")


def test_torch_is_the_less_accurate_one(exact):
    # PyTorch's port drops the leading 1 of Cephes' monic denominators: ~1e-6 of the envelope at worst, so it is
    # compared loosely; mpmath is the tight oracle above
    for name, _, _ in CASES:
        x, want, _ = exact[name]
        ours = getattr(tt.special, name)(tt.tensor(x)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(x)).numpy()
        env = _envelope(x, want)
        assert np.max(np.abs(theirs - want) / env) > 1e-8
        np.testing.assert_allclose(ours / env, theirs / env, rtol=0, atol=5e-6, err_msg=name)


@pytest.mark.parametrize("device", devices())
def test_derivatives_compose(device):
    # J0' = -J1, J1' = J0 - J1/x, Y0' = -Y1, Y1' = Y0 - Y1/x, checked against mpmath's derivatives, twice
    xs = np.concatenate([RNG.uniform(0.3, 20, 12), [0.0]])
    for name, kind, order in CASES:
        pick = xs > 0 if kind == "y" else np.ones(xs.size, bool)
        x = tt.tensor(xs[pick], device=device, requires_grad=True)
        y = getattr(tt.special, name)(x)
        (g,) = tt.autograd.grad(y.sum(), [x], create_graph=True)
        (gg,) = tt.autograd.grad(g.sum(), [x])
        f = mpmath.besselj if kind == "j" else mpmath.bessely
        with mpmath.workdps(30):
            d1 = [float(mpmath.diff(lambda t: f(order, t), v)) for v in xs[pick]]
            d2 = [float(mpmath.diff(lambda t: f(order, t), v, 2)) for v in xs[pick]]
        np.testing.assert_allclose(g.detach().cpu().numpy(), d1, rtol=1e-12, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(gg.cpu().numpy(), d2, rtol=1e-10, atol=1e-12, err_msg=name)


def test_dtypes_out_and_errors():
    assert tt.special.bessel_j0(tt.tensor([1, 2])).dtype is tt.float32          # integers promote, as torch
    h = tt.special.bessel_y1(tt.tensor([1.0, 3.0], dtype=tt.float16))
    assert h.dtype is tt.float16
    np.testing.assert_allclose(h.float().numpy(), torch.special.bessel_y1(torch.tensor([1.0, 3.0])).numpy(),
                               rtol=1e-3)
    out = tt.empty(2, dtype=tt.float64)
    assert tt.special.bessel_j1(tt.tensor([1.0, 2.0], dtype=tt.float64), out=out) is out
    with pytest.raises(TypeError):
        tt.special.bessel_j0(1.0)


@pytest.mark.parametrize("device", devices())
def test_spherical_bessel_j0(device):
    x = np.concatenate([RNG.uniform(-20, 20, 60), 10 ** RNG.uniform(-8, 4, 30), np.linspace(0.45, 0.55, 5)])
    with mpmath.workdps(40):
        want = np.array([float(mpmath.sinc(v)) for v in x])
        d1 = np.array([float(mpmath.diff(mpmath.sinc, v)) for v in x[:20]])
        d2 = np.array([float(mpmath.diff(mpmath.sinc, v, 2)) for v in x[:20]])
    got = tt.special.spherical_bessel_j0(tt.tensor(x, device=device)).cpu().numpy()
    assert np.max(np.abs(got - want) / _envelope(x, want)) <= 2 * EPS
    np.testing.assert_allclose(got, torch.special.spherical_bessel_j0(torch.tensor(x)).numpy(), rtol=0, atol=1e-15)
    t = tt.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0], dtype=tt.float64, device=device)
    np.testing.assert_array_equal(tt.special.spherical_bessel_j0(t).cpu().numpy(), [0.0, 0.0, math.nan, 1.0, 1.0])
    xt = tt.tensor(x[:20], device=device, requires_grad=True)
    (g,) = tt.autograd.grad(tt.special.spherical_bessel_j0(xt).sum(), [xt], create_graph=True)
    (gg,) = tt.autograd.grad(g.sum(), [xt])
    np.testing.assert_allclose(g.detach().cpu().numpy(), d1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(gg.cpu().numpy(), d2, rtol=0, atol=1e-15)
