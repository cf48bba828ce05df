"""torch.* functions composed from registered ops (tritorch/ops/composite.py) vs PyTorch's: values, indices,
gradients where differentiable, errors; cpu and cuda (GPU or interpreter)."""
import warnings

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, tt.Tensor) else x.detach().numpy()


def check(fn, *args, device="cpu", grad=True, method=False, **kwargs):
    """tt.fn vs torch.fn on NumPy args (float arrays differentiated when grad); tuples compared elementwise."""
    t_args = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
              for a in args]
    x_args = [tt.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray)
              else a for a in args]
    if method:
        ref, out = getattr(t_args[0], fn)(*t_args[1:], **kwargs), getattr(x_args[0], fn)(*x_args[1:], **kwargs)
    else:
        ref, out = getattr(torch, fn)(*t_args, **kwargs), getattr(tt, fn)(*x_args, **kwargs)
    refs, outs = (ref, out) if isinstance(ref, tuple) else ((ref,), (out,))
    for r, o in zip(refs, outs):
        assert tuple(o.shape) == tuple(r.shape)
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-6, atol=1e-6)
    if grad and refs[0].dtype.is_floating_point and refs[0].requires_grad:
        w = _rand(tuple(refs[0].shape), 9)
        (refs[0] * torch.tensor(w)).sum().backward()
        (outs[0] * tt.tensor(w, device=device)).sum().backward()
        for a, b in zip(x_args, t_args):
            if isinstance(b, torch.Tensor) and b.requires_grad:
                np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-6, atol=1e-6)
    return out


@pytest.mark.parametrize("device", DEVICES)
def test_movement(device):
    x = _rand((2, 3, 4))
    check("take_along_dim", x, np.array([[[0], [2], [1]]]), 2, device=device)
    check("take_along_dim", x, np.array([5, 0, 23]), device=device)
    for k in (-1, 0, 1, 2, 3, 5):
        check("rot90", x, k, (0, 2), device=device)
    check("rot90", x, 1, (2, 1), device=device, method=True)
    check("block_diag", np.array(1.5, np.float32), _rand(2, 1), _rand((2, 3), 2), device=device)
    check("cartesian_prod", _rand(2), _rand(3, 1), device=device)
    check("cartesian_prod", _rand(3), device=device)
    for r, rep in ((2, False), (2, True), (3, False), (0, False), (5, False)):
        check("combinations", _rand(4), r, rep, device=device)
    check("unfold", x, 2, 2, 1, device=device, method=True)
    check("unfold", x, -1, 3, 2, device=device, method=True)
    check("sum_to_size", x, (3, 1), device=device, method=True)
    check("sum_to_size", x, 1, 1, 4, device=device, method=True)


@pytest.mark.parametrize("device", DEVICES)
def test_indices_and_membership(device):
    for idx in ([4, 7, -1], [[0, 5], [3, 2]]):
        ref = torch.unravel_index(torch.tensor(idx), (2, 4))
        out = tt.unravel_index(tt.tensor(idx, device=device), (2, 4))
        for a, b in zip(out, ref):
            np.testing.assert_array_equal(_np(a), _np(b))
    check("isin", np.array([[1, 2], [3, 4]]), np.array([2, 3, 9]), device=device)
    check("isin", np.array([1.0, np.nan, 2.5]), np.array([2.5, np.nan]), device=device, invert=True)
    check("isin", np.array([1, 2, 3]), np.array([], np.int64), device=device)
    np.testing.assert_array_equal(_np(tt.isin(tt.tensor([1.0, 2.0], device=device), 2.0)), [False, True])


