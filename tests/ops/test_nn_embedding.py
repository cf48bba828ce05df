"""embedding: parity with torch.nn.functional.embedding (forward, padding_idx, max_norm, scale_grad_by_freq and
gradients), the deterministic backward (bitwise repeatable, equal across devices), errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_embedding as E
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
F = torch.nn.functional
DEVICES = devices()


def _case(seed=0, v=11, d=6, shape=(4, 5)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, v, size=shape), rng.standard_normal((v, d)).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 3}, {"padding_idx": -2}, {"scale_grad_by_freq": True},
                                {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_forward_and_grad_vs_torch(device, kw):
    idx, w = _case()
    idx[0, :3] = 3  # duplicates, and the padding index
    g = np.cos(np.arange(idx.size * w.shape[1])).reshape(idx.shape + (w.shape[1],)).astype(np.float32)
    tw = tt.tensor(w, device=device, requires_grad=True)
    out = E.embedding(tt.tensor(idx, device=device), tw, **kw)
    out.backward(tt.tensor(g, device=device))
    pw = torch.from_numpy(w).requires_grad_(True)
    ref = F.embedding(torch.from_numpy(idx), pw, **kw)
    ref.backward(torch.from_numpy(g))
    assert_close(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=0, atol=0)
    assert_close(tw.grad.cpu().numpy(), pw.grad.numpy(), rtol=1e-6, atol=1e-6)
    if "padding_idx" in kw:
        assert np.all(tw.grad.cpu().numpy()[kw["padding_idx"]] == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_max_norm_renormalises_touched_rows_in_place(device, norm_type):
    idx, w = _case(seed=1)
    w *= 3
    tw = tt.tensor(w, device=device)
    version = tw._version[0]
    out = E.embedding(tt.tensor(idx, device=device), tw, max_norm=1.5, norm_type=norm_type)
    pw = torch.from_numpy(w.copy())
    ref = F.embedding(torch.from_numpy(idx), pw, max_norm=1.5, norm_type=norm_type)
    assert_close(out.cpu().numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(tw.cpu().numpy(), pw.numpy(), rtol=1e-5, atol=1e-6)  # untouched rows stay as they were
    assert tw._version[0] > version


def test_max_norm_with_grad():
    idx, w = _case(seed=2)
    tw = tt.tensor(w * 2, requires_grad=True)
    E.embedding(tt.tensor(idx), tw, max_norm=1.0).sum().backward()
    pw = torch.from_numpy(w * 2).requires_grad_(True)
    F.embedding(torch.from_numpy(idx), pw, max_norm=1.0).sum().backward()
    assert_close(tw.grad.numpy(), pw.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_backward_is_bitwise_repeatable():
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 4, size=(100,))  # many duplicates: summation order matters in float32
    g = rng.standard_normal((100, 5)).astype(np.float32) * 1000
    per_device = []
    for device in DEVICES:
        runs = [E.embedding_backward_op(tt.tensor(g, device=device), tt.tensor(idx, device=device),
                                        num_weights=6).cpu().numpy() for _ in range(2)]
        assert np.array_equal(runs[0], runs[1])  # no atomics: the same bits every run
        per_device.append(runs[0])
    want = np.zeros((6, 5))
    np.add.at(want, idx, g.astype(np.float64))
    for r in per_device:  # each device sums in index order; NumPy's reduceat may pair differently, so not bitwise
        assert_close(r, want, rtol=1e-6, atol=1e-2)


def test_double_backward():
    from tritorch.autograd import gradgradcheck
    idx = tt.tensor([[0, 2], [2, 1]])
    w = tt.tensor(np.random.default_rng(4).standard_normal((3, 2)), requires_grad=True)
    assert gradgradcheck(lambda x: E.embedding(idx, x) ** 2, [w])


def test_errors():
    w = tt.ones(4, 3)
    with pytest.raises(IndexError, match="index out of range"):
        E.embedding(tt.tensor([4]), w)
    with pytest.raises(RuntimeError, match="Long, Int"):
        E.embedding(tt.tensor([1.0]), w)
    with pytest.raises(AssertionError, match="Padding_idx"):
        E.embedding(tt.tensor([1]), w, padding_idx=4)
    with pytest.raises(RuntimeError, match="2-D"):
        E.embedding(tt.tensor([1]), tt.ones(4))


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"scale_grad_by_freq": True}])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_backward_one_hot_and_sorted_paths_agree(monkeypatch, kw, dtype):
    """The cpu backward takes a one-hot BLAS product for small vocabularies and sorted segment sums otherwise:
    both give the same gradient."""
    idx, w = _case(seed=3, v=9, d=5, shape=(7, 6))
    idx[0, :4] = 2
    g = tt.tensor(np.sin(np.arange(idx.size * 5)).reshape(idx.shape + (5,)), dtype=getattr(tt, dtype))
    ti = tt.tensor(idx)
    one_hot = E.embedding_backward_op(g, ti, num_weights=9, **kw).numpy()
    monkeypatch.setattr(E, "ONE_HOT_MAX", 0)
    ordered = E.embedding_backward_op(g, ti, num_weights=9, **kw).numpy()
    assert one_hot.dtype == ordered.dtype == np.dtype(dtype)
    tol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-14}[dtype]
    assert_close(one_hot, ordered, rtol=tol, atol=tol)
    if "padding_idx" in kw:
        assert np.all(one_hot[2] == 0) and np.all(ordered[2] == 0)
