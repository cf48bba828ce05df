"""Hand-written tests of the normalisation family (layer_norm, rms_norm, group_norm, batch_norm): parity with
torch.nn.functional (forward, input/weight/bias gradients, running-stat updates, eval mode), double backward of
layer_norm, rows longer than one block on cuda (the block size shrunk), several programs of weight/bias
partials, and PyTorch's errors. Values over many shapes and dtypes are covered by the generated tests."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_norm
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
F = torch.nn.functional
DEVICES = devices()


def pair(shape, device="cpu", seed=0, low=-2.0, high=2.0, dtype=np.float64):
    a = np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)
    t = tt.tensor(a, device=device).requires_grad_(True)
    return t, torch.tensor(a, requires_grad=True)


def grads(out, leaves, seed=1):
    w = np.cos(np.arange(out.numel()) + seed).reshape(tuple(out.shape))
    return tt.autograd.grad(out, leaves, tt.tensor(w.astype(out.dtype.np), device=out.device))


def torch_grads(out, leaves, seed=1):
    w = torch.tensor(np.cos(np.arange(out.numel()) + seed).reshape(tuple(out.shape)), dtype=out.dtype)
    return torch.autograd.grad(out, leaves, w)


def close(a, b, rtol=1e-6, atol=1e-8):
    assert_close(a, b.detach().numpy() if isinstance(b, torch.Tensor) else b, rtol=rtol, atol=atol)


@pytest.fixture
def small_blocks(monkeypatch):
    """Rows longer than 16 elements take the looping path; tiles of 32 elements; 3 partial programs."""
    monkeypatch.setattr(nn_norm, "MAX_BLOCK", 16)
    monkeypatch.setattr(nn_norm, "TILE", 32)
    monkeypatch.setattr(nn_norm, "PARAM_PROGRAMS", 3)


# ------------------------------------------------------------------------------------------------ layer_norm

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,ns", [((5, 7), (7,)), ((2, 3, 5), (3, 5)), ((9, 37), (37,))])
def test_layer_norm_matches_torch(device, shape, ns):
    x, tx = pair(shape, device)
    w, tw = pair(ns, device, seed=2, low=0.5, high=1.5)
    b, tb = pair(ns, device, seed=3)
    y = nn_norm.layer_norm(x, ns, w, b, 1e-5)
    ty = F.layer_norm(tx, ns, tw, tb, 1e-5)
    close(y, ty)
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg)


@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_rows_longer_than_a_block(device, small_blocks):
    # 37 > MAX_BLOCK = 16: three blocks per row; 11 rows over 3 partial programs; float32 as in training
    x, tx = pair((11, 37), device, dtype=np.float32)
    w, tw = pair((37,), device, seed=2, low=0.5, high=1.5, dtype=np.float32)
    b, tb = pair((37,), device, seed=3, dtype=np.float32)
    y = nn_norm.layer_norm(x, (37,), w, b)
    ty = F.layer_norm(tx, (37,), tw, tb)
    close(y, ty, rtol=1e-5, atol=1e-5)
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["layer_norm", "rms_norm"])
def test_long_rows_with_many_rows_per_partial_program_cuda(name, small_blocks, monkeypatch):
    # one partial program for 40 rows of 37 > MAX_BLOCK: tiles of 16 rows x 16-column chunks, three row groups,
    # so the program's partial row is stored by the first group and read-modify-written by the other two
    device = "cuda" if "cuda" in DEVICES else "cpu"
    monkeypatch.setattr(nn_norm, "PARAM_PROGRAMS", 1)
    if device == "cuda":
        one_pass, block, rows, _, rows_per_program, programs = nn_norm._param_tiling(
            40, 37, 16, 32, 1, nn_norm.PARAM_MAX_BLOCK, nn_norm.PARAM_TILE)
        assert (one_pass, block, rows, rows_per_program, programs) == (False, 16, 16, 48, 1)
    x, tx = pair((40, 37), device, dtype=np.float32)
    w, tw = pair((37,), device, seed=2, low=0.5, high=1.5, dtype=np.float32)
    leaves, tleaves = [x, w], [tx, tw]
    if name == "layer_norm":
        b, tb = pair((37,), device, seed=3, dtype=np.float32)
        y, ty = nn_norm.layer_norm(x, (37,), w, b), F.layer_norm(tx, (37,), tw, tb)
        leaves, tleaves = leaves + [b], tleaves + [tb]
    else:
        y, ty = nn_norm.rms_norm(x, (37,), w, 1e-6), F.rms_norm(tx, (37,), tw, 1e-6)
    close(y, ty, rtol=1e-5, atol=1e-5)
    for g, tg in zip(grads(y, leaves), torch_grads(ty, tleaves)):
        close(g, tg, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_odd_rows_fit_in_one_block_with_many_partials(device, monkeypatch):
    # backward: 2 rows of 32 lanes per tile (tiles of TILE / 2), 13 rows over several programs
    monkeypatch.setattr(nn_norm, "TILE", 128)
    monkeypatch.setattr(nn_norm, "PARAM_PROGRAMS", 5)
    x, tx = pair((13, 19), device)
    w, tw = pair((19,), device, seed=2)
    b, tb = pair((19,), device, seed=3)
    ty = F.layer_norm(tx, (19,), tw, tb)
    y = nn_norm.layer_norm(x, (19,), w, b)
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg)


@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_double_backward_matches_torch(device):
    x, tx = pair((3, 6), device)
    w, tw = pair((6,), device, seed=2, low=0.5, high=1.5)
    b, tb = pair((6,), device, seed=3)
    y = nn_norm.layer_norm(x, (6,), w, b)
    ty = F.layer_norm(tx, (6,), tw, tb)
    gw = np.cos(np.arange(18)).reshape(3, 6)
    gx, gww = tt.autograd.grad(y, [x, w], tt.tensor(gw, device=device), create_graph=True)
    tgx, tgww = torch.autograd.grad(ty, [tx, tw], torch.tensor(gw), create_graph=True)
    close(gx, tgx)
    # a scalar of both first-order gradients, differentiated again
    s = (gx * gx).sum() + (gww * tt.tensor(np.arange(6.0), device=device)).sum()
    ts = (tgx * tgx).sum() + (tgww * torch.arange(6.0, dtype=torch.float64)).sum()
    for g, tg in zip(tt.autograd.grad(s, [x, w, b], allow_unused=True),
                     torch.autograd.grad(ts, [tx, tw, tb], allow_unused=True)):
        if tg is None:
            assert g is None or np.allclose(g._host(), 0)
        else:
            close(g, tg, rtol=1e-6, atol=1e-9)


def test_layer_norm_double_backward_gradgradcheck_long_rows_cuda(small_blocks):
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device (GPU or interpreter)")
    x, tx = pair((2, 19), "cuda")
    w, tw = pair((19,), "cuda", seed=2)
    y = nn_norm.layer_norm(x, (19,), w, None)
    gx, = tt.autograd.grad(y, [x], tt.ones_like(y), create_graph=True)
    ty = F.layer_norm(tx, (19,), tw, None)
    tgx, = torch.autograd.grad(ty, [tx], torch.ones_like(ty), create_graph=True)
    for g, tg in zip(tt.autograd.grad((gx * gx).sum(), [x, w]), torch.autograd.grad((tgx * tgx).sum(), [tx, tw])):
        close(g, tg, rtol=1e-6, atol=1e-9)


def test_layer_norm_fp16_and_bf16_compute_in_fp32():
    a = np.random.default_rng(0).standard_normal((4, 33))
    for dt, tdt in ((tt.float16, torch.float16), (tt.bfloat16, torch.bfloat16)):
        for device in DEVICES:
            y = nn_norm.layer_norm(tt.tensor(a, dtype=dt, device=device), (33,))
            ty = F.layer_norm(torch.tensor(a, dtype=tdt), (33,))
            assert y.dtype is dt
            close(y.float(), ty.float(), rtol=1.6e-2, atol=1e-2)


def test_layer_norm_errors():
    x = tt.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                                           r"but got input of size\[2, 3\]"):
        nn_norm.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as normalized_shape, but got weight "
                                           r"of shape \[2\] and normalized_shape = \[3\]"):
        nn_norm.layer_norm(x, (3,), tt.ones(2))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        nn_norm.layer_norm(tt.ones(2, 3, dtype=tt.int64), (3,))


def test_layer_norm_weight_only_and_bias_only_grads():
    x, tx = pair((4, 5))
    b, tb = pair((5,), seed=3)
    y = nn_norm.layer_norm(x, 5, None, b)
    ty = F.layer_norm(tx, (5,), None, tb)
    for g, tg in zip(grads(y, [x, b]), torch_grads(ty, [tx, tb])):
        close(g, tg)


def test_layer_norm_and_rms_norm_cuda_shortcut_on_repeated_calls(monkeypatch):
    # the second call of a signature skips infer (its plan is cached): same values and gradients as the first
    # (full path) call and as torch; mean/rstd are written only when a backward can need them
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    nn_norm._CUDA_PLANS.clear()
    written = []
    launch_fwd = nn_norm._launch_fwd

    def spy(*args, **kw):
        written.append(kw.get("write_stats", True))
        return launch_fwd(*args, **kw)

    monkeypatch.setattr(nn_norm, "_launch_fwd", spy)
    inferred = []
    for op in (nn_norm.layer_norm_op, nn_norm.rms_norm_op):
        monkeypatch.setattr(op, "infer", lambda *a, _infer=op.infer: inferred.append(1) or _infer(*a))
    x, tx = pair((6, 10), "cuda")
    w, tw = pair((10,), "cuda", seed=2)
    b, tb = pair((10,), "cuda", seed=3)
    calls = [(lambda x, w, b: nn_norm.layer_norm(x, [10], w, b), lambda x, w, b: F.layer_norm(x, (10,), w, b)),
             (lambda x, w, b: nn_norm.layer_norm(x, 10), lambda x, w, b: F.layer_norm(x, (10,))),
             (lambda x, w, b: nn_norm.rms_norm(x, (10,), w), lambda x, w, b: F.rms_norm(x, (10,), w)),
             (lambda x, w, b: nn_norm.rms_norm(x, (10,), w, 1e-3), lambda x, w, b: F.rms_norm(x, (10,), w, 1e-3))]
    for ours, theirs in calls:
        ty = theirs(tx, tw, tb)
        ys = [ours(x, w, b), ours(x, w, b)]   # infer validates the first call's signature; the second skips it
        n = len(ys[0].grad_fn.next_functions)  # the call's tensor operands
        tgs = torch_grads(ty, [tx, tw, tb][:n])
        for y in ys:
            close(y, ty)
            for g, tg in zip(grads(y, [x, w, b][:n]), tgs):
                close(g, tg)
        with tt.no_grad():
            close(ours(x, w, b), ty)
    assert len(nn_norm._CUDA_PLANS) == 4 and len(inferred) == 4
    assert written == [True, True, False] * 4  # mean/rstd only where a backward can need them


def test_layer_norm_cuda_shortcut_keys_on_the_eps_given():
    # the op's eps=None default is the dtype's machine epsilon (infer's), not functional layer_norm's 1e-5
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    x, tx = pair((4, 10), "cuda")
    for _ in range(2):
        close(nn_norm.layer_norm_op(x, (10,)), F.layer_norm(tx, (10,), eps=float(np.finfo(np.float64).eps)))
        close(nn_norm.layer_norm_op(x, (10,), None, None, 1e-5), F.layer_norm(tx, (10,), eps=1e-5))


def test_layer_norm_cuda_shortcut_never_caches_an_error_or_a_strided_input():
    if "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    x = tt.ones(2, 3, device="cuda")
    for _ in range(2):
        with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\]"):
            nn_norm.layer_norm(x, (4,))
        with pytest.raises(RuntimeError, match="Expected weight to be of same shape"):
            nn_norm.layer_norm(x, (3,), tt.ones(2, device="cuda"))
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            nn_norm.layer_norm(x, (3,), tt.ones(3))
    a = np.random.default_rng(0).standard_normal((5, 4))
    xt = tt.tensor(a, device="cuda").t()   # strided: the full path copies it
    for _ in range(2):
        close(nn_norm.layer_norm(xt, (5,)), F.layer_norm(torch.tensor(a).t(), (5,)))


# ------------------------------------------------------------------------------------------------- rms_norm

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_matches_torch(device, eps):
    x, tx = pair((6, 21), device)
    w, tw = pair((21,), device, seed=2)
    y = nn_norm.rms_norm(x, (21,), w, eps)
    ty = F.rms_norm(tx, (21,), tw, eps)
    close(y, ty)
    for g, tg in zip(grads(y, [x, w]), torch_grads(ty, [tx, tw])):
        close(g, tg)


def test_rms_norm_long_rows_and_double_backward_cuda(small_blocks):
    device = "cuda" if "cuda" in DEVICES else "cpu"
    x, tx = pair((5, 23), device)
    w, tw = pair((23,), device, seed=2)
    y = nn_norm.rms_norm(x, [23], w, 1e-5)
    ty = F.rms_norm(tx, [23], tw, 1e-5)
    close(y, ty)
    gx, gw = tt.autograd.grad(y, [x, w], tt.ones_like(y), create_graph=True)
    tgx, tgw = torch.autograd.grad(ty, [tx, tw], torch.ones_like(ty), create_graph=True)
    close(gw, tgw)
    for g, tg in zip(tt.autograd.grad((gx * gx).sum() + gw.sum(), [x, w]),
                     torch.autograd.grad((tgx * tgx).sum() + tgw.sum(), [tx, tw])):
        close(g, tg, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------------------------- group_norm

@pytest.mark.parametrize("device", DEVICES)
def test_group_norm_matches_torch(device):
    x, tx = pair((2, 6, 3, 5), device)
    w, tw = pair((6,), device, seed=2)
    b, tb = pair((6,), device, seed=3)
    y = nn_norm.group_norm(x, 3, w, b, 1e-5)
    ty = F.group_norm(tx, 3, tw, tb, 1e-5)
    close(y, ty)
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg)


def test_group_norm_double_backward():
    x, tx = pair((2, 4, 3))
    w, tw = pair((4,), seed=2)
    gx, gw = tt.autograd.grad(nn_norm.group_norm(x, 2, w), [x, w], tt.ones(2, 4, 3, dtype=tt.float64),
                              create_graph=True)
    tgx, tgw = torch.autograd.grad(F.group_norm(tx, 2, tw), [tx, tw], torch.ones(2, 4, 3, dtype=torch.float64),
                                   create_graph=True)
    for g, tg in zip(tt.autograd.grad((gx * gx).sum() + (gw * gw).sum(), [x, w]),
                     torch.autograd.grad((tgx * tgx).sum() + (tgw * tgw).sum(), [tx, tw])):
        close(g, tg, rtol=1e-6, atol=1e-9)


def test_group_norm_weight_only_and_bias_only_grads():
    x, tx = pair((2, 4, 3))
    w, tw = pair((4,), seed=2)
    b, tb = pair((4,), seed=3)
    # (torch's backward fails on a bias without weight: it gets a constant weight of ones instead)
    ones = torch.ones(4, dtype=torch.float64)
    for g, tg in zip(grads(nn_norm.group_norm(x, 2, None, b), [x, b]), torch_grads(F.group_norm(tx, 2, ones, tb),
                                                                                     [tx, tb])):
        close(g, tg)
    for g, tg in zip(grads(nn_norm.group_norm(x, 2, w), [x, w]), torch_grads(F.group_norm(tx, 2, tw), [tx, tw])):
        close(g, tg)


def test_group_norm_backward_over_several_sample_blocks(monkeypatch):
    """Blocks of one sample each, on the thread pool: the weight/bias gradients are the sums of per-block
    partials; inputs far from zero mean check that the backward's sums are centred (no cancellation)."""
    monkeypatch.setattr(nn_norm, "_NP_NORM_FWD_BLOCK", 8)
    monkeypatch.setattr(nn_norm, "_NP_NORM_SPLIT_MIN", 0)
    x, tx = pair((5, 6, 4), low=98.0, high=102.0)
    w, tw = pair((6,), seed=2)
    b, tb = pair((6,), seed=3)
    for g, tg in zip(grads(nn_norm.group_norm(x, 3, w, b), [x, w, b]),
                     torch_grads(F.group_norm(tx, 3, tw, tb), [tx, tw, tb])):
        close(g, tg)
    # float32 against torch's float64 figures: fp32-level agreement despite the offset of 100
    x32 = tt.tensor(x.detach().numpy().astype(np.float32)).requires_grad_(True)
    w32 = tt.tensor(w.detach().numpy().astype(np.float32)).requires_grad_(True)
    b32 = tt.tensor(b.detach().numpy().astype(np.float32)).requires_grad_(True)
    for g, tg in zip(grads(nn_norm.group_norm(x32, 3, w32, b32), [x32, w32, b32]),
                     torch_grads(F.group_norm(tx, 3, tw, tb), [tx, tw, tb])):
        close(g.double(), tg, rtol=1e-4, atol=1e-4)


