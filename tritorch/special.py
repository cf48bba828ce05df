"""tritorch.special: the torch.special functions that are other ops under another name, or short compositions
of them (both devices, differentiable through their ops).

expit, logit, erf, erfinv, exp2, expm1, log1p, sinc, round, softmax, log_softmax, logsumexp, xlogy, xlog1py,
entr, ndtr, ndtri, the gamma family's ops (ops/gamma.py) as gammaln, digamma, psi, polygamma, multigammaln, and
the erfc family's (ops/erfc.py) as erfc, erfcx, with log_ndtr on them, and the incomplete gamma functions
(ops/igamma.py) as gammainc, gammaincc, and the Bessel family's (ops/bessel.py) as i0, i0e, i1, i1e (and
modified_bessel_i0, modified_bessel_i1). zeta (ops/zeta.py), bessel_j0/j1/y0/y1 (ops/bessel_jy.py),
modified_bessel_k0/k1 and their scaled forms (ops/bessel_k.py), spherical_bessel_j0 (ops/bessel_jy.py), airy_ai
(ops/airy.py) and the orthogonal polynomials (ops/polynomials.py) are registered ops of their own, imported on first
call.
"""
from __future__ import annotations

import math

from .tensor import Tensor
from .ops.registry import write_out as _write_out

