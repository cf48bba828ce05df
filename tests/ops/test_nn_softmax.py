"""Hand-written tests of softmax / log_softmax: parity with torch.nn.functional (forward and gradients), double
backward, the online (chunked) path for rows longer than a block, the legacy implicit dim, methods and errors."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_softmax as S
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()
torch = pytest.importorskip("torch")
F = torch.nn.functional


def _pair(shape, device, dtype=tt.float64, seed=0, noncontig=False):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-3, 3, size=shape)
    x = tt.tensor(a, dtype=dtype, device=device)
    if noncontig:
        x = x.transpose(0, -1)
        a = np.swapaxes(a, 0, -1)
    return x.requires_grad_(True), torch.tensor(np.ascontiguousarray(a), dtype=getattr(torch, dtype.name),
                                                 requires_grad=True)


def _host(x):
    return np.asarray(x.detach()._host()).astype(np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim,noncontig", [((4, 9), -1, False), ((4, 9), 0, False), ((2, 3, 5), 1, False),
                                                  ((3, 4, 5), 2, True)])
def test_forward_and_grad_match_torch(device, name, shape, dim, noncontig):
    x, tx = _pair(shape, device, noncontig=noncontig)
    y = getattr(S, name)(x, dim)
    ty = getattr(F, name)(tx, dim)
    assert_close(y, ty.detach().numpy())
    w = np.cos(np.arange(ty.numel())).reshape(ty.shape)
    (g,) = tt.autograd.grad(y, x, tt.tensor(w, device=device))
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(w))
    assert_close(g, tg.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_double_backward_matches_torch(device, name):
    x, tx = _pair((3, 6), device, seed=1)
    w = np.sin(np.arange(18.0)).reshape(3, 6)
    v = np.cos(np.arange(18.0)).reshape(3, 6)
    fn = getattr(S, name)
    (g,) = tt.autograd.grad(fn(x, 1), x, tt.tensor(w, device=device), create_graph=True)
    (gg,) = tt.autograd.grad(g, x, tt.tensor(v, device=device))
    (tg,) = torch.autograd.grad(getattr(F, name)(tx, 1), tx, torch.tensor(w), create_graph=True)
    (tgg,) = torch.autograd.grad(tg, tx, torch.tensor(v))
    assert_close(g, tg.detach().numpy(), rtol=1e-7, atol=1e-9)
    assert_close(gg, tgg.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradgradcheck(name):
    x = tt.tensor(np.random.default_rng(2).uniform(-2, 2, (2, 5)), requires_grad=True)
    fn = getattr(S, name)
    assert tt.autograd.gradgradcheck(lambda a: fn(a, -1), [x])


@pytest.mark.skipif("cuda" not in DEVICES, reason="no cuda device (GPU or interpreter)")
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3, 2 ** 6 + 17), 1), ((2 ** 6 + 17, 3), 0)])
def test_long_rows_take_the_online_path(monkeypatch, name, shape, dim):
    """Rows longer than ROW_BLOCK_MAX are reduced online in chunks (shrunk here so that the interpreter stays fast)."""
    monkeypatch.setattr(S, "ROW_BLOCK_MAX", 16)
    assert not S.row_blocks(3, shape[dim])[2]
    a = np.random.default_rng(3).uniform(-20, 20, shape)
    a[0, 0] = -np.inf
    x = tt.tensor(a, dtype=tt.float32, device="cuda").requires_grad_(True)
    tx = torch.tensor(a, dtype=torch.float32, requires_grad=True)
    y = getattr(S, name)(x, dim)
    ty = getattr(F, name)(tx, dim)
    assert_close(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = np.cos(np.arange(a.size)).reshape(shape).astype(np.float32)
    (g,) = tt.autograd.grad(y, x, tt.tensor(w, device="cuda"))
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(w))
    assert_close(g, tg.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((37, 9), -1), ((9, 37), 0), ((6, 5, 7), 1)])
def test_numpy_row_blocks_on_the_thread_pool(monkeypatch, name, shape, dim):
    """Row blocks of a few rows each, run on the thread pool: forward and gradient as in one block, with an all
    -inf row (nan, as in PyTorch) and a -inf entry in other rows."""
    monkeypatch.setattr(S, "_NP_CHUNK", 20)
    monkeypatch.setattr(S, "_NP_PARALLEL_MIN", 0)
    a = np.random.default_rng(6).uniform(-3, 3, shape)
    lead = (slice(None),) * (dim % len(shape))
    a[lead + (0,)] = -np.inf           # one entry of every row along dim
    if dim == -1:
        a[1] = -np.inf                 # and one all -inf row
    x = tt.tensor(a).requires_grad_(True)
    tx = torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(S, name)(x, dim)
        ty = getattr(F, name)(tx, dim)
        assert_close(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        w = np.cos(np.arange(y.numel())).reshape(shape)
        finite = np.isfinite(ty.detach().numpy()).all(axis=dim, keepdims=True)
        w = np.where(finite, w, 0.0)     # no gradient through the nan row
        (g,) = tt.autograd.grad(y, [x], tt.tensor(w))
        (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(w))
    assert_close(np.where(finite, _host(g), 0.0), np.where(finite, tg.numpy(), 0.0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_half_inputs_accumulate_in_fp32(device):
    a = np.random.default_rng(4).uniform(-8, 8, (3, 300)).astype(np.float32)
    for dt, tdt in ((tt.float16, torch.float16), (tt.bfloat16, torch.bfloat16)):
        x = tt.tensor(a, device=device).to(dt)
        y = S.softmax(x, -1)
        assert y.dtype is dt
        # torch gets the same 16-bit inputs (the interpreter rounds fp32 -> bf16 ties its own way)
        ty = F.softmax(torch.tensor(np.asarray(x.to(tt.float32)._host())).to(tdt), -1)
        assert_close(y.to(tt.float32), ty.float().numpy(), rtol=1.6e-2 if dt is tt.bfloat16 else 1e-3, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_dtype_argument_casts_first(device):
    x = tt.tensor([[1.0, 2.0, 3.0]], dtype=tt.float16, device=device)
    y = S.log_softmax(x, 1, dtype=tt.float64)
    assert y.dtype is tt.float64
    ty = F.log_softmax(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float16), 1, dtype=torch.float64)
    assert_close(y, ty.numpy(), rtol=1e-12, atol=1e-12)
    i = tt.tensor([1, 2, 3], device=device)
    assert_close(S.softmax(i, 0, dtype=tt.float32), F.softmax(torch.tensor([1, 2, 3]), 0, dtype=torch.float32).numpy())


def test_implicit_dim_follows_pytorch_legacy_rule():
    for shape, dim in (((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)):
        a = np.random.default_rng(5).uniform(-1, 1, shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            y = S.softmax(tt.tensor(a))
        assert_close(y, F.softmax(torch.tensor(a), dim).numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_edge_values(device):
    x = tt.tensor([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = x.softmax(1)
        ly = x.log_softmax(-1)
    tx = torch.tensor([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    assert_close(y, tx.softmax(1).numpy())          # an all -inf row is nan, as in PyTorch
    assert_close(ly, tx.log_softmax(-1).numpy())
    s = tt.tensor(2.5, device=device)
    assert s.softmax(0).item() == 1.0 and s.log_softmax(-1).item() == 0.0


@pytest.mark.parametrize("device", DEVICES)
def test_out_argument(device):
    x = tt.tensor([[1.0, 2.0], [3.0, 5.0]], device=device)
    out = tt.empty(2, 2, dtype=tt.float64, device=device)
    r = S.softmax_op(x, 1, out=out)
    assert r is out
    assert_close(out, F.softmax(torch.tensor([[1.0, 2.0], [3.0, 5.0]]), 1).double().numpy(), rtol=1e-6, atol=1e-7)


def test_errors_match_pytorch():
    with pytest.raises(NotImplementedError, match='"softmax_lastdim_kernel_impl" not implemented for \'Long\''):
        S.softmax(tt.tensor([1, 2]), 0)
    with pytest.raises(NotImplementedError, match='"log_softmax_kernel_impl" not implemented for \'Long\''):
        S.log_softmax(tt.ones(2, 3), 0, dtype=tt.int64)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        S.softmax(tt.ones(2, 3), 2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_numpy_row_sums_by_blas(monkeypatch, name):
    """The last-dim row sums as BLAS products (at every size), one block and several blocks on the thread pool:
    values and gradients as PyTorch's."""
    for chunk, parallel_min in ((S._NP_CHUNK, S._NP_PARALLEL_MIN), (40, 0)):
        monkeypatch.setattr(S, "_NP_CHUNK", chunk)
        monkeypatch.setattr(S, "_NP_PARALLEL_MIN", parallel_min)
        x, tx = _pair((11, 13), "cpu")
        y, ty = getattr(S, name)(x, -1), getattr(F, name)(tx, -1)
        assert_close(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        w = np.cos(np.arange(y.numel())).reshape(11, 13)
        (g,) = tt.autograd.grad(y, [x], tt.tensor(w))
        (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(w))
        assert_close(_host(g), tg.numpy(), rtol=1e-12, atol=1e-12)


def test_log_softmax_cpu_backward_reuses_the_forward_softmax():
    """On cpu the forward keeps its softmax for the backward (no exp of the output there); a second backward
    through the retained graph recomputes it; the backward op gives the same with and without probs=."""
    x, tx = _pair((6, 9), "cpu")
    y, ty = S.log_softmax(x, 1), F.log_softmax(tx, 1)
    w = tt.tensor(np.cos(np.arange(54.0)).reshape(6, 9))
    (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(w.numpy()))
    (g1,) = tt.autograd.grad(y, [x], w, retain_graph=True)
    (g2,) = tt.autograd.grad(y, [x], w)
    assert_close(_host(g1), tg.numpy(), rtol=1e-12, atol=1e-12)
    assert_close(_host(g2), tg.numpy(), rtol=1e-12, atol=1e-12)
    yd = y.detach()
    with_p = S.log_softmax_backward_op(w, yd, 1, probs=yd.exp())
    assert_close(with_p, S.log_softmax_backward_op(w, yd, 1).numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="probs"):
        S.log_softmax_backward_op(w, yd, 1, probs=yd[:3])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [-1, 0])