def test_group_norm_errors():
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        nn_norm.group_norm(tt.ones(2, 5, 3), 2)
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions"):
        nn_norm.group_norm(tt.ones(4), 2)


# ----------------------------------------------------------------------------------------------- batch_norm

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 3)])
def test_batch_norm_training_matches_torch_and_updates_running_stats(device, shape):
    x, tx = pair(shape, device)
    w, tw = pair((3,), device, seed=2)
    b, tb = pair((3,), device, seed=3)
    rm0 = np.array([0.1, -0.2, 0.3])
    rv0 = np.array([1.0, 0.5, 2.0])
    rm, rv = tt.tensor(rm0, device=device), tt.tensor(rv0, device=device)
    trm, trv = torch.tensor(rm0), torch.tensor(rv0)
    v_mean, v_var = rm._version[0], rv._version[0]
    y = nn_norm.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-5)
    ty = F.batch_norm(tx, trm, trv, tw, tb, True, 0.3, 1e-5)
    close(y, ty)
    close(rm, trm)
    close(rv, trv)   # unbiased variance in the running estimate, as PyTorch
    assert rm._version[0] == v_mean + 1 and rv._version[0] == v_var + 1
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg)


def test_batch_norm_long_channels_cuda(small_blocks):
    device = "cuda" if "cuda" in DEVICES else "cpu"
    x, tx = pair((5, 4, 7), device, dtype=np.float32)   # 35 values per channel > 16: the looping path
    w, tw = pair((4,), device, seed=2, dtype=np.float32)
    rm, rv = tt.zeros(4, device=device), tt.ones(4, device=device)
    trm, trv = torch.zeros(4), torch.ones(4)
    y = nn_norm.batch_norm(x, rm, rv, w, None, True)
    ty = F.batch_norm(tx, trm, trv, tw, None, True)
    close(y, ty, rtol=1e-5, atol=1e-5)
    close(rv, trv, rtol=1e-5, atol=1e-6)
    for g, tg in zip(grads(y, [x, w]), torch_grads(ty, [tx, tw])):
        close(g, tg, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_eval_uses_running_stats(device):
    x, tx = pair((4, 3, 2), device)
    w, tw = pair((3,), device, seed=2)
    b, tb = pair((3,), device, seed=3)
    rm, rv = tt.tensor([0.1, -0.2, 0.3], device=device), tt.tensor([1.0, 0.5, 2.0], device=device)
    trm, trv = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64), torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    version = rm._version[0]
    y = nn_norm.batch_norm(x, rm, rv, w, b, False)
    ty = F.batch_norm(tx, trm, trv, tw, tb, False)
    close(y, ty)
    assert rm._version[0] == version
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg)


