"""LKJCholesky (torch.distributions.LKJCholesky): the LKJ law over correlation matrices with density
proportional to det(C)^(eta - 1), on their lower Cholesky factors L (density prod_i L_ii^(dim - i + 2 eta - 2)).
Samples by the onion method as PyTorch: row i is a uniform direction on the sphere scaled by the square root
of a Beta draw, its diagonal entry completing the unit norm."""
from __future__ import annotations

import math

from . import constraints
from .constrained import ConstrainedParams
from .distribution import Distribution, _tt, broadcast_all
from .univariate import Beta

__all__ = ["LKJCholesky"]


class LKJCholesky(ConstrainedParams, Distribution):
    """LKJCholesky(dim, concentration=1.0): dim x dim factors; concentration 1 is uniform over correlation
    matrices, larger values concentrate near the identity."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        tt = _tt()
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        c = self.concentration
        # row i's squared off-diagonal norm is Beta(i / 2, eta + (dim - 2 - (i - 1)) / 2) (row 0: unused)
        marginal = c + 0.5 * (dim - 2)
        offset = tt.cat([tt.zeros(1, dtype=c.dtype, device=c.device),
                         tt.arange(dim - 1, dtype=c.dtype, device=c.device)])
        super().__init__(tuple(c.shape), (dim, dim), validate_args=validate_args)
        self._validate_params()
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = LKJCholesky(self.dim, self.concentration.expand(tuple(batch_shape)), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        tt = _tt()
        with tt.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = tt.randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            first_row = tt.arange(self.dim, device=y.device).unsqueeze(-1) == 0
            # row 0 has no off-diagonal entries (its norm is 0): it stays 0 and gets diagonal 1 below
            u = tt.where(first_row, 0.0, u / u.norm(dim=-1, keepdim=True))
            w = y.sqrt() * u
            diag = (1 - w.pow(2).sum(-1)).clamp(min=tt.finfo(w.dtype).tiny).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value):
        tt = _tt()
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = tt.arange(2, self.dim + 1, dtype=self.concentration.dtype, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + tt.mvlgamma(alpha - 0.5, dm1) - tt.lgamma(alpha) * dm1
        return unnormalized - normalizer

    def __repr__(self) -> str:
        return f"LKJCholesky(concentration: {self.concentration})"
