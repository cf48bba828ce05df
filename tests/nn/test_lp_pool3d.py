"""lp_pool3d (tritorch/nn/_pool.py) and nn.LPPool3d vs PyTorch: values and input gradients on cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("args", [(2, 2), (3, (2, 1, 2), (1, 2, 1)), (1.5, 2, 1, True), (float("inf"), 2),
                                  (-float("inf"), (1, 2, 2))])
def test_against_torch(device, args):
    x = _rand((2, 2, 4, 3, 5))
    if args[0] == 1.5:
        x = np.abs(x)      # a fractional power of a negative number is NaN in both
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref, out = torch.nn.functional.lp_pool3d(xt, *args), F.lp_pool3d(xx, *args)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = _rand(tuple(ref.shape), 9)
    (ref * torch.tensor(w)).sum().backward()
    (out * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_module():
    m, tm = tt.nn.LPPool3d(2, 3, 2), torch.nn.LPPool3d(2, 3, 2)
    assert repr(m) == repr(tm)
    x = _rand((2, 5, 5, 4))          # unbatched
    np.testing.assert_allclose(m(tt.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
