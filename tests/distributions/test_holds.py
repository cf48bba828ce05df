"""distribution._holds: the NumPy path for plain-operator constraints answers as the op path does (boundaries,
NaN, infinities, integer and simplex checks), and validation still raises PyTorch's errors through it."""
import math

import pytest

import tritorch as tt
from tritorch.distributions import constraints as C
from tritorch.distributions.distribution import _holds

VALUES = [[0.0, 1.0], [0.5, 0.5], [-0.0, 2.0], [math.nan, 1.0], [math.inf, 0.0], [1.0, 3.0], [0.25, 0.75 + 1e-5],
          [-1.0, 0.0], [2.0, 3.5]]
CONSTRAINTS = [C.real, C.positive, C.nonnegative, C.unit_interval, C.integer_interval(0, 3), C.boolean, C.simplex,
               C.nonnegative_integer, C.half_open_interval(0.0, 2.0), C.open_interval(0.0, 1.0), C.less_than(2.0),
               C.real_vector]


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=repr)
def test_numpy_path_agrees_with_the_ops(constraint):
    for v in VALUES:
        for dtype in (tt.float32, tt.float64):
            t = tt.tensor(v, dtype=dtype)
            assert _holds(constraint, t) == bool(constraint.check(t).all().item()), (v, dtype)


def test_validation_still_raises():
    with pytest.raises(ValueError, match="Simplex"):
        tt.distributions.Categorical(probs=tt.tensor([-0.5, 1.5]))
    with pytest.raises(ValueError, match="within the support"):
        tt.distributions.Categorical(logits=tt.zeros(3)).log_prob(tt.tensor(3))
    with pytest.raises(ValueError, match="within the support"):
        tt.distributions.Bernoulli(0.5).log_prob(tt.tensor(0.5))
    assert tt.distributions.Categorical(probs=tt.tensor([0.5, 0.5])).log_prob(tt.tensor(1)).item() < 0
