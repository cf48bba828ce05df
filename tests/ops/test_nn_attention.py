"""scaled_dot_product_attention: parity with torch.nn.functional (forward and gradients) at sequence lengths that
are and are not multiples of the tile, a fully masked row, causal, GQA, masks, dropout across devices, errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_attention as A
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
F = torch.nn.functional
DEVICES = devices()


def _arrays(shape_q, shape_k, shape_v, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s).astype(np.float32) for s in (shape_q, shape_k, shape_v)]


def _run_both(q, k, v, mask=None, device="cpu", **kw):
    """Forward and gradients (weighted sum of the output) from tritorch on `device` and from torch."""
    w = np.cos(np.arange(np.prod(q.shape[:-1]) * v.shape[-1])).reshape(q.shape[:-1] + v.shape[-1:]).astype(np.float32)
    tq, tk, tv = (tt.tensor(a, device=device, requires_grad=True) for a in (q, k, v))
    tm = None if mask is None else tt.tensor(mask, device=device)
    out = A.scaled_dot_product_attention(tq, tk, tv, tm, **kw)
    out.backward(tt.tensor(w, device=device))
    pq, pk, pv = (torch.from_numpy(a).requires_grad_(True) for a in (q, k, v))
    pm = None if mask is None else torch.from_numpy(mask)
    ref = F.scaled_dot_product_attention(pq, pk, pv, pm, **kw)
    ref.backward(torch.from_numpy(w))
    got = [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in (tq, tk, tv)]
    want = [ref.detach().numpy()] + [t.grad.numpy() for t in (pq, pk, pv)]
    return got, want


def _check(got, want, rtol=1e-4, atol=2e-5):
    for name, g, w in zip(("out", "dq", "dk", "dv"), got, want):
        assert_close(g, w, rtol=rtol, atol=atol, msg=f"{name}:")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("L,S", [(16, 16), (5, 37), (33, 7)])
def test_lengths_vs_torch(device, L, S):
    # 16 x 16 tiles: 16 is one whole tile, 37 and 33 end in partial tiles
    q, k, v = _arrays((1, 2, L, 8), (1, 2, S, 8), (1, 2, S, 8), seed=L * 100 + S)
    with A.tiles(16, 16):
        _check(*_run_both(q, k, v, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_causal_vs_torch(device):
    q, k, v = _arrays((2, 1, 21, 4), (2, 1, 18, 4), (2, 1, 18, 4), seed=1)
    with A.tiles(16, 16):
        _check(*_run_both(q, k, v, device=device, is_causal=True))


@pytest.mark.parametrize("device", DEVICES)
def test_fully_masked_row_gives_zero_like_torch(device):
    # PyTorch's math backend gives NaN for a row whose keys are all masked; its functional CPU result (the one
    # compared here) is 0 for the output and the gradients, and tritorch follows that.
    q, k, v = _arrays((1, 1, 6, 4), (1, 1, 19, 4), (1, 1, 19, 4), seed=2)
    mask = np.random.default_rng(3).random((6, 19)) > 0.4
    mask[3] = False
    with A.tiles(16, 16):
        got, want = _run_both(q, k, v, mask, device=device)
    _check(got, want)
    assert np.all(got[0][0, 0, 3] == 0) and np.all(got[1][0, 0, 3] == 0)
    add = np.where(mask, 0.0, -np.inf).astype(np.float32)
    with A.tiles(16, 16):
        _check(*_run_both(q, k, v, add, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_gqa_and_additive_mask_vs_torch(device):
    q, k, v = _arrays((1, 4, 9, 16), (1, 2, 11, 16), (1, 1, 11, 16), seed=4)
    mask = np.random.default_rng(5).uniform(-2, 2, (4, 1, 11)).astype(np.float32)
    with A.tiles(16, 16):
        _check(*_run_both(q, k, v, mask, device=device, enable_gqa=True, scale=0.3))


def test_mask_gradient_vs_torch():
    q, k, v = _arrays((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), seed=6)
    m = np.random.default_rng(7).uniform(-1, 1, (3, 5)).astype(np.float32)
    tm = tt.tensor(m, requires_grad=True)
    out = A.scaled_dot_product_attention(*(tt.tensor(a) for a in (q, k, v)), tm)
    out.sum().backward()
    pm = torch.from_numpy(m).requires_grad_(True)
    F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)), pm).sum().backward()
    assert_close(tm.grad.numpy(), pm.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_cuda_vs_torch(dtype):
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    q, k, v = _arrays((1, 1, 17, 16), (1, 1, 20, 16), (1, 1, 20, 16), seed=8)
    d = getattr(tt, dtype)
    with A.tiles(16, 16):
        out = A.scaled_dot_product_attention(*(tt.tensor(a, dtype=d, device="cuda") for a in (q, k, v)),
                                             is_causal=True)
    ref = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)), is_causal=True)
    assert out.dtype is d
    tol = 1e-2 if dtype == "float16" else 5e-2
    assert_close(out.float().cpu().numpy(), ref.numpy(), rtol=tol, atol=tol)


def test_two_and_three_dim_inputs():
    q, k, v = _arrays((3, 4), (5, 4), (5, 2), seed=9)
    _check(*_run_both(q, k, v))
    q, k, v = _arrays((2, 3, 4), (2, 5, 4), (2, 5, 2), seed=10)
    _check(*_run_both(q, k, v, is_causal=True))


def test_dropout_same_on_both_devices_and_matches_rand():
    q, k, v = _arrays((1, 2, 6, 4), (1, 2, 7, 4), (1, 2, 7, 4), seed=11)
    outs = []
    for device in DEVICES:
        tt.manual_seed(123)
        outs.append(A.scaled_dot_product_attention(*(tt.tensor(a, device=device) for a in (q, k, v)),
                                                   dropout_p=0.4).cpu().numpy())
    # the keep decisions are the uniforms tritorch.rand draws from the same state, kept where u >= p
    tt.manual_seed(123)
    u = tt.rand(1, 2, 6, 7).numpy()
    s = q @ np.swapaxes(k, -1, -2) / 2.0
    pr = np.exp(s - s.max(-1, keepdims=True))
    pr /= pr.sum(-1, keepdims=True)
    want = (pr * (u >= np.float32(0.4)) / 0.6) @ v
    for o in outs:
        assert_close(o, want, rtol=1e-5, atol=1e-6)
    if len(outs) == 2:
        assert_close(outs[0], outs[1], rtol=1e-6, atol=1e-7)
    # the generator moved past the draws: the next call differs
    a = A.scaled_dot_product_attention(*(tt.tensor(x) for x in (q, k, v)), dropout_p=0.4).numpy()
    assert not np.allclose(a, outs[0])


def test_dropout_gradients_cpu_vs_cuda():
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    q, k, v = _arrays((1, 1, 5, 4), (1, 1, 6, 4), (1, 1, 6, 4), seed=12)
    grads = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(7)
        ts = [tt.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
        A.scaled_dot_product_attention(*ts, dropout_p=0.25).sum().backward()
        grads.append([t.grad.cpu().numpy() for t in ts])
    for g, w in zip(*grads):
        assert_close(g, w, rtol=1e-4, atol=1e-6)


def test_double_backward_runs():
    q, k, v = (tt.tensor(a.astype(np.float64), requires_grad=True) for a in _arrays((1, 1, 3, 2), (1, 1, 4, 2),
                                                                                    (1, 1, 4, 2), seed=13))
    from tritorch.autograd import gradgradcheck
    assert gradgradcheck(lambda a, b, c: A.scaled_dot_product_attention(a, b, c, is_causal=True), [q, k, v])


def test_errors():
    x = tt.ones(2, 3, 4)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        A.scaled_dot_product_attention(tt.ones(4), tt.ones(4), tt.ones(4))
    with pytest.raises(RuntimeError, match="same dtype"):
        A.scaled_dot_product_attention(x, x.double(), x)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        A.scaled_dot_product_attention(x, x, x, attn_mask=tt.ones(3, 3, dtype=tt.int64))
    with pytest.raises(RuntimeError, match="must divide"):
        A.scaled_dot_product_attention(tt.ones(1, 4, 3, 4), tt.ones(1, 3, 3, 4), tt.ones(1, 3, 3, 4), enable_gqa=True)
    with pytest.raises(RuntimeError, match="must match the size"):
        A.scaled_dot_product_attention(tt.ones(1, 4, 3, 4), tt.ones(1, 2, 3, 4), tt.ones(1, 2, 3, 4))
    with pytest.raises(RuntimeError, match="Float"):
        A.scaled_dot_product_attention(*(tt.ones(2, 3, 4, dtype=tt.int64),) * 3)



def _probs_cases():
    """(q, k, v, mask, kwargs): causal, a boolean mask with a fully masked row, GQA with an additive mask, a
    2-D call, dropout."""
    q, k, v = _arrays((2, 4, 5, 3), (2, 2, 6, 3), (2, 2, 6, 3), seed=21)
    bool_mask = np.random.default_rng(5).random((5, 6)) > 0.4
    bool_mask[1] = False
    q2, k2, v2 = _arrays((5, 3), (6, 3), (6, 2), seed=22)
    add_mask = np.cos(np.arange(30.0)).reshape(5, 6).astype(np.float32)
    return [(q[:, :2], k, v, None, {"is_causal": True}),
            (q[:, :2], k, v, bool_mask, {}),
            (q, k, v, add_mask, {"enable_gqa": True, "scale": 0.7}),
            (q2, k2, v2, None, {"is_causal": True}),
            (q[:, :2], k, v, None, {"dropout_p": 0.3, "seed": 11, "offset": 8})]


def _forward_backward(q, k, v, mask, kw):
    out, lse = A.sdpa_op(q, k, v, mask, **kw)
    g = tt.tensor(np.sin(np.arange(out.numel())).reshape(out.shape).astype(np.float32))
    return [x.numpy() for x in A.sdpa_backward_op(g, None, q, k, v, mask, out, lse, **kw)]


@pytest.mark.parametrize("case", range(5))
def test_cpu_backward_from_saved_probs_equals_recomputed(monkeypatch, case):
    """The cpu forward keeps the probabilities for its backward (small problems); the backward recomputes them
    otherwise: both give the same gradients."""
    q, k, v, mask, kw = _probs_cases()[case]
    tq, tk, tv = (tt.tensor(a) for a in (q, k, v))
    tm = None if mask is None else tt.tensor(mask)
    out, lse = A.sdpa_op(tq, tk, tv, tm, **kw)
    assert id(lse._data) in A._SAVED_PROBS
    kept = _forward_backward(tq, tk, tv, tm, kw)
    monkeypatch.setattr(A, "SAVE_PROBS_MAX", 0)
    out, lse = A.sdpa_op(tq, tk, tv, tm, **kw)
    assert id(lse._data) not in A._SAVED_PROBS
    recomputed = _forward_backward(tq, tk, tv, tm, kw)
    for got, want in zip(kept, recomputed):
        assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_cpu_backward_ignores_saved_probs_after_in_place_change():
    q, k, v = _arrays((1, 2, 4, 3), (1, 2, 5, 3), (1, 2, 5, 3), seed=23)
    tq, tk, tv = (tt.tensor(a) for a in (q, k, v))
    out, lse = A.sdpa_op(tq, tk, tv, None, is_causal=True)
    g = tt.ones(out.shape)
    tk.mul_(2.0)  # the kept probabilities no longer belong to these keys: the backward must recompute them
    got = A.sdpa_backward_op(g, None, tq, tk, tv, None, out, lse, is_causal=True)
    A._SAVED_PROBS.clear()
    want = A.sdpa_backward_op(g, None, tq, tk, tv, None, out, lse, is_causal=True)
    for a, b in zip(got, want):
        assert np.array_equal(a.numpy(), b.numpy())


def test_saved_probs_are_released_with_the_graph():
    q, k, v = (tt.tensor(a, requires_grad=True) for a in _arrays((1, 1, 3, 2), (1, 1, 4, 2), (1, 1, 4, 2), seed=24))
    before = len(A._SAVED_PROBS)
    out = A.scaled_dot_product_attention(q, k, v)
    assert len(A._SAVED_PROBS) == before + 1
    out.sum().backward()
    del out
    import gc
    gc.collect()
    assert len(A._SAVED_PROBS) == before


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_zero_head_dim_gives_an_empty_output_as_torch(device):
    q = tt.randn(1, 2, 3, 0, device=device, requires_grad=True)
    out = tt.nn.functional.scaled_dot_product_attention(q, q, q)
    assert tuple(out.shape) == (1, 2, 3, 0)
    out.sum().backward()
    assert tuple(q.grad.shape) == (1, 2, 3, 0)


@pytest.mark.parametrize("bm,bn,L,S", [(16, 32, 70, 50), (32, 16, 50, 70)])
def test_unequal_tiles_vs_torch(bm, bn, L, S):
    # query and key tiles of different sizes (as the GPU configs use): each loop's inner (unchecked) tiles, the
    # tiles crossing the causal diagonal and the partial last tiles must together cover every visible pair once
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    q, k, v = _arrays((1, 2, L, 8), (1, 2, S, 8), (1, 2, S, 8), seed=bm + L)
    with A.tiles(bm, bn):
        _check(*_run_both(q, k, v, device="cuda", is_causal=True))
    mask = np.random.default_rng(bn).random((L, S)) > 0.3
    with A.tiles(bm, bn):
        _check(*_run_both(q, k, v, mask, device="cuda"))


class _Arg:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_gpu_config_pruning(dtype):
    # the GPU autotuner: small problems and fp64 compile one config; large ones keep the configs that fit
    def prune(configs, L, e):  # as the autotuner calls it: positional arguments by name, keywords apart
        return A._prune(configs, {"q_ptr": _Arg(dtype), "L_KEY": L, "S_KEY": L}, BLOCK_E=e, BLOCK_EV=e, MASK=0)

    for configs in (A._FWD_CONFIGS, A._DQ_CONFIGS, A._DKDV_CONFIGS):
        assert len(prune(configs, 64, 128)) == 1
        big = prune(configs, 4096, 128)
        if dtype == "float64":
            assert len(big) == 1 and big[0].kwargs["BLOCK_M"] * big[0].kwargs["BLOCK_N"] <= 64 * 32
        else:  # fp32 keeps the configs that fit, or else the small one
            assert big and (all(c in configs for c in big) or len(big) == 1)
        if dtype == "float16":
            assert big == configs  # every fp16 config fits shared memory at head dim 128


def test_autotuned_launch_path(monkeypatch):
    # the GPU's launch path (autotuner, config pruning, grid from the chosen config), run by the interpreter with
    # a stand-in timer: a small problem compiles and runs its one config
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    timed = []

    def fake_timer(kernel_call, quantiles=None):
        kernel_call()
        timed.append(1)
        return [1.0] * len(quantiles) if quantiles else 1.0

    monkeypatch.setattr(A, "_fixed_tiles", lambda: False)
    for tuned in (A._fwd_tuned, A._dq_tuned, A._dkdv_tuned):
        monkeypatch.setattr(tuned, "do_bench", fake_timer)
        monkeypatch.setattr(tuned, "cache", {})
        monkeypatch.setattr(tuned, "_fast_entries", {}, raising=False)  # on a GPU: launch through the tuner again
    q, k, v = _arrays((1, 2, 70, 8), (1, 2, 70, 8), (1, 2, 70, 8), seed=11)
    _check(*_run_both(q, k, v, device="cuda", is_causal=True))
