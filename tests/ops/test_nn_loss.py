"""Hand-written tests of cross_entropy / nll_loss: parity with torch.nn.functional for every option (forward and
gradients, cpu and cuda), the fused gradient buffer (used once, then recomputed), double backward, the online
path for long rows, legacy arguments and PyTorch's errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_loss as L
from tritorch.ops import nn_softmax as S
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()
torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(0)


def _x(shape, device, seed=0):
    a = np.random.default_rng(seed).uniform(-3, 3, shape)
    return tt.tensor(a, device=device).requires_grad_(True), torch.tensor(a, requires_grad=True)


def _t(values, device):
    a = np.asarray(values, np.int64)
    return tt.tensor(a, device=device), torch.tensor(a)


def _check(out, tout, x, tx, extra=(), rtol=1e-7, atol=1e-9):
    """Forward values, then the gradients of sum(out * w) for x (and `extra` pairs of leaves)."""
    assert tuple(out.shape) == tuple(tout.shape)
    assert_close(out, tout.detach().numpy(), rtol=rtol, atol=atol)
    w = np.cos(np.arange(tout.numel()) + 0.5).reshape(tout.shape)
    leaves = [x] + [a for a, _ in extra]
    tleaves = [tx] + [b for _, b in extra]
    grads = tt.autograd.grad(out, leaves, tt.tensor(w, device=x.device))
    tgrads = torch.autograd.grad(tout, tleaves, torch.tensor(w))
    for g, tg in zip(grads, tgrads):
        assert_close(g, tg.numpy(), rtol=rtol, atol=atol)


CE_CASES = [
    dict(),
    dict(reduction="none"),
    dict(reduction="sum"),
    dict(weight=True),
    dict(weight=True, reduction="sum"),
    dict(ignore_index=2),
    dict(ignore_index=2, weight=True, reduction="none"),
    dict(label_smoothing=0.15),
    dict(label_smoothing=0.15, weight=True, ignore_index=1),
    dict(label_smoothing=0.3, weight=True, ignore_index=1, reduction="none"),
    dict(label_smoothing=0.3, reduction="sum"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CE_CASES, ids=[str(c) for c in CE_CASES])
def test_cross_entropy_class_indices_match_torch(device, case):
    kw = dict(case)
    x, tx = _x((6, 5), device)
    t, tt_ = _t([0, 2, 4, 1, 2, 3], device)
    if kw.pop("weight", False):
        w = np.linspace(0.5, 2.0, 5)
        kw["weight"] = tt.tensor(w, device=device)
        tkw = dict(kw, weight=torch.tensor(w))
    else:
        tkw = dict(kw)
    _check(L.cross_entropy(x, t, **kw), F.cross_entropy(tx, tt_, **tkw), x, tx)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [dict(), dict(reduction="none", label_smoothing=0.2), dict(ignore_index=0)])
def test_cross_entropy_spatial_matches_torch(device, kw):
    x, tx = _x((2, 3, 2, 3), device, seed=1)
    tv = np.random.default_rng(1).integers(0, 3, (2, 2, 3))
    t, tt_ = _t(tv, device)
    _check(L.cross_entropy(x, t, **kw), F.cross_entropy(tx, tt_, **kw), x, tx)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [dict(), dict(reduction="none"), dict(reduction="sum", label_smoothing=0.2),
                                dict(weight=True, label_smoothing=0.1)])
def test_cross_entropy_probabilities_match_torch(device, kw):
    kw = dict(kw)
    x, tx = _x((4, 5), device, seed=2)
    p = np.random.default_rng(2).uniform(0, 1, (4, 5))
    p /= p.sum(1, keepdims=True)
    t = tt.tensor(p, device=device).requires_grad_(True)
    tp = torch.tensor(p, requires_grad=True)
    tkw = dict(kw)
    if kw.pop("weight", False):
        w = np.linspace(0.5, 2.0, 5)
        kw["weight"], tkw["weight"] = tt.tensor(w, device=device), torch.tensor(w)
    _check(L.cross_entropy(x, t, **kw), F.cross_entropy(tx, tp, **tkw), x, tx, extra=[(t, tp)])


@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_unbatched_and_empty(device):
    x, tx = _x((5,), device)
    t, tt_ = _t(3, device)
    _check(L.cross_entropy(x, t, label_smoothing=0.1), F.cross_entropy(tx, tt_, label_smoothing=0.1), x, tx)
    e = tt.zeros(0, 4, device=device)
    te = torch.zeros(0, 4)
    ti = tt.zeros(0, dtype=tt.int64, device=device)
    assert np.isnan(L.cross_entropy(e, ti).item()) and np.isnan(F.cross_entropy(te, torch.zeros(0).long()).item())
    assert L.cross_entropy(e, ti, reduction="sum").item() == 0.0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [dict(), dict(reduction="none"), dict(weight=True, ignore_index=1, reduction="sum")])
def test_nll_loss_matches_torch(device, kw):
    kw = dict(kw)
    x, tx = _x((5, 4), device, seed=3)
    t, tt_ = _t([0, 1, 3, 1, 2], device)
    tkw = dict(kw)
    if kw.pop("weight", False):
        w = np.linspace(0.5, 2.0, 4)
        kw["weight"], tkw["weight"] = tt.tensor(w, device=device), torch.tensor(w)
    _check(L.nll_loss(x, t, **kw), F.nll_loss(tx, tt_, **tkw), x, tx)
    x3, tx3 = _x((2, 4, 3), device, seed=4)
    t3, tt3 = _t([[0, 3, 1], [2, 2, 0]], device)
    _check(L.nll_loss(x3, t3, **kw), F.nll_loss(tx3, tt3, **tkw), x3, tx3)


def test_weight_gradient_is_the_exact_derivative():
    """PyTorch does not differentiate the class weights; tritorch does: check against finite differences (cpu;
    the generated tests compare cuda gradients with cpu ones)."""
    device = "cpu"
    x = tt.tensor(np.random.default_rng(5).uniform(-2, 2, (4, 3)), device=device)
    t = tt.tensor([0, 2, 1, 2], device=device)
    w = tt.tensor([0.7, 1.3, 2.0], dtype=tt.float64, device=device).requires_grad_(True)
    for kw in (dict(), dict(label_smoothing=0.2, ignore_index=1), dict(reduction="none")):
        assert tt.autograd.gradcheck(lambda a, b: L.cross_entropy(a, t, b, **kw),
                                     [x.requires_grad_(True), w])
        nll_kw = {k: v for k, v in kw.items() if k != "label_smoothing"}
        assert tt.autograd.gradcheck(lambda a, b: L.nll_loss(a, t, b, **nll_kw), [x, w])


@pytest.mark.parametrize("device", DEVICES)
def test_fused_gradient_buffer_then_recompute(device):
    x, tx = _x((4, 6), device, seed=6)
    t, tt_ = _t([5, 0, 3, 3], device)
    loss = L.cross_entropy(x, t, label_smoothing=0.1)
    plan = loss.grad_fn.ctx.meta.aux
    assert plan.grad is not None                    # the forward wrote the gradient
    loss.backward(retain_graph=True)
    assert plan.grad is None                        # consumed (scaled in place) by the first backward
    first = np.array(x.grad._host())
    x.grad = None
    loss.backward()                                 # a retained graph's second backward recomputes
    assert_close(x.grad, first, rtol=1e-12, atol=1e-12)
    tl_ = F.cross_entropy(tx, tt_, label_smoothing=0.1)
    tl_.backward()
    assert_close(x.grad, tx.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_no_gradient_buffer_without_grad(device):
    x = tt.tensor(np.ones((3, 4)), device=device)
    loss = L.cross_entropy_op(x, tt.tensor([0, 1, 2], device=device))
    assert loss.grad_fn is None
    with tt.no_grad():
        xg = x.clone().requires_grad_(True)
        meta = L.cross_entropy_op.infer(xg, tt.tensor([0, 1, 2], device=device))
        L.cross_entropy_op.impl[xg.device.type](meta, xg, tt.tensor([0, 1, 2], device=device))
        assert meta.aux.grad is None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.2, reduction="sum"), dict(probs=True)])
def test_cross_entropy_double_backward_matches_torch(device, kw):
    kw = dict(kw)
    x, tx = _x((3, 4), device, seed=7)
    if kw.pop("probs", False):
        p = np.random.default_rng(7).uniform(0, 1, (3, 4))
        t, tt_ = tt.tensor(p, device=device), torch.tensor(p)
    else:
        t, tt_ = _t([1, 0, 3], device)
    (g,) = tt.autograd.grad(L.cross_entropy(x, t, **kw), x, create_graph=True)
    (tg,) = torch.autograd.grad(F.cross_entropy(tx, tt_, **kw), tx, create_graph=True)
    v = np.sin(np.arange(12.0)).reshape(3, 4)
    (gg,) = tt.autograd.grad(g, x, tt.tensor(v, device=device))
    (tgg,) = torch.autograd.grad(tg, tx, torch.tensor(v))
    assert_close(g, tg.detach().numpy(), rtol=1e-7, atol=1e-9)
    assert_close(gg, tgg.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.skipif("cuda" not in DEVICES, reason="no cuda device (GPU or interpreter)")
@pytest.mark.parametrize("kw", [dict(label_smoothing=0.1, weight=True, ignore_index=2), dict(probs=True)])
def test_long_rows_take_the_online_path(monkeypatch, kw):
    monkeypatch.setattr(S, "ROW_BLOCK_MAX", 16)
    kw = dict(kw)
    C = 2 ** 6 + 17
    assert not S.row_blocks(5, C)[2]
    a = np.random.default_rng(8).uniform(-10, 10, (5, C)).astype(np.float32)
    x = tt.tensor(a, device="cuda").requires_grad_(True)
    tx = torch.tensor(a, requires_grad=True)
    tkw = dict(kw)
    if kw.pop("probs", False):
        p = np.random.default_rng(8).uniform(0, 1, (5, C)).astype(np.float32)
        t, tt_ = tt.tensor(p, device="cuda"), torch.tensor(p)
        tkw.pop("probs")
    else:
        t, tt_ = _t([0, 2, C - 1, 40, 17], "cuda")
        w = np.linspace(0.5, 2.0, C).astype(np.float32)
        kw["weight"], tkw["weight"] = tt.tensor(w, device="cuda"), torch.tensor(w)
    _check(L.cross_entropy(x, t, **kw), F.cross_entropy(tx, tt_, **tkw), x, tx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_half_logits(device):
    a = np.random.default_rng(9).uniform(-5, 5, (4, 33)).astype(np.float32)
    x = tt.tensor(a, device=device).to(tt.float16).requires_grad_(True)
    tx = torch.tensor(np.asarray(x.detach().to(tt.float32)._host())).half().requires_grad_(True)
    t, tt_ = _t([0, 5, 32, 7], device)
    loss = L.cross_entropy(x, t)
    tloss = F.cross_entropy(tx, tt_)
    assert loss.dtype is tt.float16
    assert_close(loss.to(tt.float32), tloss.float().detach().numpy(), rtol=2e-3, atol=2e-3)
    loss.backward()
    tloss.backward()
    assert x.grad.dtype is tt.float16
    assert_close(x.grad.to(tt.float32), tx.grad.float().numpy(), rtol=2e-3, atol=1e-4)


def test_legacy_reduction_arguments():
    x = tt.tensor(np.ones((2, 3)))
    t = tt.tensor([0, 1])
    with pytest.warns(UserWarning):
        r = L.cross_entropy(x, t, reduce=False)
    assert tuple(r.shape) == (2,)
    with pytest.warns(UserWarning):
        r = L.nll_loss(x, t, size_average=False)
    assert r.item() == -2.0


def test_mixed_dtype_probabilities_promote():
    x = tt.tensor(np.ones((2, 3)), dtype=tt.float32)
    p = tt.tensor(np.full((2, 3), 1 / 3))
    assert L.cross_entropy(x, p).dtype is tt.float64


def test_errors_match_pytorch():
    x = tt.ones(3, 4)
    t = tt.tensor([0, 1, 2])
    cases = [
        (lambda: L.cross_entropy(x, tt.tensor([0, 1, 5])), IndexError, "Target 5 is out of bounds."),
        (lambda: L.cross_entropy(x, tt.tensor([0, 1, -1])), IndexError, "Target -1 is out of bounds."),
        (lambda: L.nll_loss(x, tt.tensor([0, 4, 1])), IndexError, "Target 4 is out of bounds."),
        (lambda: L.cross_entropy(x, tt.tensor([0, 1])), ValueError,
         r"Expected input batch_size \(3\) to match target batch_size \(2\)."),
        (lambda: L.cross_entropy(x, tt.tensor([0.0, 1, 2])), RuntimeError,
         "expected target dtype to be Long or Byte, but got Float"),
        (lambda: L.cross_entropy(x, t.to(tt.int32)), RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
        (lambda: L.nll_loss(x, t, reduction="foo"), ValueError, "foo is not a valid value for reduction"),
        (lambda: L.cross_entropy(x, t, weight=tt.ones(3)), RuntimeError,
         r"weight tensor should be defined either for all 4 classes or no classes but got weight tensor of shape: \[3\]"),
        (lambda: L.cross_entropy(x, t, weight=tt.ones(4, dtype=tt.float64)), RuntimeError,
         "expected scalar type Float but found Double"),
        (lambda: L.cross_entropy(x, tt.ones(3, 5)), RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
        (lambda: L.cross_entropy(x, t, label_smoothing=1.5), RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
        (lambda: L.cross_entropy(tt.ones(3, 4, 2), tt.zeros(3, 2, 2, dtype=tt.int64)), RuntimeError,
         r"Expected target size \[3, 2\], got \[3, 2, 2\]"),
        (lambda: L.cross_entropy(x, tt.ones(3, 4) / 4, ignore_index=1), RuntimeError,
         "ignore_index is not supported for floating point target"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


@pytest.mark.skipif("cuda" not in DEVICES, reason="no cuda device (GPU or interpreter)")
@pytest.mark.parametrize("online", [False, True])
@pytest.mark.parametrize("kw", [dict(label_smoothing=0.1, weight=True, ignore_index=2), dict(probs=True, weight=True),
                                dict(reduction="sum", ignore_index=0)])
@pytest.mark.parametrize("seed_grad", [None, 2.5])
def test_forward_writes_the_final_mean_gradient(monkeypatch, online, kw, seed_grad):
    # the cuda forward divides the gradient by the mean's total weight; the backward multiplies by the incoming
    # 0-dim gradient only when it is not 1 (decided on the device): both seeds must match torch
    if online:
        monkeypatch.setattr(S, "ROW_BLOCK_MAX", 16)
    kw, C = dict(kw), 37
    a = np.random.default_rng(9).uniform(-4, 4, (5, C)).astype(np.float32)
    x = tt.tensor(a, device="cuda").requires_grad_(True)
    tx = torch.tensor(a, requires_grad=True)
    if kw.pop("probs", False):
        p = np.random.default_rng(9).uniform(0, 1, (5, C)).astype(np.float32)
        t, tt_ = tt.tensor(p, device="cuda"), torch.tensor(p)
    else:
        t, tt_ = _t([0, 2, C - 1, 2, 17], "cuda")
    tkw = dict(kw)
    if kw.pop("weight", False):
        w = np.linspace(0.5, 2.0, C).astype(np.float32)
        kw["weight"], tkw["weight"] = tt.tensor(w, device="cuda"), torch.tensor(w)
    loss, tloss = L.cross_entropy(x, t, **kw), F.cross_entropy(tx, tt_, **tkw)
    assert_close(loss, tloss.detach().numpy(), rtol=1e-5, atol=1e-6)
    if seed_grad is None:
        loss.backward()
        tloss.backward()
    else:
        loss.backward(tt.tensor(np.float32(seed_grad), device="cuda"))
        tloss.backward(torch.tensor(np.float32(seed_grad)))
    assert_close(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", ["all-ignored", "all-ignored-smoothing", "zero-weight", "ignored-and-zero-weight"])
def test_mean_over_zero_total_weight_matches_torch(device, case):
    # the loss is NaN (0 / 0); PyTorch's gradient is 0 on ignored rows (a padding-only batch must not poison the
    # model) and NaN on rows whose class weight is 0
    x = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    w = np.array([1, 0, 0, 1, 1], np.float32)
    target, kw = {"all-ignored": ([-100] * 3, {}), "all-ignored-smoothing": ([-100] * 3, {"label_smoothing": 0.1}),
                  "zero-weight": ([1, -100, 2], {"weight": w}),
                  "ignored-and-zero-weight": ([-100, -100, 2], {"weight": w})}[case]
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(target), **{k: torch.tensor(v) if k == "weight" else v
                                                                              for k, v in kw.items()})
    tloss.backward()
    ox = tt.tensor(x, device=device, requires_grad=True)
    loss = tt.nn.functional.cross_entropy(ox, tt.tensor(target, device=device),
                                          **{k: tt.tensor(v, device=device) if k == "weight" else v
                                             for k, v in kw.items()})
    loss.backward()
    assert np.isnan(loss.item()) and np.isnan(tloss.item())
    np.testing.assert_array_equal(ox.grad.cpu().numpy(), tx.grad.numpy())


@pytest.mark.parametrize("scale", [3.0, 40.0, 200.0])   # within / beyond NO_SHIFT_MAX / overflowing float32 exp
@pytest.mark.parametrize("plain_max", [L._PLAIN_MAX, 0])   # the classifier's plain path / the row-block path
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("first_try", [False, True])   # blocks test their logits first / try without the max first
def test_cpu_logits_with_and_without_the_row_max_shift(monkeypatch, scale, plain_max, dtype, first_try):
    """cpu: logits small enough to exponentiate directly (no row max) and large ones (shifted by the row max),
    in the plain path and the row-block path, decided before (moderate_logits) or after a first try without the
    max (lse_moderate, as blocks of _UNSHIFTED_MIN elements do): loss and gradient as PyTorch's."""
    monkeypatch.setattr(L, "_PLAIN_MAX", plain_max)
    if first_try:
        monkeypatch.setattr(L, "_UNSHIFTED_MIN", 0)
        monkeypatch.setattr(S, "_UNSHIFTED_MIN", 0)
    a = np.random.default_rng(4).uniform(-scale, scale, (13, 7)).astype(dtype)
    t = np.random.default_rng(5).integers(0, 7, 13)
    x, tx = tt.tensor(a).requires_grad_(True), torch.tensor(a, requires_grad=True)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)
    _check(L.cross_entropy(x, tt.tensor(t)), F.cross_entropy(tx, torch.tensor(t)), x, tx, **tol)
    for name in ("softmax", "log_softmax"):
        x, tx = tt.tensor(a).requires_grad_(True), torch.tensor(a, requires_grad=True)
        _check(getattr(S, name)(x, 1), getattr(F, name)(tx, 1), x, tx, **tol)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cpu_shortcut_matches_the_full_path(reduction):
    """A classifier's cross_entropy on cpu takes OpDef.fast (no infer): the same loss as infer + impl, the same
    gradient through the plan it records, and a refusal (None) for the calls it does not cover."""
    a = np.random.default_rng(7).uniform(-3, 3, (9, 5)).astype(np.float32)
    t = tt.tensor(np.random.default_rng(8).integers(0, 5, 9))
    op = L.cross_entropy_op
    kw = dict(ignore_index=-100, reduction=reduction, label_smoothing=0.0)
    x = tt.tensor(a).requires_grad_(True)
    fast = op.fast(x, t, None, **kw)
    meta = op.infer(x.detach(), t, None, **kw)
    full = op.impl["cpu"](meta, x.detach(), t, None, **kw)
    assert fast is not None and fast.dtype is tt.float32 and tuple(fast.shape) == ()
    assert_close(fast, np.asarray(full), rtol=0, atol=0)
    assert fast.grad_fn is not None
    (g,) = tt.autograd.grad(fast, [x])
    tx = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(F.cross_entropy(tx, torch.tensor(t.numpy()), reduction=reduction), [tx])
    assert_close(g, tg.numpy(), rtol=1e-6, atol=1e-7)
    w = tt.ones(5)
    assert op.fast(x, t, w, **kw) is None                                  # class weights
    assert op.fast(x, t, None, ignore_index=-100, reduction="none", label_smoothing=0.0) is None
    assert op.fast(x, t, None, ignore_index=-100, reduction=reduction, label_smoothing=0.1) is None
    assert op.fast(x, tt.tensor(np.array([0, 1, 2, 3, 4, 0, 1, 2, 7])), None, **kw) is None   # out of range
    assert op.fast(x, t, None, ignore_index=2, reduction=reduction, label_smoothing=0.0) is None  # may be ignored
    assert op.fast(x.double()[:, :0], t, None, **kw) is None               # empty


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"label_smoothing": 0.1}, {"ignore_index": 1},
                                {"weight": [0.5, 2.0, 1.0]}])
