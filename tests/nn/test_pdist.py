"""pdist (tritorch/ops/composite_pdist.py) vs torch.pdist: values and gradients for p in {0, 0.5, 1, 1.5, 2, 3, inf},
including zero distances, zero differences and ties of the max, on cpu and cuda; double backward; torch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")

PS = [0, 0.5, 1, 1.5, 2, 3, float("inf")]


def _x():
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    x[1] = x[0]                  # a zero distance
    x[3, 1] = x[2, 1]            # a zero difference in one column
    x[4] = x[2] + np.float32(1.5) * np.array([1, -1, 0.5], np.float32)   # a tie of the max (p = inf)
    return x


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("p", PS)
def test_against_torch(device, p):
    x = _x()
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref, out = torch.pdist(xt, p), tt.pdist(xx, p)
    assert tuple(out.shape) == tuple(ref.shape) == (10,)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(10).astype(np.float32)
    ref.backward(torch.tensor(g))
    out.backward(tt.tensor(g, device=device))
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert np.isfinite(xx.grad.cpu().numpy()).all()


@pytest.mark.parametrize("p", PS)
def test_infinite_and_nan_inputs(p):
    x = _x()
    x[0, 2], x[3, 0] = np.inf, np.nan
    xx = tt.tensor(x, requires_grad=True)
    out = tt.pdist(xx, p)
    np.testing.assert_allclose(out.detach().numpy(), torch.pdist(torch.tensor(x), p).numpy(), rtol=1e-5)
    assert out.requires_grad


def test_functional_small_shapes_and_double_backward():
    assert F.pdist is tt.pdist
    for shape in ((1, 3), (0, 3), (3, 0)):
        np.testing.assert_array_equal(tt.pdist(tt.zeros(shape)).numpy(), torch.pdist(torch.zeros(shape)).numpy())
    x = tt.tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    for p in (1.5, 2, 3):
        assert tt.autograd.gradcheck(lambda a: tt.pdist(a, p), (x,))
        assert tt.autograd.gradgradcheck(lambda a: tt.pdist(a, p), (x,))


@pytest.mark.parametrize("make,p", [(lambda m: m.randn(2, 3, 4), 2), (lambda m: m.randn(3), 2),
                                    (lambda m: m.randn(3, 4), -1), (lambda m: m.arange(6).reshape(3, 2), 2)])
def test_errors(make, p):
    with pytest.raises(RuntimeError) as theirs:
        torch.pdist(make(torch), p)
    with pytest.raises(RuntimeError) as ours:
        tt.pdist(make(tt), p)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("p", [0, 1, 2, 3, float("inf")])
def test_chunks_of_pairs_give_the_same_values_and_gradients(monkeypatch, p):
    # the pairs are taken in chunks so that memory stays bounded: chunk boundaries must not show
    from tritorch.ops import composite_pdist
    x = _x()
    whole = tt.tensor(x, requires_grad=True)
    chunked = tt.tensor(x, requires_grad=True)
    want = tt.pdist(whole, p)
    monkeypatch.setattr(composite_pdist, "_CHUNK_ELEMENTS", 3 * 3)   # three pairs a chunk, the last one short
    got = tt.pdist(chunked, p)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    g = np.arange(1, 11, dtype=np.float32)
    want.backward(tt.tensor(g))
    got.backward(tt.tensor(g))
    # (the gradient's sums over pairs are added in another order across chunks: float32 rounding, an ulp or so)
    np.testing.assert_allclose(chunked.grad.numpy(), whole.grad.numpy(), rtol=1e-6, atol=1e-7)
