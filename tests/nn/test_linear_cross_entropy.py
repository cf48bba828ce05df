"""F.linear_cross_entropy / nn.LinearCrossEntropyLoss / nn.LinearCrossEntropyOptions: the chunked path against the
reference composition (cross_entropy of linear) in float64 on each device, both against PyTorch, the chunk-size
resolution, the retain-graph contract and the memory the chunked path saves."""
import warnings

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
import tritorch.nn.functional as F

Options = nn.LinearCrossEntropyOptions


def _data(n=13, d=6, c=11, seed=0, ignore=True):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((c, d)) * 0.5, rng.standard_normal(c)
    t = rng.integers(0, c, n)
    if ignore:
        t[1] = -100
    return x, w, b, t, rng.random(c) + 0.5, rng.standard_normal(n)


def _run(lib, data, dtype, device="cpu", options=None, reduction="mean", bias=True, weight=True, **kw):
    """Loss and gradients (input, weight[, bias]) as float64 NumPy, with a non-trivial incoming gradient."""
    x, w, b, t, cw, g = data
    mk = (lambda a, **k: lib.tensor(a, dtype=dtype, device=device, **k)) if lib is tt else \
        (lambda a, **k: lib.tensor(a, dtype=dtype, **k))
    X, Wt = mk(x, requires_grad=True), mk(w, requires_grad=True)
    B = mk(b, requires_grad=True) if bias else None
    T = tt.tensor(t, device=device) if lib is tt else lib.tensor(t)
    loss = lib.nn.functional.linear_cross_entropy(X, Wt, T, linear_bias=B, weight=mk(cw) if weight else None,
                                                  reduction=reduction, options=options, **kw)
    grad = mk(g[:loss.shape[0]]).to(loss.dtype) if reduction == "none" else mk(1.7).to(loss.dtype)
    loss.backward(grad)
    out = [loss, X.grad, Wt.grad] + ([B.grad] if bias else [])
    return [o.detach().cpu().double().numpy() if lib is tt else o.detach().double().numpy() for o in out], loss.dtype


_CHUNKINGS = [dict(), dict(batch_chunk_size=4, chunking_method=None), dict(chunking_method="aspect_ratio:2"),
              dict(batch_chunk_size=1, chunking_method=None, acc_policy="balanced")]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_chunked_equals_reference_in_float64(device, reduction):
    data = _data()
    kinds = _CHUNKINGS if device == "cpu" else _CHUNKINGS[1:2]   # (the interpreter is slow)
    ref, _ = _run(tt, data, tt.float64, device, None, reduction)
    for kw in kinds:
        got, dtype = _run(tt, data, tt.float64, device, Options(**kw), reduction)
        assert dtype is tt.float64
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16", "float16"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [None, dict(), dict(batch_chunk_size=4, chunking_method=None),
                                     dict(chunking_method="aspect_ratio:4", acc_policy="compact"),
                                     dict(batch_chunk_size=4, chunking_method=None, acc_policy="balanced")])
@pytest.mark.parametrize("bias,weight", [(False, False), (True, True)])
def test_matches_torch(dtype, reduction, options, bias, weight):
    torch = pytest.importorskip("torch")
    data = _data(n=37, d=16, c=50)
    tol = {"float64": 1e-10, "float32": 1e-5, "bfloat16": 3e-2, "float16": 3e-3}[dtype]
    got, got_dtype = _run(tt, data, getattr(tt, dtype), "cpu", None if options is None else Options(**options),
                          reduction, bias, weight)
    want, want_dtype = _run(torch, data, getattr(torch, dtype), "cpu",
                            None if options is None else torch.nn.LinearCrossEntropyOptions(**options),
                            reduction, bias, weight)
    assert str(got_dtype).split(".")[-1] == str(want_dtype).split(".")[-1]
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * np.abs(b).max())


