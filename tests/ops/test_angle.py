"""torch.angle / Tensor.angle for real tensors (0 / pi, NaN kept, zero gradient), on both devices, against torch."""
import math

import numpy as np
import pytest

import tritorch as tt

VALUES = [1.0, -2.0, float("nan"), -0.0, 0.0, float("-inf"), float("inf"), -1e-30]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_angle_matches_torch(device, dtype):
    torch = pytest.importorskip("torch")
    x = tt.tensor(VALUES, dtype=getattr(tt, dtype), device=device)
    y = tt.angle(x)
    ref = torch.angle(torch.tensor(VALUES, dtype=getattr(torch, dtype)))
    assert y.dtype == x.dtype and str(ref.dtype).split(".")[1] == dtype
    np.testing.assert_array_equal(y.cpu().numpy().astype(np.float64), ref.double().numpy())
    np.testing.assert_array_equal(x.angle().cpu().numpy(), y.cpu().numpy())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_integer_and_bool_inputs_give_the_default_float(device):
    assert tt.angle(tt.tensor([-3, 0, 2], device=device)).tolist() == pytest.approx([math.pi, 0.0, 0.0])
    assert tt.angle(tt.tensor([True, False], device=device)).dtype == tt.float32
    out = tt.empty(3, device=device)
    assert tt.angle(tt.tensor([-1.0, 1.0, -5.0], device=device), out=out) is out
    assert out.tolist() == pytest.approx([math.pi, 0.0, math.pi])


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_gradient_is_zero_everywhere_nan_included(device):
    x = tt.tensor([1.0, -2.0, float("nan"), -0.0], device=device, requires_grad=True)
    y = tt.angle(x)
    assert y.requires_grad
    (g,) = tt.autograd.grad(y.sum(), x, create_graph=True)
    assert g.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert not g.requires_grad               # a constant zero, as torch's zeros_like in angle_backward


def test_no_floating_point_warnings_on_infinities():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tt.angle(tt.tensor(VALUES, requires_grad=True)).sum().backward()


def test_angle_rejects_a_non_tensor():
    with pytest.raises(TypeError, match=r"angle\(\): argument 'input' \(position 1\) must be Tensor, not float"):
        tt.angle(1.0)
