"""Hand-written tests of the binary and ternary pointwise families: PyTorch's errors, operator and method forms,
in-place semantics, and the value conventions the generated tests do not pin down (signs of remainders, integer
division and powers, shifts, NaN propagation, scalar wrapping and rounding). Expected values are PyTorch's; where
torch is installed the same calls are also run through it."""
import importlib.util
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()
TORCH = None
if importlib.util.find_spec("torch") is not None:
    import torch as TORCH


def T(values, dtype=None, device="cpu"):
    return tt.tensor(values, dtype=dtype, device=device)


def values(t):
    return t.cpu().tolist()


# ============================================================================================== errors

def test_sub_with_bool_raises_pytorchs_errors():
    b = T([True, False])
    with pytest.raises(RuntimeError, match=r"two bool tensors is not supported. Use the `\^` or `logical_xor\(\)`"):
        b - b
    with pytest.raises(RuntimeError, match=r"with a bool tensor is not supported. If you are trying to invert a mask"):
        T([1, 2]) - b
    with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
        T([1, 2]) - True
    with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
        tt.sub(b, 1)


@pytest.mark.parametrize("device", DEVICES)
def test_bitwise_ops_on_floats_raise(device):
    f = T([1.0, 2.0], device=device)
    kernel = device.split(":")[0]
    with pytest.raises(NotImplementedError, match=f'"bitwise_and_{kernel}" not implemented for \'Float\''):
        f & f
    with pytest.raises(RuntimeError, match=f'"bitwise_or_{kernel}" not implemented for \'Float\''):
        T([1, 2], device=device) | 1.5
    with pytest.raises(RuntimeError, match=f'"lshift_{kernel}" not implemented for \'Float\''):
        f << 1
    with pytest.raises(RuntimeError, match=f'"rshift_{kernel}" not implemented for \'Bool\''):
        tt.bitwise_right_shift(T([True], device=device), T([True], device=device))
    with pytest.raises(RuntimeError, match=f'"bitwise_not_{kernel}" not implemented for \'Float\''):
        tt.bitwise_not(f)
    with pytest.raises(TypeError, match=r"~ \(operator.invert\) is only implemented on integer and Boolean-type"):
        ~f


def test_integer_powers_errors():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        T([2, 3]) ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        tt.pow(T([2], dtype=tt.uint8), -2)
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without overflow"):
        tt.pow(T([2], dtype=tt.int8), 200)
    with pytest.raises(NotImplementedError, match="\"pow\" not implemented for 'Bool'"):
        T([True]) ** T([True])
    # a negative exponent tensor is allowed (0, or +-1 for bases +-1), and float exponents give floats
    assert values(T([2]) ** T([-1])) == [0]
    assert values(T([2]) ** -1.0) == [0.5]


