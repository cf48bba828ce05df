"""The Airy function Ai (ops/airy.py): accuracy against mpmath on both devices within the function's conditioning,
special values, and PyTorch's port, which is far less accurate for x < -2.09, compared loosely."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

mpmath = pytest.importorskip("mpmath")

RNG = np.random.default_rng(0)
XS = np.concatenate([RNG.uniform(-30, 10, 80), -10 ** RNG.uniform(0, 3, 20), np.linspace(-2.2, -2.0, 5),
                     np.linspace(2.0, 2.2, 5), [0.0, 8.32, 8.33, 50.0, 100.0, 103.0]])
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def exact():
    with mpmath.workdps(40):
        return np.array([float(mpmath.airyai(v)) for v in XS])


def _scale_and_condition(x, want):
    # the envelope |x|^-1/4 / sqrt(pi) where Ai oscillates, |Ai| elsewhere; and the condition number 1.5 zeta,
    # zeta = 2/3 |x|^3/2 (the phase or exponent zeta carries its own rounding)
    envelope = np.maximum(np.abs(want), np.where(x < 0, np.maximum(np.abs(x), 1e-3) ** -0.25 / np.sqrt(np.pi), 0.0))
    return envelope, np.maximum(1.0, np.abs(x) ** 1.5)


@pytest.mark.parametrize("device", devices())
def test_float64_and_float32_against_mpmath(device, exact):
    got = tt.special.airy_ai(tt.tensor(XS, device=device)).cpu().numpy()
    scale, cond = _scale_and_condition(XS, exact)
    mid = np.abs(XS) < 2.09
    err = (np.abs(got - exact) / scale)[~mid]
    assert np.all(err <= 4 * EPS * cond[~mid]), (XS[~mid][np.argmax(err / cond[~mid])], (err / cond[~mid]).max())
    # the Maclaurin series: its two halves c1 f and c2 g (each below ~1.5) cancel toward x = 2.09 (Ai(2.08) = 0.032):
    # a few ulp of the halves, up to ~60 ulp of the value there, as in Cephes
    assert np.max(np.abs(got - exact)[mid]) <= 4 * EPS
    x32 = XS.astype(np.float32)
    with mpmath.workdps(40):
        want32 = np.array([float(mpmath.airyai(float(v))) for v in x32])
    got32 = tt.special.airy_ai(tt.tensor(x32, device=device)).cpu().numpy().astype(np.float64)
    scale32, _ = _scale_and_condition(x32.astype(np.float64), want32)
    held = np.abs(want32) > 1e-30
    assert np.max(np.abs(got32 - want32)[held] / scale32[held]) <= 1.2e-7


@pytest.mark.parametrize("device", devices())
def test_special_values(device):
    x = tt.tensor([math.inf, -math.inf, math.nan, 0.0, 104.0, 1e300], dtype=tt.float64, device=device)
    got = tt.special.airy_ai(x).cpu().numpy()
    # 0 at both infinities (PyTorch gives NaN there), Ai(0) = 3^(-2/3) / Gamma(2/3)
    np.testing.assert_array_equal(got[[0, 1, 2, 4, 5]], [0.0, 0.0, math.nan, 0.0, 0.0])
    assert got[3] == pytest.approx(0.3550280538878172, rel=1e-16)


torch = pytest.importorskip("torch")


def test_torch_is_the_less_accurate_one(exact):
    ours = tt.special.airy_ai(tt.tensor(XS)).numpy()
    theirs = torch.special.airy_ai(torch.tensor(XS)).numpy()
    scale, _ = _scale_and_condition(XS, exact)
    assert np.max(np.abs(theirs - exact) / scale) > 1e-7        # PyTorch drops the monic denominators' leading 1
    np.testing.assert_allclose(ours / scale, theirs / scale, rtol=0, atol=1e-4)
    x = tt.tensor([0.5], requires_grad=True)
    r = tt.special.airy_ai(x)
    assert r.dtype is tt.float32 and not r.requires_grad                 # no derivative, as PyTorch
    assert tt.special.airy_ai(tt.tensor([1, 2])).dtype is tt.float32
