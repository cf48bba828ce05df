"""torch.* names that are thin forms of what exists: in-place function forms, predicates, the nn functions with
PyTorch's own top-level argument orders, the view-copy functions and the process settings; each against torch."""

import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _pair(values, device="cpu", dtype="float64", requires_grad=False):
    a = np.asarray(values, dtype=dtype)
    t = tt.tensor(a, device=device).requires_grad_(requires_grad)
    r = torch.tensor(a).requires_grad_(requires_grad)
    return t, r


def _close(t, r, atol=1e-6):
    if isinstance(t, (tuple, list)):
        assert len(t) == len(r)
        for a, b in zip(t, r):
            _close(a, b, atol)
        return
    assert tuple(t.shape) == tuple(r.shape)
    np.testing.assert_allclose(t.detach().cpu().numpy().astype(np.float64),
                               r.detach().numpy(force=True).astype(np.float64), atol=atol, rtol=1e-6)


# ---------------------------------------------------------------------------- top-level in-place function forms

_UNARY_INPLACE = ["abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
                  "asin_", "asinh_", "atan_", "atanh_", "ceil_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_",
                  "exp2_", "exp_", "expm1_", "fix_", "floor_", "frac_", "i0_", "log10_", "log1p_", "log2_", "log_",
                  "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_",
                  "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
                  "zero_", "conj_physical_"]


def _domain(name):
    if name in ("acosh_", "arccosh_"):
        return [1.5, 2.0, 3.25]
    if name in ("acos_", "arccos_", "asin_", "arcsin_", "atanh_", "arctanh_", "logit_"):
        return [0.1, 0.5, 0.75]
    return [0.25, 1.5, 2.75]


@pytest.mark.parametrize("name", _UNARY_INPLACE)
def test_unary_inplace_function_forms(name):
    t, r = _pair(_domain(name))
    out = getattr(tt, name)(t)
    assert out is t and t._version[0] == (0 if name == "conj_physical_" else 1)
    getattr(torch, name)(r)
    _close(t, r)


@pytest.mark.parametrize("name", ["log10_", "deg2rad_", "rad2deg_", "sinc_", "sgn_", "renorm_", "heaviside_"])
@pytest.mark.parametrize("device", DEVICES)
def test_composite_inplace_methods_match_torch_with_gradients(name, device):
    values = [[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]]
    args = {"renorm_": (2, 0, 1.0), "heaviside_": (0.5,)}.get(name, ())
    x, xr = _pair(values, device, requires_grad=True)
    y, yr = x * 2, xr * 2
    targs = tuple(tt.tensor(a, dtype=tt.float64, device=device) if isinstance(a, float) and name == "heaviside_"
                  else a for a in args)
    rargs = tuple(torch.tensor(a, dtype=torch.float64) if isinstance(a, float) and name == "heaviside_"
                  else a for a in args)
    version = y._version[0]
    assert getattr(y, name)(*targs) is y and y._version[0] == version + 1
    getattr(yr, name)(*rargs)
    _close(y, yr)
    if name != "heaviside_":  # heaviside has no derivative
        (y * y).sum().backward()
        (yr * yr).sum().backward()
        _close(x.grad, xr.grad, atol=1e-5)


def test_inplace_forms_errors():
    leaf = tt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tt.abs_(leaf)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.log10_()
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        tt.arange(3).log10_()
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tt.zeros(3).heaviside_(tt.zeros(2, 3))
    with pytest.raises(TypeError, match="must be Tensor"):
        tt.abs_(3)


def test_inplace_functions_with_arguments():
    t, r = _pair([-2.0, 0.5, 3.0])
    for name, args in [("clamp_", (-1.0, 1.0)), ("clamp_min_", (0.0,)), ("clamp_max_", (0.25,)), ("clip_", (0, 1)),
                       ("fill_", (2.5,)), ("xlogy_", (2.0,))]:
        t2, r2 = t.clone(), r.clone()
        getattr(tt, name)(t2, *args)
        getattr(torch, name)(r2, *args)
        _close(t2, r2)
    m, mr = _pair(np.arange(9.0).reshape(3, 3))
    t2, r2 = t.clone(), r.clone()
    tt.addmv_(t2, m, t, beta=0.5, alpha=2)
    torch.addmv_(r2, mr, r, beta=0.5, alpha=2)
    _close(t2, r2)
    assert tuple(tt.resize_as_(t.clone(), m).shape) == tuple(torch.resize_as_(r.clone(), mr).shape) == (3, 3)
    t2, r2 = t.clone(), r.clone()
    tt.index_put_(t2, (tt.tensor([0, 2]),), tt.tensor(7.0, dtype=tt.float64))
    torch.index_put_(r2, (torch.tensor([0, 2]),), torch.tensor(7.0, dtype=torch.float64))
    _close(t2, r2)


# ------------------------------------------------------------------------------------------- predicates etc.

