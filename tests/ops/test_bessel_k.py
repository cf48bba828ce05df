"""Modified Bessel functions of the second kind (ops/bessel_k.py) and the modified_bessel_i0/i1 names of
ops/bessel.py's ops: accuracy against mpmath on both devices, special values, values against PyTorch, derivatives."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

mpmath = pytest.importorskip("mpmath")

RNG = np.random.default_rng(0)
XS = np.concatenate([RNG.uniform(0, 25, 40), 10 ** RNG.uniform(-4, 3, 30), np.linspace(1.9, 2.1, 5), [700.0, 1e4]])
CASES = [("modified_bessel_k0", 0, False), ("modified_bessel_k1", 1, False), ("scaled_modified_bessel_k0", 0, True),
         ("scaled_modified_bessel_k1", 1, True)]
EPS = np.finfo(np.float64).eps


def _exact(order, scaled, x):
    with mpmath.workdps(40):
        return np.array([float(mpmath.besselk(order, v) * (mpmath.exp(v) if scaled else 1)) for v in x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name,order,scaled", CASES)
def test_float64_and_float32_against_mpmath(name, order, scaled, device):
    fn = getattr(tt.special, name)
    want = _exact(order, scaled, XS)
    got = fn(tt.tensor(XS, device=device)).cpu().numpy()
    held = (want > 1e-300) & (want < 1e300)
    rel = np.abs(got[held] - want[held]) / want[held]
    assert rel.max() <= 8 * EPS, (XS[held][np.argmax(rel)], rel.max())
    x32 = XS.astype(np.float32)
    want32 = _exact(order, scaled, x32.astype(np.float64))
    got32 = fn(tt.tensor(x32, device=device)).cpu().numpy().astype(np.float64)
    held = (want32 > 1.2e-38) & (want32 < 3e38)
    ulps = np.abs(got32[held] - want32[held]) / np.spacing(want32[held].astype(np.float32))
    assert ulps.max() <= 1.0, ulps.max()


@pytest.mark.parametrize("device", devices())
def test_special_values_and_i_aliases(device):
    x = tt.tensor([0.0, -0.0, -1.0, math.inf, math.nan], dtype=tt.float64, device=device)
    for name, _, _ in CASES:
        got = getattr(tt.special, name)(x).cpu().numpy()
        np.testing.assert_array_equal(got, [math.inf, math.inf, math.nan, 0.0, math.nan], err_msg=name)
    v = tt.tensor([0.5, -3.0, 20.0], dtype=tt.float64, device=device)
    assert tt.equal(tt.special.modified_bessel_i0(v), tt.special.i0(v))
    assert tt.equal(tt.special.modified_bessel_i1(v), tt.special.i1(v))
    assert tt.special.modified_bessel_i0.__name__ == "modified_bessel_i0"


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", devices())
def test_values_vs_torch_and_derivatives(device):
    xs = np.concatenate([RNG.uniform(0.05, 30, 12), [1.99, 2.0, 2.01]])
    for name, order, scaled in CASES + [("modified_bessel_i0", 0, None), ("modified_bessel_i1", 1, None)]:
        x = tt.tensor(xs, device=device, requires_grad=True)
        y = getattr(tt.special, name)(x)
        theirs = getattr(torch.special, name)(torch.tensor(xs)).numpy()
        np.testing.assert_allclose(y.detach().cpu().numpy(), theirs, rtol=4e-15, err_msg=name)
        if scaled is None:
            continue
        (g,) = tt.autograd.grad(y.sum(), [x], create_graph=True)
        (gg,) = tt.autograd.grad(g.sum(), [x])

        # K_n' = -(K_(n-1) + K_(n+1)) / 2 and K_n'' = (K_(n-2) + 2 K_n + K_(n+2)) / 4 (K_-n = K_n); e^x K likewise
        with mpmath.workdps(30):
            d1, d2 = [], []
            for v in xs[:12]:
                k = [mpmath.besselk(abs(order + j), v) for j in (-2, -1, 0, 1, 2)]
                k1, k2 = -(k[1] + k[3]) / 2, (k[0] + 2 * k[2] + k[4]) / 4
                e = mpmath.exp(v) if scaled else 1
                d1.append(float(e * (k[2] + k1) if scaled else k1))
                d2.append(float(e * (k[2] + 2 * k1 + k2) if scaled else k2))
        g, gg = g[:12], gg[:12]
        np.testing.assert_allclose(g.detach().cpu().numpy(), d1, rtol=1e-13, err_msg=name)
        np.testing.assert_allclose(gg.cpu().numpy(), d2, rtol=1e-12, err_msg=name)


def test_dtypes():
    assert tt.special.modified_bessel_k0(tt.tensor([1, 2])).dtype is tt.float32
    h = tt.special.scaled_modified_bessel_k1(tt.tensor([0.5, 3.0], dtype=tt.bfloat16))
    assert h.dtype is tt.bfloat16
    np.testing.assert_allclose(h.float().numpy(), _exact(1, True, [0.5, 3.0]), rtol=1e-2)
