"""tritorch.nn.grad: the input and weight gradients of conv1d/2d/3d against torch.nn.grad's, on every device,
with stride, padding, dilation and groups; and against tritorch's own autograd of the convolution."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")

# (input shape, weight shape, options)
CASES = {
    1: [((2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=1, groups=2)),
        ((1, 3, 7), (2, 3, 2), dict(stride=1, padding=0, dilation=2, groups=1))],
    2: [((2, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=1, groups=2)),
        ((1, 2, 5, 5), (3, 2, 2, 2), dict(stride=1, padding=1, dilation=(2, 1), groups=1))],
    3: [((1, 2, 4, 5, 4), (4, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=1, groups=2))],
}


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("nd, case", [(nd, i) for nd, cases in CASES.items() for i in range(len(cases))])
def test_conv_gradients_match_torch(device, nd, case):
    xs, ws, opts = CASES[nd][case]
    x, w = _rand(xs, 0), _rand(ws, 1)
    go = _rand(tuple(getattr(torch.nn.functional, f"conv{nd}d")(torch.from_numpy(x), torch.from_numpy(w),
                                                                    **opts).shape), 2)
    t = {k: torch.from_numpy(v) for k, v in (("x", x), ("w", w), ("go", go))}
    ours = {k: tt.tensor(v, device=device) for k, v in (("x", x), ("w", w), ("go", go))}
    want_x = getattr(torch.nn.grad, f"conv{nd}d_input")(xs, t["w"], t["go"], **opts).numpy()
    want_w = getattr(torch.nn.grad, f"conv{nd}d_weight")(t["x"], ws, t["go"], **opts).numpy()
    got_x = getattr(tt.nn.grad, f"conv{nd}d_input")(xs, ours["w"], ours["go"], **opts)
    got_w = getattr(tt.nn.grad, f"conv{nd}d_weight")(ours["x"], ws, ours["go"], **opts)
    assert got_x.device == as_device(device) and got_x.dtype is tt.float64
    np.testing.assert_allclose(got_x.cpu().numpy(), want_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_w.cpu().numpy(), want_w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nd", [2, 3])
def test_gradients_are_differentiable_again(nd):
    xs, ws, opts = CASES[nd][0]
    w = tt.tensor(_rand(ws, 1), requires_grad=True)
    conv = getattr(tt.nn.functional, f"conv{nd}d")
    go = tt.tensor(_rand(tuple(conv(tt.zeros(xs, dtype=tt.float64), w.detach(), **opts).shape), 2))
    gx = getattr(tt.nn.grad, f"conv{nd}d_input")(xs, w, go, **opts)
    assert gx.requires_grad
    (gw,) = tt.autograd.grad(gx.sum(), w)
    # d sum(conv_input_grad(go, w)) / dw = conv_weight_grad(ones, go): the same through nn.grad
    want = getattr(tt.nn.grad, f"conv{nd}d_weight")(tt.ones(xs, dtype=tt.float64), ws, go, **opts)
    np.testing.assert_allclose(gw.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    with tt.no_grad():
        assert not getattr(tt.nn.grad, f"conv{nd}d_input")(xs, w, go, **opts).requires_grad


def test_signatures_match_torch():
    import inspect
    for name in ("conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"):
        ours = inspect.signature(getattr(tt.nn.grad, name))
        assert str(ours) == str(inspect.signature(getattr(torch.nn.grad, name))), name
