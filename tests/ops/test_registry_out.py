"""out= through the op registry (tritorch/ops/registry.py: check_out, resize_out) against PyTorch: an out tensor of
another shape is resized to the result's (silently when empty, with PyTorch's deprecation warning when it had
elements), an in-place write of another shape is an error, and the other checks (device, dtype) still apply."""
import warnings

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

CALLS = [
    ("add", lambda m, a, o: m.add(a, a, out=o), "float32"),
    ("mul scalar", lambda m, a, o: m.mul(a, 2.0, out=o), "float32"),
    ("sum dim", lambda m, a, o: m.sum(a, 0, out=o), "float32"),
    ("mean dim", lambda m, a, o: m.mean(a, 1, out=o), "float32"),
    ("cat", lambda m, a, o: m.cat([a, a], out=o), "float32"),
    ("matmul", lambda m, a, o: m.matmul(a, a.T, out=o), "float32"),
    ("exp", lambda m, a, o: m.exp(a, out=o), "float64"),
    ("clamp", lambda m, a, o: m.clamp(a, 0, 1, out=o), "float32"),
    ("where", lambda m, a, o: m.where(a > 0, a, -a, out=o), "float32"),
    ("argmax", lambda m, a, o: m.argmax(a, 0, out=o), "int64"),
    ("addr", lambda m, a, o: m.addr(a, a[:, 0], a[0], out=o), "float32"),   # (checks out= itself, not the registry)
]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name, call, out_dtype", CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("out_shape", [(0,), (3,), (2, 2, 2)])
def test_out_of_another_shape_is_resized_as_in_torch(device, name, call, out_dtype, out_shape):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    with warnings.catch_warnings(record=True) as expected_warnings:
        warnings.simplefilter("always")
        o_ref = torch.zeros(out_shape, dtype=getattr(torch, out_dtype))
        ref = call(torch, torch.tensor(a), o_ref)
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        o = tt.zeros(out_shape, dtype=getattr(tt, out_dtype), device=device)
        r = call(tt, tt.tensor(a, device=device), o)
    assert r is o and tuple(o.shape) == tuple(o_ref.shape) and o.dtype is getattr(tt, out_dtype)
    np.testing.assert_allclose(o.cpu().numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    # (PyTorch appends where in its C++ sources the warning came from, and warns twice when it casts into out)
    messages = {str(w.message).split(" (Triggered internally")[0] for w in expected_warnings
                if "resized" in str(w.message)}
    assert [str(w.message) for w in got_warnings if "resized" in str(w.message)] == list(messages)
    assert all(w.filename == __file__ for w in got_warnings if "resized" in str(w.message))


def test_in_place_writes_and_views_are_not_resized():
    x = tt.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        x.add_(tt.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        tt.add(x, tt.ones(2, 3), out=x)          # out is an operand: an in-place write
    view = tt.zeros(6)[:3]
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tt.add(tt.ones(2, 2), 1, out=view)        # a view keeps its base's storage: not resized
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        tt.add(tt.ones(2, 2), 1, out=tt.empty(0, dtype=tt.int64))
    assert x.tolist() == [1.0, 1.0, 1.0]


COMPOSED = [
    ("sort", lambda m, a, o: m.sort(a, 1, out=o), 2),
    ("topk", lambda m, a, o: m.topk(a, 2, out=o), 2),
    ("max dim", lambda m, a, o: m.max(a, 0, out=o), 2),
    ("min dim keepdim", lambda m, a, o: m.min(a, 1, keepdim=True, out=o), 2),
    ("msort", lambda m, a, o: m.msort(a, out=o), 1),
    ("cumsum", lambda m, a, o: m.cumsum(a, 0, out=o), 1),
    ("vector_norm", lambda m, a, o: m.linalg.vector_norm(a, out=o), 1),
    ("tensordot", lambda m, a, o: m.tensordot(a, a.T, 1, out=o), 1),
    ("special.xlog1py", lambda m, a, o: m.special.xlog1py(a.abs(), a.abs(), out=o), 1),
    ("fft.fftshift-like fftfreq", lambda m, a, o: m.fft.fftfreq(5, out=o), 1),
]


@pytest.mark.parametrize("name, call, n_out", COMPOSED, ids=[c[0] for c in COMPOSED])
def test_functions_composed_of_ops_fill_an_empty_out(name, call, n_out):
    # the functions that write out= with copy_ (sort/topk/max(dim) take a pair): an empty out takes the result's
    # shape, as PyTorch's resize of an empty out does
    a = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)

    def empties(m):
        outs = (m.empty(0), m.empty(0, dtype=m.int64))
        return outs if n_out == 2 else outs[0]

    ref_out, out = empties(torch), empties(tt)
    ref, r = call(torch, torch.tensor(a), ref_out), call(tt, tt.tensor(a), out)
    refs, got, outs = (ref, r, out) if n_out == 2 else ((ref,), (r,), (out,))
    for x, y, o in zip(refs, got, outs):
        assert y is o and tuple(o.shape) == tuple(x.shape)
        np.testing.assert_allclose(o.numpy(), x.numpy(), rtol=1e-6, atol=1e-6)


def test_pair_out_must_be_a_pair_of_tensors():
    with pytest.raises(TypeError, match="sort\\(\\): argument 'out' must be tuple of Tensors, not Tensor"):
        tt.sort(tt.ones(3), out=tt.empty(0))
