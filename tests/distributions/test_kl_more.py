"""The KL rules of distributions/kl_more.py against torch.distributions.kl_divergence for every pair PyTorch has,
with float64 parameters (some drawn so that both finite and infinite cases occur), values and gradients."""
import math

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")
D, TD = tt.distributions, torch.distributions
RNG = np.random.default_rng(11)
SHAPE = (6,)


def _pos(lo=0.3, hi=3.0):
    return RNG.uniform(lo, hi, SHAPE)


# name -> (constructor argument arrays, constructor(module, *tensors))
FAMILIES = {
    "Normal": (lambda: (RNG.standard_normal(SHAPE), _pos()), lambda m, a, b: m.Normal(a, b)),
    "Laplace": (lambda: (RNG.standard_normal(SHAPE), _pos()), lambda m, a, b: m.Laplace(a, b)),
    "Gumbel": (lambda: (RNG.standard_normal(SHAPE), _pos()), lambda m, a, b: m.Gumbel(a, b)),
    "Exponential": (lambda: (_pos(),), lambda m, a: m.Exponential(a)),
    "Gamma": (lambda: (_pos(0.5, 4.0), _pos()), lambda m, a, b: m.Gamma(a, b)),
    "Beta": (lambda: (_pos(0.5, 4.0), _pos(0.5, 4.0)), lambda m, a, b: m.Beta(a, b)),
    # Uniform: some inside (0, 1) (finite against Beta), some not; Pareto: alpha on both sides of 1 and 2
    "Uniform": (lambda: (np.where(np.arange(6) % 2 == 0, 0.1, -0.5), np.where(np.arange(6) % 3 == 0, 2.5, 0.9)),
                lambda m, a, b: m.Uniform(a, b)),
    "Pareto": (lambda: (_pos(0.05, 1.5), np.array([0.7, 1.5, 2.5, 3.0, 4.0, 1.2])), lambda m, a, b: m.Pareto(a, b)),
    # (a Uniform against a Pareto is finite where low >= the Pareto's scale: the "Uniform2" draws put some there)
    "Uniform2": (lambda: (RNG.uniform(0.0, 2.0, SHAPE), RNG.uniform(2.1, 4.0, SHAPE)), lambda m, a, b: m.Uniform(a, b)),
    "HalfNormal": (lambda: (_pos(),), lambda m, a: m.HalfNormal(a)),
    "Cauchy": (lambda: (RNG.standard_normal(SHAPE), _pos()), lambda m, a, b: m.Cauchy(a, b)),
    "HalfCauchy": (lambda: (_pos(),), lambda m, a: m.HalfCauchy(a)),
    "Poisson": (lambda: (_pos(),), lambda m, a: m.Poisson(a)),
    "Bernoulli": (lambda: (RNG.uniform(0.05, 0.95, SHAPE),), lambda m, a: m.Bernoulli(a)),
    "Geometric": (lambda: (RNG.uniform(0.05, 0.95, SHAPE),), lambda m, a: m.Geometric(a)),
    "Binomial": (lambda: (RNG.uniform(0.05, 0.95, SHAPE),), lambda m, a: m.Binomial(7, a)),
}

PAIRS = [("Uniform2", "Pareto"), ("Uniform2", "Gamma"), ("Uniform2", "Exponential"), ("Binomial", "Binomial"),
         ("Geometric", "Geometric"), ("Poisson", "Poisson"), ("HalfNormal", "HalfNormal"), ("Gumbel", "Gumbel"), ("Cauchy", "Cauchy"), ("Pareto", "Pareto"), ("Bernoulli", "Poisson"),
         ("Poisson", "Bernoulli"), ("Poisson", "Binomial")]
