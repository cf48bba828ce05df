"""PyTorch's type promotion: promote_types, result_type over tensors / 0-dim tensors / Python scalars, and the result
dtypes of the binary and ternary ops built on it.

Every case is checked against the tables below (PyTorch 2.x's rules, written out), and also against PyTorch itself
when torch is installed."""
import importlib.util

import pytest

import tritorch as tt
from tritorch.testing import devices

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
SHORT = {"b1": "bool", "u8": "uint8", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64", "f16": "float16",
         "bf16": "bfloat16", "f32": "float32", "f64": "float64"}

# promote_types(row, column): also the result of two tensors with dims, or of two 0-dim tensors.
PROMOTE = """
bool        b1   u8   i8  i16  i32  i64  f16 bf16  f32  f64
uint8       u8   u8  i16  i16  i32  i64  f16 bf16  f32  f64
int8        i8  i16   i8  i16  i32  i64  f16 bf16  f32  f64
int16      i16  i16  i16  i16  i32  i64  f16 bf16  f32  f64
int32      i32  i32  i32  i32  i32  i64  f16 bf16  f32  f64
int64      i64  i64  i64  i64  i64  i64  f16 bf16  f32  f64
float16    f16  f16  f16  f16  f16  f16  f16  f32  f32  f64
bfloat16  bf16 bf16 bf16 bf16 bf16 bf16  f32 bf16  f32  f64
float32    f32  f32  f32  f32  f32  f32  f32  f32  f32  f64
float64    f64  f64  f64  f64  f64  f64  f64  f64  f64  f64
"""

# result_type(tensor with dims of the row dtype, 0-dim tensor of the column dtype): the 0-dim tensor only counts
# when it is of a higher kind (bool < integer < float), and then its own dtype joins the promotion.
DIM_ZERO = """
bool        b1   u8   i8  i16  i32  i64  f16 bf16  f32  f64
uint8       u8   u8   u8   u8   u8   u8  f16 bf16  f32  f64
int8        i8   i8   i8   i8   i8   i8  f16 bf16  f32  f64
int16      i16  i16  i16  i16  i16  i16  f16 bf16  f32  f64
int32      i32  i32  i32  i32  i32  i32  f16 bf16  f32  f64
int64      i64  i64  i64  i64  i64  i64  f16 bf16  f32  f64
float16    f16  f16  f16  f16  f16  f16  f16  f16  f16  f16
bfloat16  bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16
float32    f32  f32  f32  f32  f32  f32  f32  f32  f32  f32
float64    f64  f64  f64  f64  f64  f64  f64  f64  f64  f64
"""

# result_type(tensor of the row dtype, Python scalar True / 2 / 2.5): a scalar joins only with a higher kind, as
# int64 (ints) or the default float dtype (floats).
SCALARS = (True, 2, 2.5)
TENSOR_SCALAR = """
bool        b1  i64  f32
uint8       u8   u8  f32
int8        i8   i8  f32
int16      i16  i16  f32
int32      i32  i32  f32
int64      i64  i64  f32
float16    f16  f16  f16
bfloat16  bf16 bf16 bf16
float32    f32  f32  f32
float64    f64  f64  f64
"""


def _table(text):
    rows = {}
    for line in text.strip().splitlines():
        name, *cells = line.split()
        rows[name] = [SHORT[c] for c in cells]
    return rows


def _torch():
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    return torch


TORCH = _torch()


def _dt(name):
    return getattr(tt, name) if name != "bool" else tt.bool


def _tensor(name, shape, device="cpu"):
    return tt.ones(*shape, dtype=_dt(name), device=device) if shape else tt.ones((), dtype=_dt(name), device=device)


def _torch_dtype(name):
    return getattr(TORCH, name)


@pytest.mark.parametrize("a", NAMES)
def test_promote_types(a):
    table = _table(PROMOTE)
    for b, expected in zip(NAMES, table[a]):
        assert tt.promote_types(_dt(a), _dt(b)).name == expected, (a, b)
        if TORCH is not None:
            assert str(TORCH.promote_types(_torch_dtype(a), _torch_dtype(b))) == "torch." + expected


@pytest.mark.parametrize("a", NAMES)
def test_tensors_with_dims_and_0dim(a):
    promote, dim_zero = _table(PROMOTE), _table(DIM_ZERO)
    for b, both_dims, one_zero, both_zero in zip(NAMES, promote[a], dim_zero[a], promote[a]):
        cases = [((2,), (3, 2), both_dims), ((2,), (), one_zero), ((), (2,), None), ((), (), both_zero)]
        for sa, sb, expected in cases:
            x, y = _tensor(a, sa), _tensor(b, sb)
            got = tt.result_type(x, y).name
            if expected is None:  # 0-dim first: the mirror of the DIM_ZERO entry for (b, a)
                expected = dim_zero[b][NAMES.index(a)]
            assert got == expected, (a, sa, b, sb)
            assert tt.add(x, y).dtype.name == expected, (a, sa, b, sb)
            if TORCH is not None:
                tx, ty = TORCH.ones(sa, dtype=_torch_dtype(a)), TORCH.ones(sb, dtype=_torch_dtype(b))
                assert str(TORCH.result_type(tx, ty)) == "torch." + got, (a, sa, b, sb)


@pytest.mark.parametrize("a", NAMES)
def test_tensor_and_python_scalars(a):
    expected_row = _table(TENSOR_SCALAR)[a]
    for shape in [(3,), ()]:
        x = _tensor(a, shape)
        for s, expected in zip(SCALARS, expected_row):
            assert tt.result_type(x, s).name == expected, (a, shape, s)
            assert tt.mul(x, s).dtype.name == expected
            assert tt.mul(s, x).dtype.name == expected
            assert (x * s).dtype.name == expected and (s * x).dtype.name == expected
            if TORCH is not None:
                assert str(TORCH.result_type(TORCH.ones(shape, dtype=_torch_dtype(a)), s)) == "torch." + expected


