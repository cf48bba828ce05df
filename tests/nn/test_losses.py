"""Loss modules and the functional helpers vs PyTorch (values and gradients), plus their errors."""
import warnings

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float64)


def _uniform(shape, seed=0, lo=0.05, hi=0.95):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def check_loss(name, args, kwargs, input_np, target_np, extra_tensors=None, device="cpu", rtol=1e-10, atol=1e-12,
               target_grad=True):
    """Module `name` built with args/kwargs (tensor kwargs given as NumPy) vs torch: loss and gradients with
    respect to input and (float) target, in float64."""
    extra_tensors = extra_tensors or {}
    t_kw = dict(kwargs, **{k: torch.tensor(v) for k, v in extra_tensors.items()})
    x_kw = dict(kwargs, **{k: tt.tensor(v, device=device) for k, v in extra_tensors.items()})
    tm, m = getattr(torch.nn, name)(*args, **t_kw), getattr(nn, name)(*args, **x_kw)
    assert repr(m) == repr(tm)
    float_target = target_np.dtype.kind == "f" and target_grad
    ti, tt_ = torch.tensor(input_np, requires_grad=True), torch.tensor(target_np, requires_grad=float_target)
    xi, xt = (tt.tensor(input_np, device=device, requires_grad=True),
              tt.tensor(target_np, device=device, requires_grad=float_target))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_loss, x_loss = tm(ti, tt_), m(xi, xt)
    np.testing.assert_allclose(x_loss.detach().cpu().numpy(), t_loss.detach().numpy(), rtol=rtol, atol=atol)
    w = _rand(tuple(t_loss.shape), 5) + 2
    (t_loss * torch.tensor(w)).sum().backward()
    (x_loss * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(xi.grad.cpu().numpy(), ti.grad.numpy(), rtol=rtol, atol=atol)
    if float_target:
        np.testing.assert_allclose(xt.grad.cpu().numpy(), tt_.grad.numpy(), rtol=rtol, atol=atol)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1(reduction):
    x, y = _rand((3, 4)), _rand((3, 4), 1)
    check_loss("MSELoss", (), {"reduction": reduction}, x, y)
    check_loss("L1Loss", (), {"reduction": reduction}, x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_huber(reduction):
    x, y = _rand((3, 5)) * 2, _rand((3, 5), 1)
    for beta in (1.0, 0.5, 0.0):
        check_loss("SmoothL1Loss", (), {"reduction": reduction, "beta": beta}, x, y)
    for delta in (1.0, 0.3, 2.0):
        check_loss("HuberLoss", (), {"reduction": reduction, "delta": delta}, x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction):
    x, y = _uniform((4, 3)), _uniform((4, 3), 1, 0, 1)
    check_loss("BCELoss", (), {"reduction": reduction}, x, y)
    check_loss("BCELoss", (), {"reduction": reduction}, x, y, {"weight": _uniform((3,), 2)})
    # saturated probabilities: PyTorch clamps each log at -100
    check_loss("BCELoss", (), {"reduction": reduction}, np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0]),
               target_grad=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x, y = _rand((4, 3)) * 5, _uniform((4, 3), 1, 0, 1)
    check_loss("BCEWithLogitsLoss", (), {"reduction": reduction}, x, y)
    check_loss("BCEWithLogitsLoss", (), {"reduction": reduction}, x, y,
               {"weight": _uniform((4, 1), 2), "pos_weight": _uniform((3,), 3, 0.5, 3.0)})
    check_loss("BCEWithLogitsLoss", (), {"reduction": reduction}, np.array([-200.0, 200.0, 0.0]),
               np.array([1.0, 0.0, 0.5]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(_uniform((3, 4)))
    y = _uniform((3, 4), 1, 0, 1)
    if log_target:
        y = np.log(_uniform((3, 4), 1))
    check_loss("KLDivLoss", (), {"reduction": reduction, "log_target": log_target}, x, y)
    if not log_target:  # a zero target contributes 0 (PyTorch's target gradient there is nan; ours is finite)
        y[0, 1] = 0.0
        check_loss("KLDivLoss", (), {"reduction": reduction}, x, y, target_grad=False)


def test_losses_cuda():
    x, y = _rand((2, 3)), _uniform((2, 3), 1, 0, 1)
    check_loss("MSELoss", (), {}, x, y, device="cuda", rtol=1e-6, atol=1e-8)
    check_loss("BCEWithLogitsLoss", (), {}, x, y, {"pos_weight": _uniform((3,), 3)}, device="cuda", rtol=1e-6,
               atol=1e-8)
    check_loss("KLDivLoss", (), {"reduction": "batchmean"}, np.log(_uniform((2, 3))), y, device="cuda", rtol=1e-6,
               atol=1e-8)


def test_weighted_mse_l1_huber_functional():
    x, y, w = _rand((3, 4)), _rand((3, 4), 1), _uniform((3, 4), 2)
    for fn in ("mse_loss", "l1_loss", "huber_loss"):
        for reduction in REDUCTIONS:
            ours = getattr(F, fn)(tt.tensor(x), tt.tensor(y), reduction=reduction, weight=tt.tensor(w))
            ref = getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(y), reduction=reduction,
                                                   weight=torch.tensor(w))
            np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12)
        with pytest.raises(ValueError, match="Weights and input must have the same size."):
            getattr(F, fn)(tt.tensor(x), tt.tensor(y), weight=tt.ones(4))


def test_loss_errors_and_legacy_arguments():
    x = tt.rand(3)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(ValueError, match=r"Using a target size \(tritorch.Size\(\[2\]\)\) that is different to the "
                                         r"input size \(tritorch.Size\(\[3\]\)\) is deprecated"):
        F.binary_cross_entropy(x, tt.rand(2))
    with pytest.raises(ValueError, match=r"Target size \(tritorch.Size\(\[2\]\)\) must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, tt.rand(2))
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(tt.rand(3, 1), tt.rand(3))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        m = nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)


def test_loss_module_state_dict_has_weight_buffers():
    m = nn.BCEWithLogitsLoss(pos_weight=tt.ones(3))
    tm = torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(3))
    assert list(m.state_dict()) == list(tm.state_dict()) == ["pos_weight"]
    assert list(nn.BCELoss(weight=tt.ones(2)).state_dict()) == ["weight"]


