"""The registry's cpu shortcuts (OpDef.fast) must give exactly what the full path (infer + impl) gives: the same
values, dtype, shape, strides and storage offset for views, the same autograd history. Each case runs the op
(which tries the shortcut first) and the full path by hand, over inputs that the shortcuts accept and inputs
they must refuse (non-contiguous, size-1 dims with odd strides, empty, negative steps)."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import registry


def _full_path(op, *args):
    """infer + impl["cpu"], as OpDef.__call__ does without its shortcut (view bookkeeping included)."""
    meta = op.infer(*args)
    raw = op.impl["cpu"](meta, *args)
    return np.asarray(raw), meta


def _inputs():
    rng = np.random.default_rng(0)
    base = tt.tensor(rng.standard_normal((4, 6, 5)).astype(np.float32))
    yield "contiguous", base
    yield "transposed", base.transpose(0, 2)
    yield "sliced", base[:, 1:4]
    yield "size-1 dims", tt.tensor(rng.standard_normal((3, 1, 5)).astype(np.float32))
    yield "size-1 odd stride", base[:, 2:3]          # C-contiguous in NumPy's eyes, PyTorch's stride differs
    yield "empty", base[:, 6:]
    yield "view of view", base.view(24, 5)[3:9]


VIEW_CALLS = [
    ("view", lambda x: (x, (-1,))),
    ("view", lambda x: (x, (x.shape[0], -1))),
    ("view", lambda x: (x, (-2, 5))),
    ("unsqueeze", lambda x: (x, 0)),
    ("unsqueeze", lambda x: (x, -1)),
    ("unsqueeze", lambda x: (x, 1)),
    ("squeeze", lambda x: (x,)),
    ("squeeze", lambda x: (x, 1)),
    ("transpose", lambda x: (x, 0, -1)),
    ("permute", lambda x: (x, (2, 0, 1))),
    ("basic_index", lambda x: (x, 1)),
    ("basic_index", lambda x: (x, (slice(None), slice(0, 2)))),
    ("basic_index", lambda x: (x, (Ellipsis, 1))),
    ("basic_index", lambda x: (x, (slice(None, None, -1),))),
    ("basic_index", lambda x: (x, (None, 0))),
]


@pytest.mark.parametrize("label,x", list(_inputs()), ids=[n for n, _ in _inputs()])
@pytest.mark.parametrize("name,make", VIEW_CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VIEW_CALLS)])
def test_view_shortcut_matches_full_path(label, x, name, make):
    op = registry.get(name)
    args = make(x)
    try:
        expected, meta = _full_path(op, *args)
    except Exception as e:  # the op refuses these arguments: so must the call with its shortcut
        with pytest.raises(type(e)):
            op(*args)
        return
    got = op(*args)
    assert tuple(got.shape) == tuple(meta.shape) and got.dtype is meta.dtype
    np.testing.assert_array_equal(got.numpy(), expected)
    if got.numel():
        strides, offset = meta.aux
        assert got.stride() == tuple(strides)
        assert got.storage_offset() == x.storage_offset() + offset
    assert got._version is x._version
    assert got._base is (x if x._base is None else x._base)


@pytest.mark.parametrize("name,make", VIEW_CALLS[:10], ids=[f"{n}-{i}" for i, (n, _) in enumerate(VIEW_CALLS[:10])])
def test_view_shortcut_records_history(name, make):
    x = tt.randn(4, 6, 5, requires_grad=True)
    args = make(x)
    try:
        y = registry.get(name)(*args)
    except Exception:
        return
    assert y.grad_fn is not None and y.requires_grad
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[x.grad.numpy() != 0], 2)


@pytest.mark.parametrize("kind", ["mm", "matmul", "linear"])
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_gemm_shortcut_matches_full_path_and_records(kind, dtype):
    rng = np.random.default_rng(1)
    a = tt.tensor(rng.standard_normal((5, 7)), dtype=dtype, requires_grad=True)
    b = tt.tensor(rng.standard_normal((7, 3) if kind != "linear" else (3, 7)), dtype=dtype, requires_grad=True)
    args = (a, b) if kind != "linear" else (a, b, tt.tensor(rng.standard_normal(3), dtype=dtype))
    op = registry.get(kind)
    expected, meta = _full_path(op, *[t.detach() for t in args])
    got = op(*args)
    assert got.dtype is meta.dtype and tuple(got.shape) == meta.shape
    np.testing.assert_array_equal(got.detach().numpy(), expected)
    got.sum().backward()
    assert a.grad is not None and b.grad is not None


def test_gemm_shortcut_refusals_raise_pytorchs_errors():
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        tt.mm(tt.randn(2, 3), tt.randn(4, 5))
    with pytest.raises(RuntimeError, match="dtype"):
        tt.matmul(tt.randn(2, 3), tt.randn(3, 2, dtype=tt.float64))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_shortcut_matches_full_path_and_backward(dim):
    a = tt.randn(2, 3, requires_grad=True)
    b = tt.randn(2, 3, requires_grad=True)
    expected, meta = _full_path(registry.get("cat"), [a.detach(), b.detach()], dim)
    got = tt.cat([a, b], dim)
    np.testing.assert_array_equal(got.detach().numpy(), expected)
    (got * tt.arange(got.numel(), dtype=tt.float32).reshape(got.shape)).sum().backward()
    weights = np.arange(got.numel(), dtype=np.float32).reshape(got.shape)
    first, second = np.split(weights, 2, axis=dim)
    np.testing.assert_array_equal(a.grad.numpy(), first)
    np.testing.assert_array_equal(b.grad.numpy(), second)


def test_cat_shortcut_refusals_raise_pytorchs_errors():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        tt.cat([tt.randn(2, 3), tt.randn(3, 2)], 0)
    assert tt.cat([tt.randn(2, 3), tt.randn(0)]).shape == (2, 3)  # legacy: 1-D empty inputs are skipped


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_shortcut_matches_full_path_and_backward(dim):
    a = tt.randn(2, 3, requires_grad=True)
    b = tt.randn(2, 3).t().contiguous().t().requires_grad_()   # (a non-contiguous-strided input too)
    expected, meta = _full_path(registry.get("stack"), [a.detach(), b.detach()], dim)
    got = tt.stack([a, b], dim)
    assert tuple(got.shape) == tuple(meta.shape) and got.dtype is meta.dtype
    np.testing.assert_array_equal(got.detach().numpy(), expected)
    assert got.grad_fn.name() == "StackBackward0"
    weights = np.arange(got.numel(), dtype=np.float32).reshape(got.shape)
    (got * tt.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.take(weights, 0, axis=dim))
    np.testing.assert_array_equal(b.grad.numpy(), np.take(weights, 1, axis=dim))


def test_stack_shortcut_refusals_take_the_full_path():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        tt.stack([tt.randn(2, 3), tt.randn(3, 2)])
    with pytest.raises(IndexError, match="Dimension out of range"):
        tt.stack([tt.randn(2)], 2)
    assert tt.stack([tt.ones(2), tt.ones(2, dtype=tt.float64)]).dtype is tt.float64   # promoted by the full path


@pytest.mark.parametrize("dim", [(0, 2), -1, None])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_reduction_shortcut_records_with_the_plan(name, dim, keepdim):
    xn = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = tt.tensor(xn, requires_grad=True)
    y = getattr(tt, name)(x, dim, keepdim)
    assert y.grad_fn.name() == f"{name.capitalize()}Backward0"
    g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(tt.tensor(g))
    axes = tuple(range(3)) if dim is None else ((dim % 3,) if isinstance(dim, int) else dim)
    want = np.broadcast_to(np.expand_dims(g, axes) if not keepdim else g, xn.shape)
    if name == "mean":
        want = want / np.prod([xn.shape[a] for a in axes])
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("dim", [(0,), (1, 2), (-1, 0), (0, 1, 2), 1, None])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_reduction_shortcut_matches_full_path(name, dim, keepdim):
    from tritorch.ops import reduce as R
    op = getattr(R, f"{name}_op")
    for label, x in _inputs():
        if dim is not None and max(abs(d) + (d >= 0) for d in ((dim,) if isinstance(dim, int) else dim)) > x.ndim:
            continue  # a dim this input does not have (the 2-D view of view)
        got = getattr(tt, name)(x, dim, keepdim)
        want, meta = _full_path(op, x, dim, keepdim)
        assert tuple(got.shape) == tuple(meta.shape) and got.dtype is meta.dtype, label
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6, err_msg=label)


@pytest.mark.parametrize("dim", [(0, 0), (0, -3), (3,), ()])
def test_reduction_shortcut_leaves_bad_dims_to_the_full_path(dim):
    x = tt.ones(2, 3, 4)
    if dim == ():
        assert tt.sum(x, dim).item() == 24.0  # PyTorch: an empty dim list sums everything
        return
    with pytest.raises((RuntimeError, IndexError)):
        tt.sum(x, dim)


@pytest.mark.parametrize("dtype", [tt.float32, tt.float64, tt.float16])
@pytest.mark.parametrize("zero_first", [True, False])
def test_where_shortcut_matches_full_path_and_records(dtype, zero_first):
    """where(cond, +0, x) / where(cond, x, +0) on cpu (relu's backward): the AND-mask shortcut gives the full
    path's bits (NaN and -0 kept where x is chosen) and records under autograd."""
    from tritorch.ops.ternary import where_op
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 48)).astype(dtype.np)
    x[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
    cond = tt.tensor(rng.random((64, 48)) < 0.5)
    cond[0, :4] = not zero_first  # the specials are the chosen values
    xt = tt.tensor(x, requires_grad=True)
    args = (cond, 0.0, xt) if zero_first else (cond, xt, 0)
    expected, meta = _full_path(where_op, *[a.detach() if isinstance(a, tt.Tensor) else a for a in args])
    got = where_op(*args)
    assert got.dtype is meta.dtype and got.grad_fn is not None
    np.testing.assert_array_equal(got.detach().numpy().view(np.uint8), expected.view(np.uint8))
    plain = np.where(cond.numpy(), dtype.np.type(0), x) if zero_first else np.where(cond.numpy(), x, dtype.np.type(0))
    np.testing.assert_array_equal(got.detach().numpy().view(np.uint8), plain.view(np.uint8))
    got.sum().backward()
    chosen = ~cond.numpy() if zero_first else cond.numpy()
    np.testing.assert_array_equal(xt.grad.numpy(), chosen.astype(dtype.np))


def test_where_shortcut_refusals_take_the_full_path():
    cond = tt.ones(64, 48, dtype=tt.bool)
    assert tt.where(cond, 0.0, tt.ones(48)).shape == (64, 48)        # broadcast: full path
    assert tt.where(cond, -0.0, tt.ones(64, 48)).numpy().sum() == 0   # -0 is not +0: full path (np.where)
    assert tt.where(cond, 0, tt.ones(64, 48, dtype=tt.int32)).dtype is tt.int32
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        tt.where(tt.ones(64, 48), 0.0, tt.ones(64, 48))


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_shortcut_matches_full_path_and_records(name, dim):
    """softmax / log_softmax on cpu float tensors: the shortcut gives the full path's bits over every input shape
    (non-contiguous and empty ones included), and under autograd the same gradient as PyTorch's formula."""
    from tritorch.ops import nn_softmax as S
    op = getattr(S, f"{name}_op")
    for label, x in _inputs():
        if dim >= x.ndim:
            continue
        got = getattr(tt, name)(x, dim)
        want, meta = _full_path(op, x, dim)
        assert tuple(got.shape) == tuple(meta.shape) and got.dtype is meta.dtype, label
        np.testing.assert_array_equal(got.numpy(), want, err_msg=label)
        xg = x.detach().double().requires_grad_()
        y = getattr(tt, name)(xg, dim)
        assert y.grad_fn is not None and y.grad_fn.name().startswith(name.capitalize().replace("_s", "S")), label
        w = tt.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
        (g,) = tt.autograd.grad(y, [xg], w)
        p = np.exp(y.detach().numpy()) if name == "log_softmax" else y.detach().numpy()
        wn = w.numpy()
        want_g = (wn - p * wn.sum(dim, keepdims=True) if name == "log_softmax"
                  else p * (wn - (wn * p).sum(dim, keepdims=True)))
        np.testing.assert_allclose(g.numpy(), want_g, rtol=1e-12, atol=1e-12, err_msg=label)


def test_softmax_shortcut_refusals_take_the_full_path():
    x = tt.randn(3, 4)
    assert tt.softmax(x, 1, dtype=tt.float64).dtype is tt.float64
    assert tt.softmax(x.half(), 1).dtype is tt.float16
    assert tt.softmax(tt.tensor(2.0), 0).item() == 1.0
    with pytest.raises(IndexError, match="Dimension out of range"):
        tt.softmax(x, 2)
    with pytest.raises(TypeError):
        tt.softmax(x, 1.0)
