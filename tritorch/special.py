"""tritorch.special: the torch.special functions that are other ops under another name, or short compositions
of them (both devices, differentiable through their ops).

expit, logit, erf, erfinv, exp2, expm1, log1p, sinc, round, softmax, log_softmax, logsumexp, xlogy, xlog1py,
entr, ndtr, ndtri, and the gamma family's ops (ops/gamma.py) as gammaln, digamma, psi, polygamma, multigammaln.
The Bessel and erfc families (i0, i1, erfc, erfcx, log_ndtr, zeta, ...) are not provided: each needs an op of its
own with its own accuracy work.
"""
from __future__ import annotations

import math

from .tensor import Tensor

__all__ = ["expit", "logit", "erf", "erfinv", "exp2", "expm1", "log1p", "sinc", "round", "softmax", "log_softmax",
           "logsumexp", "xlogy", "xlog1py", "entr", "ndtr", "ndtri", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln"]


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
    return r if out is None else out.copy_(r)


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
    return r if out is None else out.copy_(r)


def entr(input: Tensor, *, out=None) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf below 0. (Its gradient at exactly 0 is nan; PyTorch's is +inf.)"""
    tt = _tt()
    r = tt.where(input > 0, -tt.xlogy(input, input), tt.where(input == 0, 0.0, -math.inf))
    r = tt.where(input.isnan(), input, r)
    return r if out is None else out.copy_(r)


def ndtr(input: Tensor, *, out=None) -> Tensor:
    """The standard normal CDF, (1 + erf(x / sqrt(2))) / 2."""
    r = 0.5 * (1 + _tt().erf(input * (1 / math.sqrt(2))))
    return r if out is None else out.copy_(r)


def ndtri(input: Tensor, *, out=None) -> Tensor:
    """The standard normal quantile, sqrt(2) erfinv(2p - 1)."""
    r = math.sqrt(2) * _tt().erfinv(2 * input - 1)
    return r if out is None else out.copy_(r)


def gammaln(input: Tensor, *, out=None) -> Tensor:
    return _tt().lgamma(input, out=out)


def digamma(input: Tensor, *, out=None) -> Tensor:
    return _tt().digamma(input, out=out)


psi = digamma


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    return _tt().polygamma(n, input, out=out)


def multigammaln(input: Tensor, p: int, *, out=None) -> Tensor:
    r = _tt().mvlgamma(input, p)
    return r if out is None else out.copy_(r)
