"""biject_to / transform_to and the transforms they return (stick breaking, Cholesky, positive-definite,
correlation Cholesky, Cat, Stack, CumulativeDistribution) against torch.distributions in float64: forward and
inverse maps, log |det J| and its gradient, shapes, codomain checks, both devices; and the new constraints."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions
C, TC = D.constraints, TD.constraints

RNG = np.random.default_rng(7)


def _constraint_pairs():
    return {
        "real": (C.real, TC.real, (2, 3)),
        "real_vector": (C.real_vector, TC.real_vector, (2, 3)),
        "positive": (C.positive, TC.positive, (2, 3)),
        "nonnegative": (C.nonnegative, TC.nonnegative, (2, 3)),
        "greater_than": (C.greater_than(1.5), TC.greater_than(1.5), (2, 3)),
        "greater_than_eq": (C.greater_than_eq(-2.0), TC.greater_than_eq(-2.0), (2, 3)),
        "less_than": (C.less_than(0.5), TC.less_than(0.5), (2, 3)),
        "unit_interval": (C.unit_interval, TC.unit_interval, (2, 3)),
        "interval": (C.interval(-1.0, 3.0), TC.interval(-1.0, 3.0), (2, 3)),
        "half_open_interval": (C.half_open_interval(2.0, 4.0), TC.half_open_interval(2.0, 4.0), (2, 3)),
        "simplex": (C.simplex, TC.simplex, (2, 3)),
        "corr_cholesky": (C.corr_cholesky, TC.corr_cholesky, (2, 6)),
        "lower_cholesky": (C.lower_cholesky, TC.lower_cholesky, (2, 3, 3)),
        "positive_definite": (C.positive_definite, TC.positive_definite, (2, 3, 3)),
        "cat": (C.cat([C.positive, C.real, C.unit_interval], 1, [1, 1, 2]),
                TC.cat([TC.positive, TC.real, TC.unit_interval], 1, [1, 1, 2]), (3, 4)),
        "stack": (C.stack([C.positive, C.interval(0.0, 2.0)], -1), TC.stack([TC.positive, TC.interval(0.0, 2.0)], -1),
                  (3, 2)),
    }


BIJECT = ["real", "real_vector", "positive", "nonnegative", "greater_than", "greater_than_eq", "less_than",
          "unit_interval", "interval", "half_open_interval", "simplex", "corr_cholesky", "cat", "stack"]
TRANSFORM_ONLY = ["simplex", "lower_cholesky", "positive_definite"]


def _run(registry_name, name, device):
    ours_c, theirs_c, shape = _constraint_pairs()[name]
    ours_t = getattr(D, registry_name)(ours_c)
    theirs_t = getattr(TD, registry_name)(theirs_c)
    assert type(ours_t).__name__ == type(theirs_t).__name__
    x_np = RNG.standard_normal(shape)
    x = tt.tensor(x_np, device=device, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    y, yt = ours_t(x), theirs_t(xt)
    np.testing.assert_allclose(y.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert bool(ours_c.check(y.detach()).all())
    assert tuple(ours_t.forward_shape(shape)) == tuple(theirs_t.forward_shape(shape))
    assert tuple(ours_t.inverse_shape(tuple(y.shape))) == tuple(theirs_t.inverse_shape(tuple(yt.shape)))
    if theirs_t.bijective:
        np.testing.assert_allclose(ours_t.inv(y.detach()).cpu().numpy(), x_np, rtol=1e-8, atol=1e-10)
    return ours_t, theirs_t, x, xt, y, yt


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", BIJECT)
def test_biject_to(name, device):
    ours_t, theirs_t, x, xt, y, yt = _run("biject_to", name, device)
    assert ours_t.bijective
    ladj, expected = ours_t.log_abs_det_jacobian(x, y), theirs_t.log_abs_det_jacobian(xt, yt)
    np.testing.assert_allclose(ladj.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-11)
    if not expected.requires_grad:      # the identity's log-det is a constant 0
        return
    w = RNG.standard_normal(tuple(expected.shape))
    (ladj * tt.tensor(w, device=device)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", TRANSFORM_ONLY)
def test_transform_to(name, device):
    ours_t, theirs_t, x, xt, y, yt = _run("transform_to", name, device)
    w = RNG.standard_normal(tuple(yt.shape))
    (y * tt.tensor(w, device=device)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    # the inverse maps the image back to a preimage with the same image
    np.testing.assert_allclose(ours_t(ours_t.inv(y.detach())).cpu().numpy(), yt.detach().numpy(), rtol=1e-8,
                               atol=1e-10)


def test_registry_errors_and_register():
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        D.biject_to(C.boolean)
    with pytest.raises(NotImplementedError, match="Cannot transform _LowerCholesky constraints"):
        D.biject_to(C.lower_cholesky)       # not a bijection target, as in PyTorch
    registry = D.constraint_registry.ConstraintRegistry()
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        registry.register(3, lambda c: None)

    @registry.register(C.positive)
    def _softplus(constraint):
        return D.SoftplusTransform()
    assert isinstance(registry(C.greater_than(0.0)), D.SoftplusTransform)


def test_stick_breaking_shape_errors_and_corr_shapes():
    t = D.StickBreakingTransform()
    assert t.forward_shape((2, 3)) == (2, 4) and t.inverse_shape((2, 4)) == (2, 3)
    c = D.CorrCholeskyTransform()
    with pytest.raises(ValueError, match="Input is not a flattend lower-diagonal number"):
        c.forward_shape((4,))
    with pytest.raises(ValueError, match="Input is not square"):
        c.inverse_shape((3, 4))
    assert t == D.StickBreakingTransform() and c != t


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cat_transform_along_batch_dim(device):
    # split along a batch dim: the pieces' log-dets are concatenated there (not summed)
    x_np = RNG.standard_normal((2, 5))
    x = tt.tensor(x_np, device=device)
    xt = torch.tensor(x_np)
    ours = D.CatTransform([D.ExpTransform(), D.SigmoidTransform()], dim=0, lengths=[1, 1])
    theirs = TD.CatTransform([TD.ExpTransform(), TD.SigmoidTransform()], dim=0, lengths=[1, 1])
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y.cpu().numpy(), yt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.log_abs_det_jacobian(x, y).cpu().numpy(),
                               theirs.log_abs_det_jacobian(xt, yt).numpy(), rtol=1e-10)
    assert ours.event_dim == theirs.event_dim == 0
    with pytest.raises(ValueError, match="expected size 2 along dim 0"):
        ours(tt.tensor(RNG.standard_normal((3, 5)), device=device))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cumulative_distribution_transform(device):
    loc, scale = np.array([0.5, -1.0]), np.array([2.0, 0.7])
    x_np = RNG.standard_normal((3, 2))
    ours = D.CumulativeDistributionTransform(D.Normal(tt.tensor(loc, device=device), tt.tensor(scale, device=device)))
    theirs = TD.CumulativeDistributionTransform(TD.Normal(torch.tensor(loc), torch.tensor(scale)))
    x, xt = tt.tensor(x_np, device=device), torch.tensor(x_np)
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y.cpu().numpy(), yt.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.inv(y).cpu().numpy(), x_np, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.log_abs_det_jacobian(x, y).cpu().numpy(),
                               theirs.log_abs_det_jacobian(xt, yt).numpy(), rtol=1e-10)
    assert ours.sign == 1 and ours.bijective


def test_new_constraints_match_torch():
    values = {
        "boolean": [0.0, 1.0, 0.5], "nonnegative_integer": [0.0, 2.0, -1.0, 1.5], "positive_integer": [0.0, 1.0, 3.0],
        "one_hot": [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], "lower_triangular": [[[1.0, 0.0], [2.0, -1.0]],
                                                                            [[1.0, 1.0], [0.0, 1.0]]],
        "lower_cholesky": [[[1.0, 0.0], [2.0, -1.0]], [[1.0, 0.0], [3.0, 2.0]]],
        "symmetric": [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]],
        "positive_definite": [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]],
        "positive_semidefinite": [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
        "corr_cholesky": [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.6, 0.7]]],
        "square": [[[1.0, 2.0], [2.0, 1.0]]],
    }
    for name, v in values.items():
        ours = getattr(C, name).check(tt.tensor(np.array(v)))
        theirs = getattr(TC, name).check(torch.tensor(np.array(v)))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
        assert repr(getattr(C, name)) == repr(getattr(TC, name))
    for ours, theirs, v in [(C.integer_interval(0, 3), TC.integer_interval(0, 3), [0.0, 3.0, 4.0, 1.5]),
                            (C.less_than(1.0), TC.less_than(1.0), [0.0, 1.0]),
                            (C.half_open_interval(0.0, 1.0), TC.half_open_interval(0.0, 1.0), [0.0, 1.0]),
                            (C.multinomial(3), TC.multinomial(3), [[1.0, 2.0], [2.0, 2.0]])]:
        np.testing.assert_array_equal(ours.check(tt.tensor(v)).numpy(), theirs.check(torch.tensor(v)).numpy())
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(tt.tensor(1.0))
    assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1


SUPPORT_CASES = {"Normal": (0.0, 1.0), "Uniform": (0.0, 2.0), "Exponential": (1.0,), "Laplace": (0.0, 1.0),
                 "LogNormal": (0.0, 1.0), "Gumbel": (0.0, 1.0), "HalfNormal": (1.0,), "Cauchy": (0.0, 1.0),
                 "Gamma": (1.0, 1.0), "Chi2": (2.0,), "StudentT": (3.0,), "Beta": (1.0, 2.0), "Bernoulli": (0.3,),
                 "Poisson": (2.0,), "Geometric": (0.3,), "NegativeBinomial": (3.0, 0.3), "VonMises": (0.0, 1.0),
                 "Dirichlet": ([1.0, 2.0],), "Categorical": ([0.2, 0.8],), "OneHotCategorical": ([0.2, 0.8],),
                 "Binomial": (5.0, 0.3)}


@pytest.mark.parametrize("name", list(SUPPORT_CASES))
def test_supports_match_torch(name):
    args = SUPPORT_CASES[name]
    d = getattr(D, name)(*[tt.tensor(a) for a in args])
    t = getattr(TD, name)(*[torch.tensor(a) for a in args])
    ours, theirs = d.support, t.support
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.is_discrete, ours.event_dim) == (theirs.is_discrete, theirs.event_dim)
    values = np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 7.0])
    if ours.event_dim == 1:
        values = np.array([[0.3, 0.7], [0.0, 1.0], [1.0, 1.0], [-0.5, 1.5]])
    np.testing.assert_array_equal(ours.check(tt.tensor(values)).numpy(), theirs.check(torch.tensor(values)).numpy())


def test_biject_to_a_distribution_support():
    # the unconstrained-parameterisation pattern: optimise u, use biject_to(d.support)(u) inside the support
    u = tt.tensor([[-3.0, 0.0, 2.0]], dtype=tt.float64)
    for d in (D.Gamma(tt.tensor(2.0), tt.tensor(1.0)), D.Uniform(tt.tensor(-1.0), tt.tensor(3.0)),
              D.Beta(tt.tensor(2.0), tt.tensor(2.0)), D.Dirichlet(tt.ones(4)), D.Normal(0.0, 1.0)):
        x = D.biject_to(d.support)(u)
        assert bool(d.support.check(x).all()), d
    multinomial = D.Multinomial(5, tt.tensor([0.2, 0.8]))
    assert multinomial.support.event_dim == 1 and multinomial.support.is_discrete
    np.testing.assert_array_equal(multinomial.support.check(tt.tensor([[2.0, 3.0], [4.0, 3.0]])).numpy(),
                                  [True, False])
