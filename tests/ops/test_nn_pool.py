"""Hand-written tests of the pooling family (max_pool2d, avg_pool2d, adaptive_avg_pool2d and their backward ops):
parity with torch.nn.functional forward, indices and gradients over kernel/stride/padding/dilation, ceil_mode,
count_include_pad, divisor_override and None output sizes; NaN and tie rules of max_pool2d; deterministic
backward; double backward; PyTorch's error messages. Many samples, dtypes, cuda against cpu, gradcheck and
gradgradcheck are covered by the generated tests."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F
from tritorch.ops import nn_pool
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _array(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def _parity(name, shape, kwargs, device="cpu", dtype=np.float64, rtol=1e-10, atol=1e-10, x=None):
    x = (_array(shape) if x is None else x).astype(dtype)
    ours = tt.tensor(x, device=device).requires_grad_(True)
    theirs = torch.tensor(x, requires_grad=True)
    out = getattr(F, name)(ours, **kwargs)
    ref = getattr(TF, name)(theirs, **kwargs)
    if isinstance(ref, tuple):
        assert np.array_equal(out[1]._host(), ref[1].numpy()), "indices"
        out, ref = out[0], ref[0]
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), rtol=rtol, atol=atol, msg="forward")
    weights = np.cos(np.arange(ref.numel())).reshape(tuple(ref.shape)).astype(dtype)
    (g,) = tt.autograd.grad(out, [ours], tt.tensor(weights, device=device))
    (tg,) = torch.autograd.grad(ref, [theirs], torch.tensor(weights))
    assert_close(g, tg.numpy(), rtol=rtol, atol=atol, msg="gradient")


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 8, 7), {"kernel_size": 2}),
    ((2, 3, 8, 7), {"kernel_size": 3, "stride": 1, "padding": 1, "return_indices": True}),
    ((2, 3, 9, 7), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "dilation": (2, 3),
                    "ceil_mode": True, "return_indices": True}),
    ((1, 2, 5, 5), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((3, 6, 5), {"kernel_size": 2, "stride": 1, "return_indices": True}),                  # unbatched
])
def test_max_pool2d_matches_torch(shape, kw):
    _parity("max_pool2d", shape, kw)


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 8, 7), {"kernel_size": 2}),
    ((2, 3, 8, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((2, 3, 8, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((2, 3, 8, 7), {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 1), "ceil_mode": True}),
    ((2, 3, 8, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ((2, 3, 8, 7), {"kernel_size": 2, "ceil_mode": True, "divisor_override": 3}),
    ((3, 6, 5), {"kernel_size": 2, "stride": 1}),
])
def test_avg_pool2d_matches_torch(shape, kw):
    _parity("avg_pool2d", shape, kw)


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 7), (3, 4)), ((2, 3, 7, 7), 1), ((2, 3, 5, 6), (None, 4)),
                                       ((3, 3, 4), (7, 5)), ((1, 2, 13, 11), (5, 3))])
@pytest.mark.parametrize("kron_max", [None, 0])   # one GEMM with the pooling matrix / the two stacked products
def test_adaptive_avg_pool2d_matches_torch(monkeypatch, shape, out, kron_max):
    if kron_max is not None:
        from tritorch.ops import nn_pool
        monkeypatch.setattr(nn_pool, "_KRON_MAX", kron_max)
    _parity("adaptive_avg_pool2d", shape, {"output_size": out})


def test_float32_and_cuda_match_torch():
    for device in devices():
        _parity("max_pool2d", (1, 2, 6, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True},
                device=device, dtype=np.float32, rtol=1e-6, atol=1e-6)
        _parity("avg_pool2d", (1, 2, 6, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                            "count_include_pad": False}, device=device, dtype=np.float32,
                rtol=1e-6, atol=1e-6)
        _parity("adaptive_avg_pool2d", (1, 2, 6, 5), {"output_size": (4, 3)}, device=device, dtype=np.float32,
                rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", devices())
def test_max_pool2d_nan_and_ties_follow_torch(device):
    x = np.zeros((1, 1, 4, 4))               # all ties: the first element of each window wins
    x[0, 0, 0, 1] = np.nan                   # NaN propagates
    x[0, 0, 2, 2] = x[0, 0, 3, 3] = np.nan   # several NaNs: PyTorch keeps the last one's index
    _, idx = F.max_pool2d(tt.tensor(x, device=device), 2, return_indices=True)
    out, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert np.array_equal(idx._host(), tidx.numpy())
    got = F.max_pool2d(tt.tensor(x, device=device), 2)._host()
    assert np.array_equal(np.isnan(got), np.isnan(out.numpy()))
    x = np.full((1, 1, 3, 3), -np.inf)       # a window of -inf still names an in-bounds element
    _parity("max_pool2d", None, {"kernel_size": 2, "stride": 1, "padding": 1, "return_indices": True},
            device=device, x=x)


def test_max_pool2d_backward_is_deterministic_and_sums_overlaps():
    x = _array((2, 3, 7, 7), seed=5).astype(np.float32)
    for device in devices():
        xs = tt.tensor(x, device=device).requires_grad_(True)
        grads = [tt.autograd.grad(F.max_pool2d(xs, 3, stride=1, padding=1).sum(), [xs])[0]._host()
                 for _ in range(2)]
        assert np.array_equal(grads[0], grads[1])
        tx = torch.tensor(x, requires_grad=True)
        (tg,) = torch.autograd.grad(TF.max_pool2d(tx, 3, stride=1, padding=1).sum(), [tx])
        assert_close(grads[0], tg.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kw", [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (1, 2), "dilation": (2, 1), "ceil_mode": True},
    {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True},
])
def test_max_pool2d_ties_and_infinities_follow_torch(kw):
    # few distinct values: most windows hold ties, across rows and columns (the first in row-major order wins)
    x = np.random.default_rng(3).integers(0, 3, (2, 3, 9, 8)).astype(np.float64)
    x[0, 0, :3, :3] = -np.inf   # an all -inf window (padding must not win)
    x[1, 2, 4, 5] = np.inf
    _parity("max_pool2d", None, dict(kw, return_indices=True), x=x)
    _parity("max_pool2d", None, dict(kw, return_indices=True), x=x.astype(np.float32), dtype=np.float32, rtol=1e-6,
            atol=1e-6)


def test_max_pool2d_backward_scatters_any_indices():
    # disjoint windows take a fast scatter; indices outside their own window (not made by max_pool2d) still add up
    go = _array((1, 2, 2, 2), seed=2)
    for idx in (np.zeros((1, 2, 2, 2), np.int64), np.array([[[[0, 3], [8, 11]], [[5, 5], [15, 14]]]], np.int64)):
        got = nn_pool.max_pool2d_backward_op(tt.tensor(go), tt.tensor(idx), input_size=(1, 2, 4, 4),
                                             kernel_size=2)._host()
        want = np.zeros((1, 2, 16))
        for c in range(2):
            np.add.at(want[0, c], idx[0, c].ravel(), go[0, c].ravel())
        assert_close(got, want.reshape(1, 2, 4, 4), rtol=1e-12, atol=1e-12)


def test_max_pool2d_backward_keeps_nonfinite_grads_at_their_max():
    # the disjoint-window scatter copies each gradient to its window's max only: an inf or NaN gradient must not
    # reach the window's other elements (as it would through a multiply by a 0/1 mask)
    x = _array((2, 3, 6, 4), seed=4)
    go = _array((2, 3, 3, 2), seed=5)
    go[0, 1, 2, 1], go[1, 0, 0, 0] = np.inf, np.nan
    y, idx = F.max_pool2d(tt.tensor(x), 2, return_indices=True)
    got = nn_pool.max_pool2d_backward_op(tt.tensor(go), idx, input_size=x.shape, kernel_size=2)._host()
    want = torch.ops.aten.max_pool2d_with_indices_backward(torch.tensor(go), torch.tensor(x), [2, 2], [2, 2],
                                                             [0, 0], [1, 1], False, torch.tensor(idx.numpy()))
    assert np.array_equal(np.isnan(got), np.isnan(want.numpy()))
    assert_close(got, want.numpy(), rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("name,kw", [("max_pool2d", {"kernel_size": 2, "stride": 1}),
                                     ("avg_pool2d", {"kernel_size": 2, "stride": 1, "padding": 1}),
                                     ("adaptive_avg_pool2d", {"output_size": (2, 3)})])
def test_double_backward_matches_torch(name, kw):
    x = _array((1, 2, 4, 5), seed=7)
    ours = tt.tensor(x).requires_grad_(True)
    theirs = torch.tensor(x, requires_grad=True)
    (g,) = tt.autograd.grad(getattr(F, name)(ours, **kw).square().sum(), [ours], create_graph=True)
    (tg,) = torch.autograd.grad(getattr(TF, name)(theirs, **kw).square().sum(), [theirs], create_graph=True)
    (gg,) = tt.autograd.grad((g * g).sum(), [ours])
    (tgg,) = torch.autograd.grad((tg * tg).sum(), [theirs])
    assert_close(gg, tgg.numpy(), rtol=1e-10, atol=1e-10)


def test_adaptive_zero_output_and_empty_batch():
    assert tuple(F.adaptive_avg_pool2d(tt.zeros(2, 3, 4, 4), (0, 2)).shape) == (2, 3, 0, 2)
    assert tuple(F.max_pool2d(tt.zeros(0, 3, 4, 4), 2).shape) == (0, 3, 2, 2)
    assert tuple(F.avg_pool2d(tt.zeros(0, 3, 4, 4), 2).shape) == (0, 3, 2, 2)


def test_public_names():
    for name in ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"):
        assert getattr(F, name) is getattr(nn_pool, name)


# ------------------------------------------------------------------------------------------------- errors

X = (2, 3, 5, 5)

ERROR_CASES = [
    ("max_pool2d", (2, 3), {"kernel_size": 2}),
    ("max_pool2d", X, {"kernel_size": (2, 2, 2)}),
    ("max_pool2d", X, {"kernel_size": 2, "stride": (1, 1, 1)}),
    ("max_pool2d", X, {"kernel_size": 2, "padding": (1, 1, 1)}),
    ("max_pool2d", X, {"kernel_size": 2, "dilation": (1, 1, 1)}),
    ("max_pool2d", X, {"kernel_size": 0}),
    ("max_pool2d", X, {"kernel_size": 2, "stride": 0}),
    ("max_pool2d", X, {"kernel_size": 2, "dilation": 0}),
    ("max_pool2d", X, {"kernel_size": 2, "padding": 2}),
    ("max_pool2d", X, {"kernel_size": 7}),
    ("max_pool2d", X, {"kernel_size": 2, "padding": -1}),
    ("max_pool2d", (2, 0, 5, 5), {"kernel_size": 2}),
    ("avg_pool2d", X, {"kernel_size": (2, 2, 2)}),
    ("avg_pool2d", X, {"kernel_size": 2, "stride": (1, 1, 1)}),
    ("avg_pool2d", X, {"kernel_size": 2, "padding": 2}),
    ("avg_pool2d", X, {"kernel_size": 7}),
    ("avg_pool2d", X, {"kernel_size": 2, "divisor_override": 0}),
    ("avg_pool2d", (2, 0, 5, 5), {"kernel_size": 2}),
    ("adaptive_avg_pool2d", (2, 3), {"output_size": 2}),
    ("adaptive_avg_pool2d", X, {"output_size": (2, 2, 2)}),
    ("adaptive_avg_pool2d", X, {"output_size": -1}),
    ("adaptive_avg_pool2d", (2, 3, 0, 4), {"output_size": 2}),
]


@pytest.mark.parametrize("name,shape,kw", ERROR_CASES)
def test_errors_match_torch(name, shape, kw):
    x = _array(shape).astype(np.float32)
    with pytest.raises(Exception) as expected:
        getattr(TF, name)(torch.tensor(x), **kw)
    with pytest.raises(type(expected.value)) as got:
        getattr(F, name)(tt.tensor(x), **kw)
    assert str(got.value) == str(expected.value)


def test_max_pool_2x2_path_equals_the_general_one():
    # the 2x2 / stride 2 shortcut (_np_max_pool_2x2) against the general two-stage path, with ties in every window
    # position and both orientations; NaN and -inf windows take the sequential rule (checked by the samples)
    from tritorch.ops import nn_pool as P
    rng = np.random.default_rng(7)
    for shape in ((2, 3, 4, 6), (1, 1, 2, 2), (3, 2, 8, 2)):
        x = rng.integers(-2, 3, shape).astype(np.float32)      # few distinct values: ties everywhere
        g = P._pool_geom("max_pool2d", shape, 2, None, 0, 1, False)
        best, idx = P._np_max_pool_2x2(x, g)
        want_best, want_idx = P._np_max_pool_first(x, g)
        np.testing.assert_array_equal(best, want_best)
        np.testing.assert_array_equal(idx.reshape(want_idx.shape), want_idx)
        y, i = tt.nn.functional.max_pool2d(tt.tensor(x), 2, return_indices=True)
        np.testing.assert_array_equal(i.numpy(), want_idx.reshape(i.shape))