def test_unbatched_k_dimensional_and_probability_targets_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x1, w, b = rng.standard_normal(5), rng.standard_normal((7, 5)), rng.standard_normal(7)
    for options in (None, Options(batch_chunk_size=1, chunking_method=None)):
        t_opts = None if options is None else torch.nn.LinearCrossEntropyOptions(batch_chunk_size=1,
                                                                                  chunking_method=None)
        a = F.linear_cross_entropy(tt.tensor(x1), tt.tensor(w), tt.tensor(3), linear_bias=tt.tensor(b),
                                   options=options)
        r = torch.nn.functional.linear_cross_entropy(torch.tensor(x1), torch.tensor(w), torch.tensor(3),
                                                     linear_bias=torch.tensor(b), options=t_opts)
        assert a.shape == r.shape == ()
        np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=1e-12)
    # K-dimensional: weight (C, d1, in), target (N, d1); probability targets (N, C)
    x, wk, tk = rng.standard_normal((4, 5)), rng.standard_normal((3, 2, 5)), rng.integers(0, 3, (4, 2))
    probs = rng.dirichlet(np.ones(3), 4)
    for args, kw in (((x, wk, tk), {}), ((x, w[:3], probs), dict(label_smoothing=0.1))):
        xt = tt.tensor(args[0], requires_grad=True)
        xr = torch.tensor(args[0], requires_grad=True)
        a = F.linear_cross_entropy(xt, tt.tensor(args[1]), tt.tensor(args[2]), **kw)
        r = torch.nn.functional.linear_cross_entropy(xr, torch.tensor(args[1]), torch.tensor(args[2]), **kw)
        a.backward()
        r.backward()
        np.testing.assert_allclose(a.detach().numpy(), r.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_options_fall_back_with_torchs_warning():
    x, w, b, t, cw, _ = _data()
    ref = F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t), label_smoothing=0.2)
    with pytest.warns(UserWarning, match="``options`` ignored"):
        got = F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t), label_smoothing=0.2,
                                     options=Options())
    assert float(got) == float(ref)
    t8 = np.where(t < 0, 0, t)
    with pytest.warns(UserWarning, match="target.dtype=tritorch.uint8"):   # Byte targets: the reference path
        got = F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t8, dtype=tt.uint8), options=Options())
    assert float(got) == float(F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t8)))
    with pytest.warns(UserWarning, match="target.dtype"), pytest.raises(RuntimeError, match="Long or Byte"):
        F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t, dtype=tt.int32), options=Options())


