"""1-d pooling and adaptive max pooling (tritorch/nn/_pool.py) vs PyTorch's: values, indices and input gradients,
on cpu and cuda (GPU or interpreter), and PyTorch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check(fn, x, *args, device="cpu", **kwargs):
    """fn(x, ...) against torch's: output (and indices when returned) and the gradient of a weighted sum."""
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref, out = getattr(TF, fn)(xt, *args, **kwargs), getattr(F, fn)(xx, *args, **kwargs)
    if isinstance(ref, tuple):
        np.testing.assert_array_equal(out[1].cpu().numpy(), ref[1].numpy())
        assert out[1].dtype is tt.int64
        ref, out = ref[0], out[0]
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    w = _rand(tuple(ref.shape), 9)
    (ref * torch.tensor(w)).sum().backward()
    (out * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("args, kwargs", [((3,), {}), ((3, 2, 1, 2, True, True), {}), (((2,),), {}),
                                          ((4,), {"stride": 1, "padding": 2, "return_indices": True})])
def test_max_pool1d(device, args, kwargs):
    check("max_pool1d", _rand((2, 3, 11)), *args, device=device, **kwargs)
    check("max_pool1d", _rand((3, 11), 1), *args, device=device, **kwargs)   # unbatched


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("args", [(3,), (4, 2, 2, True, False), ((2,), (1,), (1,))])
def test_avg_pool1d(device, args):
    check("avg_pool1d", _rand((2, 3, 11)), *args, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", [1, 4, 5, 11, 15])
def test_adaptive_pool1d(device, size):
    check("adaptive_avg_pool1d", _rand((2, 3, 11)), size, device=device)
    check("adaptive_max_pool1d", _rand((2, 3, 11)), size, True, device=device)
    check("adaptive_max_pool1d", _rand((3, 10), 2), (size,), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", [1, (3, 4), (7, 3), (None, 2), (2, None), (9, 10)])
def test_adaptive_max_pool2d(device, size):
    # (7, 9) -> (7, 3) pools equal windows with one max_pool2d call; the others take a max per window
    check("adaptive_max_pool2d", _rand((2, 3, 7, 9)), size, True, device=device)
    check("adaptive_max_pool2d", _rand((3, 7, 9), 3), size, device=device)


def test_adaptive_max_pool2d_ties_take_the_first():
    x = np.zeros((1, 1, 5, 5), np.float32)
    check("adaptive_max_pool2d", x, (2, 3), True)


@pytest.mark.parametrize("call", [
    lambda m, lib: m.max_pool1d(lib.randn(2, 3, 4, 5), 2),
    lambda m, lib: m.max_pool1d(lib.randn(5), 2),
    lambda m, lib: m.max_pool1d(lib.randn(2, 3, 5), (2, 2)),
    lambda m, lib: m.avg_pool1d(lib.randn(2, 3, 5), 2, stride=(1, 1)),
    lambda m, lib: m.adaptive_max_pool2d(lib.randn(5, 4), 2),
    lambda m, lib: m.adaptive_max_pool2d(lib.randn(2, 0, 4), 2),
])
def test_errors_match_torch(call):
    with pytest.raises(RuntimeError) as ours:
        call(F, tt)
    with pytest.raises(RuntimeError) as theirs:
        call(TF, torch)
    assert str(ours.value).split(":")[0].split("(")[0] == str(theirs.value).split(":")[0].split("(")[0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", [1, (2, 3, 4), (5, 6, 7), (3, None, 2)])
def test_adaptive_pool3d(device, size):
    x = _rand((2, 3, 5, 6, 7), 4)
    check("adaptive_avg_pool3d", x, size, device=device)
    check("adaptive_max_pool3d", x, size, device=device)
    check("adaptive_avg_pool3d", x[0], size, device=device)   # unbatched
    m = tt.nn.AdaptiveAvgPool3d(size)
    np.testing.assert_allclose(m(tt.tensor(x, device=device)).cpu().numpy(),
                               torch.nn.AdaptiveAvgPool3d(size)(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": (3, 2, 2), "stride": (2, 1, 2),
                                                        "padding": (1, 1, 0)},
                                    {"kernel_size": 2, "dilation": (2, 1, 1), "ceil_mode": True}])
def test_max_pool3d_and_adaptive_with_indices(device, kwargs):
    """3-d max pooling's indices (flat d * H * W + h * W + w) as PyTorch's, batched and unbatched, with gradients;
    ties (a constant input) take PyTorch's first maximum in scan order."""
    x = _rand((2, 3, 5, 6, 7), 7)
    check("max_pool3d", x, device=device, return_indices=True, **kwargs)
    check("max_pool3d", x[0], device=device, return_indices=True, **kwargs)
    check("adaptive_max_pool3d", x, (2, 3, 4), device=device, return_indices=True)
    check("adaptive_max_pool3d", x[0], (3, 2, 5), device=device, return_indices=True)
    flat = np.zeros((1, 1, 4, 4, 4), np.float32)
    np.testing.assert_array_equal(F.max_pool3d(tt.tensor(flat, device=device), 2, return_indices=True)[1].cpu().numpy(),
                                  TF.max_pool3d(torch.tensor(flat), 2, return_indices=True)[1].numpy())
    m = tt.nn.MaxPool3d(2, return_indices=True)
    assert m(tt.tensor(x, device=device))[1].dtype is tt.int64


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_inverts_max_pool(device, nd):
    """max_unpool{1,2,3}d after max_pool with indices: PyTorch's output (default size, a given output_size, an
    unbatched input) and input gradient; the modules."""
    shape = {1: (2, 3, 9), 2: (2, 3, 7, 6), 3: (2, 2, 5, 6, 4)}[nd]
    x = _rand(shape, 11)
    pool, unpool = f"max_pool{nd}d", f"max_unpool{nd}d"
    y, idx = getattr(TF, pool)(torch.tensor(x), 2, stride=2, return_indices=True)
    for out_size in (None, tuple(2 * s + 1 for s in y.shape[2:])):   # (one more than the default size)
        yt = tt.tensor(y.numpy(), device=device, requires_grad=True)
        got = getattr(F, unpool)(yt, tt.tensor(idx.numpy(), device=device), 2, stride=2, output_size=out_size)
        yr = y.clone().requires_grad_(True)
        want = getattr(TF, unpool)(yr, idx, 2, stride=2, output_size=out_size)
        np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())
        w = _rand(tuple(want.shape), 12)
        (got * tt.tensor(w, device=device)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(yt.grad.cpu().numpy(), yr.grad.numpy(), rtol=1e-6, atol=1e-6)
    single = getattr(F, unpool)(tt.tensor(y.numpy()[0], device=device), tt.tensor(idx.numpy()[0], device=device), 2)
    np.testing.assert_array_equal(single.cpu().numpy(), getattr(TF, unpool)(y[0], idx[0], 2).numpy())
    module = getattr(tt.nn, f"MaxUnpool{nd}d")(2)
    np.testing.assert_array_equal(module(tt.tensor(y.numpy()), tt.tensor(idx.numpy())).numpy(),
                                  getattr(torch.nn, f"MaxUnpool{nd}d")(2)(y, idx).numpy())
    assert repr(module) == repr(getattr(torch.nn, f"MaxUnpool{nd}d")(2))


def test_max_unpool_errors_match_torch():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)   # indices 5, 7, 13, 15: PyTorch names the last past a 3x3 output
    y, idx = TF.max_pool2d(x, 2, return_indices=True)
    ours_y, ours_idx = tt.tensor(y.numpy()), tt.tensor(idx.numpy())
    with pytest.raises(ValueError, match=r'invalid output_size "\(6, 6\)" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(ours_y, ours_idx, 2, output_size=(6, 6))
    with pytest.raises(RuntimeError, match=r"Found an invalid max index: 15 \(output volumes are of size 3x3\)"):
        F.max_unpool2d(ours_y, ours_idx, 2, output_size=(3, 3))
    with pytest.raises(RuntimeError, match="elements in indices should be type int64 but got: Float"):
        F.max_unpool2d(ours_y, ours_idx.float(), 2)
    with pytest.raises(RuntimeError, match="Input to max_unpooling2d should be a 3d or 4d Tensor"):
        F.max_unpool2d(ours_y[0, 0], ours_idx[0, 0], 2)
    assert tuple(F.max_unpool2d(ours_y, ours_idx, 2, output_size=(1, 1, 5, 5)).shape) == (1, 1, 5, 5)


@pytest.mark.parametrize("fn", ["max_pool3d", "avg_pool3d"])
def test_pool3d_parameter_and_size_errors_match_torch(fn):
    # PyTorch's checks and their order (zero stride, negative pad, pad past half the effective kernel, kernel,
    # stride, dilation, avg_pool3d's input smaller than the kernel, pad past half the kernel, an output of no
    # windows), before any work: a depth with no windows came back as an empty result, a zero kernel as a
    # ZeroDivisionError
    import itertools
    cases = list(itertools.product([(0, 1, 1), 2, (5, 1, 1), 3, (1, 6, 1)], [None, (0, 1, 1), 1, (2, -1, 1)],
                                   [0, (2, 0, 0), (0, 1, 0), -1], [1, (1, 0, 1), 2], [False, True]))
    for shape in ((2, 2, 4, 5, 5), (2, 4, 5, 5)):
        for k, stride, pad, dil, ceil in cases:
            kw = dict(kernel_size=k, stride=stride, padding=pad, ceil_mode=ceil)
            if fn == "max_pool3d":
                kw["dilation"] = dil
            elif dil != 1:
                continue
            try:
                expected = tuple(getattr(TF, fn)(torch.zeros(*shape), **kw).shape)
            except RuntimeError as e:
                with pytest.raises(RuntimeError) as got:
                    getattr(F, fn)(tt.zeros(*shape), **kw)
                assert str(got.value) == str(e), kw
                continue
            assert tuple(getattr(F, fn)(tt.zeros(*shape), **kw).shape) == expected, kw