__all__ = ["expit", "logit", "erf", "erfinv", "exp2", "expm1", "log1p", "sinc", "round", "softmax", "log_softmax",
           "logsumexp", "xlogy", "xlog1py", "entr", "ndtr", "ndtri", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "erfc", "erfcx", "log_ndtr", "gammainc", "gammaincc", "i0", "i0e", "i1", "i1e",
           "zeta", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0", "airy_ai",
           "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w",
           "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


def _tt():
    import tritorch
    return tritorch


def expit(input: Tensor, *, out=None) -> Tensor:
    return _tt().sigmoid(input, out=out)


def logit(input: Tensor, eps=None, *, out=None) -> Tensor:
    return _tt().logit(input, eps, out=out)


def erf(input: Tensor, *, out=None) -> Tensor:
    return _tt().erf(input, out=out)


def erfinv(input: Tensor, *, out=None) -> Tensor:
    return _tt().erfinv(input, out=out)


def exp2(input: Tensor, *, out=None) -> Tensor:
    return _tt().exp2(input, out=out)


def expm1(input: Tensor, *, out=None) -> Tensor:
    return _tt().expm1(input, out=out)


def log1p(input: Tensor, *, out=None) -> Tensor:
    return _tt().log1p(input, out=out)


def sinc(input: Tensor, *, out=None) -> Tensor:
    r = _tt().sinc(input)
    return r if out is None else _write_out(out, r)


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001 (torch's name)
    return _tt().round(input, decimals=decimals, out=out)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _tt().softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _tt().log_softmax(input, dim, dtype=dtype)


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out=None) -> Tensor:
    return _tt().logsumexp(input, dim, keepdim, out=out)


def xlogy(input, other, *, out=None) -> Tensor:
    return _tt().xlogy(input, other, out=out)


def xlog1py(input, other, *, out=None) -> Tensor:
    """input * log1p(other), 0 where input is 0 (and other is not NaN)."""
    tt = _tt()
    x = input if isinstance(input, Tensor) else tt.tensor(input)
    y = other if isinstance(other, Tensor) else tt.tensor(other, device=x.device)
    r = tt.where((x == 0) & ~y.isnan(), 0.0, x * tt.log1p(y))
    return r if out is None else _write_out(out, r)


def entr(input: Tensor, *, out=None) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf below 0. (Its gradient at exactly 0 is nan; PyTorch's is +inf.)"""
    tt = _tt()
    r = tt.where(input > 0, -tt.xlogy(input, input), tt.where(input == 0, 0.0, -math.inf))
    r = tt.where(input.isnan(), input, r)
    return r if out is None else _write_out(out, r)


def _exp_half_square(x: Tensor) -> Tensor:
    """exp(-x^2 / 2), float64's x^2 split (x rounded to float32 squares exactly) so that its rounding does not
    spread over the tail (as ops/erfc.py's kernels do)."""
    if x.dtype is not _tt().float64:
        return (-0.5 * x * x).exp()
    z = x.float().double()
    return (-0.5 * z * z).exp() * (-0.5 * (x - z) * (x + z)).exp()


def _upper_tail(x: Tensor) -> Tensor:
    """P(Z > x) for x >= 0: exp(-x^2/2) erfcx(x / sqrt 2) / 2 (no erfc of a rounded x / sqrt 2; 0 from 40 on,
    where it underflows, so that +inf gives 0 and not inf - inf)."""
    x = x.clamp(max=40.0)
    return 0.5 * _exp_half_square(x) * erfcx(x * (1 / math.sqrt(2)))


def ndtr(input: Tensor, *, out=None) -> Tensor:
    """The standard normal CDF, accurate in both tails (PyTorch's is 1 + erf, which loses the lower one)."""
    tt = _tt()
    r = tt.where(input < 0, _upper_tail((-input).clamp(min=0.0)), 1.0 - _upper_tail(input.clamp(min=0.0)))
    return r if out is None else _write_out(out, r)


def log_ndtr(input: Tensor, *, out=None) -> Tensor:
    """log of the standard normal CDF: log(erfcx(-x / sqrt 2) / 2) - x^2 / 2 below 0 (no underflow),
    log1p(-P(Z > x)) above. Each branch sees only its own half of the line, so neither produces an inf or NaN
    that the other's gradient would pick up."""
    tt = _tt()
    neg = input.clamp(max=0.0)
    pos = input.clamp(min=0.0)
    lower = (0.5 * erfcx(neg * (-1 / math.sqrt(2)))).log() - 0.5 * neg * neg
    upper = (-_upper_tail(pos)).log1p()
    r = tt.where(input < 0, lower, upper)
    return r if out is None else _write_out(out, r)


def erfc(input: Tensor, *, out=None) -> Tensor:
    return _tt().erfc(input, out=out)


def i0(input: Tensor, *, out=None) -> Tensor:
    return _tt().i0(input, out=out)


def i0e(input: Tensor, *, out=None) -> Tensor:
    from .ops.bessel import i0e as _i0e
    return _i0e(input, out=out)


def i1(input: Tensor, *, out=None) -> Tensor:
    from .ops.bessel import i1 as _i1
    return _i1(input, out=out)


def i1e(input: Tensor, *, out=None) -> Tensor:
    from .ops.bessel import i1e as _i1e
    return _i1e(input, out=out)


def erfcx(input: Tensor, *, out=None) -> Tensor:
    from .ops.erfc import erfcx as _erfcx
    return _erfcx(input, out=out)


def gammainc(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The regularised lower incomplete gamma function P(input, other) (torch.igamma)."""
    return _tt().igamma(input, other, out=out)


def gammaincc(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The regularised upper incomplete gamma function Q(input, other) = 1 - P (torch.igammac)."""
    return _tt().igammac(input, other, out=out)


def ndtri(input: Tensor, *, out=None) -> Tensor:
    """The standard normal quantile, sqrt(2) erfinv(2p - 1)."""
    r = math.sqrt(2) * _tt().erfinv(2 * input - 1)
    return r if out is None else _write_out(out, r)


def gammaln(input: Tensor, *, out=None) -> Tensor:
    return _tt().lgamma(input, out=out)


def digamma(input: Tensor, *, out=None) -> Tensor:
    return _tt().digamma(input, out=out)


psi = digamma


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    return _tt().polygamma(n, input, out=out)


def multigammaln(input: Tensor, p: int, *, out=None) -> Tensor:
    r = _tt().mvlgamma(input, p)
    return r if out is None else _write_out(out, r)


def zeta(input, other, *, out=None) -> Tensor:
    """The Hurwitz zeta function sum_k (other + k)^-input (ops/zeta.py); either argument may be a number."""
    from .ops.zeta import zeta as _zeta
    return _zeta(input, other, out=out)


def _unary(module: str, name: str, doc: str):
    """special.<name>(input, *, out=None): the registered op of ops/<module>.py (imported on first call)."""

    def fn(input: Tensor, *, out=None) -> Tensor:
        import importlib
        return getattr(importlib.import_module("tritorch.ops." + module), name)(input, out=out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


bessel_j0 = _unary("bessel_jy", "bessel_j0", "The Bessel function of the first kind of order 0, elementwise.")
bessel_j1 = _unary("bessel_jy", "bessel_j1", "The Bessel function of the first kind of order 1, elementwise.")
bessel_y0 = _unary("bessel_jy", "bessel_y0", "The Bessel function of the second kind of order 0, elementwise.")
bessel_y1 = _unary("bessel_jy", "bessel_y1", "The Bessel function of the second kind of order 1, elementwise.")
spherical_bessel_j0 = _unary("bessel_jy", "spherical_bessel_j0", "sin(input) / input (1 at 0), elementwise.")
airy_ai = _unary("airy", "airy_ai", "The Airy function Ai, elementwise.")
modified_bessel_k0 = _unary("bessel_k", "modified_bessel_k0",
                            "The modified Bessel function of the second kind of order 0, elementwise.")
modified_bessel_k1 = _unary("bessel_k", "modified_bessel_k1",
                            "The modified Bessel function of the second kind of order 1, elementwise.")
scaled_modified_bessel_k0 = _unary("bessel_k", "scaled_modified_bessel_k0", "exp(input) K0(input), elementwise.")
scaled_modified_bessel_k1 = _unary("bessel_k", "scaled_modified_bessel_k1", "exp(input) K1(input), elementwise.")
# I0 and I1 under their torch.special.modified_bessel_* names: ops/bessel.py's ops themselves
modified_bessel_i0 = _unary("bessel", "i0", "The modified Bessel function of the first kind of order 0, elementwise.")
modified_bessel_i1 = _unary("bessel", "i1", "The modified Bessel function of the first kind of order 1, elementwise.")
modified_bessel_i0.__name__ = modified_bessel_i0.__qualname__ = "modified_bessel_i0"
modified_bessel_i1.__name__ = modified_bessel_i1.__qualname__ = "modified_bessel_i1"


def _polynomial(name: str):
    """special.<name>(input, n, *, out=None): ops/polynomials.py's op (imported on first call)."""

    def fn(input, n, *, out=None) -> Tensor:
        from .ops import polynomials
        return getattr(polynomials, name)(input, n, out=out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The polynomial {name} of degree n (a tensor or a number) at input, elementwise."
    return fn


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w")
hermite_polynomial_h = _polynomial("hermite_polynomial_h")
hermite_polynomial_he = _polynomial("hermite_polynomial_he")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l")
legendre_polynomial_p = _polynomial("legendre_polynomial_p")