def test_argument_errors():
    x, w, b, t, _, _ = _data()
    X, Wt, T = tt.tensor(x), tt.tensor(w), tt.tensor(t)
    with pytest.raises(RuntimeError, match="expected input with dimensionality 1 or 2, got 3"):
        F.linear_cross_entropy(X[None], Wt, T)
    with pytest.raises(RuntimeError, match="linear_weight with dimensionality at least 2, got 1"):
        F.linear_cross_entropy(X, Wt[0], T)
    with pytest.raises(RuntimeError, match="got 6 and 5, respectively"):
        F.linear_cross_entropy(X, Wt[:, :5], T)
    with pytest.raises(RuntimeError, match=r"expected linear_bias shape \(11,\), got \(3,\)"):
        F.linear_cross_entropy(X, Wt, T, linear_bias=tt.zeros(3, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="requires batched input"):
        F.linear_cross_entropy(X[0], Wt.reshape(11, 1, 6), T[0])
    with pytest.raises(RuntimeError, match="ignore_index cannot be specified"):
        F.linear_cross_entropy(X, Wt, tt.zeros(13, 11, dtype=tt.float64), ignore_index=0)
    with pytest.raises(RuntimeError, match="float32 acc_dtype with float16/bfloat16 inputs"):
        F.linear_cross_entropy(X, Wt, T, options=Options(acc_dtype=tt.float32))
    with pytest.raises(TypeError, match="'target' must be Tensor"):
        F.linear_cross_entropy(X, Wt, [1, 2])
    with pytest.raises(ValueError, match="invalid acc_policy"):
        Options(acc_policy="fast")
    with pytest.raises(ValueError, match="invalid chunking_method"):
        Options(chunking_method="aspect_ratio:0")
    with pytest.raises(ValueError, match="batch_chunk_size must be positive"):
        Options(batch_chunk_size=0)
    with pytest.raises(ValueError, match="acc_dtype must be one of"):
        Options(acc_dtype=tt.int32)
    with pytest.raises(ValueError, match="give different chunk sizes"):
        F.linear_cross_entropy(X, Wt, T, options=Options(batch_chunk_size=3, chunking_method="aspect_ratio"))


def test_chunk_size_resolution_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [dict(), dict(chunking_method="aspect_ratio"), dict(chunking_method="aspect_ratio:8"),
             dict(batch_chunk_size=5), dict(batch_chunk_size=5, chunking_method=None), dict(acc_policy="balanced"),
             dict(acc_policy="accurate", acc_dtype="float32")]
    for kw in cases:
        for n, d, c, dtype in ((1000, 64, 5000, "float32"), (37, 16, 50, "bfloat16"), (7, 100, 10, "float16"),
                               (4096, 128, 128, "float64")):
            if "acc_dtype" in kw and dtype not in ("bfloat16", "float16"):
                continue
            ours = Options(**dict(kw, **({"acc_dtype": tt.float32} if "acc_dtype" in kw else {})))
            theirs = torch.nn.LinearCrossEntropyOptions(
                **dict(kw, **({"acc_dtype": torch.float32} if "acc_dtype" in kw else {})))
            a = ours._resolve(n, d, c, getattr(tt, dtype), tt.device("cpu"))
            r = theirs._adjust(n, d, c, getattr(torch, dtype), torch.device("cpu"))
            assert (a.batch_chunk_size, a.acc_policy, a.chunking_method, str(a.acc_dtype).split(".")[-1]) == \
                (r.batch_chunk_size, r.acc_policy, r.chunking_method, str(r.acc_dtype).split(".")[-1]), (kw, n)


def test_second_backward_needs_allow_retain_graph():
    x, w, b, t, _, _ = _data()
    for allow in (False, True):
        X = tt.tensor(x, requires_grad=True)
        loss = F.linear_cross_entropy(X, tt.tensor(w), tt.tensor(t), options=Options(allow_retain_graph=allow))
        loss.backward(retain_graph=True)
        first = X.grad.clone()
        if not allow:
            with pytest.raises(RuntimeError, match="chunked backward called twice"):
                loss.backward()
        else:
            loss.backward()
            np.testing.assert_allclose(X.grad.numpy(), 2 * first.numpy(), rtol=1e-14)
    # 'none' recomputes, so a retained graph works without the option
    X = tt.tensor(x, requires_grad=True)
    loss = F.linear_cross_entropy(X, tt.tensor(w), tt.tensor(t), reduction="none", options=Options())
    loss.sum().backward(retain_graph=True)
    first = X.grad.clone()
    loss.sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), 2 * first.numpy(), rtol=1e-14)


def test_only_wanted_gradients_and_no_grad():
    x, w, b, t, _, _ = _data()
    X, Wt = tt.tensor(x), tt.tensor(w, requires_grad=True)
    F.linear_cross_entropy(X, Wt, tt.tensor(t), options=Options(batch_chunk_size=4, chunking_method=None)).backward()
    assert X.grad is None and Wt.grad is not None
    with tt.no_grad():
        loss = F.linear_cross_entropy(tt.tensor(x, requires_grad=True), Wt, tt.tensor(t), options=Options())
    assert loss.grad_fn is None and not loss.requires_grad
    ref = F.linear_cross_entropy(tt.tensor(x), tt.tensor(w), tt.tensor(t))
    np.testing.assert_allclose(float(loss), float(ref), rtol=1e-14)


