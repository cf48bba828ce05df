"""Hand-written tests of dropout: the same seed gives bitwise the same mask on cpu and cuda, manual_seed makes it
repeatable, the mask follows tt.rand's Philox stream, p=0 / p=1 / training=False, inplace=True, generator=,
the backward (grad * mask / (1 - p)) and errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_dropout as D
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()


def _host(x):
    return np.asarray(x.detach()._host())


@pytest.mark.skipif("cuda" not in DEVICES, reason="no cuda device (GPU or interpreter)")
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64, tt.float16])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_same_seed_same_mask_on_cpu_and_cuda(dtype, p):
    shape = (7, 2 ** 6 + 17)
    x = np.random.default_rng(0).uniform(0.5, 1.5, shape)
    tt.manual_seed(1234)
    a = D.dropout(tt.tensor(x, dtype=dtype), p)
    tt.manual_seed(1234)
    b = D.dropout(tt.tensor(x, dtype=dtype, device="cuda"), p)
    ma, mb = _host(a) != 0, _host(b) != 0
    assert np.array_equal(ma, mb)
    assert_close(b, _host(a), rtol=1e-3 if dtype is tt.float16 else 1e-6, atol=0)
    kept = ma.mean()
    assert abs(kept - (1 - p)) < 0.05


@pytest.mark.parametrize("device", DEVICES)
def test_manual_seed_repeats_and_calls_advance(device):
    x = tt.ones(300, device=device)
    tt.manual_seed(7)
    a = _host(D.dropout(x, 0.5))
    b = _host(D.dropout(x, 0.5))
    tt.manual_seed(7)
    c = _host(D.dropout(x, 0.5))
    assert np.array_equal(a, c)
    assert not np.array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}


@pytest.mark.parametrize("device", DEVICES)
def test_mask_is_tt_rand_stream(device):
    """Element j is kept when the j-th value tt.rand draws from the same state is >= p."""
    tt.manual_seed(99)
    u = _host(tt.rand(5, 13, device=device))
    tt.manual_seed(99)
    y = _host(D.dropout(tt.ones(5, 13, device=device), 0.3))
    assert np.array_equal(y != 0, u >= np.float32(0.3))


@pytest.mark.parametrize("device", DEVICES)
def test_p0_p1_and_eval(device):
    x = tt.tensor(np.arange(1.0, 13.0).reshape(3, 4), device=device)
    assert D.dropout(x, 0.0) is x
    assert D.dropout(x, 0.7, training=False) is x
    xr = x.clone().requires_grad_(True)
    y = D.dropout(xr, 1.0)
    assert np.all(_host(y) == 0)
    y.sum().backward()
    assert np.all(_host(xr.grad) == 0)


@pytest.mark.parametrize("device", DEVICES)
def test_backward_is_grad_times_mask_over_keep(device):
    x = tt.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 9)), device=device).requires_grad_(True)
    tt.manual_seed(3)
    y = D.dropout(x, 0.4)
    g = np.cos(np.arange(54.0)).reshape(6, 9)
    y.backward(tt.tensor(g, device=device))
    mask = _host(y) != 0
    assert_close(x.grad, g * mask / 0.6, rtol=1e-12, atol=0)
    (gx,) = tt.autograd.grad(D.dropout_op(x, 0.4, seed=5, offset=8).sum(), x)
    assert_close(gx, _host(D.dropout_op(tt.ones(6, 9, dtype=tt.float64, device=device), 0.4, seed=5, offset=8)))
    assert tt.autograd.gradgradcheck(lambda a: D.dropout_op(a, 0.4, seed=5, offset=8),
                                     [tt.tensor(np.ones((2, 3)), device="cpu").requires_grad_(True)])


@pytest.mark.parametrize("device", DEVICES)
def test_inplace(device):
    base = np.random.default_rng(2).uniform(1, 2, (4, 5))
    x = tt.tensor(base, device=device)
    tt.manual_seed(11)
    r = D.dropout(x, 0.5, inplace=True)
    assert r is x
    tt.manual_seed(11)
    expected = _host(D.dropout(tt.tensor(base, device=device), 0.5))
    assert np.array_equal(_host(x), expected)
    # in place on a non-leaf under autograd: the gradient still flows with the same mask
    leaf = tt.tensor(base, device=device).requires_grad_(True)
    h = leaf * 1.0
    tt.manual_seed(11)
    D.dropout(h, 0.5, inplace=True)
    h.sum().backward()
    assert np.array_equal(_host(leaf.grad) != 0, expected != 0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        D.dropout(tt.ones(3, requires_grad=True, device=device), 0.5, inplace=True)


@pytest.mark.parametrize("device", DEVICES)
def test_generator_keyword(device):
    g1 = tt.Generator().manual_seed(5)
    g2 = tt.Generator().manual_seed(5)
    x = tt.ones(64, device=device)
    a = _host(D.dropout(x, 0.5, generator=g1))
    b = _host(D.dropout(x, 0.5, generator=g2))
    assert np.array_equal(a, b)
    assert g1.get_offset() == 64


@pytest.mark.skipif("cuda" not in DEVICES, reason="no cuda device (GPU or interpreter)")
def test_noncontiguous_input_uses_logical_order():
    a = np.random.default_rng(3).uniform(1, 2, (6, 8))
    xc = tt.tensor(a).t()
    xg = tt.tensor(a, device="cuda").t()
    ya = _host(D.dropout_op(xc, 0.5, seed=21, offset=4))
    yb = _host(D.dropout_op(xg, 0.5, seed=21, offset=4))
    assert np.array_equal(ya, yb)
    keep = D.keep_mask_np(21, 4, 48, 0.5).reshape(8, 6)
    assert np.array_equal(ya != 0, keep)


def test_errors():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        D.dropout(tt.ones(3), 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        D.dropout(tt.ones(3), -0.1)
    with pytest.raises(RuntimeError, match='"dropout" not implemented for \'Long\''):
        D.dropout(tt.tensor([1, 2]), 0.5)


@pytest.mark.parametrize("p", [0.0, 1e-9, 4.6566127342e-10, 0.1, 0.123456789, 0.5, 0.7, 1 - 1e-7, 1 - 1e-10, 1.0])
def test_cpu_keep_mask_decided_on_integers_matches_the_uniform_floats(p):
    """keep_mask_np compares the draws' integers with a threshold instead of forming the kernel's uniform floats:
    the mask must be the float comparison's, bit for bit (tl.uint_to_uniform_float's steps, in NumPy)."""
    from tritorch.ops import nn_dropout, random as R
    n = 70001
    for seed in (1, 2 ** 40 + 3):
        x = R._draws_np(seed, 16, n, False)[:n].view(np.int32)
        folded = (x ^ (x >> 31)).astype(np.float32) * np.float32(4.6566127342e-10)
        np.testing.assert_array_equal(nn_dropout.keep_mask_np(seed, 16, n, p), folded >= np.float32(p))


def test_cpu_forward_keeps_the_mask_for_its_backward(monkeypatch):
    """Under autograd the cpu forward keeps its mask bit-packed and the backward's identical call takes it (no
    second Philox run); the gradient is the regenerated mask's, bit for bit; without grad nothing is kept; the
    store is bounded by bytes, oldest first. SDPA's attention dropout shares it."""
    D._KEPT.clear()
    D._KEPT_BYTES[0] = 0
    x = tt.randn(64, 33, requires_grad=True)
    tt.manual_seed(5)
    y = tt.nn.functional.dropout(x, 0.3)
    assert len(D._KEPT) == 1 and D._KEPT_BYTES[0] == -(-64 * 33 // 8)
    draws = []
    real_draws = D._random._draws_np
    monkeypatch.setattr(D._random, "_draws_np", lambda *a: draws.append(a) or real_draws(*a))
    y.backward(tt.ones_like(y))
    assert not draws and not D._KEPT and D._KEPT_BYTES[0] == 0
    monkeypatch.undo()
    tt.manual_seed(5)
    with tt.no_grad():
        z = tt.nn.functional.dropout(tt.ones(64, 33), 0.3)
    assert not D._KEPT
    np.testing.assert_array_equal(x.grad.numpy(), z.numpy())     # the kept mask is the regenerated one
    monkeypatch.setattr(D, "_KEPT_MAX_BYTES", 1000)
    for _ in range(5):                                            # forwards whose backward never runs
        tt.nn.functional.dropout(tt.randn(100, 40, requires_grad=True), 0.5)
    assert D._KEPT_BYTES[0] <= 1000 and len(D._KEPT) == 2
    D._KEPT.clear()
    D._KEPT_BYTES[0] = 0
    q = tt.randn(2, 2, 9, 8, requires_grad=True)
    tt.manual_seed(1)
    out = tt.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.4)
    assert len(D._KEPT) == 1
    out.sum().backward()
    assert not D._KEPT

