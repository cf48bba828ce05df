"""LogisticNormal (torch.distributions.LogisticNormal): a Normal in R^(K-1) mapped onto the K-simplex by stick
breaking, as a TransformedDistribution."""
from __future__ import annotations

from . import constraints
from .constrained import ConstrainedParams
from .continuous import Normal
from .distribution import broadcast_all
from .transformed import TransformedDistribution
from .transforms_more import StickBreakingTransform

__all__ = ["LogisticNormal"]


class LogisticNormal(ConstrainedParams, TransformedDistribution):
    """LogisticNormal(loc, scale): samples StickBreakingTransform()(x), x ~ Normal(loc, scale) over the last dim
    (a scalar loc and scale make one-dimensional x)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        loc, scale = broadcast_all(loc, scale)
        if loc.dim() == 0:
            loc, scale = loc.reshape(1), scale.reshape(1)
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape) + tuple(self.loc.shape[-1:])
        new = LogisticNormal(self.loc.expand(shape), self.scale.expand(shape), validate_args=False)
        new._validate_args = self._validate_args
        return new

    loc = property(lambda self: self.base_dist.base_dist.loc)
    scale = property(lambda self: self.base_dist.base_dist.scale)

    def __repr__(self) -> str:
        return f"LogisticNormal(loc: {self.loc.size()}, scale: {self.scale.size()})"
