"""Hand-written tests of the convolution family (conv1d, conv2d, conv_transpose2d and conv2d's gradient ops):
parity with torch.nn.functional forward and gradients (input, weight, bias) over strides, paddings ('same' with
even kernels, 'valid'), dilations and groups, unbatched inputs, double backward, PyTorch's error messages, and
the public names in tritorch.nn.functional. Values over many samples and dtypes, cuda against cpu, gradcheck and
gradgradcheck are covered by the generated tests (tests/ops/test_registry_ops.py,
tests/autograd/test_registry_grads.py)."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F
from tritorch.ops import _cpu_parallel, nn_conv
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [None if s is None else rng.uniform(-1, 1, s) for s in shapes]


def _parity(tt_fn, torch_fn, shapes, kwargs, device="cpu", dtype=np.float64, rtol=1e-10, atol=1e-10):
    """Forward and every gradient (weights cos(i) on the output) against PyTorch's."""
    arrays = [None if a is None else a.astype(dtype) for a in _arrays(shapes)]
    ours = [None if a is None else tt.tensor(a, device=device).requires_grad_(True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out = tt_fn(*ours, **kwargs)
    ref = torch_fn(*theirs, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), rtol=rtol, atol=atol, msg="forward")
    weights = np.cos(np.arange(ref.numel())).reshape(tuple(ref.shape)).astype(dtype)
    leaves = [t for t in ours if t is not None]
    tleaves = [t for t in theirs if t is not None]
    grads = tt.autograd.grad(out, leaves, tt.tensor(weights, device=device))
    tgrads = torch.autograd.grad(ref, tleaves, torch.tensor(weights))
    for i, (g, tg) in enumerate(zip(grads, tgrads)):
        assert_close(g, tg.numpy(), rtol=rtol, atol=atol, msg=f"gradient {i}")


CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (4,), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), (4,), {"stride": 2, "padding": 1}),
    ((2, 4, 8, 7), (6, 2, 3, 3), None, {"stride": (2, 1), "padding": (2, 1), "dilation": (2, 1), "groups": 2}),
    ((1, 3, 6, 6), (5, 3, 2, 2), (5,), {"padding": "same"}),                      # even kernel: asymmetric pad
    ((1, 3, 6, 6), (5, 3, 2, 4), (5,), {"padding": "same", "dilation": (3, 1)}),
    ((1, 3, 6, 6), (5, 3, 3, 3), (5,), {"padding": "valid"}),
    ((3, 6, 6), (3, 1, 3, 3), (3,), {"groups": 3, "padding": 1}),                 # unbatched, depthwise
    ((2, 4, 5, 5), (8, 4, 1, 1), None, {}),                                       # 1x1: im2col is a view
]


@pytest.mark.parametrize("xs,ws,bs,kw", CONV2D_CASES)
def test_conv2d_matches_torch(xs, ws, bs, kw):
    _parity(F.conv2d, TF.conv2d, [xs, ws, bs], kw)


@pytest.mark.parametrize("xs,ws,bs,kw", [
    ((2, 4, 11), (6, 2, 3), (6,), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    ((3, 9), (2, 3, 4), (2,), {"padding": "same"}),
    ((2, 3, 9), (2, 3, 4), None, {"padding": "valid", "stride": 3}),
])
def test_conv1d_matches_torch(xs, ws, bs, kw):
    _parity(F.conv1d, TF.conv1d, [xs, ws, bs], kw)


@pytest.mark.parametrize("xs,ws,bs,kw", [
    ((2, 4, 3, 4), (4, 3, 3, 3), (3,), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 3, 4), (4, 2, 3, 2), (4,), {"stride": (1, 2), "groups": 2, "dilation": (2, 1)}),
    ((2, 3, 3), (2, 2, 3, 3), (2,), {"stride": 1, "dilation": 3, "output_padding": 2, "padding": 1}),  # op>=stride
    ((1, 2, 4, 4), (2, 3, 4, 4), None, {"stride": 2, "padding": 1}),
])
def test_conv_transpose2d_matches_torch(xs, ws, bs, kw):
    _parity(F.conv_transpose2d, TF.conv_transpose2d, [xs, ws, bs], kw)