# ------------------------------------------------------------------------------------------ functional

def test_one_hot():
    idx = tt.tensor([[0, 2], [1, 2]])
    ours = F.one_hot(idx)
    ref = torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 2]]))
    assert ours.dtype is tt.int64 and ours.tolist() == ref.tolist()
    assert F.one_hot(tt.tensor([1]), 4).tolist() == [[0, 1, 0, 0]]
    assert F.one_hot(tt.tensor([1, 0], device="cuda"), 3).cpu().tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(tt.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        F.one_hot(tt.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        F.one_hot(tt.tensor([1.0]), 3)


def test_normalize_cosine_glu_pad_threshold():
    x = _rand((3, 4))
    for p, dim in ((2.0, 1), (1.0, 0), (3.0, -1)):
        xt = tt.tensor(x, requires_grad=True)
        ref_in = torch.tensor(x, requires_grad=True)
        ours = F.normalize(xt, p=p, dim=dim)
        ref = torch.nn.functional.normalize(ref_in, p=p, dim=dim)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), ref_in.grad.numpy(), rtol=1e-10, atol=1e-12)
    y = _rand((3, 4), 1)
    np.testing.assert_allclose(F.cosine_similarity(tt.tensor(x), tt.tensor(y)).numpy(),
                               torch.nn.functional.cosine_similarity(torch.tensor(x), torch.tensor(y)).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(F.glu(tt.tensor(x), 0 if False else -1).numpy(),
                               torch.nn.functional.glu(torch.tensor(x)).numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(tt.tensor(x), 0)
    np.testing.assert_allclose(F.pad(tt.tensor(x), (1, 2), value=3.0).numpy(),
                               torch.nn.functional.pad(torch.tensor(x), (1, 2), value=3.0).numpy())
    np.testing.assert_allclose(F.threshold(tt.tensor(x), 0.1, 20.0).numpy(),
                               torch.nn.functional.threshold(torch.tensor(x), 0.1, 20.0).numpy())


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_functional_activations_match_torch(approximate):
    x = _rand((2, 5)) * 4
    tf = torch.nn.functional
    pairs = [(F.gelu(tt.tensor(x), approximate=approximate), tf.gelu(torch.tensor(x), approximate=approximate)),
             (F.softplus(tt.tensor(x), beta=2.0, threshold=3.0), tf.softplus(torch.tensor(x), beta=2.0, threshold=3.0)),
             (F.silu(tt.tensor(x)), tf.silu(torch.tensor(x))), (F.relu(tt.tensor(x)), tf.relu(torch.tensor(x))),
             (F.sigmoid(tt.tensor(x)), tf.sigmoid(torch.tensor(x))), (F.tanh(tt.tensor(x)), tf.tanh(torch.tensor(x)))]
    for ours, ref in pairs:
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 1},
                                {"label_smoothing": 0.1}, {"weight": "w"}, {"weight": "w", "label_smoothing": 0.2}])
