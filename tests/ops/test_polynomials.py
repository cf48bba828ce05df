"""The orthogonal polynomials (ops/polynomials.py): values against mpmath on both devices (the reference itself is
mpmath), PyTorch's conventions for n (negative, fractional, NaN, a number, an integer tensor, Hermite's limit),
dtypes, and no gradient as in PyTorch."""
import math
import zlib

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import polynomials
from tritorch.testing import devices

pytest.importorskip("mpmath")

NAMES = polynomials.__all__
EPS = np.finfo(np.float64).eps


def _points(name):
    """Points of its own for each function (seeded by its name: the same whatever the tests' order, or worker)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    shifted = name.startswith("shifted")
    lo, hi = (0.0, 1.0) if shifted else (-1.0, 1.0)
    inside = rng.uniform(lo, hi, 24)
    outside = rng.uniform(hi, hi + 1.5, 6)
    x = np.concatenate([inside, outside, [lo, hi, lo, hi]])
    n = np.concatenate([rng.integers(0, 30, 30), [0, 1, 17, 40]]).astype(np.float64)
    return x, n


def _reference(name, x, n):
    """mpmath's value at the argument the function evaluates: a shifted polynomial of x is the plain one of 2x - 1,
    which rounds in float64 (every dtype is evaluated in float64) below x = 1/4, and near x = 0 the polynomial's
    slope (~n^2 times its size) turns that rounding into errors of ~n^2 ulp that no algorithm working from 2x - 1
    avoids, PyTorch's included; the recurrence's own error, which the bounds below are for, is measured from the
    rounded argument."""
    if name.startswith("shifted_"):
        wide = np.asarray(x, np.float64)
        return polynomials._ref(name[len("shifted_"):])(wide + wide - 1.0, n)
    return polynomials._ref(name)(x, n)


def _term_scale(name, x, n):
    """The sum of the absolute values of the polynomial's terms (its explicit sum, with no sign changes) for the
    Hermite and Laguerre families, whose values cancel between huge terms; 1 for the Chebyshev and Legendre ones,
    which are bounded on [-1, 1] and grow without cancellation outside."""
    out = np.ones(x.shape)
    for i, (v, k) in enumerate(zip(np.abs(x), n.astype(int))):
        if name == "hermite_polynomial_h":
            out[i] = sum(math.factorial(k) * (2 * v) ** (k - 2 * m) / (math.factorial(m) * math.factorial(k - 2 * m))
                         for m in range(k // 2 + 1))
        elif name == "hermite_polynomial_he":
            out[i] = sum(math.factorial(k) * v ** (k - 2 * m) / (math.factorial(m) * math.factorial(k - 2 * m) * 2 ** m)
                         for m in range(k // 2 + 1))
        elif name == "laguerre_polynomial_l":
            out[i] = sum(math.comb(k, j) * v ** j / math.factorial(j) for j in range(k + 1))
    return out


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", NAMES)
def test_against_mpmath(name, device):
    x, n = _points(name)
    want = _reference(name, x, n)
    fn = getattr(tt.special, name)
    got = fn(tt.tensor(x, device=device), tt.tensor(n, dtype=tt.int64, device=device)).cpu().numpy()
    # the recurrences lose about n ulp of the polynomial's scale: max(1, |p|, the sum of its terms' sizes)
    err = np.abs(got - want) / np.maximum(np.maximum(1.0, np.abs(want)), _term_scale(name, x, n))
    assert np.all(err <= 4 * np.maximum(n, 1) * EPS), (x[np.argmax(err)], n[np.argmax(err)], err.max())
    got32 = fn(tt.tensor(x.astype(np.float32), device=device), tt.tensor(n, dtype=tt.int64, device=device))
    assert got32.dtype is tt.float32
    want32 = _reference(name, x.astype(np.float32), n.astype(np.float32))
    scale32 = np.maximum(np.maximum(1.0, np.abs(want32)), _term_scale(name, x.astype(np.float32), n))
    err32 = np.abs(got32.cpu().numpy() - want32) / scale32
    assert err32.max() <= 1.2e-7, err32.max()


@pytest.mark.parametrize("device", devices())
def test_conventions_for_n(device):
    x = tt.tensor([0.3, 0.3, 0.3, 0.3, 0.3], dtype=tt.float64, device=device)
    n = tt.tensor([-1.0, -0.5, 2.9, math.nan, 0.0], dtype=tt.float64, device=device)
    np.testing.assert_allclose(tt.special.chebyshev_polynomial_t(x, n).cpu().numpy(),
                               [0.0, 1.0, 2 * 0.09 - 1, 0.0, 1.0], rtol=1e-15)
    # a number for either argument; a Python float n is truncated
    r = tt.special.chebyshev_polynomial_t(tt.tensor([0.3, 0.5], device=device), 3.7)
    np.testing.assert_allclose(r.cpu().numpy(), [4 * 0.027 - 0.9, -1.0], rtol=1e-6)
    r = tt.special.chebyshev_polynomial_t(2.0, tt.tensor([2, 3], device=device))
    assert r.dtype is tt.float32 and r.cpu().tolist() == [7.0, 26.0]
    # Hermite: NaN past n = 512 (float64) and 128 (other dtypes), as PyTorch
    h64 = tt.special.hermite_polynomial_h(tt.tensor([0.5, 0.5], dtype=tt.float64, device=device),
                                          tt.tensor([100, 513], device=device)).cpu().numpy()
    assert np.isfinite(h64[0]) and np.isnan(h64[1])
    h32 = tt.special.hermite_polynomial_he(tt.tensor([0.5, 0.5], device=device), tt.tensor([120, 129], device=device))
    assert not np.isnan(h32.cpu().numpy()[0]) and np.isnan(h32.cpu().numpy()[1])


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", NAMES)
def test_values_dtypes_and_no_grad_as_torch(name):
    x, n = _points(name)
    ours = getattr(tt.special, name)(tt.tensor(x), tt.tensor(n.astype(np.int64)))
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n.astype(np.int64)))
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    x32 = tt.tensor(x.astype(np.float32), requires_grad=True)
    r = getattr(tt.special, name)(x32, 3)
    assert r.dtype is tt.float32 and not r.requires_grad
    assert getattr(tt.special, name)(tt.tensor([1, 0]), tt.tensor([2, 3])).dtype is tt.float32
