"""nn.utils.parametrize and nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal) against PyTorch:
state-dict names, values, gradients, assignment, caching, removal, errors; cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

P = tt.nn.utils.parametrize
TP = torch.nn.utils.parametrize
DEVICES = ["cpu", "cuda"]


def _pair(make_tt, make_torch, device):
    """The same layer in both libraries, tritorch's loaded from torch's state dict (float64)."""
    t = make_torch().double()
    m = make_tt().double().to(device)
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "cpu") else x.detach().numpy()


def _check_step(m, t, x, device, rtol=1e-10):
    """Forward outputs, and the gradient of every parameter (by state-dict name) after one backward."""
    y_tt = m(tt.tensor(x, device=device))
    y_t = t(torch.tensor(x))
    np.testing.assert_allclose(_np(y_tt), _np(y_t), rtol=rtol, atol=1e-12)
    w = np.cos(np.arange(y_t.numel())).reshape(tuple(y_t.shape))
    (y_tt * tt.tensor(w, device=device)).sum().backward()
    (y_t * torch.tensor(w)).sum().backward()
    ours = dict(m.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(_np(ours[name].grad), _np(p.grad), rtol=1e-8, atol=1e-12, err_msg=name)


class Symmetric(tt.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class TorchSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(tt.nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, X):
        return X / 2


class TorchScale(torch.nn.Module):
    def forward(self, X):
        return 2 * X


@pytest.mark.parametrize("device", DEVICES)
def test_register_chain_assign_cache_remove(device):
    def make(lib, sym, scale):
        lin = lib.nn.Linear(3, 3)
        lib.nn.utils.parametrize.register_parametrization(lin, "weight", sym())
        lib.nn.utils.parametrize.register_parametrization(lin, "weight", scale())
        return lin
    m, t = _pair(lambda: make(tt, Symmetric, Scale), lambda: make(torch, TorchSymmetric, TorchScale), device)
    assert list(m.state_dict()) == list(t.state_dict())
    assert type(m).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(m) is tt.nn.Linear
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    x = np.random.default_rng(0).standard_normal((4, 3))
    _check_step(m, t, x, device)
    a = np.random.default_rng(1).standard_normal((3, 3))
    a = a + a.T
    m.weight = tt.tensor(a, device=device)   # through the chain's right_inverse
    np.testing.assert_allclose(_np(m.parametrizations.weight.original), np.triu(a / 2))
    np.testing.assert_allclose(_np(m.weight), a)
    with P.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    m2, _ = _pair(lambda: make(tt, Symmetric, Scale), lambda: make(torch, TorchSymmetric, TorchScale), device)
    before = _np(m2.weight)
    P.remove_parametrizations(m2, "weight")
    assert type(m2) is tt.nn.Linear and "parametrizations" not in m2._modules
    assert isinstance(m2.weight, tt.nn.Parameter)
    np.testing.assert_allclose(_np(m2.weight), before)
    m3, t3 = _pair(lambda: make(tt, Symmetric, Scale), lambda: make(torch, TorchSymmetric, TorchScale), device)
    TP.remove_parametrizations(t3, "weight", leave_parametrized=False)
    P.remove_parametrizations(m3, "weight", leave_parametrized=False)
    np.testing.assert_allclose(_np(m3.weight), _np(t3.weight))


def test_errors():
    lin = tt.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        P.register_parametrization(lin, "nope", Scale())

    class Drop(tt.nn.Module):
        def forward(self, X):
            return X[0]
    with pytest.raises(ValueError, match="may not change the shape or dtype"):
        P.register_parametrization(lin, "weight", Drop())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(tt.nn.Linear(2, 2), "weight")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(device, dim):
    wn, twn = tt.nn.utils.parametrizations.weight_norm, torch.nn.utils.parametrizations.weight_norm
    m, t = _pair(lambda: wn(tt.nn.Conv2d(2, 3, 3), dim=dim), lambda: twn(torch.nn.Conv2d(2, 3, 3), dim=dim), device)
    assert list(m.state_dict()) == list(t.state_dict())
    _check_step(m, t, np.random.default_rng(2).standard_normal((2, 2, 5, 5)), device)


@pytest.mark.parametrize("device", DEVICES)
def test_spectral_norm_matches_torch(device):
    sn, tsn = tt.nn.utils.parametrizations.spectral_norm, torch.nn.utils.parametrizations.spectral_norm
    for make_tt, make_t in ((lambda: tt.nn.Linear(5, 4), lambda: torch.nn.Linear(5, 4)),
                            (lambda: tt.nn.ConvTranspose2d(3, 2, 3), lambda: torch.nn.ConvTranspose2d(3, 2, 3))):
        m, t = _pair(lambda: sn(make_tt()), lambda: tsn(make_t()), device)
        assert list(m.state_dict()) == list(t.state_dict())
        shape = (2, 5) if isinstance(t, torch.nn.Linear) else (1, 3, 4, 4)
        x = np.random.default_rng(3).standard_normal(shape)
        _check_step(m, t, x, device)   # training: one power iteration on the same buffers
        for name, b in t.named_buffers():
            np.testing.assert_allclose(_np(dict(m.named_buffers())[name]), _np(b), rtol=1e-10, atol=1e-12)
        m.eval()
        t.eval()
        np.testing.assert_allclose(_np(m(tt.tensor(x, device=device))), _np(t(torch.tensor(x))), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal(device, orth_map, shape):
    orth, torth = tt.nn.utils.parametrizations.orthogonal, torch.nn.utils.parametrizations.orthogonal
    if orth_map != "householder" or shape[0] != shape[1]:
        m, t = _pair(lambda: orth(tt.nn.Linear(shape[1], shape[0]), orthogonal_map=orth_map),
                     lambda: torth(torch.nn.Linear(shape[1], shape[0]), orthogonal_map=orth_map), device)
        assert list(m.state_dict()) == list(t.state_dict())
        # move the original away from the identity of the map, equally in both
        delta = np.random.default_rng(4).standard_normal(shape) * 0.3
        np.fill_diagonal(delta, 0.0)   # (the diagonal gets no gradient: training leaves it at -1)
        with torch.no_grad():
            t.parametrizations.weight.original.add_(torch.tensor(delta))
        with tt.no_grad():
            m.parametrizations.weight.original.add_(tt.tensor(delta, device=device))
        W = _np(m.weight)
        small = min(shape)
        gram = W @ W.T if shape[0] < shape[1] else W.T @ W
        # (the base was made orthogonal in float32, before .double(), in both libraries)
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-6)
        _check_step(m, t, np.random.default_rng(5).standard_normal((2, shape[1])), device, rtol=1e-9)
    m = orth(tt.nn.Linear(shape[1], shape[0]).double().to(device), orthogonal_map=orth_map)
    q = np.linalg.qr(np.random.default_rng(6).standard_normal((max(shape), max(shape))))[0][:shape[0], :shape[1]]
    m.weight = tt.tensor(q, device=device)   # an orthogonal matrix is kept as it is
    np.testing.assert_allclose(_np(m.weight), q, atol=1e-12)
    with pytest.raises(ValueError, match="has to be one of"):
        orth(tt.nn.Linear(3, 3), orthogonal_map="qr")


def test_transfer_parametrizations_and_params_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib):
        P = lib.nn.utils.parametrize

        class Symmetric(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).mT

        a, b, c = lib.nn.Linear(3, 3), lib.nn.Linear(3, 3), lib.nn.Module()
        with lib.no_grad():
            a.weight.copy_(lib.tensor(np.arange(9.0).reshape(3, 3), dtype=lib.float32))
        P.register_parametrization(a, "weight", Symmetric())
        assert P.transfer_parametrizations_and_params(a, b) is b
        P.transfer_parametrizations_and_params(a, c, "weight")
        plain = lib.nn.Linear(2, 2)
        assert P.transfer_parametrizations_and_params(plain, lib.nn.Linear(2, 2)) is not None
        return (b.weight.detach().numpy(), c.weight.detach().numpy(), P.is_parametrized(b, "weight"),
                P.is_parametrized(c), b.parametrizations.weight.original is a.parametrizations.weight.original,
                sorted(dict(c.named_parameters())))

    for ours, theirs in zip(run(tt), run(torch)):
        if isinstance(ours, np.ndarray):
            np.testing.assert_array_equal(ours, theirs)
        else:
            assert ours == theirs
