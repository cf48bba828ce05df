"""Hand-written tests of the matmul family (mm, bmm, matmul, addmm, linear, dot, `@`): PyTorch's errors, method
forms, out=/in-place, integer exactness, BLAS alpha/beta semantics, and the launcher's layout decisions (no copies
of strided operands, batch folding, grid chunking). Values and shapes over many samples are covered by the
generated tests in test_registry_ops.py."""
import math
import re

import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.backends import cuda as _cuda
from tritorch.backends.cuda import CudaArray
from tritorch.ops import matmul as mmod
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()
F32, F64 = tt.float32, tt.float64


def t(shape, dtype=F32, device="cpu", seed=0, low=-3, high=3):
    rng = np.random.default_rng(seed)
    dt = tt.dtypes.as_dtype(dtype)
    if dt.kind == tt.dtypes.FLOAT:
        arr = rng.uniform(low, high, size=shape)
    else:
        arr = rng.integers(low, high, size=shape)
    return tt.tensor(arr.astype(np.float64 if dt.kind == tt.dtypes.FLOAT else np.int64), dtype=dt, device=device)


def z(*shape, dtype=F32, device="cpu"):
    return tt.zeros(*shape, dtype=dtype, device=device)


def host(x):
    return x._host()


# ------------------------------------------------------------------------------------------------- errors