def test_empty_batch_mean_is_nan_and_all_ignored():
    w = tt.randn(4, 3, dtype=tt.float64)
    for options in (None, Options()):
        empty = F.linear_cross_entropy(tt.zeros(0, 3, dtype=tt.float64), w, tt.zeros(0, dtype=tt.int64),
                                       options=options)
        assert np.isnan(float(empty))
        ignored = F.linear_cross_entropy(tt.ones(2, 3, dtype=tt.float64), w, tt.tensor([-100, -100]),
                                         reduction="sum", options=options)
        assert float(ignored) == 0.0


def test_chunked_memory_stays_below_the_logits_on_cuda():
    """The chunked path's peak device memory (beyond the inputs) is the gradients plus two (B, C) chunk buffers,
    not the (N, C) logits and their gradient."""
    n, d, c = 64, 8, 512
    x, w, _, t, _, _ = _data(n, d, c)
    peaks = {}
    for name, options in (("reference", None), ("chunked", Options(batch_chunk_size=8, chunking_method=None))):
        X = tt.tensor(x, dtype=tt.float32, device="cuda", requires_grad=True)
        Wt = tt.tensor(w, dtype=tt.float32, device="cuda", requires_grad=True)
        T = tt.tensor(t, device="cuda")
        tt.cuda.reset_peak_memory_stats()
        base = tt.cuda.memory_allocated()
        F.linear_cross_entropy(X, Wt, T, options=options).backward()
        peaks[name] = tt.cuda.max_memory_allocated() - base
    logits = n * c * 4
    assert peaks["reference"] >= 2 * logits
    assert peaks["chunked"] < logits   # weight gradient (c * d * 4 = logits / 8) + ~2 chunks of 8 rows


def test_module_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((9, 6)), rng.integers(0, 4, (9, 3))
    cw = rng.random(4) + 0.5
    kw = dict(out_features=(3,), bias=True, reduction="sum", ignore_index=2, dtype="float64")
    m = nn.LinearCrossEntropyLoss(6, 4, weight=tt.tensor(cw), **dict(kw, dtype=tt.float64))
    r = torch.nn.LinearCrossEntropyLoss(6, 4, weight=torch.tensor(cw), **dict(kw, dtype=torch.float64))
    assert repr(m) == repr(r).replace("torch.", "tritorch.")
    assert sorted(m.state_dict()) == sorted(r.state_dict()) == ["linear.bias", "linear.weight", "weight"]
    with torch.no_grad():
        r.linear.weight.copy_(torch.tensor(m.linear.weight.detach().numpy()))
        r.linear.bias.copy_(torch.tensor(m.linear.bias.detach().numpy()))
    a, b = m(tt.tensor(x), tt.tensor(t)), r(torch.tensor(x), torch.tensor(t))
    a.backward()
    b.backward()
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.linear.weight.grad.numpy(), r.linear.weight.grad.numpy(), rtol=1e-10, atol=1e-14)
    with pytest.raises(RuntimeError, match="expected weight shape"):
        nn.LinearCrossEntropyLoss(6, 4, weight=tt.ones(3))
    with pytest.raises(RuntimeError, match="label_smoothing to be in range"):
        nn.LinearCrossEntropyLoss(6, 4, label_smoothing=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chunked = nn.LinearCrossEntropyLoss(6, 4, dtype=tt.float64, options=Options(batch_chunk_size=2,
                                                                                    chunking_method=None))
        chunked.linear.weight.data.copy_(m.linear.weight.data[:4])
        plain = nn.LinearCrossEntropyLoss(6, 4, dtype=tt.float64)
        plain.linear.weight.data.copy_(m.linear.weight.data[:4])
        tt_t = tt.tensor(t[:, 0])
        np.testing.assert_allclose(float(chunked(tt.tensor(x), tt_t)), float(plain(tt.tensor(x), tt_t)), rtol=1e-13)
