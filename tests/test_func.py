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


@pytest.mark.parametrize("device", DEVICES)
def test_linearize_replays_the_jvp(device):
    def f(lib):
        return lambda x, y: (lib.sin(x) * y, {"s": (x * x * y).sum()})

    x, y = _rand(4, 1), _rand(4, 2)
    out, jvp_fn = tt.func.linearize(f(tt), tt.tensor(x, device=device), tt.tensor(y, device=device))
    t_out, t_jvp = torch.func.linearize(f(torch), torch.tensor(x), torch.tensor(y))
    _close(out, t_out)
    for seed in (3, 4):   # the same map, replayed with new tangents
        tx, ty = _rand(4, seed), _rand(4, seed + 10)
        _close(jvp_fn(tt.tensor(tx, device=device), tt.tensor(ty, device=device)),
               t_jvp(torch.tensor(tx), torch.tensor(ty)))
        replayed = jvp_fn(tt.tensor(tx, device=device), tt.tensor(ty, device=device))
        fresh = tt.func.jvp(f(tt), (tt.tensor(x, device=device), tt.tensor(y, device=device)),
                            (tt.tensor(tx, device=device), tt.tensor(ty, device=device)))[1]
        np.testing.assert_allclose(replayed[0].cpu().numpy(), fresh[0].cpu().numpy(), rtol=1e-12)
        np.testing.assert_allclose(replayed[1]["s"].cpu().numpy(), fresh[1]["s"].cpu().numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match=r"tangent:0 with shape tritorch.Size\(\[3\]\) in flattened pytree "
                                           r"doesn't match the shape tritorch.Size\(\[4\]\)"):
        jvp_fn(tt.tensor(x[:3], device=device), tt.tensor(y, device=device))
    with pytest.raises(RuntimeError, match="tangent:1 with dtype tritorch.float32"):
        jvp_fn(tt.tensor(x, device=device), tt.tensor(y, device=device).float())
    with pytest.raises(RuntimeError, match="same argspec"):
        jvp_fn(tt.tensor(x, device=device))


def test_stack_module_state_for_an_ensemble():
    models = [tt.nn.Sequential(tt.nn.Linear(3, 4), tt.nn.BatchNorm1d(4), tt.nn.Linear(4, 2)) for _ in range(3)]
    params, buffers = tt.func.stack_module_state(models)
    assert list(params) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert list(buffers) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert all(p.is_leaf and p.requires_grad and p.shape[0] == 3 for p in params.values())
    np.testing.assert_array_equal(params["2.weight"][1].detach().numpy(), models[1][2].weight.detach().numpy())
    # the ensembling recipe: vmap over functional_call of one base model
    x = tt.tensor(_rand((5, 3), 7), dtype=tt.float32)
    for m in models:
        m.eval()
    params, buffers = tt.func.stack_module_state(models)
    out = tt.func.vmap(lambda p, b: tt.func.functional_call(models[0], (p, b), (x,)))(params, buffers)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out[i].detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    out.sum().backward()
    assert params["0.weight"].grad.shape == (3, 4, 3)
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        tt.func.stack_module_state([])
    with pytest.raises(RuntimeError, match="same training/eval mode"):
        tt.func.stack_module_state([models[0], models[1].train()])
    with pytest.raises(RuntimeError, match="same class"):
        tt.func.stack_module_state([tt.nn.Linear(1, 1), tt.nn.Bilinear(1, 1, 1)])
    frozen = tt.nn.Linear(3, 4).requires_grad_(False)
    with pytest.raises(RuntimeError, match="Expected weight from each model to have the same .requires_grad"):
        tt.func.stack_module_state([tt.nn.Linear(3, 4), frozen])


def test_functionalize_batch_norm_replacement_and_debug_unwrap():
    def f(x):
        y = x.clone()
        y.add_(1)
        x.mul_(2)   # a mutation of the input stays visible, as under torch.func.functionalize
        return y.view(-1)

    a = tt.tensor([1.0, 2.0])
    out = tt.func.functionalize(f)(a)
    np.testing.assert_array_equal(out.numpy(), [2.0, 3.0])
    np.testing.assert_array_equal(a.numpy(), [2.0, 4.0])
    assert tt.func.functionalize(f, remove="mutations_and_views").__name__ == "f"
    with pytest.raises(RuntimeError, match="received invalid argument for remove=views"):
        tt.func.functionalize(f, remove="views")
    net = tt.nn.Sequential(tt.nn.Conv2d(1, 2, 1), tt.nn.BatchNorm2d(2), tt.nn.Sequential(tt.nn.BatchNorm1d(3)))
    assert tt.func.replace_all_batch_norm_modules_(net) is net
    for bn in (net[1], net[2][0]):
        assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
        assert not bn.track_running_stats
    assert dict(net.named_buffers()) == {}
    t = tt.ones(2)
    assert tt.func.debug_unwrap(t) is t
    assert set(tt.func.__all__) <= set(torch.func.__all__) | {"debug_unwrap"}


_REARRANGE = [("b h w c -> b h w c", {}), ("b h w c -> (b h) w c", {}), ("b h w c -> h (b w) c", {}),
              ("b h w c -> b c h w", {}), ("b h w c -> b (c h w)", {}),
              ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
              ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}), ("b ... c -> c b ...", {}),
              ("b ... -> b (...)", {}), ("... c -> c ...", {}), ("b h w c -> b h w c 1", {}),
              ("b h w c -> b h () w c", {}), ("b h w c -> (b w) c h", {})]


@pytest.mark.parametrize("device", DEVICES)
def test_rearrange_matches_torch(device):
    x = _rand((4, 6, 8, 3), 5)
    for pattern, lengths in _REARRANGE:
        got = tt.func.rearrange(tt.tensor(x, device=device), pattern, **lengths)
        want = torch.func.rearrange(torch.tensor(x), pattern, **lengths)
        assert tuple(got.shape) == tuple(want.shape), pattern
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    stacked = tt.func.rearrange([tt.ones(2, 3, device=device) * i for i in range(4)], "n a b -> a (n b)")
    np.testing.assert_array_equal(stacked.cpu().numpy(),
                                  torch.func.rearrange([torch.ones(2, 3) * i for i in range(4)],
                                                       "n a b -> a (n b)").numpy())
    leaf = tt.tensor(x, device=device, requires_grad=True)
    (tt.func.rearrange(leaf, "b (h h1) w c -> b h (w c h1)", h1=3) * 2).sum().backward()
    np.testing.assert_array_equal(leaf.grad.cpu().numpy(), np.full(x.shape, 2.0))


def test_rearrange_errors():
    x = tt.ones(4, 6, 8, 3)
    for pattern, lengths, match in (("a b c -> a d", {}, "Identifiers only on one side"),
                                    ("a b -> a b", {}, "must be equal to the number of dimensions"),
                                    ("(a b) c d e -> a b c d e", {}, "cannot infer the sizes of 2 dimensions"),
                                    ("a a c d -> a c d", {}, "duplicate dimension 'a'"),
                                    ("(a b) c d e -> a b c d e", {"a": 5}, "does not evenly fit"),
                                    ("a b c d -> a b c d", {"z": 2}, "Axis z is not used"),
                                    ("a b c d -> (a (b c)) d", {}, "one-level"),
                                    ("a (...) -> a ...", {}, "Ellipsis inside parenthesis"),
                                    ("a b c d -> a b c d 2", {}, "Non-unitary anonymous axes"),
                                    ("a b c d", {}, "must contain '->'")):
        with pytest.raises(ValueError, match=match):
            tt.func.rearrange(x, pattern, **lengths)