def test_cross_entropy_of_a_transposed_input(device, kw):
    # CLIP's contrastive loss takes cross_entropy(logits.T, arange(n)): the one-hot subtraction of the gradient
    # must reach a non-contiguous input's rows (the cpu fast path lost it)
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    grads, losses = [], []
    for m, dev in ((tt, device), (torch, "cpu")):
        x = m.tensor(data, requires_grad=True, device=dev)
        kwargs = {k: (m.tensor(v, device=dev) if k == "weight" else v) for k, v in kw.items()}
        s = x * 3.0
        loss = (m.nn.functional.cross_entropy(s, m.arange(3, device=dev), **kwargs)
                + m.nn.functional.cross_entropy(s.T, m.tensor([2, 0, 1], device=dev), **kwargs))
        loss.backward()
        losses.append(float(loss))
        grads.append(x.grad.cpu().numpy())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_nll_loss_with_every_target_ignored_has_zero_gradient(device):
    # mean over no targets: the loss is 0/0 = NaN and the gradient zeros, as PyTorch's
    for shape, target in (((5,), 4), ((2, 5), [4, 4])):
        x = tt.tensor(np.random.default_rng(0).standard_normal(shape), device=device, requires_grad=True)
        loss = tt.nn.functional.nll_loss(tt.nn.functional.log_softmax(x, -1), tt.tensor(target, device=device),
                                         ignore_index=4)
        (g,) = tt.autograd.grad(loss, [x])
        assert np.isnan(loss.item()) and np.array_equal(g.cpu().numpy(), np.zeros(shape))