@pytest.mark.parametrize("device", DEVICES)
def test_linear_algebra(device):
    check("inner", _rand((2, 3)), _rand((4, 3), 1), device=device)
    check("inner", _rand(3), np.array(2.0, np.float32), device=device)
    check("mv", _rand((2, 3)), _rand(3, 1), device=device)
    check("vdot", _rand(3), _rand(3, 1), device=device)
    for p in (2, 1, 3.5, float("inf")):
        check("dist", _rand((2, 3)), _rand((2, 3), 1), p, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_reductions(device):
    x = np.array([[3.0, 1.0, 2.0, 1.0], [5.0, 5.0, -1.0, 7.0], [2.0, 2.0, 2.0, 2.0]], np.float32)
    check("aminmax", x, device=device, grad=False)
    check("aminmax", x, device=device, grad=False, dim=0, keepdim=True)
    for k in (1, 3):
        out = check("kthvalue", _rand((3, 5)), k, 1, device=device)   # distinct values: indices agree too
        assert out.indices.dtype is tt.int64
    vals = tt.kthvalue(tt.tensor(x, device=device), 2, 1, True)
    np.testing.assert_array_equal(_np(vals.values), _np(torch.kthvalue(torch.tensor(x), 2, 1, True).values))
    ints = np.array([[1, 2, 2, 1, 3], [4, 4, 0, 0, 9], [7, 7, 7, 1, 1]])
    check("mode", ints, device=device)
    check("mode", ints, 0, True, device=device)
    check("mode", ints.astype(np.float32), device=device, grad=False)
    data = np.array([1.0, 2.0, 1.0, 4.0, 2.5, -3.0, 3.0], np.float32)
    check("histc", data, 4, 0, 3, device=device, grad=False)
    check("histc", data, 5, device=device, grad=False)
    check("histc", np.full(3, 2.0, np.float32), 4, device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
def test_elementwise(device):
    x = np.array([-1.5, -0.0, 0.0, 2.0, np.nan, -np.nan, -np.inf], np.float32)
    check("signbit", x, device=device)
    check("signbit", x.astype(np.float64), device=device)
    check("signbit", np.array([-1, 0, 3]), device=device)
    check("heaviside", x, np.array([0.5], np.float32), device=device, grad=False)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with different dtypes"):
        tt.heaviside(tt.tensor([1.0, 0.0]), tt.tensor([1]))
    # as PyTorch's: the result of an input that requires grad requires grad too (backward through it raises)
    assert tt.heaviside(tt.tensor([1.0, 0.0], requires_grad=True), tt.tensor([0.5])).requires_grad \
        == torch.heaviside(torch.tensor([1.0, 0.0], requires_grad=True), torch.tensor([0.5])).requires_grad


@pytest.mark.parametrize("call", [
    lambda lib: lib.rot90(lib.ones(2, 2), 1, (0, 0)),
    lambda lib: lib.rot90(lib.ones(2), 1),
    lambda lib: lib.ones(2, 4).unfold(1, 5, 1),
    lambda lib: lib.ones(2, 4).unfold(1, 2, 0),
    lambda lib: lib.inner(lib.ones(2, 3), lib.ones(4)),
    lambda lib: lib.vdot(lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.block_diag(lib.ones(2, 2, 2)),
    lambda lib: lib.kthvalue(lib.ones(3), 4),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as ours:
        call(tt)
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    assert str(ours.value)[:30] == str(theirs.value)[:30]


def _same_result_or_error(fn):
    """fn(torch) and fn(tt): the same error (type and message), or results of the same dtype, shape and values."""
    try:
        want = fn(torch)
    except Exception as e:   # noqa: BLE001 (any error PyTorch raises, tritorch must raise alike)
        with pytest.raises(type(e)) as got:
            fn(tt)
        assert str(got.value) == str(e)
        return
    out = fn(tt)
    assert out.dtype.name == str(want.dtype).split(".")[1] and tuple(out.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(out), _np(want), rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("device", DEVICES)
def test_cov_and_corrcoef_follow_pytorch(device):
    """Integer inputs (float32 results), complex ones (x x^H; corrcoef clips the parts), the squeeze of one
    variable, no degrees of freedom left (warn, divide by zero), the weights' checks, and bool refused."""
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (3, 5))
    z = rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4))
    fw, aw = np.array([1, 2, 0, 3, 1]), np.array([0.5, 1.0, 2.0, 0.1, 1.0])

    def T(m, a):
        return m.tensor(a, device=device) if m is tt else m.tensor(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (both warn where the degrees of freedom run out)
        for a in (x, x.astype(np.float32), x.astype(np.uint8), x[:1], x[0], x[:, :1], z.astype(np.complex64), z,
                  x > 0):
            for kw in ({}, {"correction": 0}, {"correction": 2}):
                _same_result_or_error(lambda m: m.cov(T(m, a), **kw))
            _same_result_or_error(lambda m: m.corrcoef(T(m, a)))
        for kw in ({"fweights": fw}, {"aweights": aw}, {"fweights": fw, "aweights": aw, "correction": 3},
                   {"fweights": fw.astype(np.float32)}, {"aweights": fw}, {"fweights": -fw}, {"fweights": 0 * fw},
                   {"fweights": fw[:3]}, {"aweights": aw[None]}):
            _same_result_or_error(lambda m: m.cov(T(m, x), **{k: T(m, v) for k, v in kw.items()}))
    _same_result_or_error(lambda m: m.cov(m.zeros(2, 2, 2)))
    _same_result_or_error(lambda m: m.corrcoef(m.zeros(2, 2, 2)))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        tt.cov(tt.tensor(x[:, :1], device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_stacking_statistics_and_composed_elementwise(device):
    x = _rand((3, 5))
    cols = tt.column_stack([tt.tensor(np.arange(3.0, dtype=np.float32), device=device), tt.tensor(x[:, :2],
                                                                                                 device=device)])
    np.testing.assert_array_equal(_np(cols), _np(torch.column_stack([torch.arange(3.0), torch.tensor(x[:, :2])])))
    np.testing.assert_array_equal(_np(tt.row_stack([tt.tensor(x, device=device), tt.tensor(x, device=device)])),
                                  np.vstack([x, x]))
    for fn, arr, sections in (("hsplit", x, 5), ("vsplit", x, [1]), ("dsplit", _rand((2, 2, 4)), 2)):
        for a, b in zip(getattr(tt, fn)(tt.tensor(arr, device=device), sections),
                        getattr(torch, fn)(torch.tensor(arr), sections)):
            np.testing.assert_array_equal(_np(a), _np(b))
    check("diagflat", _rand((2, 2)), 1, device=device)
    assert tuple(tt.broadcast_shapes((2, 1), (3,), 1)) == tuple(torch.broadcast_shapes((2, 1), (3,), 1))
    check("cov", x, device=device)
    check("cov", x, device=device, correction=0)
    check("cov", x[0], device=device)
    fw, aw = np.array([1, 2, 1, 3, 1]), np.abs(_rand(5, 4)) + 0.1
    np.testing.assert_allclose(
        _np(tt.cov(tt.tensor(x, device=device), fweights=tt.tensor(fw, device=device),
                   aweights=tt.tensor(aw, device=device))),
        _np(torch.cov(torch.tensor(x), fweights=torch.tensor(fw), aweights=torch.tensor(aw))), rtol=1e-5, atol=1e-6)
    check("corrcoef", x, device=device)
    pos = np.abs(x) + 0.1
    check("log10", pos, device=device)
    check("deg2rad", x, device=device)
    check("rad2deg", x, device=device)
    check("sgn", x, device=device, grad=False)
    check("sinc", np.array([0.0, 0.5, -1.5, 2.25], np.float32), device=device)
    check("logaddexp2", x, _rand((3, 5), 1), device=device)
    special = np.array([np.inf, -np.inf, np.nan, 1.0], np.float32)
    check("isposinf", special, device=device)
    check("isneginf", special, device=device)


def test_heaviside_backward_raises_instead_of_a_silent_zero():
    """PyTorch has no derivative for heaviside: a gradient through it (also through heaviside_) is an error."""
    x = tt.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = tt.heaviside(x, tt.tensor(0.5))
    assert y.requires_grad and y.grad_fn.name() == "HeavisideBackward0"
    with pytest.raises(RuntimeError, match="derivative for 'heaviside' is not implemented"):
        (y * x + x).sum().backward()
    z = x * 1
    z.heaviside_(tt.tensor(0.5))
    with pytest.raises(RuntimeError, match="derivative for 'heaviside' is not implemented"):
        z.sum().backward()
    with tt.no_grad():
        assert not tt.heaviside(x, tt.tensor(0.5)).requires_grad


def test_logaddexp2_promotes_before_it_scales():
    torch = pytest.importorskip("torch")
    a, b = np.array([-1.2, 0.3, 2.2, 5.7]), np.array([0.5, -3.1, 1.9, 6.4])
    for da, db in (("float64", "bfloat16"), ("float16", "float32"), ("bfloat16", "uint8"), ("float32", "float32")):
        ours = tt.logaddexp2(tt.tensor(a).to(getattr(tt, da)), tt.tensor(b).to(getattr(tt, db)))
        ref = torch.logaddexp2(torch.tensor(a).to(getattr(torch, da)), torch.tensor(b).to(getattr(torch, db)))
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (da, db)
        np.testing.assert_allclose(ours.float().numpy(), ref.float().numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="\"logaddexp2_cpu\" not implemented for 'Long'"):
        tt.logaddexp2(tt.tensor([1, 2]), tt.tensor([3, 4]))
