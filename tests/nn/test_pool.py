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
