"""The Bessel family (ops/bessel.py: i0, i0e, i1, i1e) and kaiser_window: accuracy against mpmath over the whole
range on both devices, the trapezoid reference itself, special values, values and derivatives against PyTorch."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import bessel
from tritorch.testing import devices

mpmath = pytest.importorskip("mpmath")

NAMES = ["i0", "i0e", "i1", "i1e"]
RNG = np.random.default_rng(0)
# both switch points, a wide spread and the overflow region of float32 (I0 passes 3.4e38 near 91.9)
XS = np.concatenate([RNG.uniform(-25, 25, 300), RNG.uniform(-100, 100, 100), 10 ** RNG.uniform(-3, 4, 100),
                     np.linspace(9.9, 10.1, 21), np.linspace(19.9, 20.1, 21), [0.0, 1e-30, -1e-30, 700.0, -713.9]])


def _exact(name: str, x: np.ndarray) -> np.ndarray:
    nu = 1 if name.startswith("i1") else 0
    scaled = name.endswith("e")

    def one(v):
        r = mpmath.besseli(nu, mpmath.mpf(float(v)))
        return float(r * mpmath.exp(-abs(mpmath.mpf(float(v))))) if scaled else float(r)

    with mpmath.workdps(40):
        return np.array([one(v) for v in x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", NAMES)
def test_float64_and_float32_against_mpmath(name, device):
    fn = getattr(tt.special, name)
    want = _exact(name, XS)
    got = fn(tt.tensor(XS, device=device)).cpu().numpy()
    finite = np.abs(want) < 1e308
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-15, atol=0)
    x32 = XS.astype(np.float32)
    want32 = _exact(name, x32.astype(np.float64))
    got32 = fn(tt.tensor(x32, device=device)).cpu().numpy().astype(np.float64)
    held = np.abs(want32) < 3.3e38
    ulps = np.abs(got32[held] - want32[held]) / np.spacing(np.abs(want32[held]).astype(np.float32))
    assert ulps.max() <= 12, (name, x32[held][np.argmax(ulps)], ulps.max())
    over = np.abs(want32) > 3.41e38
    assert np.all(np.isinf(got32[over])) and np.all(np.sign(got32[over]) == np.sign(want32[over]))


def test_trapezoid_reference_against_mpmath():
    for name in NAMES:
        nu, scaled = (1 if name.startswith("i1") else 0), name.endswith("e")
        ref = bessel._ref(nu, scaled)(XS)
        want = _exact(name, XS)
        finite = np.abs(want) < 1e308
        np.testing.assert_allclose(ref[finite], want[finite], rtol=1e-13, atol=0, err_msg=name)


@pytest.mark.parametrize("device", devices())
def test_special_values(device):
    x = tt.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0], device=device)
    got = {name: getattr(tt.special, name)(x).cpu().numpy() for name in NAMES}
    np.testing.assert_array_equal(got["i0"], [math.inf, math.inf, math.nan, 1.0, 1.0])
    np.testing.assert_array_equal(got["i0e"], [0.0, 0.0, math.nan, 1.0, 1.0])
    np.testing.assert_array_equal(got["i1"], [math.inf, -math.inf, math.nan, 0.0, 0.0])
    np.testing.assert_array_equal(got["i1e"], [0.0, 0.0, math.nan, 0.0, 0.0])
    for dtype in (tt.float16, tt.bfloat16, tt.float32):
        h = tt.special.i0(tt.tensor([1.0, 12.0, 200.0], dtype=dtype, device=device))
        assert h.dtype is dtype and np.isinf(h.float().cpu().numpy()[2])


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", devices())
def test_values_and_derivatives_vs_torch(device):
    xs = np.concatenate([RNG.uniform(-30, 30, 64), [0.0, 1e-8, -3.0, 9.999, 10.0, 20.0, 20.001]])
    for name in NAMES:
        fn, tfn = getattr(tt.special, name), getattr(torch.special, name)
        x = tt.tensor(xs, device=device, requires_grad=True)
        tx = torch.tensor(xs, requires_grad=True)
        y, ty = fn(x), tfn(tx)
        np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-13, atol=1e-300,
                                   err_msg=name)
        (g,) = tt.autograd.grad(y.sum(), [x], create_graph=True)
        (tg,) = torch.autograd.grad(ty.sum(), [tx], create_graph=True)
        np.testing.assert_allclose(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-300,
                                   err_msg=f"{name}'")
        (gg,) = tt.autograd.grad(g.sum(), [x])
        (tgg,) = torch.autograd.grad(tg.sum(), [tx])
        apart = xs != 1e-8   # (both formulas cancel there: d/dx (i1(x) / x) at |x| << 1)
        np.testing.assert_allclose(gg.cpu().numpy()[apart], tgg.numpy()[apart], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}''")


def test_dtypes_methods_and_inplace():
    assert tt.i0(tt.tensor([1, 2])).dtype is tt.float32                 # integers promote, as torch.i0
    np.testing.assert_allclose(tt.i0(tt.tensor([1, 2])).numpy(), torch.i0(torch.tensor([1, 2])).numpy(), rtol=1e-6)
    x = tt.tensor([0.5, -2.0])
    assert tt.equal(x.i0(), tt.special.i0(x))
    y = x.clone()
    assert y.i0_() is y and tt.equal(y, tt.i0(x))
    with pytest.raises(RuntimeError):
        tt.tensor([1, 2]).i0_()                                          # a float result into an int tensor
    assert tt.special.i1e(tt.tensor([1.0], dtype=tt.float16)).dtype is tt.float16


@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_kaiser_window_matches_torch(dtype):
    tdtype = getattr(torch, dtype.name)
    for n, periodic, beta in [(0, True, 12.0), (1, True, 12.0), (2, False, 5.0), (7, True, 12.0), (16, False, 8.6),
                              (33, True, 0.0), (64, True, 30.0)]:
        ours = tt.kaiser_window(n, periodic, beta, dtype=dtype)
        theirs = torch.kaiser_window(n, periodic, beta, dtype=tdtype)
        assert ours.dtype is dtype and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6 if dtype is tt.float32 else 1e-12,
                                   atol=1e-7 if dtype is tt.float32 else 1e-15, err_msg=f"{n} {periodic} {beta}")
    w = tt.kaiser_window(8, device="cuda" if "cuda" in devices() else "cpu", requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="kaiser_window requires non-negative window_length"):
        tt.kaiser_window(-1)