for _p in ("Beta", "Exponential", "Gamma", "Gumbel", "Laplace", "Normal", "Pareto", "Uniform"):
    for _q in ("Beta", "Exponential", "Gamma", "Gumbel", "Normal", "Pareto", "Uniform", "Laplace"):
        if _p != _q and (_q != "Laplace" or _p == "Normal") and not (_p == "Laplace" and _q == "Gumbel") \
                and not (_p == "Beta" and _q == "Gumbel") and not (_p == "Pareto" and _q == "Gumbel"):
            PAIRS.append((_p, _q))


def _make(name, lib, arrays):
    build = FAMILIES[name][1]
    if lib is tt:
        params = [tt.tensor(a, requires_grad=True) for a in arrays]
        return build(D, *params), params
    params = [torch.tensor(a, requires_grad=True) for a in arrays]
    return build(TD, *params), params


@pytest.mark.parametrize("p_name,q_name", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch(p_name, q_name):
    p_arrays, q_arrays = FAMILIES[p_name][0](), FAMILIES[q_name][0]()
    (p, pp), (q, qp) = _make(p_name, tt, p_arrays), _make(q_name, tt, q_arrays)
    (tp, tpp), (tq, tqp) = _make(p_name, torch, p_arrays), _make(q_name, torch, q_arrays)
    ours, theirs = D.kl_divergence(p, q), TD.kl_divergence(tp, tq)
    o, t = ours.detach().numpy(), theirs.detach().numpy()
    assert o.shape == t.shape
    np.testing.assert_array_equal(np.isinf(o), np.isinf(t))
    finite = np.isfinite(t)
    np.testing.assert_allclose(o[finite], t[finite], rtol=1e-9, atol=1e-11)
    if finite.any():   # gradients of the finite entries
        w = np.where(finite, np.cos(np.arange(6.0)), 0.0)
        g = tt.autograd.grad((tt.where(tt.tensor(finite), ours, 0.0) * tt.tensor(w)).sum(), pp + qp,
                             allow_unused=True)
        tg = torch.autograd.grad((torch.where(torch.tensor(finite), theirs, 0.0) * torch.tensor(w)).sum(),
                                 tpp + tqp, allow_unused=True)
        for a, b in zip(g, tg):   # (every parameter is per element: entry i only moves KL_i)
            if a is None or b is None:
                assert a is None or not np.any(a.numpy()), "a gradient where torch has none"
                continue
            np.testing.assert_allclose(a.numpy()[finite], b.numpy()[finite], rtol=1e-7, atol=1e-9)
            # where KL is inf, PyTorch's rules leak NaN into the gradient (their formula ran on invalid values);
            # these evaluate stand-ins there, so the masked entries' gradient is a clean 0
            assert np.all(a.numpy()[~finite] == 0)


def test_binomial_count_mismatch_and_transformed_pairs():
    p, q = D.Binomial(5, tt.tensor([0.3])), D.Binomial(7, tt.tensor([0.4]))
    assert math.isinf(D.kl_divergence(q, p).item())
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(p, q)
    base_p, base_q = D.Normal(tt.zeros(3), tt.ones(3)), D.Normal(tt.ones(3), tt.full((3,), 2.0))
    affine = D.transforms.AffineTransform(tt.tensor(1.0), tt.tensor(2.0))
    tp = D.TransformedDistribution(base_p, [D.transforms.ExpTransform(), affine])
    tq = D.TransformedDistribution(base_q, [D.transforms.ExpTransform(),
                                            D.transforms.AffineTransform(tt.tensor(1.0), tt.tensor(2.0))])
    np.testing.assert_allclose(D.kl_divergence(tp, tq).numpy(), D.kl_divergence(base_p, base_q).numpy(), rtol=1e-12)
    other = D.TransformedDistribution(base_q, [D.transforms.SigmoidTransform()])
    with pytest.raises(NotImplementedError, match="different transforms"):
        D.kl_divergence(tp, other)
    w = D.Weibull(tt.tensor([1.5]), tt.tensor([2.0]))
    with pytest.raises(NotImplementedError, match="different transforms"):
        D.kl_divergence(w, D.Weibull(tt.tensor([1.5]), tt.tensor([3.0])))
