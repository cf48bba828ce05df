"""torch._higher_order_ops: the operators PyTorch's compiler captures whole. tritorch runs them eagerly; cond and
while_loop are tritorch's own (see tritorch._control_flow), associative_scan is in its module."""
from .._control_flow import cond, while_loop
from .associative_scan import associative_scan

__all__ = ["associative_scan", "cond", "while_loop"]
