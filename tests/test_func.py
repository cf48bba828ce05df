"""tritorch.func (functional_call, grad, vjp, jvp, jacrev, jacfwd, hessian, vmap) against torch.func: values
and derivatives, composition (per-sample gradients, second derivatives), errors; cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _close(a, b, rtol=1e-9):
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _close(a[k], b[k], rtol)
        return
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, rtol)
        return
    np.testing.assert_allclose(a.detach().cpu().numpy() if hasattr(a, "cpu") else a,
                               b.detach().numpy() if hasattr(b, "detach") else b, rtol=rtol, atol=1e-12)


def _f(lib):
    return lambda x, y: (lib.sin(x) * y).sum() + (x * x * y).sum() ** 2 / 10


@pytest.mark.parametrize("device", DEVICES)
def test_grad_argnums_aux_and_second_order(device):
    x, y = _rand((3, 2)), _rand((3, 2), 1)
    tx, ty = tt.tensor(x, device=device), tt.tensor(y, device=device)
    px, py = torch.tensor(x), torch.tensor(y)
    _close(tt.func.grad(_f(tt))(tx, ty), torch.func.grad(_f(torch))(px, py))
    _close(tt.func.grad(_f(tt), argnums=(0, 1))(tx, ty), torch.func.grad(_f(torch), argnums=(0, 1))(px, py))
    g, v = tt.func.grad_and_value(_f(tt), argnums=1)(tx, ty)
    tg, tv = torch.func.grad_and_value(_f(torch), argnums=1)(px, py)
    _close((g, v), (tg, tv))
    aux = tt.func.grad(lambda a, b: (_f(tt)(a, b), a.sum()), has_aux=True)(tx, ty)
    taux = torch.func.grad(lambda a, b: (_f(torch)(a, b), a.sum()), has_aux=True)(px, py)
    _close(aux, taux)
    # second order: the gradient of a function of the gradient, and jacrev of grad
    gg = tt.func.grad(lambda a: tt.func.grad(_f(tt))(a, ty).pow(2).sum())(tx)
    tgg = torch.func.grad(lambda a: torch.func.grad(_f(torch))(a, py).pow(2).sum())(px)
    _close(gg, tgg)
    _close(tt.func.hessian(lambda a: _f(tt)(a, ty))(tx), torch.func.hessian(lambda a: _f(torch)(a, py))(px))
    with pytest.raises(RuntimeError, match="scalar"):
        tt.func.grad(lambda a: a * 2)(tx)


@pytest.mark.parametrize("device", DEVICES)
def test_functional_call_and_per_sample_gradients(device):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    model = tt.nn.Sequential(tt.nn.Linear(4, 3), tt.nn.Tanh(), tt.nn.Linear(3, 2)).double().to(device)
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    x, y = _rand((5, 4), 2), _rand((5, 2), 3)
    new = {k: v * 0.5 for k, v in tmodel.state_dict().items()}
    out = tt.func.functional_call(model, {k: tt.tensor(v.numpy(), device=device) for k, v in new.items()},
                                  (tt.tensor(x, device=device),))
    _close(out, torch.func.functional_call(tmodel, new, (torch.tensor(x),)))
    _close(model(tt.tensor(x, device=device)), tmodel(torch.tensor(x)))   # the module is left as it was

    def loss(lib, m):
        def fn(params, xb, yb):
            pred = lib.func.functional_call(m, params, (xb.unsqueeze(0),))
            return ((pred - yb.unsqueeze(0)) ** 2).sum()
        return fn
    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    per = tt.func.vmap(tt.func.grad(loss(tt, model)), in_dims=(None, 0, 0))(
        params, tt.tensor(x, device=device), tt.tensor(y, device=device))
    tper = torch.func.vmap(torch.func.grad(loss(torch, tmodel)), in_dims=(None, 0, 0))(
        tparams, torch.tensor(x), torch.tensor(y))
    _close(per, tper)
    with pytest.raises(RuntimeError, match="missing keys"):
        tt.func.functional_call(model, {}, (tt.tensor(x, device=device),), strict=True)


@pytest.mark.parametrize("device", DEVICES)
def test_vjp_jvp_jacobians(device):
    x, v = _rand((3,)), _rand((3,), 4)
    tx, tv = tt.tensor(x, device=device), tt.tensor(v, device=device)
    px, pv = torch.tensor(x), torch.tensor(v)

    def g(lib):
        return lambda a: (lib.sin(a) * a.sum(), a.exp())
    out, fn = tt.func.vjp(g(tt), tx)
    tout, tfn = torch.func.vjp(g(torch), px)
    _close(out, tout)
    _close(fn((tv, tv * 2)), tfn((pv, pv * 2)))
    _close(tt.func.jvp(g(tt), (tx,), (tv,)), torch.func.jvp(g(torch), (px,), (pv,)))
    _close(tt.func.jacrev(g(tt))(tx), torch.func.jacrev(g(torch))(px))
    _close(tt.func.jacfwd(g(tt))(tx), torch.func.jacfwd(g(torch))(px))
    two = lambda lib: (lambda a, b: a.unsqueeze(1) * b.sin())  # noqa: E731
    _close(tt.func.jacrev(two(tt), argnums=(0, 1))(tx, tv), torch.func.jacrev(two(torch), argnums=(0, 1))(px, pv))


@pytest.mark.parametrize("device", DEVICES)
def test_vmap_dims_nesting_and_errors(device):
    a, b = _rand((4, 3), 5), _rand((3, 4), 6)
    ta, tb = tt.tensor(a, device=device), tt.tensor(b, device=device)
    pa, pb = torch.tensor(a), torch.tensor(b)
    f = lambda x, y: (x * y, x.sum())  # noqa: E731
    _close(tt.func.vmap(f, in_dims=(0, 1))(ta, tb), torch.func.vmap(f, in_dims=(0, 1))(pa, pb))
    _close(tt.func.vmap(f, in_dims=(0, 1), out_dims=(1, 0))(ta, tb),
           torch.func.vmap(f, in_dims=(0, 1), out_dims=(1, 0))(pa, pb))
    _close(tt.func.vmap(lambda x, y: x @ y, in_dims=(0, None))(ta, tb),
           torch.func.vmap(lambda x, y: x @ y, in_dims=(0, None))(pa, pb))
    dot = lambda x, y: (x * y).sum()  # noqa: E731
    _close(tt.func.vmap(tt.func.vmap(dot, (0, None)), (None, 1))(ta, tb),
           torch.func.vmap(torch.func.vmap(dot, (0, None)), (None, 1))(pa, pb))
    _close(tt.func.vmap(lambda d: d["u"] + d["w"], in_dims=({"u": 0, "w": None},))({"u": ta, "w": tb[:, 0]}),
           torch.func.vmap(lambda d: d["u"] + d["w"], in_dims=({"u": 0, "w": None},))({"u": pa, "w": pb[:, 0]}))
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        tt.func.vmap(f)(ta, tb)
    with pytest.raises(ValueError, match="in_dims is not compatible"):
        tt.func.vmap(f, in_dims=(0,))(ta, tb)
