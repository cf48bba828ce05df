"""Tensor.resize / resize_as: deprecated, shape-only (same element count), a view with gradients, as torch's."""
import pytest

import tritorch as tt


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_resize_is_a_view_with_gradient(device):
    x = tt.arange(6.0, device=device).requires_grad_()
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        y = x.resize(2, 3)
    assert y.shape == (2, 3) and y.data_ptr() == x.data_ptr()
    (y * tt.arange(6.0, device=device).view(2, 3)).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert x.resize_as(tt.ones(3, 2)).shape == (3, 2)


def test_resize_rejects_a_new_element_count():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as ours:
        tt.ones(6).resize(4)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as theirs:
        torch.ones(6).resize(4)
    assert str(ours.value) == str(theirs.value)
