"""biject_to and transform_to (torch.distributions.constraint_registry): from a constraint to a transform that
maps unconstrained reals onto it, so that an optimizer can work in unconstrained space
(`unconstrained = biject_to(c).inv(x)`, `x = biject_to(c)(unconstrained)`). biject_to gives bijections (for
HMC-style samplers that need the log |det J|); transform_to may give a cheaper non-bijective map (softmax onto
the simplex, L L^T onto positive-definite matrices). Each registry looks a constraint up by its exact class."""
from __future__ import annotations

import numbers

from . import constraints, transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """Constraint class -> factory(constraint) -> Transform."""

    def __init__(self):
        self._registry: dict = {}

    def register(self, constraint, factory=None):
        """Registers factory for constraint's class (a Constraint subclass or an instance of one); usable as a
        decorator when factory is omitted."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint, constraints.Constraint):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or instance, but got "
                            f"{constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(constraint_type, factory):
    biject_to.register(constraint_type, factory)
    transform_to.register(constraint_type, factory)


_both(constraints.real, lambda c: transforms.identity_transform)
biject_to.register(constraints.independent(constraints.real, 1), lambda c: transforms.IndependentTransform(
    biject_to(c.base_constraint), c.reinterpreted_batch_ndims))
transform_to.register(constraints.independent(constraints.real, 1), lambda c: transforms.IndependentTransform(
    transform_to(c.base_constraint), c.reinterpreted_batch_ndims))
# positive and nonnegative are greater_than(0) and greater_than_eq(0): one class each, so (as in PyTorch) they get
# exp followed by a shift by 0
_both(constraints.greater_than, lambda c: transforms.ComposeTransform(
    [transforms.ExpTransform(), transforms.AffineTransform(c.lower_bound, 1)]))
_both(constraints.greater_than_eq, lambda c: transforms.ComposeTransform(
    [transforms.ExpTransform(), transforms.AffineTransform(c.lower_bound, 1)]))
_both(constraints.less_than, lambda c: transforms.ComposeTransform(
    [transforms.ExpTransform(), transforms.AffineTransform(c.upper_bound, -1)]))


def _to_interval(c):
    # the unit interval needs no affine step
    lower_is_0 = isinstance(c.lower_bound, numbers.Number) and c.lower_bound == 0
    upper_is_1 = isinstance(c.upper_bound, numbers.Number) and c.upper_bound == 1
    if lower_is_0 and upper_is_1:
        return transforms.SigmoidTransform()
    return transforms.ComposeTransform([transforms.SigmoidTransform(),
                                        transforms.AffineTransform(c.lower_bound, c.upper_bound - c.lower_bound)])


_both(constraints.interval, _to_interval)
_both(constraints.half_open_interval, _to_interval)
biject_to.register(constraints.simplex, lambda c: transforms.StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: transforms.SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: transforms.LowerCholeskyTransform())
transform_to.register(constraints.positive_definite, lambda c: transforms.PositiveDefiniteTransform())
transform_to.register(constraints.positive_semidefinite, lambda c: transforms.PositiveDefiniteTransform())
_both(constraints.corr_cholesky, lambda c: transforms.CorrCholeskyTransform())
biject_to.register(constraints.cat, lambda c: transforms.CatTransform([biject_to(x) for x in c.cseq], c.dim,
                                                                      c.lengths))
transform_to.register(constraints.cat, lambda c: transforms.CatTransform([transform_to(x) for x in c.cseq], c.dim,
                                                                         c.lengths))
biject_to.register(constraints.stack, lambda c: transforms.StackTransform([biject_to(x) for x in c.cseq], c.dim))
transform_to.register(constraints.stack, lambda c: transforms.StackTransform([transform_to(x) for x in c.cseq],
                                                                             c.dim))
