"""The shared helpers of the NumPy fallbacks (tritorch/ops/_cpu_parallel.py): the row-block pool and BLAS's axpy."""
import numpy as np
import pytest

import tritorch as tt
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


@pytest.mark.skipif(not cp._GEMM, reason="NumPy's BLAS here is not OpenBLAS: blas_gemm_accumulate declines every call")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("m,k,n", [(5, 4, 3), (1, 7, 3), (6, 1, 4), (3, 5, 1), (64, 300, 100)])
def test_blas_gemm_accumulate_adds_the_product(dtype, trans_a, trans_b, m, k, n):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    a, b = (a.T if trans_a else a), (b.T if trans_b else b)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    assert cp.blas_gemm_accumulate(0.5, a, b, c)
    exact = c0.astype(np.float64) + 0.5 * (a.astype(np.float64) @ b.astype(np.float64))
    np.testing.assert_allclose(c, exact, rtol=0, atol=(2e-6 if dtype == np.float32 else 1e-14) * k ** 0.5 * 4)
    # sliced operands (row strides past their width) are read in place too
    big = rng.standard_normal((m + 3, k + 2)).astype(dtype)
    c = c0.copy()
    assert cp.blas_gemm_accumulate(1.0, big[1:m + 1, 2:], b, c)
    np.testing.assert_allclose(c, c0 + big[1:m + 1, 2:].astype(np.float64) @ b, rtol=0,
                               atol=(2e-6 if dtype == np.float32 else 1e-14) * k ** 0.5 * 4)


def test_blas_gemm_accumulate_declines_what_it_cannot_take():
    a, b = np.ones((4, 6), np.float32), np.ones((6, 5), np.float32)
    c = np.zeros((4, 5), np.float32)
    assert not cp.blas_gemm_accumulate(1.0, a[:, ::2], b[::2], c)              # neither rows nor columns contiguous
    assert not cp.blas_gemm_accumulate(1.0, a.astype(np.float64), b, c)        # mixed dtypes
    assert not cp.blas_gemm_accumulate(1.0, a, b[:5], c)                       # shapes do not chain
    assert not cp.blas_gemm_accumulate(1.0, a, b, np.zeros((5, 4), np.float32).T)   # target not C-contiguous
    assert not cp.blas_gemm_accumulate(1.0, a.astype(np.float16), b.astype(np.float16), c.astype(np.float16))
    square = np.ones((4, 4), np.float32)
    assert not cp.blas_gemm_accumulate(1.0, square, square, square)            # target aliases an operand
    assert not c.any()


def test_activations_in_blocks_equal_the_whole_array_formula():
    """The multi-pass activation fallbacks run block by block on large inputs (elementwise_in_blocks): the same
    bits as the formula over the whole array, for contiguous float32/float64 inputs past the blocking size."""
    from tritorch.ops import nn_activation as act, unary
    from tritorch.ops._cpu_parallel import BLOCK_ELEMS
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2 * BLOCK_ELEMS + 77) // 7 * 7) * 30
    x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, -100.0]
    cases = [(tt.sigmoid, unary._sigmoid_np), (tt.nn.functional.silu, unary._silu_np),
             (tt.nn.functional.softplus, unary._softplus_np), (tt.nn.functional.elu, act._elu_np),
             (tt.nn.functional.celu, act._celu_np), (tt.nn.functional.selu, act._selu_np),
             (tt.nn.functional.mish, act._mish_np), (tt.nn.functional.logsigmoid, act._logsigmoid_np)]
    for dtype in (np.float32, np.float64):
        a = x.astype(dtype).reshape(7, -1)
        for op, formula in cases:
            with np.errstate(all="ignore"):
                want = formula(a)
            got = op(tt.tensor(a)).numpy()
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), op


def test_row_loops_sets_the_row_buffer_per_thread_and_restores_it():
    import threading
    before = np.getbufsize()
    with cp.row_loops(1024):
        assert np.getbufsize() == 1024
        seen = []
        t = threading.Thread(target=lambda: seen.append(np.getbufsize()))
        t.start()
        t.join()
        assert seen == [before]              # another thread keeps its own setting
    assert np.getbufsize() == before
    with pytest.raises(ZeroDivisionError):
        with cp.row_loops(512):
            1 / 0
    assert np.getbufsize() == before         # restored on an exception too
    with cp.row_loops(300):
        assert np.getbufsize() == 304        # NumPy takes multiples of 16
    for short_or_long in (64, cp.ROW_LOOPS_MIN - 1, 8192, 10000):
        with cp.row_loops(short_or_long):
            assert np.getbufsize() == before     # nothing to gain there: left alone


@pytest.mark.parametrize("shape", [(64, 1024), (33, 300), (5, 7, 129)])
def test_softmax_and_layer_norm_equal_bitwise_with_and_without_row_loops(shape, monkeypatch):
    from tritorch.ops import nn_norm, nn_softmax
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    n = shape[-1]
    w, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)

    def run():
        y = nn_softmax.softmax_np(x, x.ndim - 1, False, np.float32)
        outs = [y, nn_softmax.softmax_np(x, x.ndim - 1, True, np.float32),
                nn_softmax.softmax_backward_np(g, y, x.ndim - 1, False, np.float32),
                nn_softmax.softmax_backward_np(g, y, x.ndim - 1, True, np.float32)]
        fwd = nn_norm._np_rownorm_forward(x.reshape(-1, n), w, b, 1e-5, True)
        bwd = nn_norm._np_row_backward(g.reshape(-1, n), x.reshape(-1, n), w, fwd[1], fwd[2], True, True)
        return outs + list(fwd) + list(bwd)

    with_rows = run()
    monkeypatch.setattr(cp, "ROW_LOOPS_MIN", 1 << 30)
    for a, b in zip(with_rows, run()):
        np.testing.assert_array_equal(a, b)
