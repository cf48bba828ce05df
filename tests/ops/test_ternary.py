"""where(cond, 0, x) / where(cond, x, 0) on large cpu tensors takes a bitwise path (relu's and masks' backward),
and so does where(cond, a, b) in general (b ^ ((a ^ b) & mask)): each must give exactly np.where's result, bit for
bit (NaN payloads, signed zeros), for every dtype it applies to, and leave the cases it does not cover (a -0.0
scalar, small results) to np.where."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import ternary

N = 4 * ternary._BITS_MIN_SIZE  # large enough for the bitwise path


def _data(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N) * 100
    if dtype.kind == tt.float32.kind:
        x[:4] = [np.nan, -0.0, np.inf, -np.inf]
    return tt.tensor(x).to(dtype)


# (dtype, zero): a float zero with an integer tensor promotes it, which is not the bitwise path's case
CASES = [(d, z) for d in (tt.float32, tt.float64, tt.float16, tt.bfloat16) for z in (0, 0.0)] + \
    [(d, 0) for d in (tt.int64, tt.int32, tt.int8)]


@pytest.mark.parametrize("dtype,zero", CASES, ids=[f"{d.name}-{type(z).__name__}" for d, z in CASES])
@pytest.mark.parametrize("zero_first", [True, False])
def test_where_zero_is_bit_exact(dtype, zero, zero_first):
    x = _data(dtype)
    cond = tt.tensor(np.random.default_rng(1).random(N) < 0.5)
    args = (cond, zero, x) if zero_first else (cond, x, zero)
    got = tt.where(*args)
    xs = x._data
    expected = np.where(cond.numpy(), np.zeros((), xs.dtype), xs) if zero_first else \
        np.where(cond.numpy(), xs, np.zeros((), xs.dtype))
    assert got.dtype is x.dtype
    assert got._data.tobytes() == expected.astype(xs.dtype).tobytes()


def test_where_bitwise_path_is_taken_and_refused_where_it_must_be():
    x = _data(tt.float32)
    cond = tt.tensor(np.random.default_rng(1).random(N) < 0.5)
    meta = ternary.where_op.infer(cond, 0.0, x)
    assert ternary._where_zero_bits(cond._data, 0.0, x, meta.dtype.np, meta.shape) is not None
    # -0.0 is not all bits clear; a broadcast condition and a small tensor take np.where
    assert ternary._where_zero_bits(cond._data, -0.0, x, meta.dtype.np, meta.shape) is None
    small = tt.randn(8)
    small_meta = ternary.where_op.infer(cond[:8], 0.0, small)
    assert ternary._where_zero_bits(cond._data[:8], 0.0, small, small_meta.dtype.np, small_meta.shape) is None
    got = tt.where(cond, -0.0, x)
    assert np.array_equal(np.signbit(got.numpy()[cond.numpy()]), np.ones(int(cond.numpy().sum()), bool))


def test_relu_backward_through_bitwise_path_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((64, 256)).astype(np.float32)
    g = np.random.default_rng(3).standard_normal((64, 256)).astype(np.float32)
    a = tt.tensor(x, requires_grad=True)
    tt.relu(a).backward(tt.tensor(g))
    b = torch.tensor(x, requires_grad=True)
    torch.relu(b).backward(torch.tensor(g))
    assert a.grad._data.tobytes() == b.grad.numpy().tobytes()


GENERAL = [tt.float32, tt.float64, tt.float16, tt.bfloat16, tt.int64, tt.int32, tt.int16, tt.int8, tt.uint8,
           tt.bool]


@pytest.mark.parametrize("dtype", GENERAL, ids=[d.name for d in GENERAL])
def test_where_of_two_operands_is_bit_exact_with_broadcasting(dtype):
    rows = N // 64
    a = _data(dtype).reshape(rows, 64)
    b = (_data(dtype).flip(0) if dtype is not tt.bool else ~_data(dtype)).reshape(rows, 64)
    cond = tt.tensor(np.random.default_rng(1).random((rows, 64)) < 0.5)
    cases = [(cond, a, b), (cond, a[:1], b), (cond, a, b[:, :1]), (cond, a[:1], b[:, :1]), (cond[:, :1], a, b),
             (cond, a, 7), (cond, 3, b), (cond[:1], a, b[:, :1])]
    for c, x, y in cases:
        meta = ternary.where_op.infer(c, x, y)
        if math.prod(meta.shape) >= ternary._BITS_MIN_SIZE:
            assert ternary._where_bits(c._data, ternary.np_in(x, meta.dtype), ternary.np_in(y, meta.dtype),
                                       meta.dtype.np, meta.shape) is not None
        got = tt.where(c, x, y)
        expected = np.where(c.numpy(), ternary.np_in(x, meta.dtype), ternary.np_in(y, meta.dtype))
        assert got.dtype is meta.dtype and got.shape == expected.shape
        assert got._data.tobytes() == np.ascontiguousarray(expected).tobytes()
