"""tritorch.nn.init (formulas, bounds, generator, no_grad) and tritorch.nn.utils vs PyTorch."""
import math

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
from tritorch.nn import init

torch = pytest.importorskip("torch")


def test_calculate_gain_and_fans_match_torch():
    for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                      ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(nl, param) == torch.nn.init.calculate_gain(nl, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    for shape in [(3, 4), (5, 2, 3, 3), (2, 3, 4)]:
        assert init._calculate_fan_in_and_fan_out(tt.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tt.empty(3))


def test_initialisers_bounds_and_moments():
    w = tt.empty(64, 32)
    init.uniform_(w, -0.5, 0.25)
    a = w.numpy()
    assert a.min() >= -0.5 and a.max() < 0.25 and abs(a.mean() + 0.125) < 0.02
    init.normal_(w, 1.0, 0.5)
    assert abs(w.numpy().mean() - 1.0) < 0.03 and abs(w.numpy().std() - 0.5) < 0.03
    init.constant_(w, 0.3)
    assert np.all(w.numpy() == np.float32(0.3))
    init.zeros_(w)
    assert not w.numpy().any()
    init.ones_(w)
    assert np.all(w.numpy() == 1)
    bound = math.sqrt(6 / (64 + 32))
    init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= bound and abs(w.numpy().std() - bound / math.sqrt(3)) < 0.1 * bound
    init.xavier_normal_(w, gain=2.0)
    assert abs(w.numpy().std() - 2 * math.sqrt(2 / 96)) < 0.02
    init.kaiming_uniform_(w, a=math.sqrt(5))
    kb = math.sqrt(6 / ((1 + 5) * 32))
    assert np.abs(w.numpy()).max() <= kb
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 64)) < 0.02
    init.trunc_normal_(w, mean=0.5, std=1.0, a=0.0, b=1.5)
    assert w.numpy().min() >= 0.0 and w.numpy().max() <= 1.5
    init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), np.eye(64, 32, dtype=np.float32))
    with pytest.raises(ValueError, match="Mode fan_x not supported"):
        init.kaiming_uniform_(w, mode="fan_x")


def test_trunc_normal_matches_truncated_distribution():
    w = tt.empty(20000, dtype=tt.float64)
    init.trunc_normal_(w, std=1.0, a=-1.0, b=2.0)
    a = w.numpy()
    # the truncated standard normal's mean on [-1, 2]: (phi(-1) - phi(2)) / (Phi(2) - Phi(-1))
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    expected = (phi(-1) - phi(2)) / (Phi(2) - Phi(-1))
    assert a.min() >= -1 and a.max() <= 2 and abs(a.mean() - expected) < 0.02


def test_orthogonal():
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        w = tt.empty(*shape)
        init.orthogonal_(w, gain=2.0)
        m = w.numpy().reshape(shape[0], -1)
        gram = m @ m.T if shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(tt.empty(3))


def test_init_uses_generator_and_no_grad():
    p = nn.Parameter(tt.empty(5, 3))
    g1, g2 = tt.Generator().manual_seed(7), tt.Generator().manual_seed(7)
    init.kaiming_uniform_(p, generator=g1)
    first = p.detach().numpy().copy()
    init.kaiming_uniform_(p, generator=g2)
    np.testing.assert_array_equal(p.detach().numpy(), first)
    assert p.is_leaf and p.grad_fn is None  # the in-place fill on a leaf that requires grad was not recorded
    tt.manual_seed(3)
    a = nn.Linear(4, 4).weight.detach().numpy().copy()
    tt.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.detach().numpy(), a)


def test_init_on_cuda():
    w = tt.empty(3, 4, device="cuda")
    init.xavier_uniform_(w)
    assert w.device.type == "cuda" and np.abs(w.cpu().numpy()).max() <= math.sqrt(6 / 7)
    init.trunc_normal_(w, std=0.1)
    assert np.abs(w.cpu().numpy()).max() <= 2.0


# --------------------------------------------------------------------------------------------- utils

def _model_pair():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    (m(tt.tensor(x)) * 10).square().sum().backward()
    # the clipping functions are under test, so both start from the same gradients (float32 backward passes
    # differ in their last bits, and by ~1e-4 relative where a gradient element cancels)
    for p, tp in zip(m.parameters(), tm.parameters()):
        tp.grad = torch.tensor(p.grad.numpy().copy())
    return tm, m


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3])
def test_clip_grad_norm_matches_torch(norm_type):
    tm, m = _model_pair()
    t_total = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5, norm_type)
    total = nn.utils.clip_grad_norm_(m.parameters(), 0.5, norm_type)
    assert isinstance(total, tt.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=1e-5)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_no_clip_single_tensor_and_errors():
    tm, m = _model_pair()
    before = [p.grad.numpy().copy() for p in m.parameters()]
    nn.utils.clip_grad_norm_(m.parameters(), 1e9)
    for b, p in zip(before, m.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), b, rtol=1e-6)
    p = nn.Parameter(tt.ones(3))
    p.grad = tt.full((3,), 2.0)
    assert abs(nn.utils.clip_grad_norm_(p, 1.0).item() - math.sqrt(12)) < 1e-5
    np.testing.assert_allclose(p.grad.numpy(), np.full(3, 2 / (math.sqrt(12) + 1e-6)), rtol=1e-5)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    p.grad = tt.tensor([float("nan"), 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_cuda():
    p = nn.Parameter(tt.ones(4, device="cuda"))
    p.grad = tt.full((4,), 3.0, device="cuda")
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.device.type == "cuda" and abs(total.item() - 6.0) < 1e-5
    np.testing.assert_allclose(p.grad.cpu().numpy(), np.full(4, 3 / (6 + 1e-6)), rtol=1e-5)


def test_clip_grad_value():
    tm, m = _model_pair()
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.1)
    nn.utils.clip_grad_value_(m.parameters(), 0.1)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_parameters_vector_round_trip():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    m.load_state_dict(tm.state_dict())
    np.testing.assert_allclose(nn.utils.parameters_to_vector(m.parameters()).detach().numpy(),
                               torch.nn.utils.parameters_to_vector(tm.parameters()).detach().numpy())
    new = tt.arange(vec.numel(), dtype=tt.float32)
    nn.utils.vector_to_parameters(new, m.parameters())
    assert m[0].weight.tolist()[0] == [0.0, 1.0, 2.0] and m[1].bias.tolist() == [24.0, 25.0]
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], m.parameters())