def test_cpu_softmax_without_the_row_max_falls_back_where_it_must(name, dim):
    """A cpu block of >= S._UNSHIFTED_MIN elements skips the row max; the row sums (softmax: one infinite, NaN or
    below S._SUM_MIN) or the log-sum-exps (log_softmax: one outside +-NO_SHIFT_MAX) send a block with overflowing,
    NaN, infinite, large or all-very-negative rows back through the max. Every row matches PyTorch, and no NumPy
    warning is raised."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((64, 512)).astype(np.float32) * 3
    a[1] += 60.0                        # large but safe: exp(x) stays normal and finite
    a[2, 7] = 1000.0                    # overflows exp
    a[3, 5] = np.nan
    a[4] = -np.inf
    a[5, :] = -200.0                    # every exp(x) is 0 or subnormal: sum below _SUM_MIN
    a[5, 9] = -150.0
    a[6, 3] = np.inf
    if dim == 0:
        a = np.ascontiguousarray(a.T)
    good = np.ascontiguousarray(np.delete(a, [2, 3, 4, 5, 6], axis=1 - (dim % 2)))
    assert good.size >= S._UNSHIFTED_MIN
    ta = torch.tensor(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(tt, name)(tt.tensor(a), dim).numpy()
        clean = getattr(tt, name)(tt.tensor(good), dim).numpy()
    # against PyTorch in float64 (its NaN rows included): float32 PyTorch is itself up to 2e-6 off in the small
    # probabilities (x - max rounds), more than this path; log-probabilities near 0 are held to an absolute bound
    want = getattr(F, name)(ta.double(), dim).numpy()
    atol = 2e-6 if name == "log_softmax" else 1e-30
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=atol, equal_nan=True)
    assert np.isnan(want).any()          # the NaN / -inf / +inf rows are NaN in both
    # the first try, on a block whose rows need no max (softmax: the +60 row too; log_softmax falls back for it)
    np.testing.assert_allclose(clean, getattr(F, name)(torch.tensor(good).double(), dim).numpy(), rtol=2e-6,
                               atol=atol)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_cpu_softmax_of_a_few_elements(name):
    """Up to S._TINY elements the row max is subtracted directly; a row whose max is not finite (inf, NaN, all
    -inf) goes the general way. Every row as PyTorch's, no NumPy warning, and the log_softmax backward (which
    reuses the forward's softmax) as PyTorch's."""
    rows = [[0.5, -1.0, 2.0], [1000.0, 0.0, -1000.0], [np.inf, 0.0, 1.0], [np.nan, 0.0, 1.0],
            [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0]]
    for r in rows + [rows]:
        a = np.array(r, np.float32)
        assert a.size <= S._TINY
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = getattr(tt, name)(tt.tensor(a), -1).numpy()
        want = getattr(F, name)(torch.tensor(a), -1).numpy()
        np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7, equal_nan=True)
    x = tt.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    tx = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    g = np.array([[1.0, -2.0, 0.5]], np.float32)
    (getattr(tt, name)(x, 1) * tt.tensor(g)).sum().backward()
    (getattr(F, name)(tx, 1) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)