def test_division_errors():
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                                           "found 'round'"):
        tt.div(T([1.0]), T([2.0]), rounding_mode="round")
    with pytest.raises(NotImplementedError, match="\"div_floor_cpu\" not implemented for 'Bool'"):
        T([True]) // T([True])
    with pytest.raises(NotImplementedError, match="\"remainder_cpu\" not implemented for 'Bool'"):
        T([True]) % T([True])
    # integer division by zero raises on cpu, as PyTorch's CPU kernels do
    for fn in (lambda: T([1]) // T([0]), lambda: T([1]) % 0, lambda: tt.fmod(T([5]), 0),
               lambda: tt.div(T([1]), T(0), rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn()
    # float division by zero is IEEE (and silent)
    assert values(T([1.0, -1.0, 0.0]) / 0.0)[:2] == [math.inf, -math.inf]
    assert values(T([5.0]) // T([0.0])) == [math.inf]


def test_tensor_only_ops_reject_scalars():
    x = T([1.0, 2.0])
    with pytest.raises(TypeError, match=r"maximum\(\): argument 'other' \(position 2\) must be Tensor, not int"):
        tt.maximum(x, 2)
    with pytest.raises(TypeError, match=r"atan2\(\): argument 'input' \(position 1\) must be Tensor, not float"):
        tt.atan2(1.0, x)
    with pytest.raises(TypeError, match=r"logical_and\(\): argument 'other' \(position 2\) must be Tensor"):
        tt.logical_and(x, 1)
    with pytest.raises(TypeError, match=r"hypot\(\): argument 'other'"):
        tt.hypot(x, 2.0)
    with pytest.raises(TypeError, match=r"fmod\(\): argument 'input' \(position 1\) must be Tensor"):
        tt.fmod(2, x)
    with pytest.raises(TypeError, match=r"eq\(\): argument 'input' \(position 1\) must be Tensor"):
        tt.eq(2, x)
    with pytest.raises(NotImplementedError, match="\"hypot_cpu\" not implemented for 'Long'"):
        tt.hypot(T([3]), T([4]))


def test_alpha_rules():
    with pytest.raises(RuntimeError, match="For integral input tensors, argument alpha must not be a floating point "
                                           "number."):
        tt.add(T([1]), T([2]), alpha=0.5)
    with pytest.raises(RuntimeError, match="Boolean alpha only supported for Boolean results."):
        tt.sub(T([1]), T([2]), alpha=True)
    assert values(tt.add(T([True]), T([True]), alpha=2)) == [True]
    assert values(tt.add(T([1.0]), 1, alpha=2.5)) == [3.5]
    assert values(tt.sub(T([1, 2]), T([1.0]), alpha=2)) == [-1.0, 0.0]
    assert values(T([5], dtype=tt.uint8).sub(T([1], dtype=tt.uint8), alpha=-1)) == [6]  # alpha wraps to 255


def test_broadcast_and_python_int_range_errors():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(3\) at "
                                           r"non-singleton dimension 0"):
        T([1, 2]) + T([1, 2, 3])
    with pytest.raises(OverflowError, match="int too big to convert"):
        T([3.0]) + 2 ** 70
    with pytest.raises(OverflowError, match="int too big to convert"):
        T([3]) * -(2 ** 64)
    assert values(T([1, 2], dtype=tt.int8) * 2 ** 40) == [0, 0]  # in range for int64: wraps into int8


def test_unsupported_operands():
    x = T([1.0, 2.0])
    with pytest.raises(TypeError):
        x + None
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        x < None
    with pytest.raises(TypeError):
        [1, 2] * x
    assert (x == None) is False  # noqa: E711 - identity comparison for non-tensors, as in PyTorch
    assert (x != "a") is True
    assert x.__eq__(object()) is NotImplemented


# ========================================================================================= in-place

@pytest.mark.parametrize("device", DEVICES)
def test_inplace_errors_come_before_any_write(device):
    x = T([1, 2], device=device)
    v = x._version_count
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += T([0.5, 0.5], device=device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x /= 2
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x.clamp_(2.5)
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[2, 2\]"):
        x.add_(T([[1, 1], [1, 1]], device=device))
    with pytest.raises(RuntimeError, match=r"output with shape \[1\] doesn't match the broadcast shape \[2\]"):
        T([1.0], device=device).lerp_(T([1.0, 2.0], device=device), 0.5)
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        T([True, False], device=device).add_(1)
    assert values(x) == [1, 2] and x._version_count == v


@pytest.mark.parametrize("device", DEVICES)
def test_inplace_operators_write_into_self_and_bump_the_version(device):
    x = T([1.0, 2.0, 3.0], device=device)
    alias, view = x, x[..., ::2]
    start = x._version_count
    x += 1
    x -= T([1.0], device=device)
    x *= 2
    x /= 4
    x **= 2
    x.sub_(0.25).mul_(T([4.0, 4.0, 4.0], device=device)).add_(1, alpha=2)
    assert x is alias and x._version_count == start + 8
    assert view._version_count == x._version_count  # views share the counter
    assert_close(x, np.array([2.0, 5.0, 10.0], np.float32))
    i = T([7, -7, 12], device=device)
    i //= 2
    i %= 3
    i <<= 1
    i >>= 1
    i &= 3
    i |= 4
    i ^= 1
    assert values(i) == [5, 7, 5]
    b = T([True, False], device=device)
    b &= T([True, True], device=device)
    b |= False
    assert values(b) == [True, False]
    f = T([0.5, -0.5, 3.0], device=device)
    f.clamp_(0, 1).eq_(0.5)
    assert values(f) == [1.0, 0.0, 0.0]  # eq_ writes the bool result cast to self's dtype
    f.copy_(T([1.0, 2.0, 3.0]))
    f.lerp_(T([3.0, 3.0, 3.0], device=device), 0.5).addcmul_(f, f, value=0.5).addcdiv_(f, f, value=-1)
    assert_close(f, np.array([3.0, 4.625, 6.5], np.float32))


def test_tensors_stay_hashable():
    a, b = T([1.0]), T([1.0])
    assert hash(a) == id(a) and len({a, b, a}) == 2
    assert {a: 1}[a] == 1
    assert a in [a]


# ===================================================================================== operator forms

@pytest.mark.parametrize("device", DEVICES)
def test_operators_and_reflected_operators(device):
    x = T([6, -7, 8], device=device)
    cases = {
        "x + 2": (x + 2, [8, -5, 10]), "2 + x": (2 + x, [8, -5, 10]), "x - 2": (x - 2, [4, -9, 6]),
        "10 - x": (10 - x, [4, 17, 2]), "x * 3": (x * 3, [18, -21, 24]), "3 * x": (3 * x, [18, -21, 24]),
        "x / 4": (x / 4, [1.5, -1.75, 2.0]), "12 / x": (12 / T([6, -4, 8], device=device), [2.0, -3.0, 1.5]),
        "x // 4": (x // 4, [1, -2, 2]), "20 // x": (20 // x, [3, -3, 2]), "x % 4": (x % 4, [2, 1, 0]),
        "20 % x": (20 % x, [2, -1, 4]), "x ** 2": (x ** 2, [36, 49, 64]),
        "2 ** x": (2 ** T([1, 3], device=device), [2, 8]), "x & 3": (x & 3, [2, 1, 0]), "3 & x": (3 & x, [2, 1, 0]),
        "x | 1": (x | 1, [7, -7, 9]), "1 | x": (1 | x, [7, -7, 9]),
        "x ^ 5": (x ^ 5, [3, -4, 13]), "5 ^ x": (5 ^ x, [3, -4, 13]), "x << 2": (x << 2, [24, -28, 32]),
        "1 << x": (1 << T([0, 3], device=device), [1, 8]), "x >> 1": (x >> 1, [3, -4, 4]),
        "64 >> x": (64 >> T([1, 3], device=device), [32, 8]), "~x": (~x, [-7, 6, -9]),
        "x == 8": (x == 8, [False, False, True]), "x != 8": (x != 8, [True, True, False]),
        "x < 0": (x < 0, [False, True, False]), "x <= 6": (x <= 6, [True, True, False]),
        "x > 6": (x > 6, [False, False, True]), "x >= 6": (x >= 6, [True, False, True]),
        "0 < x": (0 < x, [True, False, True]),
    }
    for label, (got, expected) in cases.items():
        assert values(got) == expected, label
        assert got.device.type == x.device.type, label


def test_named_methods_and_aliases():
    x, y = T([4.0, -9.0]), T([2.0, 4.0])
    pairs = [("add", [6.0, -5.0]), ("sub", [2.0, -13.0]), ("subtract", [2.0, -13.0]), ("mul", [8.0, -36.0]),
             ("multiply", [8.0, -36.0]), ("div", [2.0, -2.25]), ("divide", [2.0, -2.25]), ("true_divide", [2.0, -2.25]),
             ("floor_divide", [2.0, -3.0]), ("remainder", [0.0, 3.0]), ("fmod", [0.0, -1.0]), ("pow", [16.0, 6561.0]),
             ("maximum", [4.0, 4.0]), ("minimum", [2.0, -9.0]), ("fmax", [4.0, 4.0]), ("fmin", [2.0, -9.0]),
             ("copysign", [4.0, 9.0]), ("hypot", [math.hypot(4, 2), math.hypot(9, 4)]),
             ("eq", [False, False]), ("ne", [True, True]), ("lt", [False, True]), ("le", [False, True]),
             ("gt", [True, False]), ("ge", [True, False]), ("greater", [True, False]), ("less", [False, True]),
             ("greater_equal", [True, False]), ("less_equal", [False, True]), ("not_equal", [True, True]),
             ("logical_and", [True, True]), ("logical_or", [True, True]), ("logical_xor", [False, False])]
    for name, expected in pairs:
        got = getattr(x, name)(y)
        assert_close(got, np.array(expected), msg=name)
        assert_close(getattr(tt, name)(x, y), np.array(expected), msg=name)
    assert_close(x.atan2(y), np.arctan2([4.0, -9.0], [2.0, 4.0]).astype(np.float32))
    assert_close(tt.arctan2(x, y), np.arctan2([4.0, -9.0], [2.0, 4.0]).astype(np.float32))
    assert values(tt.div(x, y, rounding_mode="trunc")) == [2.0, -2.0]
    assert values(x.div(y, rounding_mode="floor")) == [2.0, -3.0]
    assert values(x.add(y, alpha=-1)) == [2.0, -13.0]
    i = T([12, 10])
    assert values(i.bitwise_and(6)) == [4, 2] and values(i.bitwise_or(1)) == [13, 11]
    assert values(i.bitwise_xor(T([1, 2]))) == [13, 8] and values(i.bitwise_not()) == [-13, -11]
    assert values(i.bitwise_left_shift(1)) == [24, 20] and values(i.bitwise_right_shift(2)) == [3, 2]
    assert values(tt.bitwise_left_shift(1, T([2, 3]))) == [4, 8]
    j = T([1, 2])
    j.bitwise_not_()
    assert values(j) == [-2, -3]


def test_numpy_operands():
    x = T([1.0, 2.0], dtype=tt.float16)
    r = np.float32(2.0) * x
    assert isinstance(r, tt.Tensor) and r.dtype is tt.float16 and values(r) == [2.0, 4.0]
    r = x + np.float64(0.5)
    assert r.dtype is tt.float16 and values(r) == [1.5, 2.5]
    r = T([1.0, 2.0]) + np.array([1.0, 1.0])
    assert isinstance(r, tt.Tensor) and r.dtype is tt.float64
    assert values(T([1, 2]) == np.int64(2)) == [False, True]
    assert values(tt.where(T([True, False]), np.float32(1.5), T([0.0]))) == [1.5, 0.0]


@pytest.mark.parametrize("device", DEVICES)
def test_out_argument(device):
    x, y = T([1, 2, 3], device=device), T([2], device=device)
    out = tt.empty(3, dtype=tt.float64, device=device)
    r = tt.mul(x, y, out=out)
    assert r is out and out.dtype is tt.float64 and values(out) == [2.0, 4.0, 6.0]
    out_b = tt.empty(3, dtype=tt.float32, device=device)
    tt.lt(x, y, out=out_b)
    assert values(out_b) == [1.0, 0.0, 0.0]
    tt.where(x > 1, x, -1, out=out)
    assert values(out) == [-1.0, 2.0, 3.0]
    tt.clamp(x, 2, out=out)
    assert values(out) == [2.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        tt.div(x, y, out=tt.empty(3, dtype=tt.int64, device=device))


# ====================================================================================== value semantics

@pytest.mark.parametrize("device", DEVICES)
def test_remainder_and_fmod_signs(device):
    a, b = [-7, 7, -7, 7, 0], [3, -3, -3, 3, -2]
    assert values(tt.remainder(T(a, device=device), T(b, device=device))) == [2, -2, -1, 1, 0]
    assert values(tt.fmod(T(a, device=device), T(b, device=device))) == [-1, 1, -1, 1, 0]
    af = T([-3.5, 3.5, -3.5, 5.0, -5.0, 5.0], device=device)
    bf = T([2.0, -2.0, -2.0, math.inf, math.inf, -math.inf], device=device)
    assert values(tt.remainder(af, bf)) == [0.5, -0.5, -1.5, 5.0, math.inf, -math.inf]
    assert values(tt.fmod(af, bf)) == [-1.5, 1.5, -1.5, 5.0, -5.0, 5.0]
    assert values(T([-3, 3], dtype=tt.uint8, device=device) % T([2], dtype=tt.uint8, device=device)) == [1, 1]


@pytest.mark.parametrize("device", DEVICES)
def test_fmod_is_exact_for_huge_quotients(device):
    big = np.array([2.0 ** 100, -(2.0 ** 90), 1e30, 123456789.0], np.float32)
    div = np.array([3.1, 0.7, 7.0, 1e-3], np.float32)
    x, y = tt.from_numpy(big).to(device), tt.from_numpy(div).to(device)
    assert_close(tt.fmod(x, y), np.fmod(big, div), rtol=0, atol=0)
    assert_close(tt.remainder(x, y), np.remainder(big, div), rtol=0, atol=0)
    big64 = np.array([1e300, -(2.0 ** 500), 1e18], np.float64)
    div64 = np.array([3.3, 7.25, 0.1], np.float64)
    got = tt.fmod(tt.from_numpy(big64).to(device), tt.from_numpy(div64).to(device))
    assert_close(got, np.fmod(big64, div64), rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_integer_division_rounding(device):
    a, b = T([-7, 7, -7, 7, -128], dtype=tt.int8, device=device), T([2, -2, -2, 2, -1], dtype=tt.int8, device=device)
    assert values(tt.div(a, b, rounding_mode="trunc")) == [-3, -3, 3, 3, -128]
    assert values(tt.div(a, b, rounding_mode="floor")) == [-4, -4, 3, 3, -128]
    assert values(tt.floor_divide(a, b)) == [-4, -4, 3, 3, -128]
    assert values(a / b) == [-3.5, -3.5, 3.5, 3.5, 128.0]
    assert (a / b).dtype is tt.float32
    f = T([-7.0, 7.0, -0.0, 1e30], device=device)
    assert values(tt.div(f, 2.0, rounding_mode="trunc"))[:3] == [-3.0, 3.0, -0.0]
    assert values(tt.div(f, -2.0, rounding_mode="floor"))[:3] == [3.0, -4.0, 0.0]
    fl = tt.div(T([-5.0, 5.0, 0.0], device=device), T([math.inf, math.inf, -3.0], device=device), rounding_mode="floor")
    assert values(fl) == [-1.0, 0.0, -0.0] and math.copysign(1, values(fl)[2]) == -1


@pytest.mark.parametrize("device", DEVICES)
def test_integer_pow(device):
    base = T([-3, -1, -1, 1, 0, 2, 5, -2, 3], device=device)
    exp = T([3, -1, -2, -5, 0, 6, 2, 7, -1], device=device)
    assert values(base ** exp) == [-27, -1, 1, 1, 1, 64, 25, -128, 0]
    assert values(T([3], dtype=tt.uint8, device=device) ** 6) == [217]  # wraps like PyTorch (729 mod 256)
    assert values(T([2], dtype=tt.int64, device=device) ** 62) == [2 ** 62]
    assert values(2 ** T([10, 0], dtype=tt.int16, device=device)) == [1024, 1]


@pytest.mark.parametrize("device", DEVICES)
def test_float_pow_special_cases(device):
    x = T([-2.0, -2.0, -8.0, 0.0, -0.0, math.nan, 1.0, -1.0, 2.0, 0.5], device=device)
    y = T([3.0, 2.0, 1 / 3, -1.0, -1.0, 0.0, math.nan, math.inf, 0.5, -math.inf], device=device)
    got = values(x ** y)
    expected = [-8.0, 4.0, math.nan, math.inf, -math.inf, 1.0, 1.0, 1.0, math.sqrt(2.0), math.inf]
    for g, e in zip(got, expected):
        assert (math.isnan(g) and math.isnan(e)) or math.isclose(g, e, rel_tol=1e-6), (got, expected)
    assert values(2.0 ** T([0.5, -1.0], device=device))[1] == 0.5
    assert_close(T([1.5, 2.5], dtype=tt.float64, device=device) ** 7.3, np.array([1.5, 2.5]) ** 7.3, rtol=1e-12, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_shifts_out_of_range(device):
    one8 = T([1, 1, -8, 8], dtype=tt.int8, device=device)
    assert values(one8 << T([9, -1, 1, 7], dtype=tt.int8, device=device)) == [0, 0, -16, 0]
    assert values(one8 >> T([9, -1, 100, 8], dtype=tt.int8, device=device)) == [0, 0, -1, 0]
    u = T([200, 3], dtype=tt.uint8, device=device)
    assert values(u >> T([8, 200], dtype=tt.uint8, device=device)) == [0, 0]
    assert values(u << T([200, 7], dtype=tt.uint8, device=device)) == [0, 128]
    assert values(T([-8], device=device) >> 70) == [-1] and values(T([1], device=device) << 64) == [0]


@pytest.mark.parametrize("device", DEVICES)
def test_nan_propagation(device):
    a = T([1.0, math.nan, math.nan, 2.0], device=device)
    b = T([math.nan, 2.0, math.nan, 1.0], device=device)
    for fn, expected in [(tt.maximum, [math.nan, math.nan, math.nan, 2.0]),
                         (tt.minimum, [math.nan, math.nan, math.nan, 1.0]),
                         (tt.fmax, [1.0, 2.0, math.nan, 2.0]), (tt.fmin, [1.0, 2.0, math.nan, 1.0])]:
        np.testing.assert_array_equal(np.array(values(fn(a, b))), np.array(expected))
    assert values(tt.clamp(T([1.0, math.nan, 5.0], device=device), 2, 4))[0::2] == [2.0, 4.0]
    assert math.isnan(values(tt.clamp(T([1.0, math.nan, 5.0], device=device), 2, 4))[1])
    assert all(math.isnan(v) for v in values(tt.clamp(T([1.0, 3.0], device=device), float("nan"))))
    assert all(math.isnan(v) for v in values(tt.clamp(T([1.0, 3.0], device=device), 0, float("nan"))))
    assert values(T([math.nan], device=device) == T([math.nan], device=device)) == [False]
    assert values(T([math.nan], device=device) != math.nan) == [True]


@pytest.mark.parametrize("device", DEVICES)
def test_atan2_quadrants_and_signed_zeros(device):
    y = T([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, math.inf, -math.inf], device=device)
    x = T([0.0, 0.0, -0.0, -0.0, -math.inf, math.inf, math.inf, -math.inf], device=device)
    got = values(tt.atan2(y, x))
    expected = [math.atan2(a, b) for a, b in zip(values(y), values(x))]
    assert got == pytest.approx(expected, rel=1e-6)
    assert [math.copysign(1, g) for g in got[:4]] == [math.copysign(1, e) for e in expected[:4]]
    r = np.linspace(-5, 5, 101)
    yy, xx = np.meshgrid(r, r)
    got = tt.atan2(tt.from_numpy(yy.copy()).to(device), tt.from_numpy(xx.copy()).to(device))
    assert_close(got, np.arctan2(yy, xx), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("device", DEVICES)
def test_scalars_take_the_tensors_integer_type(device):
    u = T([200, 1], dtype=tt.uint8, device=device)
    assert values(u - 1) == [199, 0] and (u - 1).dtype is tt.uint8
    assert values(u + 100) == [44, 101]  # wraps
    assert values(u == -56) == [True, False]  # -56 wraps to 200, as in PyTorch
    assert values(u > -1) == [False, False]
    assert values(T([1], dtype=tt.int8, device=device) == 257) == [True]
    assert values(T([True, False], device=device) == 1) == [True, False]
    assert values(T([True, False], device=device) == 2) == [False, False]


@pytest.mark.parametrize("device", DEVICES)
def test_comparisons_round_the_scalar_to_the_tensor_dtype(device):
    # PyTorch compares fp16 x with fp16(0.1): 0.0999755859375 == 0.1 is True, < 0.1 is False
    h = T([0.0999755859375], dtype=tt.float16, device=device)
    assert values(h == 0.1) == [True] and values(h < 0.1) == [False]
    f = T([0.1], device=device)
    assert values(f == 0.1) == [True]
    b = T([0.10009765625], dtype=tt.bfloat16, device=device)
    assert values(b == 0.1) == [True]


@pytest.mark.parametrize("device", DEVICES)
def test_bool_arithmetic(device):
    t, f = T([True, True, False], device=device), T([True, False, False], device=device)
    assert values(t + f) == [True, True, False] and (t + f).dtype is tt.bool
    assert values(t * f) == [True, False, False]
    assert values(tt.maximum(t, f)) == [True, True, False] and values(tt.minimum(t, f)) == [True, False, False]
    assert values(t + 1) == [2, 2, 1] and (t + 1).dtype is tt.int64
    assert values(t / f)[:2] == [1.0, math.inf]
    assert values(t < f) == [False, False, False] and values(f < t) == [False, True, False]


@pytest.mark.parametrize("device", DEVICES)
def test_zero_dim_cpu_tensor_joins_a_cuda_op(device):
    x = T([1.0, 2.0], device=device)
    s = T(3.0)  # 0-dim, cpu
    for r in (x + s, s * x, tt.maximum(x, s), tt.where(x > 1, x, s), tt.clamp(x, max=T(1.5))):
        assert r.device.type == x.device.type
    assert values(x + s) == [4.0, 5.0] and values(tt.where(x > 1, x, s)) == [3.0, 2.0]
    if device != "cpu":
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            x + T([1.0, 2.0])


# ========================================================================================= ternary ops

@pytest.mark.parametrize("device", DEVICES)
def test_where(device):
    c = T([True, False, True], device=device)
    assert values(tt.where(c, T([1, 2, 3], device=device), T([10], device=device))) == [1, 10, 3]
    assert values(tt.where(c, 1.5, T([0], dtype=tt.int8, device=device))) == [1.5, 0.0, 1.5]
    assert values(tt.where(c, True, False)) == [True, False, True]
    r = tt.where(c, T([1], dtype=tt.int8, device=device), T([2], dtype=tt.uint8, device=device))
    assert r.dtype is tt.int16 and values(r) == [1, 2, 1]
    assert values(T([5, 6, 7], device=device).where(c, 0)) == [5, 0, 7]
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, but got a tensor with "
                                           "dtype Float"):
        tt.where(T([1.0], device=device), T([1.0], device=device), T([2.0], device=device))
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor"):
        r = tt.where(T([1, 0], dtype=tt.uint8, device=device), 1.0, T([0.0], device=device))
    assert values(r) == [1.0, 0.0]
    assert [values(t) for t in tt.where(T([[True, False], [False, True]]))] == [[0, 1], [0, 1]]


@pytest.mark.parametrize("device", DEVICES)
def test_clamp_forms(device):
    x = T([1.0, 3.0, 5.0], device=device)
    assert values(tt.clamp(x, 2, 4)) == [2.0, 3.0, 4.0]
    assert values(tt.clamp(x, min=2)) == [2.0, 3.0, 5.0] and values(tt.clamp(x, max=2)) == [1.0, 2.0, 2.0]
    assert values(tt.clamp_min(x, 2.5)) == [2.5, 3.0, 5.0] and values(tt.clamp_max(x, 2.5)) == [1.0, 2.5, 2.5]
    assert values(tt.clip(x, 4, 2)) == [2.0, 2.0, 2.0]  # min > max: max wins
    assert values(x.clamp(T([2.0, 4.0, 4.0], device=device), T([6.0], device=device))) == [2.0, 4.0, 5.0]
    assert values(x.clip(max=T([[2.0], [4.0]], device=device))) == [[1.0, 2.0, 2.0], [1.0, 3.0, 4.0]]
    assert values(x.clamp_max(T([2.0], device=device))) == [1.0, 2.0, 2.0]
    i = T([1, 3, 5], dtype=tt.int8, device=device)
    assert values(tt.clamp(i, 2.5)) == [2.5, 3.0, 5.0] and tt.clamp(i, 2.5).dtype is tt.float32
    assert values(tt.clamp(T([1, 3, 5], dtype=tt.uint8, device=device), -3)) == [253, 253, 253]
    assert values(tt.clamp(T([True, False], device=device), min=T([True], device=device))) == [True, True]
    y = x.clone()
    assert y.clamp_(2, 4) is y and values(y) == [2.0, 3.0, 4.0]
    y.clip_(max=2.5).clamp_min_(2.2).clamp_max_(2.4)
    assert values(y) == pytest.approx([2.2, 2.4, 2.4])


def test_clamp_errors():
    x = T([1.0, 2.0])
    with pytest.raises(RuntimeError, match="torch.clamp: At least one of 'min' or 'max' must not be None"):
        tt.clamp(x)
    with pytest.raises(TypeError, match=r"clamp\(\) received an invalid combination of arguments"):
        tt.clamp(x, T([1.0]), 2)
    with pytest.raises(TypeError):
        tt.clamp_max(x, None)
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without overflow"):
        tt.clamp(T([1], dtype=tt.int8), max=128)
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t without overflow"):
        tt.clamp(T([1], dtype=tt.uint8), -256)
    with pytest.raises(RuntimeError, match=r"value cannot be converted to type c10::Half without overflow"):
        tt.clamp(T([1.0], dtype=tt.float16), 1e6)
    with pytest.raises(NotImplementedError, match="\"clamp_min_scalar_cpu\" not implemented for 'Bool'"):
        tt.clamp(T([True]), min=True)
    with pytest.raises(NotImplementedError, match="\"clamp_cpu\" not implemented for 'Bool'"):
        tt.clamp(T([True]), T([False]), T([True]))


@pytest.mark.parametrize("device", DEVICES)
def test_lerp(device):
    a, b = T([1.0, 2.0], device=device), T([3.0, 6.0], device=device)
    assert values(tt.lerp(a, b, 0.5)) == [2.0, 4.0]
    assert values(tt.lerp(a, b, 2.5)) == [6.0, 12.0]
    assert values(a.lerp(b, T([0.0, 1.0], device=device))) == [1.0, 6.0]  # exact at both ends
    assert values(tt.lerp(T([1.0], device=device), T([1.0, 2.0], device=device), 0.5)) == [1.0, 1.5]
    h = tt.lerp(T([1.0], dtype=tt.float16, device=device), T([3.0], dtype=tt.float16, device=device), 0.5)
    assert h.dtype is tt.float16 and values(h) == [2.0]
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        tt.lerp(T([1.0]), T([1.0], dtype=tt.float64), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `weight` but got dtype long int"):
        tt.lerp(T([1.0]), T([1.0]), T([1]))
    with pytest.raises(NotImplementedError, match="\"lerp_kernel_scalar\" not implemented for 'Long'"):
        tt.lerp(T([1]), T([2]), 0.5)
    with pytest.raises(TypeError):
        tt.lerp(T([1.0]), 3.0, 0.5)


@pytest.mark.parametrize("device", DEVICES)
def test_addcmul_addcdiv(device):
    x, a, b = T([1.0, 2.0], device=device), T([2.0, 3.0], device=device), T([4.0], device=device)
    assert values(tt.addcmul(x, a, b)) == [9.0, 14.0]
    assert values(x.addcmul(a, b, value=-0.5)) == [-3.0, -4.0]
    assert values(tt.addcdiv(x, a, b, value=2)) == [2.0, 3.5]
    i = T([1], device=device)
    assert values(tt.addcmul(i, T([2], device=device), T([3], device=device), value=2.5)) == [13]  # value -> 2
    u8 = T([1], dtype=tt.uint8, device=device)
    assert values(tt.addcmul(u8, T([2], dtype=tt.uint8, device=device), T([3], dtype=tt.uint8, device=device),
                             value=-1)) == [251]
    assert values(tt.addcdiv(T([1], dtype=tt.int32, device=device), a, b)) == [1.5, 1.75]
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        tt.addcdiv(x, T([2], device=device), T([3], device=device))
    with pytest.raises(NotImplementedError, match="\"addcmul_cpu_out\" not implemented for 'Bool'"):
        tt.addcmul(T([True]), T([True]), T([True]))
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without overflow"):
        tt.addcmul(T([1], dtype=tt.int8), T([1], dtype=tt.int8), T([1], dtype=tt.int8), value=300)


# ================================================================================ PyTorch as the oracle

def _oracle_cases():
    """(label, fn(module, make) -> tensor): value checks against PyTorch itself, on every device."""
    return [
        ("remainder", lambda m, mk: m.remainder(mk([-7.5, 7.5, -3.0, 2.0]), mk([2.0, -2.0, 1.5, -0.75]))),
        ("fmod", lambda m, mk: m.fmod(mk([-7.5, 7.5, -3.0, 2.0]), mk([2.0, -2.0, 1.5, -0.75]))),
        ("floor", lambda m, mk: m.div(mk([-7, 7, -8, 9]), mk([2, -2, 3, 3]), rounding_mode="floor")),
        ("trunc", lambda m, mk: m.div(mk([-7.5, 7.5, -8.0, 9.0]), mk([2.0, -2.0, 3.0, 3.0]), rounding_mode="trunc")),
        ("int-pow", lambda m, mk: m.pow(mk([-3, -1, 2, 0, 1]), mk([3, -3, -2, 0, -7]))),
        ("shift", lambda m, mk: m.bitwise_right_shift(mk([-100, 100, 7, -1]), mk([2, 70, -1, 63]))),
        ("lerp", lambda m, mk: m.lerp(mk([0.0, 1.0, -2.0]), mk([10.0, -1.0, 4.0]), mk([0.25, 0.75, 1.5]))),
        ("addcdiv", lambda m, mk: m.addcdiv(mk([1.0, 2.0]), mk([1.0, 3.0]), mk([3.0, 7.0]), value=0.3)),
        ("clamp", lambda m, mk: m.clamp(mk([-1.0, 0.5, 2.0, float("nan")]), -0.5, 1.0)),
        ("atan2", lambda m, mk: m.atan2(mk([1.0, -1.0, 0.0, -0.0]), mk([-1.0, -1.0, -1.0, -1.0]))),
        ("hypot", lambda m, mk: m.hypot(mk([3.0, 1e30, 0.0]), mk([4.0, 1e30, -0.0]))),
        ("copysign", lambda m, mk: m.copysign(mk([1.0, -2.0, 3.0]), mk([-0.0, 1.0, -1.0]))),
    ]


@pytest.mark.parametrize("device", DEVICES)
def test_values_match_pytorch(device):
    if TORCH is None:  # the expected values above already pin PyTorch's conventions
        return
    for label, fn in _oracle_cases():
        got = fn(tt, lambda v: tt.tensor(v, device=device))
        expected = fn(TORCH, TORCH.tensor)
        assert got.dtype.name == str(expected.dtype).removeprefix("torch."), label
        assert_close(got, expected.numpy(), rtol=1e-6, atol=1e-6, msg=label)


@pytest.mark.parametrize("device", DEVICES)
def test_operands_laid_out_as_the_output_and_others_mix(device):
    # the cuda launcher takes a flat path when every operand is laid out as the fresh output; one operand that is
    # not (a transposed view, a broadcast row, an offset view) must send the whole launch through the strided path
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal((5, 6)).astype(np.float32)
    row = rng.standard_normal((5,)).astype(np.float32)
    big = rng.standard_normal((7, 5)).astype(np.float32)
    ta, tb, trow, tbig = (tt.tensor(x, device=device) for x in (a, b, row, big))
    assert_close(ta + tb.T, tt.tensor(a + b.T), rtol=0, atol=0)
    assert_close(tb.T + ta, tt.tensor(b.T + a), rtol=0, atol=0)
    assert_close(ta * trow, tt.tensor(a * row), rtol=0, atol=0)
    assert_close(tbig[1:] - ta, tt.tensor(big[1:] - a), rtol=0, atol=0)
    assert_close(tt.where(ta > 0, tb.T, ta), tt.tensor(np.where(a > 0, b.T, a)), rtol=0, atol=0)


def test_float_powers_by_common_exponents_take_pytorchs_forms(monkeypatch):
    """pow by 2, 3, -1, -2, -0.5 is PyTorch's cpu result bit for bit (x * x * x, 1 / (x * x), ...), by 0.5 the
    correctly rounded sqrt; NumPy's powf is not called for them (it costs ~50 ns an element)."""
    torch = pytest.importorskip("torch")
    from tritorch.ops import binary
    x = np.random.default_rng(0).standard_normal(4099).astype(np.float32)
    calls = []
    real_power = np.power
    monkeypatch.setattr(binary.np, "power", lambda *a, **k: calls.append(1) or real_power(*a, **k))
    for dtype in (np.float32, np.float64):
        v = x.astype(dtype)
        for e in (2.0, 3.0, -1.0, -2.0, -0.5, 3, 2):
            zero_d = tt.tensor(e, dtype=tt.float64)
            for got in (tt.pow(tt.tensor(v), e), tt.tensor(v) ** e, tt.pow(tt.tensor(v), zero_d)):
                np.testing.assert_array_equal(got.numpy(), torch.pow(torch.tensor(v), e).numpy())
        np.testing.assert_array_equal(tt.pow(tt.tensor(v), 0.5).numpy(), np.sqrt(v))
    assert not calls


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "cpu"])
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64, tt.float16])
def test_float_powers_by_common_exponents_equal_across_devices(device, dtype):
    """The cuda side launches the same forms (x * x * x, ...), so its powers by these exponents equal the cpu's
    bit for bit (1 / x and sqrt up to the GPU's own division and root, which the interpreter runs exactly)."""
    x = tt.tensor(np.random.default_rng(1).standard_normal(1000), dtype=dtype)
    for e in (2.0, 3.0, -2.0, 3, 2, -1.0, 0.5, -0.5):
        np.testing.assert_array_equal(tt.pow(x.to(device), e).cpu().numpy(), tt.pow(x, e).numpy())


def test_two_python_numbers():
    # add/sub/mul/div (and their aliases) take two numbers, as PyTorch's: Longformer computes
    # torch.div(seq_len, window_overlap, rounding_mode="trunc") with ints
    cases = {"div_trunc": (lambda m: m.div(7, 2, rounding_mode="trunc"), 3, "int64"),
             "div": (lambda m: m.div(7, 2), 3.5, "float32"),
             "true_divide": (lambda m: m.true_divide(7, 2), 3.5, "float32"),
             "floor_divide": (lambda m: m.floor_divide(7, 2), 3, "int64"),
             "add": (lambda m: m.add(2, 3, alpha=2), 8, "int64"),
             "sub": (lambda m: m.subtract(5, 3), 2, "int64"), "mul": (lambda m: m.multiply(2, 3.0), 6.0, "float32"),
             "add_bool": (lambda m: m.add(True, True), True, "bool"),
             "div_floor_float": (lambda m: m.div(7.0, 2, rounding_mode="floor"), 3.0, "float32")}
    for name, (f, value, dtype) in cases.items():
        r = f(tt)
        assert isinstance(r, tt.Tensor) and r.ndim == 0 and r.item() == value, name
        assert str(r.dtype) == f"tritorch.{dtype}", name
        if TORCH is not None:
            t = f(TORCH)
            assert t.item() == value and str(t.dtype) == f"torch.{dtype}", name
    with pytest.raises(TypeError, match="must be Tensor"):
        tt.maximum(2, 3)   # (PyTorch refuses two numbers here too)


@pytest.mark.parametrize("device", DEVICES)
def test_remainder_zero_keeps_the_dividend_sign_for_transposed_operands(device):
    # a zero remainder is -0.0 for a negative dividend (PyTorch's); the cpu fix-up wrote through r.reshape(-1), a
    # copy when the result is F-ordered (transposed operands), and lost it
    x = tt.tensor([[-2.0, 4.0], [-6.0, 3.0]], device=device).T
    r = tt.remainder(x, tt.tensor(2.0, device=device))
    assert np.signbit(r.cpu().numpy()).tolist() == [[True, True], [False, False]]
    assert r.tolist() == [[0.0, 0.0], [0.0, 1.0]]
