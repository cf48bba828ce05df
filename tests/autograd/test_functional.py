"""tritorch.autograd.functional against torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp for
single and tuple inputs/outputs, create_graph, strict, cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float64)


def _f(lib):
    def f(x, y):
        return (x.sin() * y).sum(-1), x @ y.T
    return f


def _scalar(lib):
    def g(x, y):
        return (x.exp() * y.pow(2)).sum() + (x * y).tanh().sum()
    return g


def _check(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _check(a, b)
        return
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_vjp_jvp_jacobian(device):
    x, y = _rand((2, 3)), _rand((2, 3), 1)
    X, Y = tt.tensor(x, device=device), tt.tensor(y, device=device)
    TX, TY = torch.tensor(x), torch.tensor(y)
    TF = torch.autograd.functional
    F = tt.autograd.functional
    v = (_rand(2, 2), _rand((2, 2), 3))
    _check(F.vjp(_f(tt), (X, Y), tuple(tt.tensor(a, device=device) for a in v)),
           TF.vjp(_f(torch), (TX, TY), tuple(torch.tensor(a) for a in v)))
    u = (_rand((2, 3), 4), _rand((2, 3), 5))
    _check(F.jvp(_f(tt), (X, Y), tuple(tt.tensor(a, device=device) for a in u)),
           TF.jvp(_f(torch), (TX, TY), tuple(torch.tensor(a) for a in u)))
    _check(F.jacobian(_f(tt), (X, Y)), TF.jacobian(_f(torch), (TX, TY)))
    _check(F.jacobian(lambda a: a.sin() * 2, X), TF.jacobian(lambda a: a.sin() * 2, TX))
    _check(F.vjp(lambda a: a.pow(3).sum(), X), TF.vjp(lambda a: a.pow(3).sum(), TX))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_hessian_vhp_hvp(device):
    x, y = _rand((2, 3)), _rand((2, 3), 1)
    X, Y = tt.tensor(x, device=device), tt.tensor(y, device=device)
    TX, TY = torch.tensor(x), torch.tensor(y)
    TF, F = torch.autograd.functional, tt.autograd.functional
    _check(F.hessian(_scalar(tt), (X, Y)), TF.hessian(_scalar(torch), (TX, TY)))
    _check(F.hessian(lambda a: (a.pow(3) * a.sin()).sum(), X), TF.hessian(lambda a: (a.pow(3) * a.sin()).sum(), TX))
    v = (_rand((2, 3), 2), _rand((2, 3), 3))
    _check(F.vhp(_scalar(tt), (X, Y), tuple(tt.tensor(a, device=device) for a in v)),
           TF.vhp(_scalar(torch), (TX, TY), tuple(torch.tensor(a) for a in v)))
    _check(F.hvp(_scalar(tt), (X, Y), tuple(tt.tensor(a, device=device) for a in v)),
           TF.hvp(_scalar(torch), (TX, TY), tuple(torch.tensor(a) for a in v)))


def test_create_graph_strict_and_errors():
    F = tt.autograd.functional
    x = tt.tensor(_rand(3), requires_grad=True)
    _, g = F.vjp(lambda a: a.pow(3).sum(), x, create_graph=True)
    g.sum().backward()                                         # differentiate the vjp itself
    np.testing.assert_allclose(x.grad.numpy(), 6 * _rand(3), rtol=1e-12)
    z = F.jacobian(lambda a, b: a * 2, (tt.ones(2), tt.ones(2)))
    assert not z[1].numpy().any()                              # an unused input: zeros
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(lambda a, b: a * 2, (tt.ones(2), tt.ones(2)), strict=True)
    with pytest.raises(RuntimeError, match="single Tensor with a single element"):
        F.vjp(lambda a: a * 2, tt.ones(2))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.jacobian(lambda a: a, 3.0)
