"""ops/composite_numeric.py against PyTorch: values and gradients on cpu and cuda, and PyTorch's errors."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def check(fn_tt, fn_torch, *arrays, device="cpu", grad=True, rtol=1e-10):
    x_in = [tt.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out, ref = fn_tt(*x_in), fn_torch(*t_in)
    outs = list(out) if isinstance(out, tuple) else [out]
    refs = list(ref) if isinstance(ref, tuple) else [ref]
    for o, r in zip(outs, refs):
        assert tuple(o.shape) == tuple(r.shape), (tuple(o.shape), tuple(r.shape))
        np.testing.assert_allclose(_np(o), _np(r), rtol=rtol, atol=1e-12)
    if not grad:
        return
    floats = [(o, r) for o, r in zip(outs, refs) if r.is_floating_point() and r.requires_grad]
    if not floats:
        return
    ws = [np.cos(np.arange(r.numel()) + k).reshape(tuple(r.shape)) for k, (_, r) in enumerate(floats)]
    sum((torch.nan_to_num(r) * torch.tensor(w)).sum() for (_, r), w in zip(floats, ws)).backward()
    sum((o.nan_to_num() * tt.tensor(w, device=device)).sum() for (o, _), w in zip(floats, ws)).backward()
    for a, b in zip(x_in, t_in):
        if b.grad is not None:
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_quantiles_and_nanmedian(device):
    x = _rand((4, 7))
    xn = x.copy()
    xn[0, 2] = xn[1, :] = np.nan
    for interp in ("linear", "lower", "higher", "midpoint", "nearest"):
        for q in (0.3, np.array([0.0, 0.25, 0.5, 1.0])):
            qt, qp = (q, q) if isinstance(q, float) else (tt.tensor(q, device=device), torch.tensor(q))
            check(lambda a: tt.quantile(a, qt, 1, interpolation=interp),
                  lambda a: torch.quantile(a, qp, 1, interpolation=interp), x, device=device)
            check(lambda a: tt.quantile(a, qt, interpolation=interp, keepdim=True),
                  lambda a: torch.quantile(a, qp, interpolation=interp, keepdim=True), x, device=device)
            check(lambda a: tt.nanquantile(a, qt, 0, keepdim=True, interpolation=interp),
                  lambda a: torch.nanquantile(a, qp, 0, keepdim=True, interpolation=interp), xn, device=device)
            check(lambda a: tt.quantile(a, qt, 1, interpolation=interp),
                  lambda a: torch.quantile(a, qp, 1, interpolation=interp), xn, device=device, grad=False)
    some = xn.copy()
    some[1, 3] = 0.5   # (an all-NaN row's index is arbitrary in PyTorch: compared on the values below)
    check(lambda a: tuple(tt.nanmedian(a, 1)), lambda a: tuple(torch.nanmedian(a, 1)), some, device=device)
    check(lambda a: tt.nanmedian(a, 1).values, lambda a: torch.nanmedian(a, 1).values, xn, device=device)
    check(lambda a: tt.nanmedian(a), lambda a: torch.nanmedian(a), xn, device=device)
    with pytest.raises(RuntimeError, match=r"q values must be in the range \[0, 1\]"):
        tt.quantile(tt.tensor(x), 1.5)


@pytest.mark.parametrize("device", DEVICES)
def test_median_of_integers_keeps_their_dtype(device):
    a = np.array([[3, 0, 2, 5], [1, 9, 4, 4]])
    for dt in ("uint8", "int8", "int32", "int64"):
        ours, theirs = tt.tensor(a.astype(dt), device=device), torch.tensor(a.astype(dt))
        for fn in ("median", "nanmedian"):
            got, want = getattr(tt, fn)(ours), getattr(torch, fn)(theirs)
            assert str(got.dtype) == str(want.dtype).replace("torch", "tritorch") and int(got) == int(want)
            got, want = getattr(tt, fn)(ours, 1), getattr(torch, fn)(theirs, 1)
            assert got.values.dtype == ours.dtype and _np(got.values).tolist() == want.values.tolist()
            assert _np(got.indices).tolist() == want.indices.tolist()
    for fn in ("median", "nanmedian"):  # as PyTorch: no median of bools
        with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
            getattr(tt, fn)(tt.tensor([True, False], device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_integration_gradient_histogram(device):
    y, x = _rand((3, 6)), np.sort(_rand(6, 1))
    check(tt.trapezoid, torch.trapezoid, y, device=device)
    check(lambda a, b: tt.trapezoid(a, b), lambda a, b: torch.trapezoid(a, b), y, x, device=device)
    check(lambda a: tt.trapz(a, dx=0.5, dim=0), lambda a: torch.trapz(a, dx=0.5, dim=0), y, device=device)
    check(lambda a, b: tt.cumulative_trapezoid(a, b), lambda a, b: torch.cumulative_trapezoid(a, b), y, x,
          device=device)
    for edge in (1, 2):
        check(lambda a: tt.gradient(a, edge_order=edge), lambda a: torch.gradient(a, edge_order=edge), y,
              device=device)
        check(lambda a: tt.gradient(a, spacing=[2.0], dim=1, edge_order=edge),
              lambda a: torch.gradient(a, spacing=[2.0], dim=1, edge_order=edge), y, device=device)
        xs = tt.tensor(x, device=device)
        check(lambda a: tt.gradient(a, spacing=(xs,), dim=1, edge_order=edge),
              lambda a: torch.gradient(a, spacing=(torch.tensor(x),), dim=1, edge_order=edge), y, device=device)
    data = _rand(50, 2)
    for kw in ({"bins": 7}, {"bins": 5, "range": (-1.0, 1.0)}, {"bins": 6, "density": True}):
        h, e = tt.histogram(tt.tensor(data, device=device), **kw)
        th, te = torch.histogram(torch.tensor(data), **kw)
        np.testing.assert_allclose(_np(h), th.numpy(), rtol=1e-12)
        np.testing.assert_allclose(_np(e), te.numpy(), rtol=1e-12)
    w = np.abs(_rand(50, 3))
    h, _ = tt.histogram(tt.tensor(data, device=device), tt.tensor(np.array([-2.0, 0.0, 0.5, 3.0]), device=device),
                        weight=tt.tensor(w, device=device))
    th, _ = torch.histogram(torch.tensor(data), torch.tensor([-2.0, 0.0, 0.5, 3.0], dtype=torch.float64),
                            weight=torch.tensor(w))
    np.testing.assert_allclose(_np(h), th.numpy(), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_unique_consecutive_renorm_vander_pdist(device):
    v = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}):
        check(lambda a: tt.unique_consecutive(a, **kw), lambda a: torch.unique_consecutive(a, **kw), v,
              device=device, grad=False)
    m = np.array([[1, 2], [1, 2], [3, 4], [1, 2]])
    check(lambda a: tt.unique_consecutive(a, return_counts=True, dim=0),
          lambda a: torch.unique_consecutive(a, return_counts=True, dim=0), m, device=device, grad=False)
    check(lambda a: tt.renorm(a, 2, 0, 1.5), lambda a: torch.renorm(a, 2, 0, 1.5), _rand((3, 4)), device=device)
    check(lambda a: a.renorm(1, 1, 2.0), lambda a: a.renorm(1, 1, 2.0), _rand((3, 4), 1), device=device)
    # (values only: PyTorch 2.13's own vander backward raises an in-place error)
    check(lambda a: tt.vander(a, 4), lambda a: torch.vander(a, 4), _rand(5), device=device, grad=False)
    check(lambda a: tt.vander(a, increasing=True), lambda a: torch.vander(a, increasing=True), _rand(3),
          device=device, grad=False)
    x = tt.tensor(_rand(3), device=device, requires_grad=True)
    tt.vander(x, 3).sum().backward()   # d/dx (x^2 + x + 1) = 2x + 1
    np.testing.assert_allclose(_np(x.grad), 2 * _rand(3) + 1, rtol=1e-12)
    check(tt.pdist, torch.pdist, _rand((5, 3)), device=device)
    check(lambda a: tt.pdist(a, 1), lambda a: torch.pdist(a, 1), _rand((4, 3)), device=device)
    check(tt.cosine_similarity, torch.cosine_similarity, _rand((3, 4)), _rand((3, 4), 1), device=device)
    check(tt.pairwise_distance, torch.pairwise_distance, _rand((3, 4)), _rand((3, 4), 1), device=device)
    check(lambda a, b, c: tt.chain_matmul(a, b, c), lambda a, b, c: torch.chain_matmul(a, b, c),
          _rand((2, 3)), _rand((3, 4)), _rand((4, 2)), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_forms_and_predicates(device):
    x = _rand((4, 5))
    check(lambda a, b: tt.slice_scatter(a, b, 1, 1, 5, 2), lambda a, b: torch.slice_scatter(a, b, 1, 1, 5, 2),
          x, _rand((4, 2), 1), device=device)
    check(lambda a, b: tt.select_scatter(a, b, 0, 2), lambda a, b: torch.select_scatter(a, b, 0, 2), x,
          _rand(5, 2), device=device)
    check(lambda a, b: tt.diagonal_scatter(a, b, 1), lambda a, b: torch.diagonal_scatter(a, b, 1), x,
          _rand(4, 3), device=device)
    check(lambda a: tt.narrow_copy(a, 1, 1, 3), lambda a: torch.narrow_copy(a, 1, 1, 3), x, device=device,
          grad=False)
    # gradient vs narrow().clone(), the same function: torch.narrow_copy has no derivative before PyTorch 2.13
    check(lambda a: tt.narrow_copy(a, 1, 1, 3), lambda a: torch.narrow(a, 1, 1, 3).clone(), x, device=device)
    assert tt.isreal(tt.tensor(x, device=device)).all()
    assert tt.tensor([2.0], device=device).is_nonzero() and not tt.is_nonzero(tt.tensor([0.0], device=device))
    with pytest.raises(RuntimeError, match="ambiguous"):
        tt.is_nonzero(tt.ones(2, device=device))
    t = tt.tensor(x, device=device)
    assert t.real is t and t.conj() is t and t.resolve_conj() is t
    z = tt.zeros(3, 4, device=device)
    z.fill_diagonal_(2.0)
    tz = torch.zeros(3, 4)
    tz.fill_diagonal_(2.0)
    np.testing.assert_array_equal(_np(z), tz.numpy())
    z = tt.zeros(7, 3, device=device)
    tz = torch.zeros(7, 3)
    np.testing.assert_array_equal(_np(z.fill_diagonal_(1.0, wrap=True)), tz.fill_diagonal_(1.0, wrap=True).numpy())
    z = tt.zeros(7, 3, device=device)
    tz = torch.zeros(7, 3)
    np.testing.assert_array_equal(_np(z.fill_diagonal_(1.0)), tz.fill_diagonal_(1.0).numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_windows_and_random_fills(device):
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window"):
        for n in (0, 1, 8, 9):
            for periodic in (True, False):
                a = getattr(tt, name)(n, periodic, device=device)
                b = getattr(torch, name)(n, periodic)
                np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-6, atol=1e-7)
                assert a.dtype is tt.float32
    tt.manual_seed(0)
    g = tt.empty(20000, device=device).geometric_(0.3)
    assert float(g.min()) >= 1 and abs(float(g.mean()) - 1 / 0.3) < 0.1
    ln = tt.empty(20000, dtype=tt.float64, device=device).log_normal_(0.5, 0.25)
    assert abs(float(ln.log().mean()) - 0.5) < 0.01 and abs(float(ln.log().std()) - 0.25) < 0.01
    c = tt.empty(20001, dtype=tt.float64, device=device).cauchy_(1.0, 2.0)
    assert abs(float(c.median()) - 1.0) < 0.1