def test_conv2d_float32_and_cuda_match_torch(monkeypatch):
    # full fp32 products (on a GPU TF32, the default as with cuDNN, would round the operands to 10 bits)
    monkeypatch.setattr(tt.backends.cudnn, "allow_tf32", False)
    case = ((2, 4, 6, 5), (6, 2, 3, 3), (6,), {"stride": (2, 1), "padding": 1, "groups": 2})
    _parity(F.conv2d, TF.conv2d, case[:3], case[3], dtype=np.float32, rtol=1e-5, atol=1e-5)
    if "cuda" in devices():
        _parity(F.conv2d, TF.conv2d, case[:3], case[3], device="cuda", dtype=np.float32, rtol=1e-5, atol=1e-5)
        _parity(F.conv_transpose2d, TF.conv_transpose2d, [(1, 2, 3, 3), (2, 2, 3, 3), (2,)],
                {"stride": 2, "output_padding": 1}, device="cuda", dtype=np.float32, rtol=1e-5, atol=1e-5)


def test_conv2d_double_backward_matches_torch():
    x, w, b = _arrays([(1, 2, 5, 4), (3, 2, 3, 2), (3,)], seed=3)
    kw = {"stride": (2, 1), "padding": 1}
    ours = [tt.tensor(a).requires_grad_(True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    gx, gw, _ = tt.autograd.grad(F.conv2d(*ours, **kw).square().sum(), ours, create_graph=True)
    tgx, tgw, _ = torch.autograd.grad(TF.conv2d(*theirs, **kw).square().sum(), theirs, create_graph=True)
    second = tt.autograd.grad((gx * gx).sum() + (gw * gw).sum(), ours)
    tsecond = torch.autograd.grad((tgx * tgx).sum() + (tgw * tgw).sum(), theirs)
    for g, tg in zip(second, tsecond):
        assert_close(g, tg.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xs,ws,bs,kw", [
    ((1, 16, 4, 5), (16, 16, 2, 3), (16,), {"padding": 1}),                         # tap-major K order
    ((1, 32, 5, 4), (32, 16, 2, 2), None, {"stride": 2, "padding": (1, 0), "dilation": (2, 1), "groups": 2}),
    ((2, 3, 6, 5), (4, 3, 3, 3), (4,), {"padding": 1}),                             # channel-minor K order
])
def test_cuda_kernel_paths_match_torch(monkeypatch, xs, ws, bs, kw):
    """The cuda kernels' two K orders (tap-major for >= 16 channels) and the weight gradient's split-K reduction
    (made to split these small pixel sums), forward and both gradients, plus conv_transpose2d (the input-grad
    kernel with a bias epilogue) where a bias is given."""
    if "cuda" not in devices():
        return
    g = nn_conv._forward_geom("t", xs, ws, None, kw.get("stride", 1), kw["padding"], kw.get("dilation", 1),
                              kw.get("groups", 1), 2)
    assert nn_conv._tap_major(g.cg) == (g.cg >= 16)
    with monkeypatch.context() as patch:  # three pixel chunks: the split path without the many programs the
        patch.setattr(nn_conv, "_SPLIT_PROGRAMS", 1 << 20)        # interpreter would be slow to run
        patch.setattr(nn_conv, "_SPLIT_MIN_PIXELS", g.n * g.ho * g.wo // 3)
        assert nn_conv._split_count(g, g.n * g.ho * g.wo) > 1
        _parity(F.conv2d, TF.conv2d, [xs, ws, bs], kw, device="cuda")
    if bs is not None:
        _parity(F.conv_transpose2d, TF.conv_transpose2d, [(xs[0], ws[0]) + xs[2:], ws, (ws[1],)], kw, device="cuda")


def test_cudnn_tf32_flag_selects_dot_precision(monkeypatch):
    """fp32 convolutions use TF32 tensor cores unless torch.backends.cudnn.allow_tf32 is off (PyTorch's default
    is on); other dtypes always multiply in their own precision."""
    monkeypatch.undo()  # the library's default, not tests/conftest.py's (which turns TF32 off for every test)
    assert tt.backends.cudnn.allow_tf32 is True
    assert nn_conv._dot_flags(tt.float32)["PRECISION"] == "tf32"
    assert nn_conv._dot_flags(tt.float64)["PRECISION"] == "ieee"
    monkeypatch.setattr(tt.backends.cudnn, "allow_tf32", False)
    assert nn_conv._dot_flags(tt.float32)["PRECISION"] == "ieee"


@pytest.fixture(params=["per_sample_gemm", "wide_gemm"])
def small_parts(request, monkeypatch):
    """The cpu fallback's batch parts (thread pool tasks) and sample blocks made tiny, so small cases use several;
    in both GEMM layouts (one per sample, or a block's samples side by side)."""
    monkeypatch.setattr(nn_conv, "_WIDE_PIXELS", 0 if request.param == "per_sample_gemm" else 1 << 30)
    monkeypatch.setattr(nn_conv, "_PART_MACS", 1 << 10)
    monkeypatch.setattr(nn_conv, "_BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(nn_conv, "_COL2IM_BLOCK_BYTES", 1 << 12)


@pytest.mark.parametrize("xs,ws,bs,kw", [
    ((9, 4, 7, 6), (6, 4, 3, 3), (6,), {"padding": 1}),
    ((7, 4, 9, 10), (6, 2, 3, 2), (6,), {"stride": (2, 1), "padding": (1, 0), "groups": 2}),
    ((5, 6, 4, 5), (8, 6, 1, 1), (8,), {}),                                           # 1x1: columns are a view
])
def test_conv2d_split_batch_matches_torch(small_parts, xs, ws, bs, kw):
    g = nn_conv._forward_geom("t", xs, ws, None, kw.get("stride", 1), kw.get("padding", 0), 1,
                              kw.get("groups", 1), 2)
    assert len(nn_conv._batch_parts(g.n, g.n * g.cout * g.ho * g.wo * g.cg * g.kh * g.kw)) > 1
    _parity(F.conv2d, TF.conv2d, [xs, ws, bs], kw)
    _parity(F.conv2d, TF.conv2d, [xs, ws, bs], kw, dtype=np.float32, rtol=1e-5, atol=1e-5)
    _parity(F.conv_transpose2d, TF.conv_transpose2d, [(xs[0], ws[0]) + xs[2:], ws, None], kw)


def test_conv2d_split_batch_gradients_are_deterministic(small_parts):
    x, w = _arrays([(9, 4, 7, 6), (6, 4, 3, 3)], seed=4)
    runs = []
    for _ in range(3):
        ours = [tt.tensor(a.astype(np.float32)).requires_grad_(True) for a in (x, w)]
        out = F.conv2d(*ours, padding=1)
        runs.append([out._host()] + [g._host() for g in tt.autograd.grad(out.square().sum(), ours)])
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            assert np.array_equal(a, b)


def test_public_names_and_signatures():
    import inspect
    conv = ["input", "weight", "bias", "stride", "padding", "dilation", "groups"]
    expected = {"conv1d": conv, "conv2d": conv, "conv_transpose2d": ["input", "weight", "bias", "stride", "padding",
                                                                     "output_padding", "groups", "dilation"]}
    for name, params in expected.items():
        assert getattr(F, name) is getattr(nn_conv, name)
        assert list(inspect.signature(getattr(nn_conv, name)).parameters) == params


def test_empty_batch_gradients():
    x = tt.zeros(0, 2, 5, 5).requires_grad_(True)
    w = tt.ones(3, 2, 3, 3).requires_grad_(True)
    b = tt.ones(3).requires_grad_(True)
    out = F.conv2d(x, w, b)
    assert tuple(out.shape) == (0, 3, 3, 3)
    gx, gw, gb = tt.autograd.grad(out.sum(), [x, w, b])
    assert tuple(gx.shape) == (0, 2, 5, 5)
    assert not gw._host().any() and not gb._host().any()


# ------------------------------------------------------------------------------------------------- errors

def _same_error(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value)


X, W = (2, 4, 5, 5), (6, 4, 3, 3)

ERROR_CASES = [
    ("conv2d", [(2, 3), W], {}),
    ("conv2d", [(1, 2, 4, 5, 5), W], {}),
    ("conv2d", [X, (6, 3, 3, 3)], {}),
    ("conv2d", [X, W], {"groups": 2}),
    ("conv2d", [X, (6, 2, 3, 3)], {"groups": 4}),
    ("conv2d", [X, (0, 4, 3, 3)], {}),
    ("conv2d", [X, (6, 4, 7, 7)], {}),
    ("conv2d", [X, W, (5,)], {}),
    ("conv2d", [X, W, (6, 1)], {}),
    ("conv2d", [X, W], {"stride": 0}),
    ("conv2d", [X, W], {"padding": -1}),
    ("conv2d", [X, W], {"dilation": 0}),
    ("conv2d", [X, W], {"groups": 0}),
    ("conv2d", [X, W], {"padding": "same", "stride": 2}),
    ("conv2d", [X, W], {"padding": "foo"}),
    ("conv2d", [X, W], {"stride": (1, 1, 1)}),
    ("conv2d", [X, (6, 4, 3)], {}),
    ("conv1d", [(2, 4), (6, 4, 3)], {}),
    ("conv1d", [(2, 4, 5, 5), (6, 4, 3)], {}),
    ("conv1d", [(2, 4, 5), (6, 4, 3, 3)], {}),
    ("conv_transpose2d", [X, (4, 3, 3, 3)], {"output_padding": 1}),
    ("conv_transpose2d", [X, (5, 3, 3, 3)], {}),
    ("conv_transpose2d", [(2, 3), (5, 3, 3, 3)], {}),
    ("conv_transpose2d", [X, (4, 3, 3, 3), (4,)], {}),
]


@pytest.mark.parametrize("name,shapes,kw", ERROR_CASES)
def test_errors_match_torch(name, shapes, kw):
    arrays = _arrays(shapes)
    ours = [tt.tensor(a.astype(np.float32)) for a in arrays]
    theirs = [torch.tensor(a.astype(np.float32)) for a in arrays]
    _same_error(lambda: getattr(F, name)(*ours, **kw), lambda: getattr(TF, name)(*theirs, **kw))


def test_dtype_mismatch_errors_match_torch():
    x, w, b = _arrays([X, W, (6,)])
    _same_error(lambda: F.conv2d(tt.tensor(x.astype(np.float32)), tt.tensor(w)),
                lambda: TF.conv2d(torch.tensor(x.astype(np.float32)), torch.tensor(w)))
    _same_error(lambda: F.conv2d(tt.tensor(x), tt.tensor(w), tt.tensor(b.astype(np.float32))),
                lambda: TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b.astype(np.float32))))


def test_gradient_ops_check_grad_output_shape():
    with pytest.raises(RuntimeError, match="Expected grad_output of size"):
        nn_conv.conv2d_input_grad_op(tt.zeros(2, 6, 4, 4), tt.zeros(*W), input_size=X)
    with pytest.raises(RuntimeError, match="Expected grad_output of size"):
        nn_conv.conv2d_weight_grad_op(tt.zeros(*X), tt.zeros(2, 6, 4, 4), weight_size=W)


# The channels-last path for small images (nn_conv._nhwc_ok): every geometry it accepts, forward and the input,
# weight and bias gradients, against torch in float64.
NHWC_CASES = [
    ("conv2d", (4, 3, 6, 5), (5, 3, 3, 3), dict(padding=1)),
    ("conv2d", (4, 3, 7, 7), (2, 3, 3, 2), dict(stride=2, padding=(1, 0))),
    ("conv2d", (3, 2, 8, 8), (4, 2, 3, 3), dict(dilation=2, padding=2)),
    ("conv2d", (2, 4, 5, 6), (3, 4, 2, 2), dict(padding="same")),
    ("conv1d", (3, 4, 9), (5, 4, 3), dict(stride=2, padding=1)),
    ("conv_transpose2d", (2, 4, 3, 3), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
]


@pytest.mark.parametrize("name,xs,ws,kw", NHWC_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(NHWC_CASES)])
def test_channels_last_small_image_path_matches_torch(name, xs, ws, kw):
    rng = np.random.default_rng(7)
    x_np, w_np = rng.standard_normal(xs), rng.standard_normal(ws)
    b_np = rng.standard_normal(ws[1] if name == "conv_transpose2d" else ws[0])
    taken = []
    original = nn_conv._nhwc_ok

    def spy(g):
        taken.append(original(g))
        return taken[-1]

    nn_conv._nhwc_ok = spy
    try:
        x, w, b = (tt.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        out = getattr(F, name)(x, w, b, **kw)
        out.backward(tt.ones_like(out) * tt.arange(out.numel(), dtype=tt.float64).reshape(out.shape))
    finally:
        nn_conv._nhwc_ok = original
    assert any(taken), "the channels-last path was not taken"
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    tout = getattr(torch.nn.functional, name)(tx, tw, tb, **kw)
    tout.backward(torch.arange(tout.numel(), dtype=torch.float64).reshape(tout.shape))
    for ours, theirs in ((out, tout), (x.grad, tx.grad), (w.grad, tw.grad), (b.grad, tb.grad)):
        assert_close(ours.detach(), theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_channels_last_path_runs_blas_on_one_thread(monkeypatch):
    """The small-image path's whole-batch GEMMs run with OpenBLAS on one thread (its threads' hand-offs cost more
    than these products on a shared machine), and the caller's thread count is restored afterwards."""
    threads = {"now": 4}
    seen = []

    def get():
        return threads["now"]

    def put(count):
        threads["now"] = count

    def spy_matmul(*args, **kwargs):
        seen.append(threads["now"])
        return real_matmul(*args, **kwargs)

    real_matmul = np.matmul
    monkeypatch.setattr(_cpu_parallel, "BLAS_THREADS", (get, put))
    monkeypatch.setattr(_cpu_parallel, "BLAS_PRIMED", True)  # the one-time priming product runs before, at any count
    monkeypatch.setattr(nn_conv.np, "matmul", spy_matmul)
    x = tt.tensor(np.ones((4, 3, 6, 5))).requires_grad_(True)
    w = tt.tensor(np.ones((5, 3, 3, 3))).requires_grad_(True)
    assert nn_conv._nhwc_ok(nn_conv._forward_geom("t", (4, 3, 6, 5), (5, 3, 3, 3), None, 1, 1, 1, 1, 2))
    out = F.conv2d(x, w, padding=1)
    tt.autograd.grad(out.sum(), [x, w])
    assert len(seen) >= 3 and set(seen) == {1}
    assert threads["now"] == 4


def test_geometry_is_remembered_but_errors_are_not():
    x, w = tt.randn(1, 3, 8, 8), tt.randn(4, 3, 3, 3)
    F.conv2d(x, w, padding=1)
    key = ("conv2d", (1, 3, 8, 8), (4, 3, 3, 3), None, 1, 1, 1, 1, 2)
    g = nn_conv._GEOMS.get(key)
    assert g is not None and g is nn_conv._forward_geom(*key)
    for _ in range(2):  # a call that raises leaves nothing behind, so it raises again
        with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
            F.conv2d(tt.randn(1, 3, 2, 2), w)
    assert ("conv2d", (1, 3, 2, 2), (4, 3, 3, 3), None, 1, 0, 1, 1, 2) not in nn_conv._GEOMS
    assert_close(F.conv2d(x, w, padding=[1, 1]), F.conv2d(x, w, padding=1))  # a list: validated every time
