"""index_reduce (ops/index_reduce.py) against PyTorch: every reduce with and
without include_self, duplicate and unused indices, other dims, integer 'mean' rounding, gradients with ties,
index_reduce_, errors."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message="index_reduce\\(\\) is in beta")

REDUCES = ["prod", "mean", "amax", "amin"]


def _case(dim, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (5, 4, 3)).astype(dtype)
    n = 6
    idx = rng.integers(0, x.shape[dim], n)
    shape = list(x.shape)
    shape[dim] = n
    src = rng.integers(-4, 5, shape).astype(dtype)
    return x, idx, src


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", ["float32", "int64", "float64"])
@pytest.mark.parametrize("reduce", REDUCES)
def test_values_match_torch(reduce, dtype, device):
    for dim in (0, 1, -1):
        x, idx, src = _case(dim, dtype, seed=dim + 3)
        for include_self in (True, False):
            want = torch.from_numpy(x).index_reduce(dim, torch.from_numpy(idx), torch.from_numpy(src), reduce,
                                                    include_self=include_self)
            got = tt.tensor(x, device=device).index_reduce(dim, tt.tensor(idx, device=device),
                                                           tt.tensor(src, device=device), reduce,
                                                           include_self=include_self)
            assert got.dtype.name == dtype
            np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduce", REDUCES)
def test_gradients_match_torch(reduce):
    x = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0]])
    src = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 2.0], [6.0, 7.0, 8.0]])  # ties for amax/amin
    idx = np.array([0, 2, 0, 2])
    g = np.random.default_rng(1).standard_normal(x.shape)
    for include_self in (True, False):
        tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
        tx.index_reduce(0, torch.tensor(idx), ts, reduce, include_self=include_self).backward(torch.tensor(g))
        ax, asrc = tt.tensor(x, requires_grad=True), tt.tensor(src, requires_grad=True)
        tt.index_reduce(ax, 0, tt.tensor(idx), asrc, reduce, include_self=include_self).backward(tt.tensor(g))
        np.testing.assert_allclose(ax.grad.numpy(), tx.grad.numpy(), rtol=1e-12, err_msg=f"{include_self}")
        np.testing.assert_allclose(asrc.grad.numpy(), ts.grad.numpy(), rtol=1e-12, err_msg=f"{include_self}")


def test_inplace_out_and_zero_dim():
    x = tt.zeros(3)
    assert x.index_reduce_(0, tt.tensor([0, 0]), tt.tensor([1.0, 2.0]), "prod") is x
    assert x.tolist() == [0.0, 0.0, 0.0]
    x = tt.ones(3)
    x.index_reduce_(0, tt.tensor([0, 0, 2]), tt.tensor([2.0, 3.0, 5.0]), "prod", include_self=False)
    assert x.tolist() == [6.0, 1.0, 5.0]
    out = tt.empty(3)
    assert tt.index_reduce(tt.ones(3), 0, tt.tensor([1]), tt.tensor([4.0]), "mean", out=out) is out
    assert out.tolist() == [1.0, 2.5, 1.0]
    r = tt.tensor(5.0).index_reduce(0, tt.tensor([0]), tt.tensor(2.0), "amax")
    assert r.shape == () and r.item() == 5.0


def test_errors_match_torch():
    x, src, idx = tt.zeros(4, 3), tt.ones(3, 3), tt.tensor([0, 2, 0])
    cases = [
        (RuntimeError, "Expected reduce to be one of prod, mean, amax or amin but got sum.",
         lambda: x.index_reduce(0, idx, src, "sum")),
        (RuntimeError, "Expected dtype int32/int64 for index but got: Float",
         lambda: x.index_reduce(0, idx.float(), src, "prod")),
        (IndexError, r"Index is supposed to be a vector, but got dim: 2 with type: Long and size: \[1, 3\]",
         lambda: x.index_reduce(0, idx[None], src, "prod")),
        (RuntimeError, r"self \(Float\) and source \(Double\) must have the same scalar type",
         lambda: x.index_reduce(0, idx, src.double(), "prod")),
        (RuntimeError, r"Number of indices \(2\) should be equal to source.size\(dim\): \(3\), for dim: 0",
         lambda: x.index_reduce(0, tt.tensor([0, 1]), src, "prod")),
        (IndexError, "index out of range in self", lambda: x.index_reduce(0, tt.tensor([0, 5, 1]), src, "prod")),
        (IndexError, "index out of range in self", lambda: x.index_reduce(0, tt.tensor([0, -1, 1]), src, "prod")),
        (RuntimeError, r"source tensor shape must match self tensor shape, excluding the specified dimension. "
                       r"Got self.shape = \[4, 3\] source.shape = \[3, 2\]",
         lambda: x.index_reduce(0, idx, src[:, :2], "prod")),
        (IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
         lambda: x.index_reduce(2, idx, src, "prod")),
    ]
    for exc, msg, fn in cases:
        with pytest.raises(exc, match=msg):
            fn()


@pytest.mark.parametrize("device", devices())
def test_nan_propagates_as_torch(device):
    x = np.array([1.0, np.nan, 3.0, 4.0])
    s = np.array([np.nan, 2.0, 5.0, 0.5, 7.0])
    i = np.array([0, 1, 2, 2, 3])
    for reduce in REDUCES:
        for include_self in (True, False):
            want = torch.from_numpy(x).index_reduce(0, torch.from_numpy(i), torch.from_numpy(s), reduce,
                                                    include_self=include_self).numpy()
            got = tt.tensor(x, device=device).index_reduce(0, tt.tensor(i, device=device), tt.tensor(s, device=device),
                                                           reduce, include_self=include_self).cpu().numpy()
            np.testing.assert_array_equal(got, want)


def test_int32_index_gradient_without_self():
    # PyTorch's own backward fails here (it index_fills with the int32 index); the gradient is mean's 1/count
    x = tt.zeros(3, dtype=tt.float64, requires_grad=True)
    s = tt.ones(4, dtype=tt.float64, requires_grad=True)
    r = tt.index_reduce(x, 0, tt.tensor([0, 0, 2, 0], dtype=tt.int32), s, "mean", include_self=False)
    r.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_allclose(s.grad.numpy(), [1 / 3, 1 / 3, 1.0, 1 / 3])


@pytest.mark.parametrize("reduce", ["amax", "amin", "mean", "prod"])
def test_scatter_reduce_at_scale_matches_torch(reduce):
    """scatter_reduce goes through index_reduce at flat positions: memory linear in the index (the one-hot
    comparison it replaced needed F x N x E booleans, 5.8 GB here), values equal to PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    n, e, f = 12000, 30000, 16
    src = rng.standard_normal((e, f)).astype(np.float32)
    idx = rng.integers(0, n, e)
    base = rng.standard_normal((n, f)).astype(np.float32)
    for include_self in (True, False):
        got = tt.tensor(base).scatter_reduce(0, tt.tensor(idx)[:, None].expand(e, f), tt.tensor(src), reduce,
                                             include_self=include_self)
        want = torch.tensor(base).scatter_reduce(0, torch.tensor(idx)[:, None].expand(e, f), torch.tensor(src),
                                                 reduce, include_self=include_self)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