ERRORS = [
    (lambda d: tt.mm(z(2, 3, device=d), z(4, 5, device=d)), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    (lambda d: tt.mm(z(3, device=d), z(3, 4, device=d)), "self must be a matrix"),
    (lambda d: tt.mm(z(2, 3, device=d), z(3, device=d)), "mat2 must be a matrix"),
    (lambda d: tt.mm(z(2, 3, device=d), z(3, 4, dtype=F64, device=d)),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda d: tt.mm(z(2, 3, device=d), z(3, 4, dtype=tt.float16, device=d)),
     "expected m1 and m2 to have the same dtype, but got: float != c10::Half"),
    (lambda d: tt.bmm(z(2, 3, 4, device=d), z(2, 5, 6, device=d)),
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]."),
    (lambda d: tt.bmm(z(2, 3, 4, device=d), z(3, 4, 6, device=d)),
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]."),
    (lambda d: tt.bmm(z(3, 4, device=d), z(2, 4, 6, device=d)), "batch1 must be a 3D tensor"),
    (lambda d: tt.bmm(z(2, 3, 4, device=d), z(4, 6, device=d)), "batch2 must be a 3D tensor"),
    (lambda d: tt.bmm(z(2, 3, 4, device=d), z(2, 4, 6, dtype=F64, device=d)),
     "expected scalar type Float but found Double"),
    (lambda d: tt.matmul(z(3, device=d), z(4, device=d)),
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and "
     "4 elements respectively"),
    (lambda d: tt.matmul(z(3, device=d), z(3, dtype=F64, device=d)),
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda d: tt.matmul(z(2, 3, device=d), z(4, device=d)), "size mismatch, got input (2), mat (2x3), vec (4)"),
    (lambda d: tt.matmul(z(2, 3, dtype=F64, device=d), z(3, device=d)),
     "addmv input tensors must have the same dtype, but got Float, Double, and Float"),
    (lambda d: tt.matmul(z(3, device=d), z(4, 5, device=d)),
     "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
    (lambda d: tt.matmul(z(2, 2, 3, device=d), z(4, 5, device=d)),
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)"),
    (lambda d: tt.matmul(z(2, 2, 3, device=d), z(3, 5, dtype=F64, device=d)),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda d: tt.matmul(z(2, 2, 3, device=d), z(4, device=d)), "size mismatch, got input (4), mat (4x3), vec (4)"),
    (lambda d: tt.matmul(z(3, device=d), z(2, 4, 5, device=d)),
     "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4]."),
    (lambda d: tt.matmul(z(2, 2, 3, device=d), z(2, 3, 5, dtype=F64, device=d)),
     "expected scalar type Float but found Double"),
    (lambda d: tt.matmul(z(2, 2, 3, device=d), z(3, 3, 5, device=d)),
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda d: tt.matmul(mmod._permute(z(3, 2, 4, device=d), (1, 0, 2)), z(5, 6, device=d)),
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]."),
    (lambda d: tt.matmul(mmod._strided(z(1, device=d), (), ()), z(3, device=d)),
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    (lambda d: tt.dot(z(3, 1, device=d), z(3, device=d)), "1D tensors expected, but got 2D and 1D tensors"),
    (lambda d: tt.dot(z(3, device=d), z(3, dtype=F64, device=d)),
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda d: tt.addmm(z(4, device=d), z(2, 3, device=d), z(3, 5, device=d)),
     "The expanded size of the tensor (5) must match the existing size (4) at non-singleton dimension 1.  "
     "Target sizes: [2, 5].  Tensor sizes: [4]"),
    (lambda d: tt.addmm(z(3, 5, device=d), z(2, 3, device=d), z(3, 5, device=d)),
     "The expanded size of the tensor (2) must match the existing size (3) at non-singleton dimension 0.  "
     "Target sizes: [2, 5].  Tensor sizes: [3, 5]"),
    (lambda d: tt.addmm(z(5, device=d), z(3, device=d), z(3, 5, device=d)), "mat1 must be a matrix, got 1-D tensor"),
    (lambda d: tt.addmm(z(5, device=d), z(2, 3, device=d), z(4, 5, device=d)),
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    (lambda d: tt.addmm(z(5, dtype=F64, device=d), z(2, 3, device=d), z(3, 5, device=d)),
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda d: tt.addmm(z(5, device=d), z(2, 3, dtype=F64, device=d), z(3, 5, device=d)),
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda d: tt.linear(z(2, 3, device=d), z(4, 5, device=d)),
     "mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)"),
    (lambda d: tt.linear(z(2, 2, 3, device=d), z(4, 5, device=d)),
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x4)"),
    (lambda d: tt.linear(z(2, 3, device=d), z(2, 4, 3, device=d)),
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda d: tt.linear(z(2, 3, device=d), z(3, device=d), z(2, device=d)), "mat2 must be a matrix, got 1-D tensor"),
    (lambda d: tt.linear(z(2, 3, device=d), z(4, 3, device=d), z(5, device=d)),
     "The expanded size of the tensor (4) must match the existing size (5) at non-singleton dimension 1.  "
     "Target sizes: [2, 4].  Tensor sizes: [5]"),
    (lambda d: tt.linear(z(3, device=d), z(4, 3, device=d), z(2, 4, device=d)),
     "output with shape [4] doesn't match the broadcast shape [2, 4]"),
    (lambda d: tt.linear(z(2, 3, device=d), z(4, 3, dtype=F64, device=d)),
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda d: tt.linear(z(2, 3, device=d), z(4, 3, device=d), z(4, dtype=F64, device=d)),
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda d: tt.mm(z(2, 3, device=d), z(3, 4, device=d), out=z(2, 4, dtype=F64, device=d)),
     "Expected out tensor to have dtype float, but got double instead"),
    (lambda d: tt.dot(z(3, device=d), z(3, device=d), out=mmod._strided(z(1, dtype=F64, device=d), (), ())),
     "result dtype Double does not match input dtype Float"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_pytorch(case, device):
    fn, message = ERRORS[case]
    with pytest.raises(RuntimeError, match=re.escape(message)):
        fn(device)


@pytest.mark.parametrize("device", DEVICES)
def test_bool_is_not_implemented(device):
    b = tt.ones(2, 2, dtype=tt.bool, device=device)
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        tt.mm(b, b)
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
        tt.dot(mmod._strided(b, (2,), (1,)), mmod._strided(b, (2,), (1,)))


def test_non_tensor_arguments():
    with pytest.raises(TypeError, match=re.escape("mm(): argument 'input' (position 1) must be Tensor, not list")):
        tt.mm([[1.0]], z(1, 1))
    with pytest.raises(TypeError, match=re.escape("addmm(): argument 'input' (position 1) must be Tensor, not float")):
        tt.addmm(1.0, z(2, 3), z(3, 5))
    with pytest.raises(TypeError):
        z(2, 2) @ [[1.0, 2.0], [3.0, 4.0]]


# -------------------------------------------------------------------------------------- methods and shapes

@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_operator(device):
    a, b = t((3, 4), device=device, seed=1), t((4, 5), device=device, seed=2)
    expected = host(a).astype(np.float64) @ host(b).astype(np.float64)
    for r in (a @ b, a.mm(b), a.matmul(b), tt.matmul(a, b), b.__rmatmul__(a)):
        assert r.device == as_device(device) and r.dtype is F32
        assert_close(r, expected, atol=1e-5 * 2, rtol=1.3e-6)
    v = t((4,), device=device, seed=3)
    assert_close(v.dot(v), np.dot(host(v), host(v)).astype(np.float64), rtol=1e-6, atol=1e-5)
    ba, bb = t((2, 3, 4), device=device, seed=4), t((2, 4, 5), device=device, seed=5)
    assert_close(ba.bmm(bb), np.matmul(host(ba).astype(np.float64), host(bb).astype(np.float64)), rtol=1e-6, atol=2e-5)
    bias = t((5,), device=device, seed=6)
    r = bias.addmm(a, b, beta=0.5, alpha=2.0)
    assert_close(r, 0.5 * host(bias) + 2.0 * expected, rtol=1e-6, atol=4e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sa,sb,expected", [
    ((3,), (3,), ()), ((2, 3), (3,), (2,)), ((3,), (3, 4), (4,)), ((2, 3), (3, 4), (2, 4)),
    ((5, 2, 3), (3,), (5, 2)), ((3,), (5, 3, 4), (5, 4)), ((2, 1, 2, 3), (3, 3, 5), (2, 3, 2, 5)),
    ((2, 1, 2, 3), (5, 3, 4), (2, 5, 2, 4)), ((3,), (2, 2, 3, 4), (2, 2, 4)), ((0, 2, 3), (3, 4), (0, 2, 4)),
    ((1, 2, 3), (2, 1, 3, 4), (2, 1, 2, 4)),
])
def test_matmul_shapes(sa, sb, expected, device):
    a, b = t(sa, device=device, seed=7), t(sb, device=device, seed=8)
    r = a @ b
    assert tuple(r.shape) == expected
    assert_close(r, np.matmul(host(a).astype(np.float64), host(b).astype(np.float64)), rtol=1e-6, atol=2e-5)


# ------------------------------------------------------------------------------------------ exact integers

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.int64, tt.int32, tt.int16, tt.int8, tt.uint8])
def test_integer_matmul_is_exact_and_wraps(dtype, device):
    info = np.iinfo(dtype.np)
    rng = np.random.default_rng(11)
    a_np = rng.integers(info.min, info.max, size=(6, 37), dtype=dtype.np, endpoint=True)
    b_np = rng.integers(info.min, info.max, size=(37, 5), dtype=dtype.np, endpoint=True)
    # two's complement products and sums modulo 2**bits, as PyTorch's integer GEMM computes them
    expected = (a_np.astype(np.uint64) @ b_np.astype(np.uint64)).astype(dtype.np)
    a = tt.tensor(a_np, device=device)
    b = tt.tensor(b_np, device=device)
    r = a @ b
    assert r.dtype is dtype
    np.testing.assert_array_equal(host(r), expected)
    row0, col0 = mmod._strided(a, (37,), (1,)), mmod._strided(b, (37,), (5,))
    np.testing.assert_array_equal(host(tt.dot(row0, col0)), expected[0, 0])


@pytest.mark.parametrize("device", DEVICES)
def test_integer_addmm_truncates_float_scalars(device):
    one = lambda *s: tt.ones(*s, dtype=tt.int64, device=device)  # noqa: E731
    r = tt.addmm(one(1, 2), one(1, 3), one(3, 2), alpha=0.5, beta=2.7)  # alpha -> 0, beta -> 2
    np.testing.assert_array_equal(host(r), [[2, 2]])
    r = tt.addmm(one(1, 2), one(1, 3), one(3, 2), alpha=1.5, beta=0.5)  # alpha -> 1, beta -> 0
    np.testing.assert_array_equal(host(r), [[3, 3]])


# ----------------------------------------------------------------------------------- alpha/beta semantics

@pytest.mark.parametrize("device", DEVICES)
def test_addmm_beta0_ignores_input_and_alpha0_ignores_mats(device):
    nan = tt.full((2, 3), float("nan"), device=device)
    a, b = t((2, 4), device=device, seed=1), t((4, 3), device=device, seed=2)
    r = tt.addmm(nan, a, b, beta=0)
    assert not np.isnan(host(r)).any()
    assert_close(r, host(a).astype(np.float64) @ host(b).astype(np.float64), rtol=1e-6, atol=2e-5)
    bias = t((2, 3), device=device, seed=3)
    r = tt.addmm(bias, tt.full((2, 4), float("nan"), device=device), b, alpha=0, beta=2)
    np.testing.assert_allclose(host(r), 2 * host(bias), rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_linear_matches_matmul_plus_bias(device):
    x, w, bias = t((2, 5, 7), device=device, seed=1), t((3, 7), device=device, seed=2), t((3,), device=device, seed=3)
    expected = host(x).astype(np.float64) @ host(w).astype(np.float64).T + host(bias)
    assert_close(tt.linear(x, w, bias), expected, rtol=1e-6, atol=3e-5)
    assert_close(tt.linear(x, w), expected - host(bias), rtol=1e-6, atol=3e-5)


# ------------------------------------------------------------------------------------------ out= and in-place

@pytest.mark.parametrize("device", DEVICES)
def test_out_and_inplace_addmm(device):
    a, b = t((3, 4), device=device, seed=1), t((4, 5), device=device, seed=2)
    expected = host(a).astype(np.float64) @ host(b).astype(np.float64)
    out = z(3, 5, device=device)
    r = tt.mm(a, b, out=out)
    assert r is out and out._version[0] == 1
    assert_close(out, expected, rtol=1e-6, atol=2e-5)
    # a transposed (non-contiguous) out
    out_t = mmod._mT(z(5, 3, device=device))
    tt.matmul(a, b, out=out_t)
    assert_close(out_t, expected, rtol=1e-6, atol=2e-5)
    # addmm_ reads its own storage as the bias and writes the result there
    c = t((3, 5), device=device, seed=3)
    c0 = host(c).astype(np.float64).copy()
    r = c.addmm_(a, b, beta=0.5, alpha=2.0)
    assert r is c
    assert_close(c, 0.5 * c0 + 2.0 * expected, rtol=1e-6, atol=4e-5)
    # beta = 1 accumulates (cpu: BLAS gemm adding into c), with transposed operands, and with an operand that is
    # c itself (read before it is written)
    for alpha in (1.0, -0.5):
        c0 = host(c).astype(np.float64).copy()
        c.addmm_(mmod._mT(mmod._mT(a).contiguous()), b, alpha=alpha)
        assert_close(c, c0 + alpha * expected, rtol=1e-6, atol=4e-5)
    sq = t((3, 3), device=device, seed=4)
    s0 = host(sq).astype(np.float64).copy()
    sq.addmm_(sq, sq)
    assert_close(sq, s0 + s0 @ s0, rtol=1e-6, atol=4e-5)


# ------------------------------------------------------------------------------------------ precision

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float16, tt.bfloat16])
def test_half_precision_accumulates_in_fp32(dtype, device):
    k = 4096  # an fp16/bf16 running sum of ones would stop at 2048 / 256
    ones_row = tt.ones(1, k, dtype=dtype, device=device)
    ones_col = tt.ones(k, 1, dtype=dtype, device=device)
    assert host(ones_row @ ones_col).astype(np.float64).item() == k
    v = tt.ones(k, dtype=dtype, device=device)
    assert float(host(tt.dot(v, v)).astype(np.float64)) == k


def test_bf16_cpu_is_fp32_product_rounded_once():
    a, b = t((9, 33), dtype=tt.bfloat16, seed=1), t((33, 17), dtype=tt.bfloat16, seed=2)
    expected = (host(a).astype(np.float32) @ host(b).astype(np.float32)).astype(tt.bfloat16.np)
    np.testing.assert_array_equal(host(a @ b).astype(np.float32), expected.astype(np.float32))


@pytest.mark.parametrize("device", DEVICES)
def test_ragged_sizes(device):
    m, k, n = 2 ** 5 + 17, 2 ** 4 + 17, 2 ** 6 + 17
    a, b = t((m, k), device=device, seed=1), t((k, n), device=device, seed=2)
    assert_close(a @ b, host(a).astype(np.float64) @ host(b).astype(np.float64), rtol=1.3e-6,
                 atol=1e-5 * math.sqrt(k))
    a64, b64 = t((m, k), dtype=F64, device=device, seed=1), t((k, n), dtype=F64, device=device, seed=2)
    assert_close(a64 @ b64, host(a64) @ host(b64), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ launcher decisions (cuda)

@pytest.fixture
def launches(monkeypatch):
    """Records ((grid batch dims), m, n, k, constexpr flags) of each GEMM kernel launch."""
    calls = []
    real = mmod._execute

    def spy(launch_, a, b, c, bias):
        calls.append(((launch_.n0, launch_.n1), launch_.m, launch_.n, launch_.k, dict(launch_.meta)))
        return real(launch_, a, b, c, bias)

    monkeypatch.setattr(mmod, "_execute", spy)
    mmod._LAUNCH_CACHE.clear()
    return calls


def test_strided_operands_are_not_copied(monkeypatch):
    a = mmod._mT(t((7, 5), device="cuda", seed=1))
    b = mmod._mT(t((3, 7), device="cuda", seed=2))
    sliced = t((5, 14), device="cuda", seed=3)
    allocations = []
    real_empty = CudaArray.empty

    def counting_empty(shape, dtype):
        allocations.append(tuple(shape))
        return real_empty(shape, dtype)

    monkeypatch.setattr(CudaArray, "empty", staticmethod(counting_empty))
    r = a @ b
    assert allocations == [(5, 3)]  # the result only: the transposed operands are read in place
    assert_close(r, host(a).astype(np.float64) @ host(b).astype(np.float64), rtol=1e-6, atol=3e-5)
    ns = mmod._strided(sliced, (5, 7), (14, 2))
    tt.mm(ns, b)
    assert allocations == [(5, 3), (5, 3)]


def test_batch_folds_into_rows(launches):
    x, w, bias = t((2, 5, 7), device="cuda", seed=1), t((3, 7), device="cuda", seed=2), t((3,), device="cuda", seed=3)
    tt.linear(x, w, bias)
    assert [(c[0], c[1], c[2], c[3]) for c in launches] == [((1, 1), 10, 3, 7)]  # one (10 x 7) @ (7 x 3) GEMM
    assert launches[0][4]["HAS_BIAS"]
    launches.clear()
    unfoldable = mmod._permute(t((5, 2, 7), device="cuda", seed=4), (1, 0, 2))
    r = tt.matmul(unfoldable, mmod._mT(w))
    assert [(c[0], c[1]) for c in launches] == [((1, 2), 5)]
    assert_close(r, host(unfoldable).astype(np.float64) @ host(w).astype(np.float64).T, rtol=1e-6, atol=3e-5)


def test_batch_chunks_respect_grid_limits(monkeypatch, launches):
    monkeypatch.setattr(mmod, "_MAX_GRID_YZ", 2)
    a, b = t((5, 3, 4), device="cuda", seed=1), t((5, 4, 2), device="cuda", seed=2)
    r = tt.bmm(a, b)
    assert [c[0] for c in launches] == [(1, 2), (1, 2), (1, 1)]  # batch 5 in grid chunks of at most 2
    assert_close(r, np.matmul(host(a).astype(np.float64), host(b).astype(np.float64)), rtol=1e-6, atol=2e-5)
    monkeypatch.setattr(mmod, "_MAX_GRID_YZ", 65535)
    mmod._LAUNCH_CACHE.clear()
    launches.clear()
    # a broadcast batch (2, 4, 3) whose last dim folds into A's rows: one launch over batch (2, 4), M = 3 * 4
    a, b = t((2, 1, 3, 4, 5), device="cuda", seed=3), t((4, 1, 5, 3), device="cuda", seed=4)
    r = a @ b
    assert [(c[0], c[1]) for c in launches] == [((2, 4), 12)]
    assert_close(r, np.matmul(host(a).astype(np.float64), host(b).astype(np.float64)), rtol=1e-6, atol=2e-5)
    launches.clear()
    # rank-3 broadcast batch that neither collapses nor folds: one launch per leading index
    a, b = t((2, 1, 3, 4, 5), device="cuda", seed=3), t((4, 3, 5, 3), device="cuda", seed=4)
    r = a @ b
    assert [(c[0], c[1]) for c in launches] == [((4, 3), 4)] * 2
    assert_close(r, np.matmul(host(a).astype(np.float64), host(b).astype(np.float64)), rtol=1e-6, atol=2e-5)


def test_tf32_flag_selects_dot_precision(monkeypatch, launches):
    a, b = t((4, 8), device="cuda", seed=1), t((8, 4), device="cuda", seed=2)
    a @ b
    monkeypatch.setattr(_cuda.matmul, "allow_tf32", True)
    r = a @ b
    assert [c[4]["PRECISION"] for c in launches] == ["ieee", "tf32"]
    # the interpreter computes tf32 dots in full fp32; on a GPU the error is TF32's (10-bit mantissa)
    assert_close(r, host(a).astype(np.float64) @ host(b).astype(np.float64), rtol=2e-3, atol=1e-2)


def test_launch_plans_are_cached(launches):
    a, b = t((4, 6), device="cuda", seed=1), t((6, 3), device="cuda", seed=2)
    r1 = a @ b
    assert len(mmod._LAUNCH_CACHE) == 1
    a2, b2 = t((4, 6), device="cuda", seed=3), t((6, 3), device="cuda", seed=4)
    r2 = a2 @ b2  # same layout: the cached launch list, new pointers
    assert len(mmod._LAUNCH_CACHE) == 1 and len(launches) == 2
    assert_close(r1, host(a).astype(np.float64) @ host(b).astype(np.float64), rtol=1e-6, atol=2e-5)
    assert_close(r2, host(a2).astype(np.float64) @ host(b2).astype(np.float64), rtol=1e-6, atol=2e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_k1_products_are_exact_outer_products(dtype):
    """K = 1 (a batch-1 weight gradient) takes a multiply instead of NumPy's slow K = 1 matmul: same values,
    also through linear's backward and for an N-D left operand."""
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((37, 1)) * 4).astype(dtype)
    b = (rng.standard_normal((1, 29)) * 4).astype(dtype)
    want = np.matmul(a, b)
    assert np.array_equal(tt.mm(tt.tensor(a), tt.tensor(b)).numpy(), want)
    assert np.array_equal(tt.matmul(tt.tensor(a.reshape(1, 37, 1)), tt.tensor(b)).numpy(), want.reshape(1, 37, 29))
    if dtype != "int64":
        x = tt.tensor(b, requires_grad=True)                 # (1, 29): batch 1
        w = tt.tensor(rng.standard_normal((37, 29)).astype(dtype), requires_grad=True)
        g = rng.standard_normal((1, 37)).astype(dtype)
        tt.nn.functional.linear(x, w).backward(tt.tensor(g))
        assert np.array_equal(w.grad.numpy(), np.matmul(g.T, b))


@pytest.mark.parametrize("rows", [4, 20, 48, 64, 2])
def test_few_row_products_taken_transposed(rows, monkeypatch):
    # x @ w.T with 4..48 rows runs as (w @ x.T).T on the cpu (nt_transposed): same values, C-contiguous results,
    # and the path is chosen by shape alone (2 and 64 rows take the direct call)
    taken = []
    real = mmod.nt_transposed

    def spy(a, b):
        r = real(a, b)
        taken.append(r is not None)
        return r

    monkeypatch.setattr(mmod, "nt_transposed", spy)
    x, w, b = t((rows, 300)), t((700, 300), seed=1), t((700,), seed=2)
    want = x.numpy().astype(np.float64) @ w.numpy().astype(np.float64).T
    for got in (tt.nn.functional.linear(x, w), tt.nn.functional.linear(x, w, b) - b, x @ w.T, tt.mm(x, w.t())):
        assert got._data.flags.c_contiguous
        assert_close(got, want, rtol=1e-5, atol=1e-3)
    assert taken and all(taken) == (4 <= rows <= 48) and any(taken) == (4 <= rows <= 48)