def test_predicates_and_real_forms():
    x, xr = _pair([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    for name in ("is_signed", "is_inference", "is_neg", "is_conj", "is_complex"):
        assert getattr(tt, name)(x) == getattr(torch, name)(xr)
    for name in ("is_signed", "is_inference", "is_neg", "is_conj"):
        assert getattr(x, name)() == getattr(xr, name)()
    assert tt.is_signed(tt.tensor([True])) is False and tt.tensor([1], dtype=tt.uint8).is_signed() is False
    assert tt.is_same_size(x, x.t()) == torch.is_same_size(xr, xr.t()) and x.is_same_size(x.clone())
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "real", "clone", "detach"):
        _close(getattr(tt, name)(x), getattr(torch, name)(xr))
    _close(x.conj_physical(), xr.conj_physical())
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        tt.imag(x)
    assert tt.get_device(x) == torch.get_device(xr) == -1
    with tt.inference_mode():
        inf = tt.ones(2) * 2
    assert tt.is_inference(inf) and inf.is_inference() and not (inf.clone()).is_inference()


def test_rsub_fill_detach_():
    x, xr = _pair([1.0, 2.0, 3.0], requires_grad=True)
    _close(tt.rsub(x, 2.5, alpha=2), torch.rsub(xr, 2.5, alpha=2))
    _close(tt.rsub(tt.arange(3), 2.5), torch.rsub(torch.arange(3), 2.5))
    v, vr = _pair(3.0, requires_grad=True)
    f, fr = tt.fill(x, v), torch.fill(xr, vr)
    _close(f, fr)
    (f * x).sum().backward()
    (fr * xr).sum().backward()
    _close(x.grad, xr.grad)
    _close(v.grad, vr.grad)
    d = x * 2
    assert tt.detach_(d) is d and d.grad_fn is None and not d.requires_grad


def test_splits():
    x, xr = _pair(np.arange(12.0).reshape(3, 4))
    _close(tt.split_with_sizes(x, [1, 3], 1), torch.split_with_sizes(xr, [1, 3], 1))
    _close(x.split_with_sizes([2, 1]), xr.split_with_sizes([2, 1]))
    _close(tt.unsafe_split_with_sizes(x, [2, 1]), torch.unsafe_split_with_sizes(xr, [2, 1]))
    _close(tt.unsafe_split(x, 3, 1), torch.unsafe_split(xr, 3, 1))
    _close(x.unsafe_split(2), xr.unsafe_split(2))
    _close(tt.unsafe_chunk(x, 2, 1), torch.unsafe_chunk(xr, 2, 1))
    _close(x.unsafe_chunk(3), xr.unsafe_chunk(3))
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        x.split_with_sizes([1, 1], 1)


def test_frombuffer_and_empty_permuted():
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t, r = tt.frombuffer(buf, dtype=tt.float32, count=2, offset=4), torch.frombuffer(bytearray(buf),
                                                                                      dtype=torch.float32, count=2,
                                                                                      offset=4)
    _close(t, r)
    t[0] = 9.0
    assert np.frombuffer(buf, np.float32)[1] == 9.0  # shares the buffer
    for bad in [dict(offset=100), dict(count=0)]:
        with pytest.raises(ValueError):
            tt.frombuffer(buf, dtype=tt.float32, **bad)
    with pytest.raises(ValueError, match="must be a multiple of element size"):
        tt.frombuffer(bytearray(6), dtype=tt.float32)
    for device in DEVICES:
        e, er = tt.empty_permuted((2, 3, 4), (0, 2, 1), device=device), torch.empty_permuted((2, 3, 4), (0, 2, 1))
        assert tuple(e.shape) == tuple(er.shape) and tuple(e.stride()) == tuple(er.stride()) and e._base is None
    with pytest.raises(RuntimeError, match="len\\(size\\) = 3 is not equal to len\\(physical_layout\\) = 2"):
        tt.empty_permuted((2, 3, 4), (0, 2))


# ------------------------------------------------------------------------------------- Tensor method additions

def test_new_resize_share():
    x = tt.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    assert tuple(x.new(2, 3).shape) == (2, 3) and x.new(2, 3).dtype is tt.float32
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new([1, 2]).dtype is tt.float32
    assert tuple(x.new().shape) == (0,) and tuple(x.new(tt.Size([4])).shape) == (4,)
    y = x.clone()
    assert y.resize_(3, 3) is y and tuple(y.shape) == (3, 3) and y[:2].reshape(-1)[:6].tolist() == \
        [1.0, -2.0, 3.0, 4.0, 5.0, -6.0]
    assert y.resize_(2).tolist() == [1.0, -2.0] and y.resize_((1, 2)).tolist() == [[1.0, -2.0]]
    assert tuple(tt.ones(2).resize_as_(x).shape) == (2, 3)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        tt.ones(2, requires_grad=True).resize_(3)
    assert not x.is_shared()
    z = x.clone()
    assert z.share_memory_() is z and z.is_shared() and z.tolist() == x.tolist()
    z.view(-1)[0] = 7.0
    assert z[0, 0].item() == 7.0


def test_apply_map_cpu_only():
    x, xr = _pair([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    _close(x.clone().apply_(lambda v: v * 2), xr.clone().apply_(lambda v: v * 2))
    o, orr = _pair([1.0, 2.0, 3.0])
    _close(x.clone().map_(o, lambda a, b: a + b), xr.clone().map_(orr, lambda a, b: a + b))
    _close(x.clone().map2_(x, o, lambda a, b, c: a + b * c), xr.clone().map2_(xr, orr, lambda a, b, c: a + b * c))
    with pytest.raises(RuntimeError, match="Can't call apply_\\(\\) on Variable that requires grad"):
        tt.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(RuntimeError, match="only implemented on CPU tensors"):
        tt.ones(2, device="cuda").apply_(lambda v: v)


def test_dim_order_nonzero_static_const_data_ptr():
    for shape, perm in [((2, 3), (0, 1)), ((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1))]:
        a, ar = tt.ones(shape).permute(perm), torch.ones(shape).permute(perm)
        assert a.dim_order() == ar.dim_order()
    x, xr = _pair([[1.0, -2.0, 0.0], [4.0, 0.0, -6.0]])
    for kw in [dict(size=2), dict(size=6, fill_value=-5), dict(size=0)]:
        assert x.nonzero_static(**kw).tolist() == xr.nonzero_static(**kw).tolist()
    assert x.const_data_ptr() == x.data_ptr()


# ------------------------------------------------------------------------------------------------ view copies

_VIEW_COPIES = [("alias_copy", ()), ("as_strided_copy", ((2, 2), (1, 3), 1)), ("detach_copy", ()),
                ("diagonal_copy", (1,)), ("expand_copy", ((2, 3, 4),)), ("permute_copy", ((2, 0, 1),)),
                ("select_copy", (1, 2)), ("slice_copy", (2, 1, 4, 2)), ("split_copy", (2, 2)),
                ("split_with_sizes_copy", ([1, 2], 1)), ("squeeze_copy", ()), ("t_copy", ()),
                ("transpose_copy", (0, 2)), ("unbind_copy", (2,)), ("unfold_copy", (2, 2, 1)),
                ("unsqueeze_copy", (1,)), ("view_copy", ((4, 3),))]


@pytest.mark.parametrize("name,args", _VIEW_COPIES)
def test_view_copies_values_gradients_and_own_memory(name, args):
    values = np.arange(12.0).reshape(1, 3, 4) / 3.0
    if name == "t_copy":
        values = values.reshape(3, 4)
    x, xr = _pair(values, requires_grad=True)
    out, outr = getattr(tt, name)(x, *args), getattr(torch, name)(xr, *args)
    _close(out, outr)
    pieces, pieces_r = (out, outr) if isinstance(out, tuple) else ((out,), (outr,))
    for p in pieces:
        assert p._base is None
    if name != "detach_copy":
        sum(((p * (i + 2)) ** 2).sum() for i, p in enumerate(pieces)).backward()
        sum(((p * (i + 2)) ** 2).sum() for i, p in enumerate(pieces_r)).backward()
        _close(x.grad, xr.grad)


def test_view_copies_out_and_errors():
    x, xr = _pair(np.arange(6.0).reshape(2, 3))
    out = tt.empty(3, 2, dtype=tt.float64)
    assert tt.t_copy(x, out=out) is out
    _close(out, torch.t_copy(xr))
    pieces = [tt.empty(2, 1, dtype=tt.float64), tt.empty(2, 2, dtype=tt.float64)]
    tt.split_with_sizes_copy(x, [1, 2], 1, out=pieces)
    _close(pieces, torch.split_with_sizes_copy(xr, [1, 2], 1))
    assert tuple(tt.view_copy(x, tt.int32).shape) == tuple(torch.view_copy(xr, torch.int32).shape)
    with pytest.raises(RuntimeError, match="doesn't match"):
        tt.t_copy(x, out=tt.empty(2, 3, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="slice step must be positive"):
        tt.slice_copy(x, 1, 0, 3, 0)


# ------------------------------------------------------------------------- nn functions with ATen's signatures

def _nn_cases():
    rng = np.random.default_rng(0)
    x4 = rng.standard_normal((2, 4, 3, 3))
    x3 = rng.standard_normal((2, 3, 8))
    x5 = rng.standard_normal((1, 2, 4, 4, 4))
    v = rng.standard_normal((4, 5))
    w = rng.standard_normal((4, 5))
    t01 = (rng.random((4, 5)) > 0.5).astype(np.float64)
    pm = np.sign(rng.standard_normal(4))
    lp = np.log(rng.dirichlet(np.ones(5), size=(4,)))
    prob = rng.dirichlet(np.ones(5), size=(4,))
    return [
        ("batch_norm", [x4, np.ones(4) * 1.5, np.zeros(4) + 0.25, np.zeros(4), np.ones(4)], (True, 0.1, 1e-5, False)),
        ("instance_norm", [x4, np.ones(4) * 1.5, np.zeros(4) + 0.25, None, None], (True, 0.1, 1e-5, False)),
        ("selu", [v], ()), ("celu", [v], (0.7,)), ("threshold", [v], (0.1, -2.0)),
        ("prelu", [x4, np.array([0.1, 0.2, 0.3, 0.4])], ()), ("hardshrink", [v], (0.6,)),
        ("pixel_shuffle", [x4], (2,)), ("pixel_unshuffle", [rng.standard_normal((1, 2, 4, 4))], (2,)),
        ("channel_shuffle", [x4], (2,)), ("native_channel_shuffle", [x4], (2,)),
        ("bilinear", [v, w, rng.standard_normal((3, 5, 5)), rng.standard_normal(3)], ()),
        ("constant_pad_nd", [x3], ((1, 2), 0.5)),
        ("kl_div", [lp, prob], (1,)), ("kl_div", [lp, prob], (0,)), ("kl_div", [lp, prob], (2,)),
        ("hinge_embedding_loss", [v, np.where(t01 > 0, 1.0, -1.0)], (0.5, 2)),
        ("margin_ranking_loss", [v[:, 0], w[:, 0], pm], (0.2, 1)),
        ("cosine_embedding_loss", [v, w, pm], (0.1, 0)),
        ("poisson_nll_loss", [v, np.abs(w)], (True, True, 1e-8, 1)),
        ("triplet_margin_loss", [v, w, v[::-1].copy()], (1.0, 2.0, 1e-6, True, 1)),
        ("binary_cross_entropy_with_logits", [v, t01, None, np.full(5, 2.0)], (1,)),
        ("max_pool1d", [x3], (3, [], 1, 1, True)), ("max_pool3d", [x5], (2,)),
        ("avg_pool1d", [x3], (3, 2, 1, False, False)), ("adaptive_avg_pool1d", [x3], (3,)),
        ("adaptive_max_pool1d", [x3], (3,)), ("max_pool1d_with_indices", [x3], (2,)),
        ("conv_tbc", [rng.standard_normal((7, 2, 3)), rng.standard_normal((3, 3, 5)), rng.standard_normal(5)], (1,)),
    ]


@pytest.mark.parametrize("case", range(len(_nn_cases())))
def test_nn_forms_match_torch_with_gradients(case):
    name, arrays, args = _nn_cases()[case]
    ts, rs = [], []
    for i, a in enumerate(arrays):
        if a is None:
            ts.append(None)
            rs.append(None)
            continue
        targets = {"batch_norm": (3, 4), "binary_cross_entropy_with_logits": (1, 3)}.get(
            name, (len(arrays) - 1,) if "loss" in name or name == "kl_div" else ())
        t, r = _pair(a, requires_grad=i not in targets)
        ts.append(t)
        rs.append(r)
    out, outr = getattr(tt, name)(*ts, *args), getattr(torch, name)(*rs, *args)
    _close(out, outr)
    if name == "native_channel_shuffle":  # torch has no derivative for it (tritorch's is channel_shuffle's)
        return
    first, first_r = (out[0], outr[0]) if isinstance(out, tuple) else (out, outr)
    (first ** 2).sum().backward()
    (first_r ** 2).sum().backward()
    for t, r in zip(ts, rs):
        if t is not None and t.requires_grad:
            _close(t.grad, r.grad, atol=1e-5)
    if name == "batch_norm":  # the running statistics were updated in place, as torch's
        _close(ts[3], rs[3])
        _close(ts[4], rs[4])


def test_embedding_and_ctc_and_renorm():
    w, wr = _pair(np.arange(12.0).reshape(4, 3) / 4, requires_grad=True)
    idx, idx_r = tt.tensor([[1, 0], [3, 1]]), torch.tensor([[1, 0], [3, 1]])
    for pad in (-1, 1):
        out, outr = tt.embedding(w, idx, pad), torch.embedding(wr, idx_r, pad)
        _close(out, outr)
        (out * 3).sum().backward()
        (outr * 3).sum().backward()
        _close(w.grad, wr.grad)
    rw, rwr = _pair(np.arange(12.0).reshape(4, 3))
    assert tt.embedding_renorm_(rw, tt.tensor([0, 2]), 1.0, 2.0) is rw
    torch.embedding_renorm_(rwr, torch.tensor([0, 2]), 1.0, 2.0)
    _close(rw, rwr)
    rng = np.random.default_rng(1)
    lp = np.log(rng.dirichlet(np.ones(4), size=(6, 2)))
    t, tr_ = _pair(lp, requires_grad=True)
    targets, lengths = [[1, 2], [3, 3]], [6, 5]
    args = (tt.tensor(targets), tt.tensor(lengths), tt.tensor([2, 1]), 0, 1, False)
    args_r = (torch.tensor(targets), torch.tensor(lengths), torch.tensor([2, 1]), 0, 1, False)
    _close(tt.ctc_loss(t, *args), torch.ctc_loss(tr_, *args_r))  # (torch's gradient assumes log_softmax inputs)
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        tt.kl_div(t, t, 5)


def test_dropout_forms():
    x = tt.ones(4, 3, 5)
    for name in ("alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        assert getattr(tt, name)(x, 0.5, False) is x
        tt.manual_seed(0)
        out = getattr(tt, name)(x, 0.5, True)
        assert tuple(out.shape) == (4, 3, 5) and out._version[0] == 0 and x.sum().item() == 60
        tt.manual_seed(0)
        y = x.clone()
        assert getattr(tt, name + "_")(y, 0.5, True) is y
        _close(y, torch.tensor(out.numpy()))
    f = tt.feature_dropout(tt.ones(50, 4, 3), 0.5, True)
    per_channel = f.numpy().reshape(200, 3)
    assert np.all(per_channel == per_channel[:, :1]) and set(np.unique(per_channel)) <= {0.0, 2.0}
    y = tt.ones(1000)
    tt.dropout_(y, 0.5, True)
    assert set(np.unique(y.numpy())) == {0.0, 2.0}
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        tt.feature_dropout(tt.ones(3), 0.5, True)
    for name, args in [("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.0, -1.0))]:
        t, r = _pair([-1.0, 0.5, 2.0])
        assert getattr(tt, name)(t, *args) is t
        getattr(torch, name)(r, *args)
        _close(t, r)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        tt.selu_(tt.ones(2, requires_grad=True))


def test_tensor_hardshrink_prelu_methods():
    x, xr = _pair([[-1.0, 0.3, 2.0], [0.6, -0.2, -3.0]])
    _close(x.hardshrink(0.5), xr.hardshrink(0.5))
    w, wr = _pair([0.25])
    _close(x.prelu(w), xr.prelu(wr))


# ---------------------------------------------------------------------------------------------------- settings

def test_anomaly_and_inference_switches():
    assert tt.is_anomaly_enabled() is False and tt.is_anomaly_check_nan_enabled() is True
    try:
        tt.set_anomaly_enabled(True, False)
        assert tt.is_anomaly_enabled() and not tt.is_anomaly_check_nan_enabled()
        x = tt.tensor([0.0], requires_grad=True)
        x.sqrt().sum().backward()  # inf gradient: no NaN check with check_nan=False
        tt.set_anomaly_enabled(True)
        with pytest.raises(RuntimeError):
            y = tt.tensor([-1.0], requires_grad=True)
            y.sqrt().sum().backward()
    finally:
        tt.set_anomaly_enabled(False)
    with tt.autograd.detect_anomaly(check_nan=False):
        assert tt.is_anomaly_enabled() and not tt.is_anomaly_check_nan_enabled()
    assert not tt.is_anomaly_enabled() and tt.is_anomaly_check_nan_enabled()
    assert tt.is_inference_mode_enabled() is torch.is_inference_mode_enabled() is False
    with tt.inference_mode():
        assert tt.is_inference_mode_enabled()


def test_warn_threads_denormal_deterministic():
    tt.set_warn_always(True)
    assert tt.is_warn_always_enabled()
    tt.set_warn_always(False)
    assert not tt.is_warn_always_enabled()
    assert tt.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError, match="expects a positive integer"):
        tt.set_num_interop_threads(0)
    assert tt.set_flush_denormal(True) is False  # not supported (documented)
    try:
        for mode, code in [("warn", 1), ("error", 2), (1, 1), ("default", 0)]:
            tt.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert tt.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == code
            assert tt.are_deterministic_algorithms_enabled() == (code != 0)
            assert tt.is_deterministic_algorithms_warn_only_enabled() == (code == 1)
        with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`, but got bad"):
            tt.set_deterministic_debug_mode("bad")
        with pytest.raises(RuntimeError, match="expected 0, 1, or 2, but got 5"):
            tt.set_deterministic_debug_mode(5)
    finally:
        tt.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)


def test_autocast_setters_drive_the_regions():
    a, b = tt.ones(2, 2), tt.ones(2, 2)
    assert tt.get_autocast_dtype("cpu") is tt.bfloat16 and tt.get_autocast_dtype("cuda") is tt.float16
    try:
        tt.set_autocast_enabled("cpu", True)
        assert tt.is_autocast_enabled("cpu")
        with pytest.warns(DeprecationWarning, match="is_autocast_enabled\\('cpu'\\)"):
            assert tt.is_autocast_cpu_enabled()
        assert (a @ b).dtype is tt.bfloat16
        tt.set_autocast_dtype("cpu", tt.float16)
        assert (a @ b).dtype is tt.float16 and tt.get_autocast_dtype("cpu") is tt.float16
        with pytest.warns(DeprecationWarning):
            assert tt.get_autocast_cpu_dtype() is tt.float16
        tt.set_autocast_enabled("cpu", False)
        assert (a @ b).dtype is tt.float32 and not tt.is_autocast_enabled("cpu")
        with tt.autocast("cpu"):  # a region with no dtype takes the one set
            assert (a @ b).dtype is tt.float16
        with pytest.warns(DeprecationWarning):
            tt.set_autocast_cpu_dtype(tt.bfloat16)
        with pytest.warns(DeprecationWarning):
            tt.set_autocast_gpu_dtype(tt.bfloat16)
        with pytest.warns(DeprecationWarning):
            assert tt.get_autocast_gpu_dtype() is tt.bfloat16
        tt.set_autocast_enabled(True)  # the legacy one-argument form is cuda's
        assert tt.is_autocast_enabled("cuda") and not tt.is_autocast_enabled("cpu")
        tt.set_autocast_enabled(False)
        with pytest.raises(RuntimeError, match="Invalid device string: 'xla2'"):
            tt.set_autocast_dtype("xla2", tt.float16)
    finally:
        tt.set_autocast_enabled("cpu", False)
        tt.set_autocast_enabled("cuda", False)
        tt.set_autocast_dtype("cpu", tt.bfloat16)
        tt.set_autocast_dtype("cuda", tt.float16)
    assert tt._state.FLAGS.autocast == 0
    assert tt.is_autocast_cache_enabled() is torch.is_autocast_cache_enabled() is True
    tt.set_autocast_cache_enabled(False)
    with tt.autocast("cpu", cache_enabled=True):
        assert tt.is_autocast_cache_enabled()
    assert not tt.is_autocast_cache_enabled()
    tt.set_autocast_cache_enabled(True)
    tt.clear_autocast_cache()


# ------------------------------------------------------------------------------------------ every name exists

_TOP = ("abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_ cos_ "
        "cosh_ erf_ erfc_ exp2_ exp_ expm1_ fix_ floor_ frac_ log1p_ log2_ log_ logit_ reciprocal_ sin_ sinh_ tan_ "
        "relu_ sigmoid_ sqrt_ square_ tanh_ trunc_ xlogy_ zero_ fill_ clamp_ clamp_min_ clamp_max_ clip_ index_put_ "
        "i0_ "
        "nan_to_num_ neg_ negative_ round_ rsqrt_ selu_ celu_ threshold_ dropout_ alpha_dropout_ addmv_ "
        "feature_alpha_dropout_ feature_dropout_ deg2rad_ rad2deg_ log10_ sinc_ detach_ resize_as_ embedding_renorm_ "
        "embedding_bag nonzero_static norm_except_dim to_dlpack is_storage grid_sampler grid_sampler_2d "
        "grid_sampler_3d affine_grid_generator set_autocast_cpu_enabled init_num_threads cond while_loop vmap "
        "set_default_tensor_type FloatTensor DoubleTensor LongTensor IntTensor BoolTensor ByteTensor convolution "
        "from_file sym_int sym_float sym_max sym_min sym_not sym_sqrt sym_ite sym_sum native_layer_norm "
        "native_batch_norm native_group_norm native_dropout "
        "clone detach rsub fill conj conj_physical conj_physical_ resolve_conj resolve_neg is_conj is_neg is_complex "
        "is_signed is_inference is_same_size real imag get_device split_with_sizes unsafe_chunk unsafe_split "
        "unsafe_split_with_sizes batch_norm instance_norm embedding selu celu threshold prelu hardshrink pixel_shuffle "
        "pixel_unshuffle channel_shuffle native_channel_shuffle bilinear constant_pad_nd kl_div hinge_embedding_loss "
        "margin_ranking_loss cosine_embedding_loss poisson_nll_loss triplet_margin_loss "
        "binary_cross_entropy_with_logits ctc_loss max_pool1d max_pool3d avg_pool1d adaptive_avg_pool1d "
        "adaptive_max_pool1d max_pool1d_with_indices alpha_dropout feature_alpha_dropout feature_dropout frombuffer "
        "empty_permuted alias_copy as_strided_copy detach_copy diagonal_copy expand_copy permute_copy select_copy "
        "slice_copy split_copy split_with_sizes_copy squeeze_copy t_copy transpose_copy unbind_copy unfold_copy "
        "unsqueeze_copy view_copy is_anomaly_enabled set_anomaly_enabled is_anomaly_check_nan_enabled "
        "is_inference_mode_enabled set_warn_always is_warn_always_enabled get_num_interop_threads "
        "set_num_interop_threads set_flush_denormal get_deterministic_debug_mode set_deterministic_debug_mode "
        "set_autocast_enabled is_autocast_cpu_enabled get_autocast_cpu_dtype set_autocast_cpu_dtype "
        "get_autocast_gpu_dtype set_autocast_gpu_dtype set_autocast_dtype is_autocast_cache_enabled "
        "set_autocast_cache_enabled clear_autocast_cache").split()
_METHODS = ("deg2rad_ rad2deg_ log10_ sgn_ sinc_ heaviside_ renorm_ conj_physical_ is_signed is_inference "
            "is_same_size is_neg is_conj conj_physical hardshrink prelu new split_with_sizes unsafe_chunk "
            "unsafe_split unsafe_split_with_sizes resize_ resize_as_ share_memory_ is_shared apply_ map_ map2_ "
            "dim_order nonzero_static const_data_ptr to_dense new_empty_strided is_set_to").split()
_FUNCTIONAL = ("elu_ selu_ celu_ leaky_relu_ hardtanh_ threshold_ max_pool1d_with_indices max_pool2d_with_indices "
               "max_pool3d_with_indices adaptive_max_pool1d_with_indices adaptive_max_pool2d_with_indices "
               "adaptive_max_pool3d_with_indices upsample_bilinear upsample_nearest native_channel_shuffle").split()


def test_every_name_exists_where_torch_has_it():
    for name in _TOP:
        assert hasattr(torch, name) and callable(getattr(tt, name)), name
    for name in _METHODS:
        assert hasattr(torch.Tensor, name) and callable(getattr(tt.Tensor, name)), name
    for name in _FUNCTIONAL:
        assert hasattr(torch.nn.functional, name) and callable(getattr(tt.nn.functional, name)), name
    assert issubclass(tt.nn.NLLLoss2d, tt.nn.NLLLoss)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("variant", ["plain", "last", "pad"])
def test_embedding_bag_aten_form(mode, variant):
    dtype = "float32" if variant == "plain" else "float64"  # float32 sum: offset2bag left empty, as torch
    w, wr = _pair(np.arange(15.0).reshape(5, 3) * np.array([1.0, -1.0, 0.5]), dtype=dtype, requires_grad=True)
    idx = [0, 2, 1, 3, 3, 1, 4]
    offsets = [0, 2, 7] if variant == "last" else [0, 2, 2, 5]
    extra = {"plain": (None, False, None), "last": (None, True, None), "pad": (None, False, 3)}[variant]
    out = tt.embedding_bag(w, tt.tensor(idx), tt.tensor(offsets), False, mode, False, *extra)
    outr = torch.embedding_bag(wr, torch.tensor(idx), torch.tensor(offsets), False, mode, False, *extra)
    _close(out[0], outr[0])
    for a, b in zip(out[1:], outr[1:]):
        assert a.tolist() == b.tolist()
    (out[0] ** 2).sum().backward()
    (outr[0] ** 2).sum().backward()
    _close(w.grad, wr.grad)


@pytest.mark.parametrize("device", DEVICES)
def test_resize_keeps_leading_elements_on_each_device(device):
    y, yr = tt.arange(6.0, device=device).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    for shape in [(3, 2), (4,), (1, 2)]:
        assert y.resize_(*shape).tolist() == yr.resize_(*shape).tolist()
    assert tuple(y.resize_(2, 4).shape) == (2, 4) and y.device.type == device
    assert y.reshape(-1)[:2].tolist() == [0.0, 1.0]


# ------------------------------------------------------------------------------------ more thin forms and flags

def test_layout_predicates_and_dense_forms():
    x, xr = _pair([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.is_meta is xr.is_meta is False
    for name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_mkldnn", "is_nested", "is_xpu",
                 "is_mps", "is_xla", "is_ipu", "is_vulkan", "is_maia", "is_mtia"):
        assert getattr(x, name) is getattr(xr, name) is False, name
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        x.imag
    assert x.to_dense() is x and x.to_dense(tt.float32).dtype is tt.float32
    e, er = x.new_empty_strided((2, 3), (1, 2)), xr.new_empty_strided((2, 3), (1, 2))
    assert e.stride() == er.stride() and e.dtype is tt.float64
    assert x.new_empty_strided((2, 3), (3, 1), dtype=tt.int64).dtype is tt.int64
    for other, other_r in [(x, xr), (x.view(2, 3), xr.view(2, 3)), (x.t(), xr.t()), (x.clone(), xr.clone())]:
        assert x.is_set_to(other) == xr.is_set_to(other_r)
    assert tt.is_storage(x) is torch.is_storage(xr) is False
    assert torch.from_dlpack(tt.to_dlpack(x)).tolist() == x.tolist()  # a capsule torch reads
    _close(tt.nonzero_static(x > 2, size=5), torch.nonzero_static(xr > 2, size=5))


@pytest.mark.parametrize("dim,p", [(0, 2), (1, 2), (2, 3), (-1, 2)])
def test_norm_except_dim(dim, p):
    v, vr = _pair(np.arange(24.0).reshape(2, 3, 4) - 7.0, requires_grad=True)
    out, outr = tt.norm_except_dim(v, p, dim), torch.norm_except_dim(vr, p, dim)
    _close(out, outr)
    out.sum().backward()
    outr.sum().backward()
    _close(v.grad, vr.grad)


@pytest.mark.parametrize("mode,padding", [(0, 0), (1, 1), (2, 2), (0, 2)])
def test_grid_sampler_integer_modes(mode, padding):
    rng = np.random.default_rng(4)
    x, xr = _pair(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
    g, gr = _pair(rng.uniform(-1.2, 1.2, (1, 3, 3, 2)))
    for fn in ("grid_sampler", "grid_sampler_2d"):
        _close(getattr(tt, fn)(x, g, mode, padding, False), getattr(torch, fn)(xr, gr, mode, padding, False),
               atol=1e-5)
    out, outr = tt.grid_sampler(x, g, mode, padding, True), torch.grid_sampler(xr, gr, mode, padding, True)
    (out ** 2).sum().backward()
    (outr ** 2).sum().backward()
    _close(x.grad, xr.grad, atol=1e-5)
    x3, x3r = _pair(rng.standard_normal((1, 1, 3, 3, 3)))
    g3, g3r = _pair(rng.uniform(-1, 1, (1, 2, 2, 2, 3)))
    if mode != 2:
        _close(tt.grid_sampler_3d(x3, g3, mode, padding, False), torch.grid_sampler_3d(x3r, g3r, mode, padding, False))
    with pytest.raises(RuntimeError, match="expected 4D input"):
        tt.grid_sampler_2d(x3, g3, mode, padding, False)
    theta, theta_r = _pair([[[1.0, 0.2, 0.1], [-0.3, 0.9, 0.0]]])
    _close(tt.affine_grid_generator(theta, (1, 2, 3, 4), False),
           torch.affine_grid_generator(theta_r, (1, 2, 3, 4), False))


def test_deprecated_autocast_cpu_switch_and_init_threads():
    try:
        with pytest.warns(DeprecationWarning, match="set_autocast_enabled\\('cpu', enabled\\)"):
            tt.set_autocast_cpu_enabled(True)
        assert tt.is_autocast_enabled("cpu") and (tt.ones(2, 2) @ tt.ones(2, 2)).dtype is tt.bfloat16
    finally:
        with pytest.warns(DeprecationWarning):
            tt.set_autocast_cpu_enabled(False)
    assert not tt.is_autocast_enabled("cpu")
    assert tt.init_num_threads() is None


def test_cond_while_loop_vmap():
    x, xr = _pair([1.0, -2.0, 3.0], requires_grad=True)
    for pred in (True, 0, tt.tensor(True), tt.tensor([0.0])):
        pred_r = torch.tensor(pred.tolist()) if isinstance(pred, tt.Tensor) else pred
        out = tt.cond(pred, lambda a: a * 2, lambda a: a * 3, (x,))
        outr = torch.cond(pred_r, lambda a: a * 2, lambda a: a * 3, (xr,))
        _close(out, outr)
    out.sum().backward()
    outr.sum().backward()
    _close(x.grad, xr.grad)
    with pytest.raises(RuntimeError, match="Expected pred to be bool or single-element tensor"):
        tt.cond(tt.tensor([True, False]), lambda: 1, lambda: 0)
    i, v = tt.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (tt.tensor(0), tt.ones(2)))
    ir, vr = torch.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (torch.tensor(0), torch.ones(2)))
    assert i.item() == ir.item() and v.tolist() == vr.tolist()
    single = tt.while_loop(lambda i: i < 3, lambda i: i + 1, (tt.tensor(0),))
    assert isinstance(single, tt.Tensor) and single.item() == 3
    _close(tt.vmap(lambda r: (r * r).sum())(tt.tensor(np.arange(6.0).reshape(2, 3))),
           torch.vmap(lambda r: (r * r).sum())(torch.tensor(np.arange(6.0).reshape(2, 3))))


# -------------------------------------------------------------------------------------------- legacy tensor types

_LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", _LEGACY)
def test_legacy_tensor_types(name):
    t_type, r_type = getattr(tt, name), getattr(torch, name)
    assert str(t_type.dtype).split(".")[-1] == str(r_type.dtype).split(".")[-1] and t_type.is_cuda is False
    assert getattr(tt.cuda, name).is_cuda is True
    made, made_r = t_type(2, 3), r_type(2, 3)
    assert tuple(made.shape) == tuple(made_r.shape) and isinstance(made, t_type) and made.type() == f"tritorch.{name}"
    assert t_type([1, 0, 1]).tolist() == r_type([1, 0, 1]).tolist() and tuple(t_type().shape) == (0,)
    x, xr = tt.ones(2), torch.ones(2)
    assert isinstance(x.type(t_type), t_type) and x.type(t_type).tolist() == xr.type(r_type).tolist()
    assert isinstance(x.type(f"torch.{name}"), t_type) and isinstance(x, t_type) == isinstance(xr, r_type)
    on_cuda = x.type(f"torch.cuda.{name}")
    assert on_cuda.device.type == "cuda" and isinstance(on_cuda, getattr(tt.cuda, name))
    assert not isinstance(on_cuda, t_type)


def test_set_default_tensor_type():
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            tt.set_default_tensor_type(tt.DoubleTensor)
        assert tt.ones(1).dtype is tt.float64 and tt.get_default_dtype() is tt.float64
        with pytest.warns(UserWarning):
            tt.set_default_tensor_type("torch.cuda.FloatTensor")
        assert tt.ones(1).dtype is tt.float32 and tt.ones(1).device.type == "cuda"
        with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
            with pytest.warns(UserWarning):
                tt.set_default_tensor_type(tt.LongTensor)
        with pytest.raises(ValueError, match="invalid type"):
            with pytest.warns(UserWarning):
                tt.set_default_tensor_type("torch.NoSuchTensor")
    finally:
        tt.set_default_dtype(tt.float32)
        tt.set_default_device(None)
    assert tt.ones(1).device.type == "cpu"


@pytest.mark.parametrize("transposed,shape,wshape", [(False, (1, 4, 7), (6, 2, 3)), (False, (1, 2, 5, 5), (3, 2, 3, 3)),
                                                     (False, (1, 2, 4, 4, 4), (2, 2, 2, 2, 2)),
                                                     (True, (1, 2, 5), (2, 3, 3)), (True, (1, 2, 4, 4), (2, 3, 3, 3))])
def test_convolution_entry_point(transposed, shape, wshape):
    rng = np.random.default_rng(5)
    x, xr = _pair(rng.standard_normal(shape), requires_grad=True)
    w, wr = _pair(rng.standard_normal(wshape), requires_grad=True)
    dims = len(shape) - 2
    groups = 2 if not transposed and dims == 1 else 1
    args = ([2] * dims, [1] * dims, [1] * dims, transposed, [1 if transposed else 0] * dims, groups)
    out, outr = tt.convolution(x, w, None, *args), torch.convolution(xr, wr, None, *args)
    _close(out, outr, atol=1e-9)
    (out ** 2).sum().backward()
    (outr ** 2).sum().backward()
    _close(x.grad, xr.grad, atol=1e-8)
    _close(w.grad, wr.grad, atol=1e-8)


def test_from_file(tmp_path):
    path = str(tmp_path / "data.bin")
    np.arange(6, dtype=np.float32).tofile(path)
    _close(tt.from_file(path, size=4, dtype=tt.float32), torch.from_file(path, size=4, dtype=torch.float32))
    private = tt.from_file(path, size=6, dtype=tt.float32)
    private[0] = 5.0
    assert np.fromfile(path, np.float32)[0] == 0.0  # a private mapping leaves the file alone
    shared = tt.from_file(path, shared=True, size=6, dtype=tt.float32)
    shared[1] = 9.0
    shared._data.flush()
    assert np.fromfile(path, np.float32)[1] == 9.0
    grown = tt.from_file(str(tmp_path / "new.bin"), shared=True, size=3, dtype=tt.int64)
    assert tuple(grown.shape) == (3,) and grown.dtype is tt.int64
    with pytest.raises(RuntimeError, match="is smaller than the required mapping size <40>"):
        tt.from_file(path, size=10, dtype=tt.float32)
    assert tt.from_file(path, size=2, dtype=tt.float32, device="cuda").device.type == "cuda"


def test_sym_helpers_match_torch():
    for name, args in [("sym_int", (3.7,)), ("sym_int", (-3.7,)), ("sym_float", (2,)), ("sym_max", (2, 5.0)),
                       ("sym_min", (2, 5)), ("sym_not", (True,)), ("sym_sqrt", (4,)), ("sym_ite", (False, 1, 2)),
                       ("sym_sum", ([1, 2, 3],))]:
        assert getattr(tt, name)(*args) == getattr(torch, name)(*args), name


def test_native_norms_and_dropout():
    rng = np.random.default_rng(6)
    x, xr = _pair(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w, wr = _pair(rng.standard_normal((3, 4)), requires_grad=True)
    out, outr = tt.native_layer_norm(x, [3, 4], w, None, 1e-5), torch.native_layer_norm(xr, [3, 4], wr, None, 1e-5)
    _close(out, outr, atol=1e-7)
    (out[0] ** 2).sum().backward()
    (outr[0] ** 2).sum().backward()
    _close(x.grad, xr.grad, atol=1e-7)
    x4, x4r = _pair(rng.standard_normal((2, 3, 4, 4)))
    for training in (True, False):
        rm, rmr = _pair(np.zeros(3))
        rv, rvr = _pair(np.ones(3))
        out = tt.native_batch_norm(x4, None, None, rm, rv, training, 0.1, 1e-5)
        outr = torch.native_batch_norm(x4r, None, None, rmr, rvr, training, 0.1, 1e-5)
        _close(out, outr, atol=1e-7)
        _close(rm, rmr)
    _close(tt.native_group_norm(x4, None, None, 2, 3, 16, 3, 1e-5),
           torch.native_group_norm(x4r, None, None, 2, 3, 16, 3, 1e-5), atol=1e-7)
    inp = tt.tensor([0.0, 1.0, 2.0, 3.0] * 50)
    out, mask = tt.native_dropout(inp, 0.5, True)
    assert mask.dtype is tt.bool and 0 < mask.sum().item() < 200
    np.testing.assert_array_equal(out.numpy(), np.where(mask.numpy(), inp.numpy() * 2, 0.0))
    same, keep = tt.native_dropout(inp, 0.5, False)
    assert same.tolist() == inp.tolist() and bool(keep.all())


@pytest.mark.parametrize("device", DEVICES)
def test_as_strided_scatter_and_as_strided_(device):
    x = np.arange(12.0).reshape(3, 4)
    for transpose in (False, True):
        a = tt.tensor(x, device=device)
        r_in = torch.tensor(x)
        a, r_in = (a.t(), r_in.t()) if transpose else (a, r_in)
        got = tt.as_strided_scatter(a, tt.tensor([100.0, 200.0], device=device), (2,), (5,), 1)
        want = torch.as_strided_scatter(r_in, torch.tensor([100.0, 200.0]), (2,), (5,), 1)
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
        assert got.stride() == want.stride()
    # gradients by finite differences (torch 2.13's own input gradient fails its gradcheck: it keeps the
    # scattered positions instead of zeroing them)
    a = tt.randn(3, 4, dtype=tt.float64, device=device, requires_grad=True)
    b = tt.randn(2, dtype=tt.float64, device=device, requires_grad=True)
    assert tt.autograd.gradcheck(lambda p, q: a.new_ones(1) * tt.as_strided_scatter(p.t(), q, (2,), (5,), 1),
                                 (a, b))
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice of self"):
        tt.as_strided_scatter(a, b, (3,), (1,))
    assert a.detach().as_strided_scatter(b.detach(), (2,), (1,)).shape == (3, 4)   # the method form
    for lib, dev in ((tt, device), (torch, "cpu")):
        y = lib.arange(6.0, device=dev)
        v = y[1:]
        assert v.as_strided_((2, 2), (1, 2)) is v
        assert v.tolist() == [[1.0, 3.0], [2.0, 4.0]] and v.storage_offset() == 1
        y.as_strided_((2, 2), (1, 2), 1)
        assert y.tolist() == [[1.0, 3.0], [2.0, 4.0]] and y.stride() == (1, 2)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"])
def test_rnn_cell_functions_match_torch(name, device):
    gates = {"lstm_cell": 4, "gru_cell": 3}.get(name, 1)
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s) for s in ((2, 4), (2, 3), (2, 3), (3 * gates, 4), (3 * gates, 3),
                                               (3 * gates,), (3 * gates,))]
    ours = [tt.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def call(lib, t):
        hx = (t[1], t[2]) if name == "lstm_cell" else t[1]
        out = getattr(lib, name)(t[0], hx, t[3], t[4], t[5], t[6])
        return out if isinstance(out, tuple) else (out,)

    a, b = call(tt, ours), call(torch, theirs)
    _close(a, b, atol=1e-12)
    sum(o.sum() for o in a).backward()
    sum(o.sum() for o in b).backward()
    used = range(7) if name == "lstm_cell" else (0, 1, 3, 4, 5, 6)
    _close([ours[i].grad for i in used], [theirs[i].grad for i in used], atol=1e-12)
    with pytest.raises(TypeError, match="must be tuple of Tensors"):
        tt.lstm_cell(ours[0], ours[1], ours[3], ours[4])
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        getattr(tt, name)(ours[0][:, :3], (ours[1], ours[2]) if name == "lstm_cell" else ours[1], ours[3], ours[4])


def test_absent_devices_and_build_flags():
    import importlib
    for name in ("xpu", "mtia"):
        mod = importlib.import_module(f"tritorch.{name}")
        assert mod is getattr(tt, name) and not mod.is_available() and mod.device_count() == 0
        mod.manual_seed(0)
        with pytest.raises(AssertionError, match=f"not compiled with {name.upper()} enabled"):
            mod.synchronize()
        for fn in mod.__all__:
            assert hasattr(getattr(torch, name), fn), (name, fn)
    assert tt.has_lapack and not tt.has_spectral and not tt.is_vulkan_available()
    y = tt.arange(6.0)
    assert tt.as_strided_(y, (2, 2), (1, 2), 1) is y and y.tolist() == [[1.0, 3.0], [2.0, 4.0]]


RECURRENCES = [("lstm", dict(has_biases=True, num_layers=2, bidirectional=True, batch_first=False)),
               ("lstm", dict(has_biases=False, num_layers=1, bidirectional=False, batch_first=True, proj=2)),
               ("gru", dict(has_biases=True, num_layers=2, bidirectional=False, batch_first=True)),
               ("rnn_tanh", dict(has_biases=True, num_layers=1, bidirectional=True, batch_first=False)),
               ("rnn_relu", dict(has_biases=False, num_layers=2, bidirectional=False, batch_first=False))]


def _recurrence_weights(name, cfg, rng, feat=3, hid=4):
    gates = {"lstm": 4, "gru": 3}.get(name, 1)
    proj = cfg.get("proj", 0)
    dirs = 2 if cfg["bidirectional"] else 1
    arrays = []
    for layer in range(cfg["num_layers"]):
        for _ in range(dirs):
            inp = feat if layer == 0 else (proj or hid) * dirs
            arrays += [rng.standard_normal((gates * hid, inp)), rng.standard_normal((gates * hid, proj or hid))]
            if cfg["has_biases"]:
                arrays += [rng.standard_normal(gates * hid), rng.standard_normal(gates * hid)]
            if proj:
                arrays.append(rng.standard_normal((proj, hid)))
    return arrays


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, cfg", RECURRENCES, ids=[f"{n}{i}" for i, (n, _) in enumerate(RECURRENCES)])
def test_rnn_functions_match_torch(name, cfg, device):
    """torch.lstm / gru / rnn_tanh / rnn_relu over flat weights (what nn.LSTM runs), padded and packed:
    outputs, final states and every gradient."""
    rng = np.random.default_rng(3)
    dirs, L, N, hid = 2 if cfg["bidirectional"] else 1, 5, 2, 4
    weights = _recurrence_weights(name, cfg, rng)
    x = rng.standard_normal((N, L, 3) if cfg["batch_first"] else (L, N, 3))
    h0 = rng.standard_normal((cfg["num_layers"] * dirs, N, cfg.get("proj") or hid))
    c0 = rng.standard_normal((cfg["num_layers"] * dirs, N, hid))
    arrays = [x, h0, c0] + weights

    def call(lib, t, packed):
        hx = (t[1], t[2]) if name == "lstm" else t[1]
        flags = (cfg["has_biases"], cfg["num_layers"], 0.0, True, cfg["bidirectional"])
        if packed:   # the time-major input as a packed batch of lengths 5 and 3
            seq = t[0].transpose(0, 1) if cfg["batch_first"] else t[0]
            p = lib.nn.utils.rnn.pack_padded_sequence(seq, lib.tensor([5, 3]))
            return getattr(lib, name)(p.data, p.batch_sizes, hx, list(t[3:]), *flags)
        return getattr(lib, name)(t[0], hx, list(t[3:]), *flags, cfg["batch_first"])

    for packed in (False, True):
        ours = [tt.tensor(a, device=device, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        a, b = call(tt, ours, packed), call(torch, theirs, packed)
        assert len(a) == len(b) == (3 if name == "lstm" else 2)
        _close(list(a), list(b), atol=1e-10)
        sum((o * (i + 1)).sum() for i, o in enumerate(a)).backward()
        sum((o * (i + 1)).sum() for i, o in enumerate(b)).backward()
        used = [i for i in range(len(arrays)) if name == "lstm" or i != 2]
        _close([ours[i].grad for i in used], [theirs[i].grad for i in used], atol=1e-10)


def test_rnn_functions_check_their_arguments():
    x, h = tt.ones(5, 2, 3), tt.zeros(1, 2, 4)
    w = [tt.ones(12, 3), tt.ones(12, 4)]
    with pytest.raises(RuntimeError, match="incorrect number of RNN parameters"):
        tt.gru(x, h, w, True, 1, 0.0, False, False, False)
    with pytest.raises(TypeError, match="tuple of Tensors"):
        tt.lstm(x, h, w, False, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="3-D"):
        tt.gru(x[0], h, w, False, 1, 0.0, False, False, False)
    out, h_n = tt.gru(x, h, w, False, 1, 0.0, False, False, False)
    assert tuple(out.shape) == (5, 2, 4) and tuple(h_n.shape) == (1, 2, 4)


def test_conv_tbc_checks_and_functional_default():
    x, w, b = tt.ones(7, 2, 3), tt.ones(3, 3, 5), tt.ones(5)
    assert tuple(tt.nn.functional.conv_tbc(x, w, b).shape) == (5, 2, 5)
    with pytest.raises(RuntimeError, match="Input must have 3 dims"):
        tt.conv_tbc(x[0], w, b)
    with pytest.raises(RuntimeError, match="input channels"):
        tt.conv_tbc(x, w[:, :2], b)
    with pytest.raises(RuntimeError, match="Bias size must equal"):
        tt.conv_tbc(x, w, b[:2])


@pytest.mark.parametrize("device", DEVICES)
def test_generic_stream_and_event(device):
    """torch.Stream / torch.Event: tritorch.cuda's on a cuda device (subclasses), idle ones on the cpu."""
    s, e = tt.Stream(device), tt.Event(device, enable_timing=True)
    assert isinstance(s, tt.Stream) and isinstance(e, tt.Event)
    assert s.device == e.device == as_device(device) and s.query() and e.query()
    assert s.device_type == {"cpu": 0, "cuda": 1}[device]    # PyTorch's DeviceType numbers
    s.synchronize()
    if device == "cuda":
        assert isinstance(s, tt.cuda.Stream) and isinstance(e, tt.cuda.Event)
        assert s == tt.cuda.current_stream() and isinstance(tt.cuda.Event(True, False), tt.Event)
        e.record(s)
        end = s.record_event(tt.Event("cuda", enable_timing=True))
        assert end.elapsed_time(end) == 0 and e.elapsed_time(end) >= 0
    else:
        assert repr(s) == "tritorch.Stream device_type=cpu, device_index=-1, stream_id=0" and s == tt.Stream("cpu")
        s.wait_stream(tt.Stream("cpu"))
        for call in (e.record, e.wait, lambda: s.record_event(), lambda: e.elapsed_time(e)):
            with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
                call()
        # torch's cpu stream and event answer the same
        ts, te = torch.Stream("cpu"), torch.Event("cpu")
        assert ts.query() and (ts.device_type, ts.device_index) == (s.device_type, s.device_index)
        with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
            te.record()
    with pytest.raises(TypeError, match="at most 1 positional"):
        tt.Stream("cpu", 0)


def test_functions_take_atens_keyword_names():
    # names from PyTorch's schemas that scripts pass as keywords (a sweep of torch's schemas against ours)
    x = tt.ones(2, 4)
    assert tt.dropout(x, p=0.5, train=False).tolist() == x.tolist()
    assert tt.layer_norm(x, [4], None, None, 1e-5, True).shape == (2, 4)           # ATen's cudnn_enable
    assert tt.group_norm(x.reshape(2, 4, 1), 2, None, None, 1e-5, True).shape == (2, 4, 1)
    assert tt.swapaxes(x, axis0=0, axis1=1).shape == (4, 2) and tt.swapdims(x, dim0=0, dim1=1).shape == (4, 2)
    assert x.swapaxes(axis0=1, axis1=0).shape == (4, 2)
    assert tt.can_cast(from_=tt.float32, to=tt.int32) is False
    assert tt.promote_types(type1=tt.float32, type2=tt.int64) is tt.float32
    assert tt.result_type(tensor=tt.ones(2, dtype=tt.int32), other=1.0) is tt.float32
    assert [p.shape[1] for p in tt.hsplit(x, indices=[1, 3])] == [1, 2, 1]
    assert [p.shape[1] for p in tt.hsplit(x, sections=2)] == [2, 2]
    assert [p.shape[1] for p in tt.tensor_split(x, sections=3, dim=1)] == [2, 1, 1]
    assert [p.shape[1] for p in tt.tensor_split(x, indices=[1], dim=1)] == [1, 3]
    with pytest.raises(TypeError, match="takes one of"):
        tt.tensor_split(x, 2, sections=2)


def test_methods_take_atens_keyword_names():
    a, b = tt.tensor([1.0, -1.0]), tt.tensor([0.0, 0.0])
    assert a.max(other=b).tolist() == [1.0, 0.0] and tt.min(a, other=b).tolist() == [0.0, -1.0]
    with pytest.raises(TypeError, match="got dim and other"):
        tt.max(a, 0, other=b)
    assert tt.ones(2).resize_(size=(1, 2)).shape == (1, 2)


# Keyword parameters of PyTorch's Python-level functions that tritorch does not take yet (the test below fails
# when a new gap appears, and when one of these is filled: then remove it here).
_KNOWN_KEYWORD_GAPS = {}


def test_every_keyword_of_torchs_python_functions_is_accepted():
    import inspect
    modules = [("torch", torch, tt), ("F", torch.nn.functional, tt.nn.functional), ("linalg", torch.linalg, tt.linalg),
               ("special", torch.special, tt.special), ("init", torch.nn.init, tt.nn.init), ("fft", torch.fft, tt.fft)]
    gaps = {}
    for label, theirs, ours in modules:
        for name in dir(theirs):
            f, g = getattr(theirs, name), getattr(ours, name, None)
            if name.startswith("_") or g is None or not callable(f) or isinstance(f, type):
                continue
            try:
                want, have = inspect.signature(f).parameters, inspect.signature(g).parameters
            except (TypeError, ValueError):
                continue
            if any(p.kind == p.VAR_KEYWORD for p in have.values()):
                continue
            missing = {k for k, p in want.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - set(have)
            if missing:
                gaps[f"{label}.{name}"] = missing
    assert gaps == _KNOWN_KEYWORD_GAPS
    assert tt.compile(lambda x: x, name="f", recompile_limit=4)(2) == 2
    a = tt.arange(3.0)
    b = tt.from_dlpack(a, copy=True)
    b.add_(1)
    assert a.tolist() == [0.0, 1.0, 2.0]


def test_torch_functional_module():
    # `import torch.functional as F` (PyTorch's home of einsum, split, norm, ...): every name of its __all__,
    # the same functions as the top level's
    import tritorch.functional as tf
    assert sorted(tf.__all__) == sorted(torch.functional.__all__)
    for name in tf.__all__:
        assert getattr(tf, name) is getattr(tt, name)
    assert tf.einsum("i,i->", tt.ones(3), tt.ones(3)).item() == 3.0


def test_return_types_print_as_pytorchs():
    # torch.return_types.<name>(\nfield=...,\nfield=...) for the factorizations and sorts too, not a namedtuple's
    # one-line form
    want = str(torch.sort(torch.tensor([2, 1]))).replace("torch.", "tritorch.")
    assert str(tt.sort(tt.tensor([2, 1]))) == want
    assert str(tt.svd(tt.eye(2))).startswith("tritorch.return_types.svd(\nU=tensor(")
    assert type(tt.linalg.qr(tt.eye(2))).__module__ == "tritorch.return_types"


def test_numpy_style_axis_and_keepdims_aliases():
    # PyTorch's parser takes axis= for dim= and keepdims= for keepdim= (transformers: x.all(axis=-1) in beam search,
    # x.mean(axis=0) in resize_token_embeddings)
    x = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert tt.sum(x, axis=0, keepdims=True).tolist() == [[5.0, 7.0, 9.0]]
    assert x.mean(axis=0).tolist() == [2.5, 3.5, 4.5] and x.mean(axis=(0, 1)).item() == 3.5
    assert (x > 0).all(axis=-1).tolist() == [True, True] and (x > 5).any(axis=1).tolist() == [False, True]
    assert x.max(axis=1).values.tolist() == [3.0, 6.0] and tt.argmax(x, axis=0).tolist() == [1, 1, 1]
    assert tt.cat([x, x], axis=0).shape == (4, 3) and tt.stack([x, x], axis=1).shape == (2, 2, 3)
    assert x.softmax(axis=-1).sum(axis=-1).tolist() == pytest.approx([1.0, 1.0])
    assert x.cumsum(axis=1)[0].tolist() == [1.0, 3.0, 6.0] and x.unsqueeze(axis=0).shape == (1, 2, 3)
    assert x.sum(0).tolist() == [5.0, 7.0, 9.0] and tt.sum(x).item() == 21.0   # no keywords: as before
    assert tt.sum.__name__ == "sum" and tt.Tensor.mean.__name__ == "mean"
    # naming a parameter both ways: torch's parser's TypeError
    with pytest.raises(TypeError, match="sum\\(\\) got an unexpected keyword argument 'axis'"):
        x.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="sum\\(\\) got an unexpected keyword argument 'keepdims'"):
        tt.sum(x, 0, keepdim=True, keepdims=True)
    with pytest.raises(TypeError, match="topk\\(\\) got an unexpected keyword argument 'axis'"):
        x.topk(1, dim=1, axis=1)   # (an op with a renaming wrapper)


def test_check_family():
    # torch._check and friends (transformers guards inputs with _check, _check_with, _check_tensor_all_with)
    tt._check(True)
    tt._check_tensor_all(tt.tensor([True, True]))
    cases = [(tt._check, RuntimeError), (tt._check_index, IndexError), (tt._check_value, ValueError),
             (tt._check_type, TypeError), (tt._check_not_implemented, NotImplementedError)]
    for fn, error in cases:
        with pytest.raises(error, match="^Expected cond to be True, but got False."):
            fn(False)
        with pytest.raises(error, match="^custom$"):
            fn(False, lambda: "custom")
    with pytest.raises(KeyError, match="5"):
        tt._check_with(KeyError, False, lambda: 5)
    with pytest.raises(ValueError, match="^bad$"):
        tt._check_tensor_all_with(ValueError, tt.tensor([True, False]), lambda: "bad")
    with pytest.raises(TypeError, match="cond tensor must have dtype tritorch.bool, but got tritorch.int64"):
        tt._check_tensor_all(tt.tensor([1, 1]))
    with pytest.raises(TypeError, match="cond must be a tensor"):
        tt._check_tensor_all(True)
    with pytest.raises(TypeError, match="cond must be a bool, but got a Tensor"):
        tt._check(tt.tensor(True))
    with pytest.raises(TypeError, match="message must be a callable"):
        tt._check(False, "text")
    tt._check_is_size(0)
    with pytest.raises(RuntimeError):
        tt._check_is_size(-1)


def test_self_reference_and_c_ir_names():
    # torch.torch is torch (transformers' UVDoc annotates -> torch.torch.Tensor); torch._C.Graph / Value exist for
    # the annotations of ONNX symbolic methods that Python evaluates at import (SEW-D)
    assert tt.torch is tt and tt.torch.Tensor is tt.Tensor
    assert isinstance(tt._C.Graph, type) and isinstance(tt._C.Value, type)
    with pytest.raises(RuntimeError, match="no TorchScript IR"):
        tt._C.Graph()
