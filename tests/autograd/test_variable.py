"""torch.autograd.Variable, the legacy wrapper: it returns a tensor, and every tensor is a Variable."""
import pytest

import tritorch as tt


def test_variable_returns_a_tensor_sharing_memory():
    data = tt.ones(3)
    v = tt.autograd.Variable(data, requires_grad=True)
    assert type(v) is tt.Tensor and v.requires_grad and v.grad_fn is None
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    data.add_(1)                                    # memory is shared with `data`, as torch's Variable(t)
    assert v.detach().tolist() == [2.0, 2.0, 2.0]
    assert not tt.autograd.Variable(data).requires_grad
    assert tt.autograd.Variable(data, True).requires_grad
    assert isinstance(tt.ones(1), tt.autograd.Variable) and not isinstance(1.0, tt.autograd.Variable)
    assert tt.autograd.Variable().numel() == 0


def test_variable_history_is_detached_and_errors_match_torch():
    x = tt.ones(2, requires_grad=True)
    v = tt.autograd.Variable(x * 3)
    assert v.grad_fn is None and not v.requires_grad
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        tt.autograd.Variable(3)
    with pytest.warns(UserWarning, match="volatile was removed"):
        tt.autograd.Variable(x, volatile=True)