def _op_cases():
    """(name, fn(x, y), expected dtype from the promoted dtype p, the dtypes the op accepts)"""
    def floaty(p):
        return p if p.startswith(("float", "bfloat")) else "float32"

    numeric = [n for n in NAMES if n != "bool"]
    integral = [n for n in NAMES if not n.startswith(("float", "bfloat"))]
    return [
        ("add", lambda m, x, y: m.add(x, y), lambda p: p, NAMES),
        ("sub", lambda m, x, y: m.sub(x, y), lambda p: p, numeric),
        ("div", lambda m, x, y: m.div(x, y), floaty, NAMES),
        ("floor_divide", lambda m, x, y: m.div(x, y, rounding_mode="floor"), lambda p: p, numeric),
        ("remainder", lambda m, x, y: m.remainder(x, y), lambda p: p, numeric),
        ("pow", lambda m, x, y: m.pow(x, y), lambda p: p, numeric),
        ("maximum", lambda m, x, y: m.maximum(x, y), lambda p: p, NAMES),
        ("atan2", lambda m, x, y: m.atan2(x, y), floaty, NAMES),
        ("eq", lambda m, x, y: m.eq(x, y), lambda p: "bool", NAMES),
        ("logical_xor", lambda m, x, y: m.logical_xor(x, y), lambda p: "bool", NAMES),
        ("bitwise_or", lambda m, x, y: m.bitwise_or(x, y), lambda p: p, integral),
        ("where", lambda m, x, y: m.where(x != x, x, y), lambda p: p, NAMES),
        ("clamp", lambda m, x, y: m.clamp(x, min=y), lambda p: p, NAMES),
    ]


@pytest.mark.parametrize("case", _op_cases(), ids=lambda c: c[0])
def test_op_result_dtypes(case):
    name, fn, rule, accepted = case
    promote = _table(PROMOTE)
    for a in NAMES:
        for b in NAMES:
            p = promote[a][NAMES.index(b)]
            if p not in accepted or (name == "sub" and "bool" in (a, b)) or (name == "clamp" and p == "bool"):
                continue
            x, y = _tensor(a, (2,)), _tensor(b, (2,))
            assert fn(tt, x, y).dtype.name == rule(p), (name, a, b)
            if TORCH is not None:
                tx, ty = TORCH.ones(2, dtype=_torch_dtype(a)), TORCH.ones(2, dtype=_torch_dtype(b))
                assert str(fn(TORCH, tx, ty).dtype) == "torch." + rule(p), (name, a, b)


@pytest.mark.parametrize("device", devices())
def test_promotion_is_the_same_on_every_device(device):
    for a, b, sa, sb in [("int8", "uint8", (2,), (2,)), ("int32", "float64", (2,), ()), ("bool", "int8", (), (2,)),
                         ("float16", "bfloat16", (2,), (2,)), ("uint8", "float16", (), ())]:
        x, y = _tensor(a, sa, device), _tensor(b, sb, device)
        assert (x + y).dtype is tt.result_type(_tensor(a, sa), _tensor(b, sb))
        assert (x + y).device == tt.device(device) if device == "cpu" else (x + y).device.type == "cuda"
    x = _tensor("int16", (3,), device)
    assert (x + 2).dtype is tt.int16 and (x + 2.5).dtype is tt.float32 and (x > 1.5).dtype is tt.bool


def test_default_dtype_changes_scalar_and_integer_division_results():
    i = tt.tensor([1, 2, 3])
    assert (i + 2.5).dtype is tt.float32 and (i / i).dtype is tt.float32
    tt.set_default_dtype(tt.float64)
    try:
        # the infer caches key on the default dtype: the same call signature now gives float64
        assert (i + 2.5).dtype is tt.float64
        assert (i / i).dtype is tt.float64
        assert tt.atan2(i, i).dtype is tt.float64
        assert tt.where(i > 1, i, 0.5).dtype is tt.float64
        assert (tt.tensor([1.0], dtype=tt.float32) + 2.5).dtype is tt.float32
    finally:
        tt.set_default_dtype(tt.float32)
    assert (i + 2.5).dtype is tt.float32 and (i / i).dtype is tt.float32


def test_three_operand_promotion():
    i8, u8, f16 = _tensor("int8", (2,)), _tensor("uint8", (2,)), _tensor("float16", ())
    assert tt.where(i8 > 0, i8, u8).dtype is tt.int16
    assert tt.where(i8 > 0, i8, f16).dtype is tt.float16
    assert tt.where(i8 > 0, 1, 2).dtype is tt.int64
    assert tt.where(i8 > 0, 1, 2.5).dtype is tt.float32
    assert tt.where(i8 > 0, True, False).dtype is tt.bool
    assert tt.clamp(i8, min=u8).dtype is tt.int16
    assert tt.clamp(i8, 2.5).dtype is tt.float32
    assert tt.clamp(i8, min=tt.tensor(2)).dtype is tt.int8  # a 0-dim int64 bound does not widen int8
    assert tt.addcmul(i8, u8, i8).dtype is tt.int16
    assert tt.addcmul(_tensor("float64", ()), _tensor("float32", (2,)), _tensor("float32", (2,))).dtype is tt.float32
    assert tt.addcdiv(_tensor("int32", (2,)), _tensor("float32", (2,)), _tensor("float32", (2,))).dtype is tt.float32
