"""The shared helpers of the NumPy fallbacks (tritorch/ops/_cpu_parallel.py): the row-block pool and BLAS's axpy."""
import numpy as np
import pytest

from tritorch.ops import _cpu_parallel as cp


def test_parallel_chunks_keeps_order_and_reraises():
    assert cp.parallel_chunks(lambda c: c * 2, list(range(9))) == [2 * i for i in range(9)]

    def boom(c):
        if c == 5:
            raise ValueError("chunk 5")
        return c

    with pytest.raises(ValueError, match="chunk 5"):
        cp.parallel_chunks(boom, list(range(9)))


@pytest.mark.skipif(not cp._AXPY, reason="NumPy's BLAS here is not OpenBLAS: blas_axpy declines every call")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, 64, 12345])  # serial, and past OpenBLAS's threading threshold
def test_blas_axpy_adds_in_place_within_one_rounding(dtype, n):
    rng = np.random.default_rng(5)
    y0, x = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    y = y0.copy()
    assert cp.blas_axpy(-0.1, x, y)
    exact = y0.astype(np.longdouble) + np.longdouble(dtype(-0.1)) * x.astype(np.longdouble)
    # fused (one rounding) or rounded after the product too (BLAS's last partial block): within an ulp either way
    assert np.all(np.abs(y.astype(np.longdouble) - exact) <= np.spacing(np.abs(y)).astype(np.longdouble))
    assert not np.array_equal(y, y0)


def test_blas_axpy_declines_what_it_cannot_take():
    y = np.zeros((4, 6), np.float32)
    assert not cp.blas_axpy(1.0, np.ones((6, 4), np.float32).T, y)       # non-contiguous operand
    assert not cp.blas_axpy(1.0, np.ones((4, 6), np.float64), y)         # mixed dtypes
    assert not cp.blas_axpy(1.0, np.ones((4, 6), np.float16), y.astype(np.float16))
    assert not cp.blas_axpy(1.0, np.ones(24, np.float32), y)             # shapes differ
    ro = np.zeros((4, 6), np.float32)
    ro.flags.writeable = False
    assert not cp.blas_axpy(1.0, np.ones((4, 6), np.float32), ro)         # read-only target
    assert not y.any()
    x = np.ones((4, 6), np.float32)
    x.flags.writeable = False                                            # a read-only operand is fine
    assert cp.blas_axpy(2.0, x, y) is bool(cp._AXPY) and (not cp._AXPY or (y == 2).all())