def test_cross_entropy_and_nll(kw):
    x, tgt = _rand((4, 3)), np.array([0, 2, 1, 2])
    extra = {"weight": _uniform((3,), 4)} if "weight" in kw else {}
    kw = {k: v for k, v in kw.items() if k != "weight"}
    check_loss("CrossEntropyLoss", (), kw, x, tgt, extra)
    check_loss("CrossEntropyLoss", (), kw, _rand((2, 3, 2)), np.array([[0, 2], [1, 1]]), extra)
    if "label_smoothing" not in kw:
        check_loss("NLLLoss", (), kw, np.log(_uniform((4, 3))), tgt, extra)
    if "ignore_index" not in kw:  # class probabilities (PyTorch refuses ignore_index with them)
        check_loss("CrossEntropyLoss", (), kw, x, _uniform((4, 3), 6), extra, target_grad=False)


# ------------------------------------------------------------------------- margin, ranking and embedding losses

def _sign(shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def _labels(shape, seed, classes=4):
    return np.random.default_rng(seed).integers(0, classes, shape)


EMBEDDING_LOSSES = [
    ("MarginRankingLoss", {"margin": 0.3}, lambda: (_rand(6), _rand(6, 1), _sign(6, 2)), 2),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda: (_rand((4, 3)), _sign((4, 3), 2)), 1),
    ("SoftMarginLoss", {}, lambda: (_rand((4, 3)) * 10, _sign((4, 3), 2)), 1),
    ("MultiLabelSoftMarginLoss", {}, lambda: (_rand((4, 5)), (_uniform((4, 5), 2) < 0.5) * 1.0), 1),
    ("CosineEmbeddingLoss", {"margin": 0.1}, lambda: (_rand((5, 4)), _rand((5, 4), 1), _sign(5, 2)), 2),
    ("CosineEmbeddingLoss", {}, lambda: (_rand(4), _rand(4, 1), _sign((), 2)), 2),
    ("TripletMarginLoss", {"margin": 2.0}, lambda: (_rand((5, 4)), _rand((5, 4), 1), _rand((5, 4), 2)), 3),
    ("TripletMarginLoss", {"p": 1.0, "swap": True}, lambda: (_rand((5, 4)), _rand((5, 4), 1), _rand((5, 4), 2)), 3),
    ("TripletMarginWithDistanceLoss", {"swap": True},
     lambda: (_rand((5, 4)), _rand((5, 4), 1), _rand((5, 4), 2)), 3),
    ("MultiMarginLoss", {}, lambda: (_rand((5, 4)), _labels(5, 2)), 1),
    ("MultiMarginLoss", {"p": 2, "margin": 0.7}, lambda: (_rand((5, 4)), _labels(5, 2)), 1),
    ("MultiMarginLoss", {}, lambda: (_rand(4), _labels(1, 2)), 1),
    ("GaussianNLLLoss", {}, lambda: (_rand((5, 3)), _rand((5, 3), 1), np.abs(_rand((5, 3), 2)) + 1e-8), 3),
    ("GaussianNLLLoss", {"full": True, "eps": 0.5}, lambda: (_rand((5, 3)), _rand((5, 3), 1), np.abs(_rand(5, 2))), 3),
    ("GaussianNLLLoss", {}, lambda: (_rand((5, 3)), _rand((5, 3), 1), np.abs(_rand((5, 1), 2))), 3),
]


