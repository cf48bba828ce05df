"""Fractional max pooling (tritorch/nn/_fractional_pool.py) and nn.FractionalMaxPool2d/3d vs PyTorch: for the same
_random_samples the outputs and the index sequence equal torch's exactly (output_size and output_ratio, ties, NaN),
input gradients on cpu and cuda, and torch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CASES = [
    (2, (2, 3, 11, 9), 3, {"output_size": (5, 4)}),
    (2, (2, 3, 11, 9), (2, 3), {"output_size": (10, 7)}),      # windows ending on the last row and column
    (2, (3, 10, 8), 2, {"output_ratio": (0.5, 0.7)}),           # unbatched
    (2, (1, 2, 6, 6), 1, {"output_size": 1}),
    (3, (2, 2, 7, 6, 8), 2, {"output_size": (3, 4, 5)}),
    (3, (2, 5, 6, 7), (1, 2, 3), {"output_ratio": 0.5}),        # unbatched
]


def _run(case, device, dtype=np.float32, x=None):
    nd, shape, k, kw = case
    x = _rand(shape).astype(dtype) if x is None else x
    batch = shape[0] if len(shape) == nd + 2 else 1
    u = np.random.default_rng(1).random((batch, shape[-nd - 1], nd)).astype(dtype)
    tfn = getattr(TF, f"fractional_max_pool{nd}d")
    fn = getattr(F, f"fractional_max_pool{nd}d")
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref, ref_i = tfn(xt, k, return_indices=True, _random_samples=torch.tensor(u), **kw)
    out, idx = fn(xx, k, return_indices=True, _random_samples=tt.tensor(u, device=device), **kw)
    assert idx.dtype is tt.int64 and out.dtype is xx.dtype
    np.testing.assert_array_equal(idx.cpu().numpy(), ref_i.numpy())
    np.testing.assert_array_equal(out.detach().cpu().numpy(), ref.detach().numpy())
    return xt, xx, ref, out


@pytest.mark.parametrize("case", range(len(CASES)))
def test_indices_values_and_grads_cpu(case):
    xt, xx, ref, out = _run(CASES[case], "cpu")
    g = _rand(tuple(ref.shape), 5)
    ref.backward(torch.tensor(g))
    out.backward(tt.tensor(g))
    np.testing.assert_array_equal(xx.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("case", [0, 4])
def test_cuda(case):
    xt, xx, ref, out = _run(CASES[case], "cuda")
    ref.sum().backward()
    out.sum().backward()
    np.testing.assert_array_equal(xx.grad.cpu().numpy(), xt.grad.numpy())


def test_float64_ties_and_nan():
    _run(CASES[0], "cpu", np.float64)
    x = np.zeros((1, 2, 8, 8), np.float32)            # all ties: the first element of each window in scan order
    _run((2, x.shape, 3, {"output_size": (4, 3)}), "cpu", x=x)
    x = _rand((1, 2, 8, 8))
    x[0, 0, 2, 3] = x[0, 0, 3, 4] = np.nan          # two NaNs in one window: PyTorch's scan keeps the last
    x[0, 1, 5, 5] = np.nan
    _run((2, x.shape, 3, {"output_size": (4, 3)}), "cpu", x=x)


def test_double_backward_and_default_samples():
    x = tt.tensor(np.random.default_rng(3).standard_normal((1, 2, 6, 5)), requires_grad=True)
    u = tt.tensor(np.random.default_rng(4).random((1, 2, 2)))
    assert tt.autograd.gradgradcheck(lambda a: F.fractional_max_pool2d(a, 2, (3, 3), _random_samples=u) ** 2, (x,))
    tt.manual_seed(0)
    a = F.fractional_max_pool2d(tt.randn(2, 3, 9, 9), 2, output_ratio=0.5)
    assert tuple(a.shape) == (2, 3, 4, 4)
    y = F.fractional_max_pool3d(tt.randn(3, 6, 6, 6), 2, 3)
    assert tuple(y.shape) == (3, 3, 3, 3)


def test_modules():
    for nd in (2, 3):
        name = f"FractionalMaxPool{nd}d"
        m, tm = getattr(tt.nn, name)(2, output_ratio=0.5), getattr(torch.nn, name)(2, output_ratio=0.5)
        assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict()) == []
        u = np.random.default_rng(2).random((1, 2, nd)).astype(np.float32)
        m = getattr(tt.nn, name)(2, output_size=3, return_indices=True, _random_samples=tt.tensor(u))
        tm = getattr(torch.nn, name)(2, output_size=3, return_indices=True, _random_samples=torch.tensor(u))
        assert list(m.state_dict()) == list(tm.state_dict()) == ["_random_samples"]
        x = _rand((1, 2) + (7,) * nd)
        (o, i), (to, ti) = m(tt.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(o.numpy(), to.numpy())


@pytest.mark.parametrize("make", [
    lambda m: m.nn.FractionalMaxPool2d(2),
    lambda m: m.nn.FractionalMaxPool2d(2, 3, 0.5),
    lambda m: m.nn.FractionalMaxPool2d(2, output_ratio=1.5),
    lambda m: m.nn.FractionalMaxPool3d(0, output_ratio=0.5),
])
def test_module_errors(make):
    with pytest.raises(ValueError) as theirs:
        make(torch)
    with pytest.raises(ValueError) as ours:
        make(tt)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("nd,shape,args,kw", [
    (2, (2, 3, 7, 6), (3,), {"output_size": (6, 5)}),
    (2, (2, 3, 7, 6), (3,), {"output_size": (4, 5)}),
    (2, (2, 3, 7, 6), (3,), {"output_size": (4,)}),
    (2, (2, 3, 7, 6), ((3, 2, 1),), {"output_size": (4, 4)}),
    (2, (2, 3, 7, 6), (2,), {"output_size": (4, 4), "samples": (2, 3, 3)}),
    (2, (2, 3, 7, 6), (2,), {"output_size": (4, 4), "samples": (1, 3, 2)}),
    (2, (2, 3, 7, 6), (2,), {"output_size": (4, 4), "samples": (2, 3, 2), "double": True}),
    (2, (2, 3, 7, 6), (2,), {}),
    (2, (2, 3, 7, 6), (2,), {"output_ratio": (0.5, 0.5, 0.5)}),
    (3, (1, 2, 5, 5, 5), (2,), {"output_size": (4, 3, 3)}),
    (3, (1, 2, 5, 5, 5), ((2,),), {"output_size": (3, 3, 3)}),
    (3, (1, 2, 5, 5, 5), (2,), {"output_size": [3]}),
    (3, (1, 2, 5, 5, 5), (2,), {"output_size": (3, 3, 4)}),
    (3, (1, 2, 5, 5, 5), (2,), {"output_size": (3, 3, 3), "samples": (1, 2, 2)}),
])
def test_errors_as_torch(nd, shape, args, kw):
    kw = dict(kw)
    samples, double = kw.pop("samples", None), kw.pop("double", False)

    def call(m, mf):
        x = m.zeros(shape)
        s = None if samples is None else m.zeros(samples, dtype=m.float64 if double else m.float32)
        return getattr(mf, f"fractional_max_pool{nd}d")(x, *args, _random_samples=s, **kw)
    with pytest.raises((RuntimeError, ValueError)) as theirs:
        call(torch, TF)
    with pytest.raises((RuntimeError, ValueError)) as ours:
        call(tt, F)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)
