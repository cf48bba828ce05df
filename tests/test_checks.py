"""torch._assert / torch._check*: the error types and messages PyTorch's give (torchvision's models call them)."""
import pytest

import tritorch as tt


def test_assert_and_checks_raise_pytorchs_errors():
    tt._assert(True, "unused")
    with pytest.raises(AssertionError, match="indivisible"):
        tt._assert(32 % 5 == 0, "Input shape indivisible by patch size!")
    tt._check(True)
    with pytest.raises(RuntimeError, match="Expected cond to be True, but got False"):
        tt._check(False)
    for check, error in [(tt._check, RuntimeError), (tt._check_index, IndexError), (tt._check_value, ValueError),
                         (tt._check_type, TypeError), (tt._check_not_implemented, NotImplementedError)]:
        with pytest.raises(error, match="^rois must have shape 5$"):
            check(False, lambda: "rois must have shape 5")
    with pytest.raises(TypeError, match="cond must be a bool, but got a Tensor"):
        tt._check(tt.tensor(True))
    with pytest.raises(TypeError, match="message must be a callable"):
        tt._check(False, "text")
    with pytest.raises(RuntimeError):
        tt._check_is_size(-1)
    with pytest.raises(RuntimeError):
        tt._check_is_size(3, max=2)
    tt._check_tensor_all(tt.tensor([True, True]))
    with pytest.raises(RuntimeError, match="some"):
        tt._check_tensor_all(tt.tensor([True, False]), lambda: "some")
    with pytest.raises(TypeError, match="torch.bool"):
        tt._check_tensor_all(tt.tensor([1]))
