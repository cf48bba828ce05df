"""Constraints (torch.distributions.constraints): the sets transforms map between. Each has `event_dim` (how
many rightmost dims make one element of the set) and `check(value)`, a bool tensor of the batch shape."""
from __future__ import annotations

__all__ = ["Constraint", "real", "real_vector", "positive", "nonnegative", "unit_interval", "simplex",
           "greater_than", "interval", "open_interval", "independent", "boolean", "cat", "corr_cholesky", "dependent",
           "dependent_property", "greater_than_eq", "integer_interval", "half_open_interval", "is_dependent",
           "less_than", "lower_cholesky", "lower_triangular", "MixtureSameFamilyConstraint", "multinomial",
           "nonnegative_integer", "one_hot", "positive_semidefinite", "positive_definite", "positive_integer",
           "square", "stack", "symmetric"]


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise TypeError(f"{type(self).__name__} does not define check()")

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        return value == value   # not NaN


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return value >= self.lower_bound

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound, open_ends=False):
        self.lower_bound, self.upper_bound, self.open_ends = lower_bound, upper_bound, open_ends

    def check(self, value):
        if self.open_ends:
            return (value > self.lower_bound) & (value < self.upper_bound)
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self) -> str:
        kind = "OpenInterval" if self.open_ends else "Interval"
        return f"{kind}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & (abs(value.sum(-1) - 1) < 1e-6)   # (abs(): also a NumPy array's)


class _IndependentConstraint(Constraint):
    """`base` with `reinterpreted_batch_ndims` more rightmost dims in each element."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base_constraint, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            ok = ok.all(-1)
        return ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _HalfOpenInterval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)

    def __repr__(self) -> str:
        return f"HalfOpenInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


from ._matrix_constraints import (MixtureSameFamilyConstraint, _Boolean, _Cat, _CorrCholesky,  # noqa: E402
                                  _Dependent, _IntegerGreaterThan, _IntegerInterval, _LowerCholesky,
                                  _LowerTriangular, _Multinomial, _OneHot, _PositiveDefinite, _PositiveSemidefinite,
                                  _Square, _Stack, _Symmetric, dependent_property, is_dependent)

real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
greater_than = _GreaterThan
interval = _Interval


class _OpenInterval(_Interval):
    def __init__(self, lower_bound, upper_bound):
        super().__init__(lower_bound, upper_bound, open_ends=True)


open_interval = _OpenInterval


def independent(base: Constraint, reinterpreted_batch_ndims: int) -> Constraint:
    return _IndependentConstraint(base, reinterpreted_batch_ndims)


greater_than_eq = _GreaterThanEq
less_than = _LessThan
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
multinomial = _Multinomial
cat = _Cat
stack = _Stack
dependent = _Dependent()
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
