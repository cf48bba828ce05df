"""Hand-written tests of the ops appended to the unary family (sinh ... nan_to_num) and the binary family
(logaddexp, xlogy, float_power): method and in-place forms, keyword arguments, PyTorch's errors and dtypes,
and gradients against PyTorch at points the generated tests do not pick."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

UNARY = ["sinh", "cosh", "atan", "asin", "acos", "asinh", "acosh", "atanh", "erfinv", "frac", "logit",
         "nan_to_num", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"]


def _input(name):
    if name in ("acosh", "arccosh"):
        return [1.5, 2.0, 7.0]
    return [0.3, -0.45, 0.7] if name != "logit" else [0.3, 0.45, 0.7]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_function_method_inplace_and_grad(name, device):
    vals = _input(name)
    x = tt.tensor(vals, dtype=tt.float64, device=device, requires_grad=True)
    tx = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    ours, theirs = getattr(tt, name)(x), getattr(torch, name)(tx)
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-10)
    y = tt.tensor(vals, dtype=tt.float32, device=device)
    np.testing.assert_allclose(getattr(y, name)().cpu().numpy(), theirs.detach().numpy(), rtol=1e-5)
    r = getattr(y, name + "_")()
    assert r is y
    np.testing.assert_allclose(y.cpu().numpy(), theirs.detach().numpy(), rtol=1e-5)


def test_logit_eps_and_nan_to_num_defaults():
    vals = [0.0, 0.05, 0.5, 0.97, 1.0]
    for eps in (None, 0.1):
        np.testing.assert_allclose(tt.logit(tt.tensor(vals), eps).numpy(),
                                   torch.logit(torch.tensor(vals), eps).numpy(), rtol=1e-6)
    x = tt.tensor(vals, dtype=tt.float64, requires_grad=True)
    tx = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    tt.logit(x, 0.1).sum().backward()
    torch.logit(tx, 0.1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    special = [float("nan"), float("inf"), float("-inf"), 1.0]
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        for device in ("cpu", "cuda"):
            ours = tt.nan_to_num(tt.tensor(special, dtype=getattr(tt, dtype), device=device))
            theirs = torch.nan_to_num(torch.tensor(special, dtype=getattr(torch, dtype)))
            np.testing.assert_array_equal(ours.cpu().to(tt.float64).numpy(), theirs.double().numpy())
    ints = tt.tensor([1, 2, 3])
    assert tt.nan_to_num(ints).dtype == tt.int64
    np.testing.assert_array_equal(ints.nan_to_num(nan=5.0).numpy(), [1, 2, 3])


def test_unary_dtypes_and_errors():
    assert tt.sinh(tt.tensor([1, 2])).dtype == tt.float32
    assert tt.erfinv(tt.tensor([0])).dtype == tt.float32
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        tt.frac(tt.tensor([1, 2]))
    with pytest.raises(TypeError):
        tt.sinh([1.0])


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_binary_ops_values_grads_and_forms(device):
    a_vals, b_vals = [0.0, 1.5, -2.0, 30.0], [1.0, 0.5, 3.0, -30.0]
    for name in ("logaddexp", "xlogy"):
        bv = [abs(v) + 0.1 for v in b_vals] if name == "xlogy" else b_vals
        a = tt.tensor(a_vals, dtype=tt.float64, device=device, requires_grad=True)
        b = tt.tensor(bv, dtype=tt.float64, device=device, requires_grad=True)
        ta = torch.tensor(a_vals, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(bv, dtype=torch.float64, requires_grad=True)
        ours, theirs = getattr(tt, name)(a, b), getattr(torch, name)(ta, tb)
        np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(b.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-10)
        y = tt.tensor(a_vals, device=device)
        assert getattr(y, name + "_")(tt.tensor(bv, device=device)) is y
    assert tt.xlogy(2, tt.tensor([3.0])).item() == pytest.approx(2 * np.log(3.0))
    assert tt.xlogy(tt.tensor([0.0, 0.0]), tt.tensor([0.0, float("nan")])).numpy()[0] == 0.0


def test_float_power():
    x = tt.tensor([1.5, 2.0, 3.0], requires_grad=True)
    tx = torch.tensor([1.5, 2.0, 3.0], requires_grad=True)
    ours, theirs = tt.float_power(x, 2.5), torch.float_power(tx, 2.5)
    assert ours.dtype == tt.float64
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14)
    ours.sum().backward()
    theirs.sum().backward()
    assert x.grad.dtype == tt.float32
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    assert tt.float_power(tt.tensor([2, 3]), 2).dtype == tt.float64
    assert x.detach().float_power(2).dtype == tt.float64
    with pytest.raises(RuntimeError, match="float_power_"):
        tt.ones(2).float_power_(2)
    d = tt.ones(2, dtype=tt.float64)
    assert d.float_power_(3) is d
    with pytest.raises(RuntimeError, match="not implemented"):
        tt.logaddexp(tt.tensor([1]), tt.tensor([2]))


# ------------------------------------------- composed reductions, movement and creation (appended sections)

def _leaf(a, device="cpu"):
    return tt.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(np.asarray(ours.detach().cpu().numpy(), np.float64),
                               np.asarray(theirs.detach().numpy(), np.float64), rtol=1e-10, atol=1e-12)


def _grad_check(fn_tt, fn_torch, a, device="cpu"):
    """Values and the gradient of sum(fn(a) * w) against PyTorch (fn's first output when it returns a tuple)."""
    x, tx = _leaf(a, device)
    ours, theirs = fn_tt(x), fn_torch(tx)
    _same(ours, theirs)
    o, t = (ours[0], theirs[0]) if isinstance(theirs, tuple) else (ours, theirs)
    w = np.random.default_rng(7).standard_normal(tuple(t.shape))
    (o * tt.tensor(w, device=device)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


A = np.random.default_rng(3).standard_normal((3, 5))
A_NAN = A.copy()
A_NAN[0, 1] = np.nan


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_composed_reductions_values_and_grads(device):
    _grad_check(lambda x: tt.std_mean(x, 1), lambda x: torch.std_mean(x, 1), A, device)
    _grad_check(lambda x: tt.var_mean(x, 0, correction=0), lambda x: torch.var_mean(x, 0, correction=0), A, device)
    _grad_check(lambda x: tt.nansum(x, 1), lambda x: torch.nansum(x, 1), A_NAN, device)
    _grad_check(lambda x: tt.nanmean(x, 1), lambda x: torch.nanmean(x, 1), A_NAN, device)
    _grad_check(lambda x: tt.median(x), lambda x: torch.median(x), A, device)
    _grad_check(lambda x: tuple(tt.median(x, 1)), lambda x: tuple(torch.median(x, 1)), A, device)
    _same(tuple(tt.median(tt.tensor(A_NAN, device=device), 1, True)), tuple(torch.median(torch.tensor(A_NAN), 1,
                                                                                           True)))
    _same(tt.median(tt.tensor(A_NAN, device=device)), torch.median(torch.tensor(A_NAN)))
    _same(tt.count_nonzero(tt.tensor([[0, 1], [2, 0]], device=device), 0),
          torch.count_nonzero(torch.tensor([[0, 1], [2, 0]]), 0))


def test_bincount_searchsorted_bucketize():
    idx = [0, 3, 3, 1]
    _same(tt.bincount(tt.tensor(idx)), torch.bincount(torch.tensor(idx)))
    _same(tt.bincount(tt.tensor(idx), tt.tensor([1.0, 2, 3, 4]), minlength=6),
          torch.bincount(torch.tensor(idx), torch.tensor([1.0, 2, 3, 4]), minlength=6))
    _same(tt.bincount(tt.tensor(idx, device="cuda"), tt.tensor([1, 2, 3, 4], device="cuda")),
          torch.bincount(torch.tensor(idx), torch.tensor([1, 2, 3, 4])))
    with pytest.raises(RuntimeError, match="non-negative"):
        tt.bincount(tt.tensor([-1, 2]))
    s, v = [1.0, 2, 2, 4, 7], [[0.0, 2, 5], [7, 8, 1]]
    for kw in ({}, {"right": True}, {"side": "right"}, {"out_int32": True}):
        _same(tt.searchsorted(tt.tensor(s), tt.tensor(v), **kw), torch.searchsorted(torch.tensor(s),
                                                                                    torch.tensor(v), **kw))
    seq2 = [[1.0, 3, 5], [2, 4, 6]]
    _same(tt.searchsorted(tt.tensor(seq2, device="cuda"), tt.tensor(v, device="cuda")),
          torch.searchsorted(torch.tensor(seq2), torch.tensor(v)))
    for right in (False, True):
        _same(tt.bucketize(tt.tensor(v), tt.tensor(s), right=right),
              torch.bucketize(torch.tensor(v), torch.tensor(s), right=right))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_composed_movement_values_and_grads(device):
    _grad_check(lambda x: tt.diff(x, 2, 0), lambda x: torch.diff(x, 2, 0), A, device)
    _grad_check(lambda x: tt.diff(x, prepend=x[:, :1]), lambda x: torch.diff(x, prepend=x[:, :1]), A, device)
    _grad_check(lambda x: tt.repeat_interleave(x, 2, 1), lambda x: torch.repeat_interleave(x, 2, 1), A, device)
    _grad_check(lambda x: x.repeat_interleave(2), lambda x: x.repeat_interleave(2), A, device)
    _grad_check(lambda x: tt.repeat_interleave(x, tt.tensor([1, 0, 2], device=device), 0),
                lambda x: torch.repeat_interleave(x, torch.tensor([1, 0, 2]), 0), A, device)
    _grad_check(lambda x: tt.index_fill(x, 1, tt.tensor([0, -1], device=device), -2.0),
                lambda x: torch.index_fill(x, 1, torch.tensor([0, -1]), -2.0), A, device)
    _grad_check(lambda x: tt.index_copy(x, 1, tt.tensor([4, 0], device=device), x[:, :2] * 3),
                lambda x: torch.index_copy(x, 1, torch.tensor([4, 0]), x[:, :2] * 3), A, device)
    _same(tt.diff(tt.tensor([True, False, False], device=device)), torch.diff(torch.tensor([True, False, False])))
    _same(tt.repeat_interleave(tt.tensor([1, 0, 2], device=device)), torch.repeat_interleave(torch.tensor([1, 0, 2])))


def test_meshgrid_index_methods_and_tri_indices():
    x, y, z = tt.arange(5.0), tt.arange(3.0), tt.arange(2.0)
    tx, ty, tz = torch.arange(5.0), torch.arange(3.0), torch.arange(2.0)
    _same(tt.meshgrid(x, y, indexing="xy"), torch.meshgrid(tx, ty, indexing="xy"))
    _same(tt.meshgrid([x, y, z], indexing="ij"), torch.meshgrid([tx, ty, tz], indexing="ij"))
    with pytest.raises(RuntimeError, match="indexing"):
        tt.meshgrid(x, y, indexing="yx")
    m = tt.zeros(2, 3)
    assert m.index_fill_(1, tt.tensor([1]), 5.0) is m
    np.testing.assert_array_equal(m.numpy(), [[0, 5, 0], [0, 5, 0]])
    assert m.index_copy_(0, tt.tensor([1]), tt.ones(1, 3)) is m
    np.testing.assert_array_equal(m.numpy(), [[0, 5, 0], [1, 1, 1]])
    for args in ((3, 4, 1), (4, 3, -1), (3, 3), (0, 2)):
        _same(tt.triu_indices(*args), torch.triu_indices(*args))
        _same(tt.tril_indices(*args), torch.tril_indices(*args))
    assert tt.tril_indices(3, 3, device="cuda").device.type == "cuda"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_values_and_grads(reduce, device):
    rng = np.random.default_rng(1)
    a, s = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    s[0, 0] = s[0, 1] = a[0, 0] = 5.0                      # ties between src values and with input
    index = np.array([[0, 0, 2], [1, 3, 1]])
    for include_self in (True, False):
        x, tx = _leaf(a, device)
        y, ty = _leaf(s, device)
        ours = tt.scatter_reduce(x, 1, tt.tensor(index, device=device), y, reduce, include_self=include_self)
        theirs = torch.scatter_reduce(tx, 1, torch.tensor(index), ty, reduce, include_self=include_self)
        _same(ours, theirs)
        w = rng.standard_normal((3, 4))
        (ours * tt.tensor(w, device=device)).sum().backward()
        (theirs * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(y.grad.cpu().numpy(), ty.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_scatter_reduce_integers_method_and_errors():
    x, i, s = [1, 2, 3], [0, 0], [5, 7]
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        _same(tt.tensor(x).scatter_reduce(0, tt.tensor(i), tt.tensor(s), reduce, include_self=False),
              torch.tensor(x).scatter_reduce(0, torch.tensor(i), torch.tensor(s), reduce, include_self=False))
    y = tt.tensor([1.0, 2.0])
    assert y.scatter_reduce_(0, tt.tensor([1]), tt.tensor([9.0]), "amax") is y
    np.testing.assert_array_equal(y.numpy(), [1.0, 9.0])
    with pytest.raises(RuntimeError, match="reduce argument"):
        tt.scatter_reduce(y, 0, tt.tensor([0]), y[:1], "max")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_unique(device):
    for data in ([3, 1, 2, 3, 3, 1], [[2.0, float("nan")], [2.0, -1.0]], [True, False, True], []):
        x, t = tt.tensor(data, device=device), torch.tensor(data)
        for inverse in (False, True):
            for counts in (False, True):
                ours = tt.unique(x, return_inverse=inverse, return_counts=counts)
                theirs = torch.unique(t, return_inverse=inverse, return_counts=counts)
                ours = ours if isinstance(ours, tuple) else (ours,)
                theirs = theirs if isinstance(theirs, tuple) else (theirs,)
                for o, e in zip(ours, theirs):
                    assert str(o.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]
                    np.testing.assert_array_equal(o.cpu().numpy(), e.numpy())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_unique_along_a_dim(device):
    """unique(dim=d): the distinct slices in lexicographic order, the inverse and the counts, as PyTorch's
    (slices with a NaN stay distinct; bool; empty inputs; a zero-sized other dim refused)."""
    rng = np.random.default_rng(0)
    cases = [(rng.integers(0, 3, (6, 3)), 0), (rng.integers(0, 3, (6, 3)), 1), (rng.integers(0, 2, (4, 3, 2)), 1),
             (rng.integers(0, 2, (4, 3, 2)), -1), (np.array([[1.0, np.nan], [1.0, np.nan], [0.0, 2.0]]), 0),
             (rng.integers(0, 2, (5, 2)) > 0, 0), (np.zeros((0, 3)), 0), (np.zeros((3, 0)), 1),
             (np.array([3, 1, 3, -2]), 0), (rng.standard_normal((5, 4)).round(0), 0)]
    for a, dim in cases:
        for inverse in (False, True):
            for counts in (False, True):
                ours = tt.unique(tt.tensor(a, device=device), dim=dim, return_inverse=inverse, return_counts=counts)
                theirs = torch.unique(torch.tensor(a), dim=dim, return_inverse=inverse, return_counts=counts)
                ours = ours if isinstance(ours, tuple) else (ours,)
                theirs = theirs if isinstance(theirs, tuple) else (theirs,)
                assert len(ours) == len(theirs)
                for o, e in zip(ours, theirs):
                    assert str(o.dtype).split(".")[-1] == str(e.dtype).split(".")[-1] and o.shape == e.shape
                    np.testing.assert_array_equal(o.cpu().numpy(), e.numpy())
    with pytest.raises(RuntimeError, match="0 sized dimensions"):
        tt.unique(tt.zeros(3, 0, device=device), dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tt.unique(tt.zeros(3, 2, device=device), dim=2)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name", ["logcumsumexp", "cummax", "cummin"])
def test_scans_values_and_grads(name, device):
    a = np.round(np.random.default_rng(2).standard_normal((3, 6)), 0)   # rounding makes ties
    a[1, 2] = np.nan
    a[2, 0] = -1000.0                                                     # exp underflows: needs the stable form
    for dim in (0, -1):
        _grad_check(lambda x: getattr(tt, name)(x, dim), lambda x: getattr(torch, name)(x, dim), a, device)
    ints = [1, 3, 3, 2, 5]
    if name != "logcumsumexp":
        _same(tuple(getattr(tt.tensor(ints), name)(0)), tuple(getattr(torch.tensor(ints), name)(0)))


def test_cpu_copy_of_a_transpose_goes_tile_by_tile_and_equals_numpy():
    """clone / contiguous of a cpu tensor whose unit-stride axis is not the last copies 64x64 tiles of the two
    axes (ops/copy.py np_copy_into): the same elements as NumPy's copy for transposes, flips, steps and batches."""
    from tritorch.ops.copy import np_copy_into
    rng = np.random.default_rng(0)
    for shape, perm in [((300, 257), (1, 0)), ((3, 130, 70), (0, 2, 1)), ((3, 130, 70), (2, 1, 0)),
                        ((70, 3, 130), (2, 0, 1)), ((100, 1000), (1, 0))]:
        a = rng.standard_normal(shape).astype(np.float32)
        for v in (a.transpose(perm), a.transpose(perm)[::-1], a.transpose(perm)[..., ::-2], a[::2].transpose(perm)):
            d = np.empty(v.shape, v.dtype)
            np_copy_into(d, v)
            assert np.array_equal(d, v)
        t = tt.tensor(a).permute(perm)
        c = t.contiguous()
        assert c.is_contiguous() and np.array_equal(c.numpy(), a.transpose(perm))
        assert np.array_equal(t.clone(memory_format=tt.contiguous_format).numpy(), a.transpose(perm))
