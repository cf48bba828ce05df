"""torch.distributed._functional_collectives: wait_tensor (and the name all_to_all_single_autograd). tritorch's
collectives finish before they return, so there is nothing to wait for."""
from __future__ import annotations

from ._absent import absent_function

__all__ = ["all_to_all_single_autograd", "wait_tensor"]

# a differentiable all-to-all with uneven splits (expert parallelism): not in tritorch
all_to_all_single_autograd = absent_function("all_to_all_single_autograd",
                                             "torch.distributed._functional_collectives.all_to_all_single_autograd")


def wait_tensor(tensor):
    """The tensor itself: a collective's result is complete when tritorch hands it back."""
    return tensor