def check_multi_input_loss(name, kwargs, arrays, n_grad, reduction, device="cpu", weight=None):
    """Module `name` vs torch's on several inputs, the first n_grad differentiated, float64."""
    t_kw, x_kw = dict(kwargs), dict(kwargs)
    if weight is not None:
        t_kw["weight"], x_kw["weight"] = torch.tensor(weight), tt.tensor(weight, device=device)
    tm, m = getattr(torch.nn, name)(reduction=reduction, **t_kw), getattr(nn, name)(reduction=reduction, **x_kw)
    assert repr(m) == repr(tm)
    t_in = [torch.tensor(a, requires_grad=i < n_grad) for i, a in enumerate(arrays)]
    x_in = [tt.tensor(a, device=device, requires_grad=i < n_grad) for i, a in enumerate(arrays)]
    t_loss, x_loss = tm(*t_in), m(*x_in)
    np.testing.assert_allclose(x_loss.detach().cpu().numpy(), t_loss.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = _rand(tuple(t_loss.shape), 5) + 2
    (t_loss * torch.tensor(w)).sum().backward()
    (x_loss * tt.tensor(w, device=device)).sum().backward()
    for a, b in zip(x_in[:n_grad], t_in[:n_grad]):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name, kwargs, make, n_grad", EMBEDDING_LOSSES,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(EMBEDDING_LOSSES)])
def test_embedding_losses(name, kwargs, make, n_grad, reduction):
    check_multi_input_loss(name, kwargs, make(), n_grad, reduction)


def test_weighted_embedding_losses_and_cuda():
    w = np.abs(_rand(4, 3)) + 0.1
    check_multi_input_loss("MultiMarginLoss", {}, (_rand((5, 4)), _labels(5, 2)), 1, "mean", weight=w)
    check_multi_input_loss("MultiLabelSoftMarginLoss", {}, (_rand((4, 4)), (_uniform((4, 4), 2) < 0.5) * 1.0), 1,
                           "none", weight=w)
    for name, kwargs, make, n_grad in EMBEDDING_LOSSES[::3]:
        check_multi_input_loss(name, kwargs, make(), n_grad, "mean", device="cuda")


def test_embedding_loss_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(tt.ones(3), tt.ones(3), -tt.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(tt.ones(3, 4), tt.ones(3, 4), tt.ones(2))
    with pytest.raises(RuntimeError, match="All input tensors should have same dimension"):
        F.margin_ranking_loss(tt.ones(3), tt.ones(3), tt.ones(1, 3))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(tt.ones(3, 2), tt.ones(3, 2), tt.ones(2))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(tt.ones(2), tt.ones(2), tt.ones(2), margin=0)


CTC_CASES = [
    (np.array([[1, 2, 2], [3, 4, 0], [5, 5, 5]]), (8, 6, 7), (3, 2, 3), {}),
    (np.array([1, 2, 2, 3, 4, 5, 5, 5]), (8, 6, 7), (3, 2, 3), {"reduction": "none"}),       # concatenated
    (np.array([[1, 1, 1], [3, 4, 0], [2, 0, 0]]), (2, 6, 8), (3, 2, 1), {"reduction": "sum", "zero_infinity": True}),
    (np.array([[1, 2], [0, 0], [3, 3]]), (8, 5, 4), (2, 0, 2), {}),                         # an empty target
    (np.array([[1, 2], [0, 3], [3, 1]]), (8, 5, 4), (2, 2, 2), {"blank": 5}),
]


@pytest.mark.parametrize("case", range(len(CTC_CASES)))
def test_ctc_loss_matches_torch(case):
    targets, input_lengths, target_lengths, kwargs = CTC_CASES[case]
    x = _rand((8, 3, 6), 3)
    results = []
    for lib, module in ((torch, torch.nn), (tt, nn)):
        logits = lib.tensor(x, requires_grad=True)
        loss = module.CTCLoss(**kwargs)(logits.log_softmax(2), lib.tensor(targets), input_lengths, target_lengths)
        (loss.sum() if loss.dim() else loss).backward()
        results.append((loss.detach().numpy(), logits.grad.numpy()))
    (t_loss, t_grad), (loss, grad) = results
    np.testing.assert_allclose(loss, t_loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)


def test_ctc_loss_cuda_and_impossible_alignments():
    x = _rand((6, 2, 5), 4)
    targets, lengths = np.array([[1, 2], [3, 3]]), (6, 2)
    ref = torch.nn.functional.ctc_loss(torch.tensor(x).log_softmax(2), torch.tensor(targets), lengths, (2, 2),
                                       reduction="none")
    out = F.ctc_loss(tt.tensor(x, device="cuda").log_softmax(2), tt.tensor(targets, device="cuda"), lengths, (2, 2),
                     reduction="none")
    np.testing.assert_allclose(out.cpu().numpy(), ref.numpy(), rtol=1e-10)
    assert np.isinf(out.cpu().numpy()[1])           # 2 frames cannot hold "3 3" (it needs a blank between)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(device, reduction):
    # targets end at their first -1; repeated and out-of-order classes, an empty row, a full row
    y = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 2, 0, 0, 0], [4, 4, -1, 0, 0]])
    check_loss("MultiLabelMarginLoss", (), dict(reduction=reduction), _rand((4, 5), 1), y, device=device)
    check_loss("MultiLabelMarginLoss", (), dict(reduction=reduction), _rand(5, 2), y[0], device=device)