def test_batch_norm_double_backward():
    x, tx = pair((4, 3))
    w, tw = pair((3,), seed=2)
    gx, gw = tt.autograd.grad(nn_norm.batch_norm(x, None, None, w, None, True), [x, w], tt.ones(4, 3, dtype=tt.float64),
                              create_graph=True)
    tgx, tgw = torch.autograd.grad(F.batch_norm(tx, None, None, tw, None, True), [tx, tw],
                                   torch.ones(4, 3, dtype=torch.float64), create_graph=True)
    for g, tg in zip(tt.autograd.grad((gx * gx).sum() + (gw * gw).sum(), [x, w]),
                     torch.autograd.grad((tgx * tgx).sum() + (tgw * tgw).sum(), [tx, tw])):
        close(g, tg, rtol=1e-6, atol=1e-9)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn_norm.batch_norm(tt.ones(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        nn_norm.batch_norm(tt.ones(2, 3), tt.zeros(4), tt.ones(3))


@pytest.mark.parametrize("name", ["layer_norm", "rms_norm"])
def test_cpu_tiled_columns_over_row_blocks(monkeypatch, name):
    """The cpu fallback applies weight and bias over rows viewed k at a time (a tiled copy of the vector) with the
    rows left over by each block done one by one; row blocks of a few rows: values and gradients as PyTorch's."""
    monkeypatch.setattr(nn_norm, "_TILED_INNER", 32)
    monkeypatch.setattr(nn_norm, "_TILED_MIN", 0)
    monkeypatch.setattr(nn_norm, "_NP_NORM_FWD_BLOCK", 100)   # blocks of 5 rows of 19: k = 2, one row left over
    monkeypatch.setattr(nn_norm, "_NP_NORM_BWD_BLOCK", 100)
    x, tx = pair((23, 19))
    w, tw = pair((19,), seed=2, low=0.5, high=1.5)
    b, tb = pair((19,), seed=3)
    if name == "layer_norm":
        y, ty = nn_norm.layer_norm(x, (19,), w, b, 1e-5), F.layer_norm(tx, (19,), tw, tb, 1e-5)
        leaves, tleaves = [x, w, b], [tx, tw, tb]
    else:
        y, ty = nn_norm.rms_norm(x, (19,), w, 1e-5), F.rms_norm(tx, (19,), tw, 1e-5)
        leaves, tleaves = [x, w], [tx, tw]
    close(y, ty)
    for g, tg in zip(grads(y, leaves), torch_grads(ty, tleaves)):
        close(g, tg)


def test_layer_norm_cpu_fp32_rows_far_from_zero():
    """fp32 rows with a mean far from zero (the variance is taken about the mean, never as E[x^2] - mean^2) and a
    size that takes the tiled weight/bias path: as PyTorch's in float64, to the precision fp32 allows there (an
    ulp of an input at 1000 is 1e-4 of the rows' spread; PyTorch's own fp32 result is 2e-4 off)."""
    x, tx = pair((37, 600), low=999.0, high=1001.0, dtype=np.float32)
    w, tw = pair((600,), seed=2, low=0.5, high=1.5, dtype=np.float32)
    b, tb = pair((600,), seed=3, dtype=np.float32)
    y = nn_norm.layer_norm(x, (600,), w, b)
    ty = F.layer_norm(tx.double(), (600,), tw.double(), tb.double())
    close(y, ty, rtol=1e-3, atol=1e-3)
    for g, tg in zip(grads(y, [x, w, b]), torch_grads(ty, [tx, tw, tb])):
        close(g, tg.float(), rtol=1e-3, atol=2e-3)
