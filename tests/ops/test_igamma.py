"""The incomplete gamma functions (igamma / igammac, special.gammainc / gammaincc): float64 accuracy against mpmath
on both sides of the series / continued-fraction switch and in the Wilson-Hilferty range, float32 against PyTorch,
PyTorch's special values, gradients in x (and the missing one in a), errors, methods, Gamma.cdf; cpu and cuda."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
mpmath = pytest.importorskip("mpmath")
DEVICES = devices()

# (a, x) on both sides of x = a + 1, tiny and large x, a below 1 and up to 1e4 (the terms loop ~sqrt(a) times)
PAIRS = [(0.01, 0.5), (0.3, 1e-6), (0.5, 0.2), (0.5, 3.0), (1.0, 1.0), (2.5, 3.4), (2.5, 3.6), (3.0, 30.0),
         (7.0, 2.0), (12.0, 12.5), (40.0, 35.0), (40.0, 48.0), (250.0, 240.0), (250.0, 300.0), (1e4, 1.01e4),
         (1e4, 9.8e3)]


def _mp(lower: bool, pairs):
    with mpmath.workdps(40):
        return np.array([float(mpmath.gammainc(a, 0, x, regularized=True) if lower
                               else mpmath.gammainc(a, x, mpmath.inf, regularized=True)) for a, x in pairs])


def _on(fn, pairs, device, dtype=tt.float64):
    a = tt.tensor([p[0] for p in pairs], dtype=dtype, device=device)
    x = tt.tensor([p[1] for p in pairs], dtype=dtype, device=device)
    return fn(a, x).cpu().numpy()


@pytest.mark.parametrize("device", DEVICES)
def test_float64_against_mpmath(device):
    p, q = _on(tt.igamma, PAIRS, device), _on(tt.igammac, PAIRS, device)
    # the prefactor exp(a log x - x - lgamma(a)) costs ~a log(x) ulp (the module docstring): 1e-13 up to a = 250,
    # 1e-11 at a = 1e4
    small = np.array([a <= 250 for a, _ in PAIRS])
    for got, want in ((p, _mp(True, PAIRS)), (q, _mp(False, PAIRS))):
        assert_close(got[small], want[small], rtol=2e-13, atol=0)
        assert_close(got[~small], want[~small], rtol=2e-11, atol=0)
    assert_close(p + q, np.ones(len(PAIRS)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_large_a_takes_wilson_hilferty(device):
    # above a = 1e7: the normal approximation of (x / a)^(1/3), against the series itself in mpmath
    pairs = [(3e7, 3e7), (3e7, 3.0003e7), (3e7, 2.9996e7), (5e8, 5.00005e8)]
    want = []
    with mpmath.workdps(40):
        for a, x in pairs:
            a_, x_ = mpmath.mpf(a), mpmath.mpf(x)
            want.append(float(mpmath.exp(a_ * mpmath.log(x_) - x_ - mpmath.loggamma(a_ + 1))
                              * mpmath.hyp1f1(1, a_ + 1, x_, maxterms=10 ** 7)))
    assert_close(_on(tt.igamma, pairs, device), np.array(want), rtol=1e-8, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_and_special_values_as_pytorch(device):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.05, 30, 2000).astype(np.float32)
    x = (a * rng.uniform(0.2, 2.0, 2000)).astype(np.float32)
    for fn, tfn in ((tt.igamma, torch.special.gammainc), (tt.igammac, torch.special.gammaincc)):
        got = fn(tt.tensor(a, device=device), tt.tensor(x, device=device))
        assert got.dtype is tt.float32
        want = tfn(torch.from_numpy(a.astype(np.float64)), torch.from_numpy(x.astype(np.float64)))
        assert_close(got.cpu().numpy(), want.numpy().astype(np.float32), rtol=1e-6, atol=1e-30)
    inf, nan = math.inf, math.nan
    a = [0.0, 0.0, 1.0, 1.0, -1.0, 1.0, inf, inf, nan, 1.0, 2.0, 5.0, inf, 0.0]
    x = [0.0, 1.0, 0.0, -1.0, 1.0, inf, 1.0, inf, 1.0, nan, inf, 1e-300, 0.0, inf]
    for fn, tfn in ((tt.igamma, torch.igamma), (tt.igammac, torch.igammac)):
        got = fn(tt.tensor(a, dtype=tt.float64, device=device), tt.tensor(x, dtype=tt.float64, device=device))
        want = tfn(torch.tensor(a, dtype=torch.float64), torch.tensor(x, dtype=torch.float64))
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_gradient_in_x_as_pytorch_and_none_in_a(device):
    a_np, x_np = np.array([0.5, 2.0, 7.5, 30.0]), np.array([0.3, 2.5, 6.0, 41.0])
    for fn, tfn in ((tt.igamma, torch.igamma), (tt.igammac, torch.igammac)):
        a = tt.tensor(a_np, device=device)
        x = tt.tensor(x_np, device=device, requires_grad=True)
        (g,) = tt.autograd.grad(fn(a, x).sum(), [x], create_graph=True)
        (gg,) = tt.autograd.grad(g.sum(), [x])
        tx = torch.tensor(x_np, requires_grad=True)
        (tg,) = torch.autograd.grad(tfn(torch.tensor(a_np), tx).sum(), [tx], create_graph=True)
        (tgg,) = torch.autograd.grad(tg.sum(), [tx])
        assert_close(g.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-15)
        assert_close(gg.cpu().numpy(), tgg.numpy(), rtol=1e-12, atol=1e-15)
        a.requires_grad_(True)
        with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input' is not implemented"):
            fn(a, x).sum().backward()
    assert tt.autograd.gradcheck(lambda x: tt.igamma(tt.tensor(a_np, device=device), x),
                                 [tt.tensor(x_np, device=device, requires_grad=True)])


def test_errors_dtypes_methods_and_names():
    a, x = tt.tensor([2.0, 3.0]), tt.tensor([1.0, 4.0])
    with pytest.raises(TypeError, match="must be Tensor"):
        tt.igamma(a, 1.0)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        tt.igamma(tt.tensor([2]), tt.tensor([1]))
    assert tt.igamma(tt.tensor([2]), x).dtype is tt.float32                    # (integer operand promoted)
    assert tt.igamma(a.double(), x).dtype is tt.float64
    assert tt.igamma(a.half(), x.half()).dtype is tt.float16
    want = torch.special.gammainc(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 4.0])).numpy()
    for got in (tt.special.gammainc(a, x), a.igamma(x), 1 - tt.special.gammaincc(a, x), 1 - a.igammac(x)):
        assert_close(got.numpy(), want, rtol=1e-6, atol=1e-7)
    y = a.clone()
    y.igamma_(x)
    assert_close(y.numpy(), want, rtol=1e-6, atol=1e-7)
    out = tt.empty(2)
    tt.igammac(a, x, out=out)
    assert_close(out.numpy(), 1 - want, rtol=1e-6, atol=1e-7)
    grid = tt.igamma(tt.tensor([[2.0], [3.0]]), tt.tensor([1.0, 2.0]))   # broadcasting
    assert tuple(grid.shape) == (2, 2)


@pytest.mark.parametrize("device", DEVICES)
def test_gamma_and_chi2_cdf(device):
    conc, rate, value = [0.7, 2.0, 9.0], [1.5, 0.3, 2.0], [0.4, 5.0, 4.2]
    ours = tt.distributions.Gamma(tt.tensor(conc, device=device), tt.tensor(rate, device=device))
    theirs = torch.distributions.Gamma(torch.tensor(conc), torch.tensor(rate))
    assert_close(ours.cdf(tt.tensor(value, device=device)).cpu().numpy(), theirs.cdf(torch.tensor(value)).numpy(),
                 rtol=1e-6, atol=1e-7)
    chi = tt.distributions.Chi2(tt.tensor([3.0, 10.0], device=device)).cdf(tt.tensor([2.0, 12.0], device=device))
    assert_close(chi.cpu().numpy(), torch.distributions.Chi2(torch.tensor([3.0, 10.0])).cdf(
        torch.tensor([2.0, 12.0])).numpy(), rtol=1e-6, atol=1e-7)
