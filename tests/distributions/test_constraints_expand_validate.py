"""Every distribution family against torch.distributions: arg_constraints and support (the constraint objects'
types and reprs), expand() (batch shape, sample shape, log_prob and entropy of the expanded distribution), and
validate_args (PyTorch's errors for invalid parameters and for log_prob values outside the support, raised where
PyTorch raises them and not elsewhere)."""
import re

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _rb(m):
    return m.distributions.relaxed_bernoulli if m is torch else m.distributions.relaxed


def _rc(m):
    return m.distributions.relaxed_categorical if m is torch else m.distributions.relaxed


def _t(m, values):
    return m.tensor(values, dtype=m.float64)


# name -> make(module): one distribution with batch shape (2,), the same for tritorch and torch
FAMILIES = {
    "Normal": lambda m: m.distributions.Normal(_t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "Uniform": lambda m: m.distributions.Uniform(_t(m, [0.0, 1.0]), _t(m, [1.0, 3.0])),
    "Exponential": lambda m: m.distributions.Exponential(_t(m, [1.0, 2.0])),
    "Laplace": lambda m: m.distributions.Laplace(_t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "LogNormal": lambda m: m.distributions.LogNormal(_t(m, [0.0, 1.0]), _t(m, [1.0, 0.5])),
    "Gumbel": lambda m: m.distributions.Gumbel(_t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "HalfNormal": lambda m: m.distributions.HalfNormal(_t(m, [1.0, 2.0])),
    "Cauchy": lambda m: m.distributions.Cauchy(_t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "Gamma": lambda m: m.distributions.Gamma(_t(m, [1.5, 2.0]), _t(m, [1.0, 3.0])),
    "Chi2": lambda m: m.distributions.Chi2(_t(m, [1.5, 4.0])),
    "StudentT": lambda m: m.distributions.StudentT(_t(m, [3.0, 4.0]), _t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "Dirichlet": lambda m: m.distributions.Dirichlet(_t(m, [[1.0, 2.0, 3.0], [0.5, 0.5, 2.0]])),
    "Beta": lambda m: m.distributions.Beta(_t(m, [1.5, 2.0]), _t(m, [1.0, 3.0])),
    "Categorical": lambda m: m.distributions.Categorical(_t(m, [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "CategoricalLogits": lambda m: m.distributions.Categorical(logits=_t(m, [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "OneHotCategorical": lambda m: m.distributions.OneHotCategorical(_t(m, [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "Bernoulli": lambda m: m.distributions.Bernoulli(_t(m, [0.2, 0.7])),
    "BernoulliLogits": lambda m: m.distributions.Bernoulli(logits=_t(m, [0.2, -0.7])),
    "Poisson": lambda m: m.distributions.Poisson(_t(m, [0.5, 3.0])),
    "Geometric": lambda m: m.distributions.Geometric(_t(m, [0.2, 0.7])),
    "Binomial": lambda m: m.distributions.Binomial(5, _t(m, [0.2, 0.7])),
    "NegativeBinomial": lambda m: m.distributions.NegativeBinomial(_t(m, [5.0, 2.0]), _t(m, [0.2, 0.7])),
    "Multinomial": lambda m: m.distributions.Multinomial(4, _t(m, [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "MultivariateNormal": lambda m: m.distributions.MultivariateNormal(
        _t(m, [[0.0, 1.0], [1.0, -1.0]]), _t(m, [[2.0, 0.5], [0.5, 1.0]])),
    "LogitRelaxedBernoulli": lambda m: _rb(m).LogitRelaxedBernoulli(_t(m, 0.5), _t(m, [0.2, 0.7])),
    "RelaxedBernoulli": lambda m: m.distributions.RelaxedBernoulli(_t(m, 0.5), _t(m, [0.2, 0.7])),
    "ExpRelaxedCategorical": lambda m: _rc(m).ExpRelaxedCategorical(_t(m, 0.5), _t(m, [[0.2, 0.8], [0.5, 0.5]])),
    "RelaxedOneHotCategorical": lambda m: m.distributions.RelaxedOneHotCategorical(
        _t(m, 0.5), _t(m, [[0.2, 0.8], [0.5, 0.5]])),
    "VonMises": lambda m: m.distributions.VonMises(_t(m, [0.0, 1.0]), _t(m, [1.0, 2.0])),
    "Pareto": lambda m: m.distributions.Pareto(_t(m, [1.0, 2.0]), _t(m, [1.5, 3.0])),
    "Weibull": lambda m: m.distributions.Weibull(_t(m, [1.0, 2.0]), _t(m, [1.5, 3.0])),
    "HalfCauchy": lambda m: m.distributions.HalfCauchy(_t(m, [1.0, 2.0])),
    "Independent": lambda m: m.distributions.Independent(
        m.distributions.Normal(_t(m, [[0.0, 1.0], [1.0, 2.0]]), _t(m, [[1.0, 2.0], [0.5, 1.0]])), 1),
    "MixtureSameFamily": lambda m: m.distributions.MixtureSameFamily(
        m.distributions.Categorical(_t(m, [[0.2, 0.8], [0.5, 0.5]])),
        m.distributions.Normal(_t(m, [[0.0, 1.0], [1.0, 2.0]]), _t(m, [[1.0, 2.0], [0.5, 1.0]]))),
    "TransformedDistribution": lambda m: m.distributions.TransformedDistribution(
        m.distributions.Normal(_t(m, [0.0, 1.0]), _t(m, [1.0, 0.5])), [m.distributions.transforms.ExpTransform()]),
    # the newer families (their own expand), checked alike (not GeneralizedPareto: PyTorch's log_prob fails in
    # float64, comparing its concentration with a float32 zero)
    "InverseGamma": lambda m: m.distributions.InverseGamma(_t(m, [1.5, 2.0]), _t(m, [1.0, 3.0])),
    "Kumaraswamy": lambda m: m.distributions.Kumaraswamy(_t(m, [1.5, 2.0]), _t(m, [1.0, 3.0])),
    "FisherSnedecor": lambda m: m.distributions.FisherSnedecor(_t(m, [3.0, 5.0]), _t(m, [4.0, 6.0])),
    "ContinuousBernoulli": lambda m: m.distributions.ContinuousBernoulli(_t(m, [0.2, 0.7])),
    "LogisticNormal": lambda m: m.distributions.LogisticNormal(_t(m, [[0.0, 1.0], [1.0, 2.0]]),
                                                               _t(m, [[1.0, 2.0], [0.5, 1.0]])),
}
# families without entropy() in PyTorch
NO_ENTROPY = {"LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical", "RelaxedOneHotCategorical",
              "MixtureSameFamily", "TransformedDistribution", "NegativeBinomial", "Poisson", "VonMises",
              "FisherSnedecor", "LogisticNormal"}
# PyTorch's VonMises log-normalizer is a polynomial approximation of log I0 (good to ~1e-8); ours is exact
RTOL = {"VonMises": 1e-6}
# PyTorch's Multinomial entropy takes lgamma(n + 1) in float32 (see test_counts); ours is exact
ENTROPY_RTOL = {"Multinomial": 1e-7}


def _norm(text: str) -> str:
    return text.replace("tritorch.", "torch.")


def _constraint_key(c):
    return type(c).__name__, _norm(repr(c))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_arg_constraints_and_support_are_torchs(name):
    ours, theirs = FAMILIES[name](tt), FAMILIES[name](torch)
    assert {k: _constraint_key(c) for k, c in ours.arg_constraints.items()} == \
        {k: _constraint_key(c) for k, c in theirs.arg_constraints.items()}
    assert _constraint_key(ours.support) == _constraint_key(theirs.support)
    # a support that depends on the parameters is a dependent_property on the class, as PyTorch's
    ours_cls, theirs_cls = type(ours).__dict__.get("support"), type(theirs).__dict__.get("support")
    assert tt.distributions.constraints.is_dependent(ours_cls) == torch.distributions.constraints.is_dependent(
        theirs_cls)


def _close(a, b, rtol=1e-10):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_expand_matches_torch(name):
    ours, theirs = FAMILIES[name](tt).expand((3, 2)), FAMILIES[name](torch).expand((3, 2))
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape) == (3, 2)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert type(ours) is type(FAMILIES[name](tt))
    assert tuple(ours.sample((4,)).shape) == tuple(theirs.sample((4,)).shape)
    torch.manual_seed(0)
    value = theirs.sample((2,))
    _close(ours.log_prob(tt.tensor(value.numpy())), theirs.log_prob(value), RTOL.get(name, 1e-10))
    if name not in NO_ENTROPY:
        # (the unexpanded one's, broadcast: PyTorch's expanded Multinomial loses the _binomial its entropy needs)
        unexpanded = FAMILIES[name](tt).entropy()
        _close(ours.entropy(), FAMILIES[name](torch).entropy().expand((3, 2)), ENTROPY_RTOL.get(name, 1e-10))
        np.testing.assert_array_equal(ours.entropy().numpy(), unexpanded.expand((3, 2)).numpy())


def test_expand_shares_parameters_without_copies():
    loc = tt.zeros(2)
    d = tt.distributions.Normal(loc, tt.ones(2)).expand((5, 2))
    assert d.loc.data_ptr() == loc.data_ptr() and d.loc.stride() == (0, 1)
    c = tt.distributions.Bernoulli(logits=tt.zeros(2)).expand((3, 2))
    assert c.__dict__["_probs"] is None and tuple(c.probs.shape) == (3, 2)    # still derived lazily
    with pytest.raises(RuntimeError):
        tt.distributions.Normal(loc, tt.ones(2)).expand((3,))


def _invalid(m, name):
    """A construction with an invalid parameter; None where the family has no such case here."""
    D = m.distributions
    bad = {
        "Normal": lambda: D.Normal(_t(m, [0.0, 1.0]), _t(m, [1.0, -2.0])),
        "Uniform": lambda: D.Uniform(_t(m, [0.0, 3.0]), _t(m, [1.0, 2.0])),
        "Exponential": lambda: D.Exponential(_t(m, [0.0, 2.0])),
        "Gamma": lambda: D.Gamma(_t(m, [1.0, -1.0]), _t(m, [1.0, 1.0])),
        "Chi2": lambda: D.Chi2(_t(m, [-1.0, 2.0])),
        "StudentT": lambda: D.StudentT(_t(m, [3.0, 4.0]), _t(m, [0.0, 1.0]), _t(m, [1.0, 0.0])),
        "Dirichlet": lambda: D.Dirichlet(_t(m, [[1.0, -2.0, 3.0]])),
        "Beta": lambda: D.Beta(_t(m, [1.0, 2.0]), _t(m, [0.0, 1.0])),
        "Categorical": lambda: D.Categorical(_t(m, [[0.5, -0.5, 1.0]])),
        "Bernoulli": lambda: D.Bernoulli(_t(m, [0.2, 1.5])),
        "Poisson": lambda: D.Poisson(_t(m, [-0.5, 3.0])),
        "Binomial": lambda: D.Binomial(_t(m, [2.5, 3.0]), _t(m, [0.2, 0.7])),
        "NegativeBinomial": lambda: D.NegativeBinomial(_t(m, [5.0, 2.0]), _t(m, [0.2, 1.0])),
        "VonMises": lambda: D.VonMises(_t(m, [0.0, 1.0]), _t(m, [-1.0, 2.0])),
        "Pareto": lambda: D.Pareto(_t(m, [1.0, 2.0]), _t(m, [-1.5, 3.0])),
        "Weibull": lambda: D.Weibull(_t(m, [1.0, -2.0]), _t(m, [1.5, 3.0])),
        "HalfCauchy": lambda: D.HalfCauchy(_t(m, [1.0, -2.0])),
        "Normal_nan": lambda: D.Normal(_t(m, [float("nan"), 1.0]), _t(m, [1.0, 2.0])),
        "MultivariateNormal": lambda: D.MultivariateNormal(_t(m, [0.0, 0.0]), _t(m, [[1.0, 2.0], [2.0, 1.0]])),
    }
    return bad[name]


_PARAM_ERROR = re.compile(r"Expected parameter (\w+) \((\w+) of shape (\(.*?\))\) of distribution .*to satisfy the "
                          r"constraint (.*), but found invalid values", re.S)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Gamma", "Chi2", "StudentT", "Dirichlet",
                                  "Beta", "Categorical", "Bernoulli", "Poisson", "Binomial", "NegativeBinomial",
                                  "VonMises", "Pareto", "Weibull", "HalfCauchy", "Normal_nan", "MultivariateNormal"])
def test_invalid_parameters_raise_torchs_error(name):
    with pytest.raises(ValueError) as theirs:
        _invalid(torch, name)()
    with pytest.raises(ValueError) as ours:
        _invalid(tt, name)()
    expected = _PARAM_ERROR.search(str(theirs.value))
    got = _PARAM_ERROR.search(_norm(str(ours.value)))
    assert got is not None, str(ours.value)
    assert got.groups() == expected.groups()


def test_validation_off_by_argument_or_default():
    D = tt.distributions
    D.Normal(tt.zeros(2), -tt.ones(2), validate_args=False)    # no error
    assert D.Normal(tt.zeros(2), tt.ones(2))._validate_args is torch.distributions.Normal(0.0, 1.0)._validate_args
    previous = D.Distribution._validate_args
    try:
        D.Distribution.set_default_validate_args(False)
        d = D.Exponential(tt.tensor([-1.0]))
        assert d.log_prob(tt.tensor([-1.0])) is not None                  # neither params nor value checked
        D.Distribution.set_default_validate_args(True)
        with pytest.raises(ValueError, match="GreaterThan"):
            D.Exponential(tt.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(previous)


# name -> a value outside the support of FAMILIES[name] (or of a wrong shape)
OUTSIDE = {
    "Exponential": [-1.0, 1.0], "HalfNormal": [1.0, -0.5], "Gamma": [-1.0, 1.0], "Beta": [0.5, 1.5],
    "Uniform": [0.5, 3.5], "Bernoulli": [0.5, 1.0], "Poisson": [1.5, 2.0], "Binomial": [6.0, 1.0],
    "Geometric": [-1.0, 1.0], "Categorical": [3.0, 0.0], "Dirichlet": [[0.5, 0.5, 0.5], [0.2, 0.3, 0.5]],
    "Pareto": [0.5, 3.0], "HalfCauchy": [-1.0, 1.0], "LogNormal": [-1.0, 1.0], "Weibull": [-1.0, 1.0],
    "RelaxedBernoulli": [0.5, 1.5], "Independent": [[0.0, float("nan")], [0.0, 0.0]],
    "MixtureSameFamily": [float("nan"), 0.0], "TransformedDistribution": [-1.0, 1.0],
}
_VALUE_ERROR = re.compile(r"Expected value argument \((\w+) of shape (\(.*?\))\) to be within the support \((.*)\) "
                          r"of the distribution .*, but found invalid values", re.S)


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_log_prob_outside_support_raises_torchs_error(name):
    ours, theirs = FAMILIES[name](tt), FAMILIES[name](torch)
    with pytest.raises(ValueError) as t_err:
        theirs.log_prob(_t(torch, OUTSIDE[name]))
    with pytest.raises(ValueError) as o_err:
        ours.log_prob(_t(tt, OUTSIDE[name]))
    got = _VALUE_ERROR.search(_norm(str(o_err.value)))
    assert got is not None, str(o_err.value)
    assert got.groups() == _VALUE_ERROR.search(str(t_err.value)).groups()


def test_log_prob_value_shape_and_type_errors():
    d, t = FAMILIES["Dirichlet"](tt), FAMILIES["Dirichlet"](torch)
    for value in ([0.5, 0.5], [[0.2, 0.3, 0.5]] * 3):
        with pytest.raises(ValueError) as t_err:
            t.log_prob(_t(torch, value))
        with pytest.raises(ValueError) as o_err:
            d.log_prob(_t(tt, value))
        assert _norm(str(o_err.value)) == str(t_err.value)
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        FAMILIES["Normal"](tt).log_prob(0.5)
    # inside the support: no error, and none without validation outside it
    FAMILIES["Exponential"](tt).log_prob(tt.tensor([0.0, 1.0], dtype=tt.float64))
    unchecked = tt.distributions.Exponential(tt.tensor([1.0, 2.0]), validate_args=False)
    assert unchecked.log_prob(tt.tensor([-1.0, 1.0])).shape == (2,)


# PyTorch's are TransformedDistributions whose parameters are properties, so its repr shows none of them
REPR_DIFFERS = {"LogNormal", "HalfNormal", "HalfCauchy", "LogisticNormal"}


@pytest.mark.parametrize("name", sorted(set(FAMILIES) - REPR_DIFFERS))
def test_repr_is_torchs(name):
    # (the repr is part of every validation message)
    assert _norm(repr(FAMILIES[name](tt))) == repr(FAMILIES[name](torch))
    bernoulli = tt.distributions.Bernoulli(logits=tt.zeros(2))
    assert repr(bernoulli) == "Bernoulli(logits: tritorch.Size([2]))"
    bernoulli.probs     # (computed on first use, then shown as PyTorch's lazy_property is)
    assert repr(bernoulli) == "Bernoulli(probs: tritorch.Size([2]), logits: tritorch.Size([2]))"
