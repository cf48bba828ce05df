"""The Hurwitz zeta function (ops/zeta.py): accuracy against mpmath on both devices, special values, scalar operands,
the derivative in q against PyTorch's and the missing one in x."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import zeta as zeta_module
from tritorch.testing import devices

pytest.importorskip("mpmath")

RNG = np.random.default_rng(0)
X = np.concatenate([RNG.uniform(1.001, 10, 60), 10 ** RNG.uniform(0, 2.5, 40), [1.0000001, 1.5, 2.0, 3.0, 50.0]])
Q = np.concatenate([10 ** RNG.uniform(-3, 3, 100), [1.0, 1.0, 1.0, 1.0, 0.5]])
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def exact():
    return zeta_module._ref(X, Q), zeta_module._ref(X.astype(np.float32), Q.astype(np.float32))


@pytest.mark.parametrize("device", devices())
def test_float64_and_float32_against_mpmath(device, exact):
    want, want32 = exact
    got = tt.special.zeta(tt.tensor(X, device=device), tt.tensor(Q, device=device)).cpu().numpy()
    held = (want > 1e-300) & (want < 1e300)
    # q^-x is exp(-x log q): its condition number in x is |x log q|, which bounds every float64 algorithm
    cond = np.maximum(1.0, np.abs(X * np.log(Q)))
    rel = np.abs(got[held] - want[held]) / want[held]
    assert (rel / cond[held]).max() <= 4 * EPS, (rel / cond[held]).max()
    x32, q32 = X.astype(np.float32), Q.astype(np.float32)
    got32 = tt.special.zeta(tt.tensor(x32, device=device), tt.tensor(q32, device=device)).cpu().numpy()
    held = (want32 > 1e-37) & (want32 < 3e38)
    ulps = np.abs(got32[held] - want32[held]) / np.spacing(want32[held].astype(np.float32))
    assert ulps.max() <= 1.0, ulps.max()


def test_reference_is_stable_where_mpmaths_default_precision_is_not():
    # mpmath's zeta at 40 digits is off by 1e-10 here; the reference works with more
    mpmath = pytest.importorskip("mpmath")
    x, q = 39.18250709782848, 465.82987066085633
    with mpmath.workdps(200):
        want = float(mpmath.zeta(x, q))
    assert zeta_module._ref(np.array([x]), np.array([q]))[0] == pytest.approx(want, rel=1e-15)


INF, NAN = math.inf, math.nan
SPECIAL_X = [2.0, 1.0, 0.5, INF, INF, INF, 2.0, 2.0, 2.0, 3.0, 3.0, 2.0, -1.0, NAN, 2.0, 1e10, 1e20, 2.5]
SPECIAL_Q = [1.0, 1.0, 1.0, 0.5, 1.0, 2.0, 0.0, -1.0, -1.5, -1.5, -0.0, INF, 1.0, 1.0, NAN, 1.0, 0.5, -1.5]
SPECIAL_WANT = [math.pi ** 2 / 6, INF, NAN, INF, 1.0, 0.0, INF, INF, 9.3792466449891238, 0.1181020258208637, INF,
                0.0, NAN, NAN, NAN, 1.0, INF, NAN]


@pytest.mark.parametrize("device", devices())
def test_special_values(device):
    x, q = tt.tensor(SPECIAL_X, dtype=tt.float64, device=device), tt.tensor(SPECIAL_Q, dtype=tt.float64, device=device)
    got = tt.special.zeta(x, q).cpu().numpy()
    # (zeta(3, -1.5) sums terms of size 8 to 0.118: ~70x cancellation, hence 1e-14)
    np.testing.assert_allclose(got, SPECIAL_WANT, rtol=1e-14, atol=0)


@pytest.mark.parametrize("device", devices())
def test_scalars_promotion_out_and_half(device):
    q = tt.tensor([1, 2], device=device)
    r = tt.special.zeta(2, q)
    assert r.dtype is tt.float32 and r.device.type == device
    np.testing.assert_allclose(r.cpu().numpy(), [math.pi ** 2 / 6, math.pi ** 2 / 6 - 1], rtol=1e-7)
    r = tt.special.zeta(tt.tensor([2.0, 4.0], dtype=tt.float64, device=device), 1)
    np.testing.assert_allclose(r.cpu().numpy(), [math.pi ** 2 / 6, math.pi ** 4 / 90], rtol=1e-15)
    h = tt.special.zeta(tt.tensor([2.0, 3.0], dtype=tt.float16, device=device), 2.0)
    assert h.dtype is tt.float16
    np.testing.assert_allclose(h.float().cpu().numpy(), [0.6449, 0.2021], rtol=1e-3)
    out = tt.empty(2, dtype=tt.float64, device=device)
    assert tt.special.zeta(tt.tensor([2.0, 2.0], dtype=tt.float64, device=device), 1.0, out=out) is out
    with pytest.raises(TypeError):
        tt.special.zeta(2.0, 3.0)


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", devices())
def test_values_and_q_derivative_vs_torch(device):
    xs = np.concatenate([RNG.uniform(1.1, 12, 30), [2.0, 3.0, 4.0]])
    qs = np.concatenate([RNG.uniform(0.05, 30, 30), [-1.5, -2.5, -0.25]])
    x = tt.tensor(xs, device=device)
    q = tt.tensor(qs, device=device, requires_grad=True)
    tq = torch.tensor(qs, requires_grad=True)
    y, ty = tt.special.zeta(x, q), torch.special.zeta(torch.tensor(xs), tq)
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-13)
    (g,) = tt.autograd.grad(y.sum(), [q], create_graph=True)
    (tg,) = torch.autograd.grad(ty.sum(), [tq], create_graph=True)
    np.testing.assert_allclose(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-12)
    (gg,) = tt.autograd.grad(g.sum(), [q])
    (tgg,) = torch.autograd.grad(tg.sum(), [tq])
    np.testing.assert_allclose(gg.cpu().numpy(), tgg.numpy(), rtol=1e-12)


def test_no_derivative_in_x_as_torch():
    x = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(NotImplementedError) as theirs:
        torch.special.zeta(x, torch.tensor([1.5], dtype=torch.float64)).sum().backward()
    y = tt.special.zeta(tt.tensor([2.0], dtype=tt.float64, requires_grad=True), tt.tensor([1.5], dtype=tt.float64))
    with pytest.raises(NotImplementedError, match=str(theirs.value)):
        y.sum().backward()
