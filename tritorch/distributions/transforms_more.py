"""The transforms biject_to/transform_to need beyond the elementwise ones (torch.distributions.transforms): onto
the simplex (stick breaking), onto Cholesky factors, positive-definite matrices and correlation Cholesky
factors, transforms applied piecewise along a dim (Cat, Stack), and a distribution's CDF as a transform.
Re-exported by transforms.py."""
from __future__ import annotations

import math

from . import constraints
from .distribution import _tt, tril_matrix_to_vec, vec_to_tril_matrix
from .transforms import Transform, _sum_rightmost

__all__ = ["StickBreakingTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform", "CorrCholeskyTransform",
           "CatTransform", "StackTransform", "CumulativeDistributionTransform"]


def _clipped_sigmoid(x):
    fi = _tt().finfo(x.dtype)
    return x.sigmoid().clamp(fi.tiny, 1.0 - fi.eps)


def _stick_offset(k: int, like):
    """log of (k, k-1, ..., 1): the shift that maps x = 0 to the simplex's centre."""
    tt = _tt()
    return tt.arange(k, 0, -1, dtype=like.dtype, device=like.device).log()


class _Same(Transform):
    """A parameter-free transform with a cache option: equal to any other of its class."""

    def __eq__(self, other) -> bool:
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class StickBreakingTransform(_Same):
    """R^(K-1) -> the K-simplex by stick breaking: z_i = sigmoid(x_i - log(K - i)), y_i = z_i prod_(j<i)(1 - z_j)
    and y_K the remainder (bijective, unlike softmax)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def _call(self, x):
        tt = _tt()
        pad = tt.nn.functional.pad
        z = _clipped_sigmoid(x - _stick_offset(x.shape[-1], x))
        return pad(z, [0, 1], value=1) * pad((1 - z).cumprod(-1), [1, 0], value=1)

    def _inverse(self, y):
        tt = _tt()
        crop = y[..., :-1]
        remaining = (1 - crop.cumsum(-1)).clamp(min=tt.finfo(y.dtype).tiny)
        return crop.log() - remaining.log() + _stick_offset(crop.shape[-1], y)

    def log_abs_det_jacobian(self, x, y):
        x = x - _stick_offset(x.shape[-1], x)
        return (-x + _tt().nn.functional.logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape) -> tuple:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape) -> tuple:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(_Same):
    """Square matrices -> lower triangular with positive diagonal: the strict lower part kept, the diagonal
    exponentiated (no log |det J|, as in PyTorch: it is not a bijection of square matrices)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(_Same):
    """Square matrices -> positive-definite ones: L L^T of LowerCholeskyTransform's L."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(_tt().linalg.cholesky(y))


class CorrCholeskyTransform(_Same):
    """R^(D(D-1)/2) -> Cholesky factors of D x D correlation matrices: tanh maps each entry to (-1, 1), then each
    row is built by stick breaking on the squared norm so that it has unit length (PyTorch's construction)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        tt = _tt()
        eps = tt.finfo(x.dtype).eps
        r = vec_to_tril_matrix(x.tanh().clamp(-1 + eps, 1 - eps), diag=-1)
        remaining = (1 - r.pow(2)).sqrt().cumprod(-1)
        r = r + tt.eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * tt.nn.functional.pad(remaining[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        tt = _tt()
        remaining = tt.nn.functional.pad((1 - (y * y).cumsum(-1))[..., :-1], [1, 0], value=1)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(remaining, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        stick_breaking = 0.5 * tril_matrix_to_vec(1 - (y * y).cumsum(-1), diag=-2).log().sum(-1)
        tanh = -2 * (x + _tt().nn.functional.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape) -> tuple:
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape) -> tuple:
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)


class CatTransform(Transform):
    """tseq[i] applied to the i-th piece (lengths[i] long, default 1) of x split along dim, the results
    concatenated."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError("CatTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.transforms)
        if len(self.lengths) != len(self.transforms):
            raise ValueError("tseq and lengths must have the same length")
        self.dim = dim

    event_dim = property(lambda self: max(t.event_dim for t in self.transforms))
    length = property(lambda self: sum(self.lengths))
    bijective = property(lambda self: all(t.bijective for t in self.transforms))
    domain = property(lambda self: constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths))
    codomain = property(lambda self: constraints.cat([t.codomain for t in self.transforms], self.dim,
                                                     self.lengths))

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else CatTransform(self.transforms, self.dim, self.lengths,
                                                                        cache_size)

    def _pieces(self, z):
        if not -z.dim() <= self.dim < z.dim():
            raise ValueError(f"CatTransform: dim {self.dim} is out of range for a tensor of {z.dim()} dims")
        if z.shape[self.dim] != self.length:
            raise ValueError(f"CatTransform: expected size {self.length} along dim {self.dim}, got {z.shape[self.dim]}")
        start = 0
        for length in self.lengths:
            yield z.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        return _tt().cat([t(piece) for t, piece in zip(self.transforms, self._pieces(x))], self.dim)

    def _inverse(self, y):
        return _tt().cat([t.inv(piece) for t, piece in zip(self.transforms, self._pieces(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for t, xs, ys in zip(self.transforms, self._pieces(x), self._pieces(y)):
            part = t.log_abs_det_jacobian(xs, ys)
            if t.event_dim < self.event_dim:
                part = _sum_rightmost(part, self.event_dim - t.event_dim)
            parts.append(part)
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        # the pieces' log-dets still have the split dim unless it was inside the event (then they are summed)
        return _tt().cat(parts, dim) if dim < 0 else sum(parts)


class StackTransform(Transform):
    """tseq[i] applied to x.select(dim, i), the results stacked along dim."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError("StackTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms, self.dim = list(tseq), dim

    bijective = property(lambda self: all(t.bijective for t in self.transforms))
    domain = property(lambda self: constraints.stack([t.domain for t in self.transforms], self.dim))
    codomain = property(lambda self: constraints.stack([t.codomain for t in self.transforms], self.dim))

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, z):
        if z.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform: expected size {len(self.transforms)} along dim {self.dim}, got "
                             f"{z.shape[self.dim]}")
        return [z.select(self.dim, i) for i in range(z.shape[self.dim])]

    def _call(self, x):
        return _tt().stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        return _tt().stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        return _tt().stack([t.log_abs_det_jacobian(xs, ys)
                            for t, xs, ys in zip(self.transforms, self._slices(x), self._slices(y))], self.dim)


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x), onto (0, 1); log |det J| is the distribution's log density."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return getattr(self.distribution, "support", constraints.real)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else type(self)(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
