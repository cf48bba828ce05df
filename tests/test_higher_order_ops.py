"""torch._higher_order_ops run eagerly: associative_scan (Mamba-style models import it), cond and while_loop."""
import numpy as np
import pytest

import tritorch as tt
from tritorch._higher_order_ops import cond, while_loop
from tritorch._higher_order_ops.associative_scan import associative_scan


def test_associative_scan_sums_products_and_pytrees():
    x = tt.arange(1.0, 6.0)
    assert associative_scan(lambda a, b: a + b, x, 0).tolist() == [1.0, 3.0, 6.0, 10.0, 15.0]
    assert associative_scan(lambda a, b: a * b, x, 0, reverse=True).tolist() == [120.0, 120.0, 60.0, 20.0, 5.0]
    # Mamba's linear recurrence h_i = a_i * h_(i-1) + b_i, as a scan over (a, b) pairs
    a, h = associative_scan(lambda left, right: (left[0] * right[0], right[0] * left[1] + right[1]), (x, x), 0,
                            combine_mode="generic")
    assert a.tolist() == [1.0, 2.0, 6.0, 24.0, 120.0] and h.tolist() == [1.0, 4.0, 15.0, 64.0, 325.0]
    y = tt.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(associative_scan(lambda p, q: p + q, y, -1).numpy(), np.cumsum(y.numpy(), -1))
    out = associative_scan(lambda p, q: {"v": p["v"] + q["v"]}, {"v": y}, 0)
    np.testing.assert_array_equal(out["v"].numpy(), np.cumsum(y.numpy(), 0))
    with pytest.raises(ValueError, match="Combine_mode"):
        associative_scan(lambda p, q: p + q, x, 0, combine_mode="fast")


def test_associative_scan_gradient():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    associative_scan(lambda a, b: a * b, x, 0).sum().backward()
    assert x.grad.tolist() == [1 + 2 + 6, 1 + 3, 2]   # d/dx of x0 + x0x1 + x0x1x2 at (1, 2, 3)


def test_cond_and_while_loop_are_tritorch_control_flow():
    assert cond(tt.tensor(True), lambda v: v + 1, lambda v: v - 1, (tt.tensor(1),)).item() == 2
    assert while_loop(lambda i: i < 3, lambda i: (i + 1,), (tt.tensor(0),))[0].item() == 3
