"""dtypes: PyTorch's promotion table and result_type rules, the default dtype, finfo/iinfo."""
import importlib.util

import numpy as np
import pytest

import tritorch as tt

ALL = [tt.bool, tt.uint8, tt.int8, tt.int16, tt.int32, tt.int64, tt.float16, tt.bfloat16, tt.float32, tt.float64]
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="compares with PyTorch, which is not installed")


@pytest.fixture(autouse=True)
def _default_float32():
    yield
    tt.set_default_dtype(tt.float32)


def _torch_dtype(torch, d):
    return getattr(torch, d.name)


# ---------------------------------------------------------------------------------------------- promote_types

# Hand-written: (a, b, promote_types(a, b)). The cases PyTorch users trip over.
PROMOTIONS = [
    (tt.bool, tt.bool, tt.bool), (tt.bool, tt.uint8, tt.uint8), (tt.bool, tt.float16, tt.float16),
    (tt.uint8, tt.int8, tt.int16), (tt.uint8, tt.int16, tt.int16), (tt.uint8, tt.int64, tt.int64),
    (tt.int8, tt.int32, tt.int32), (tt.int32, tt.int64, tt.int64), (tt.int64, tt.float16, tt.float16),
    (tt.int64, tt.bfloat16, tt.bfloat16), (tt.float16, tt.bfloat16, tt.float32), (tt.float16, tt.float32, tt.float32),
    (tt.bfloat16, tt.float64, tt.float64), (tt.uint8, tt.bfloat16, tt.bfloat16), (tt.float32, tt.float64, tt.float64),
]


@pytest.mark.parametrize("a,b,expected", PROMOTIONS, ids=lambda d: getattr(d, "name", str(d)))


def test_promote_types_table(a, b, expected):
    assert tt.promote_types(a, b) is expected
    assert tt.promote_types(b, a) is expected  # symmetric


def test_promote_types_accepts_names():
    assert tt.promote_types("float16", tt.bfloat16) is tt.float32
    assert tt.promote_types(np.int32, np.float32) is tt.float32


@needs_torch


def test_promote_types_matches_pytorch_for_every_pair():
    import torch
    for a in ALL:
        for b in ALL:
            expected = torch.promote_types(_torch_dtype(torch, a), _torch_dtype(torch, b))
            assert tt.promote_types(a, b).name == str(expected).removeprefix("torch."), (a, b)


# ------------------------------------------------------------------------------------------------ result_type

def _dim(d):
    return tt.zeros(2, dtype=d)


def _zero_dim(d):
    return tt.zeros((), dtype=d)


# (operands, expected): dimensioned tensors outrank 0-dim tensors, which outrank Python scalars, unless the
# lower group is of a higher kind (bool < integer < float).
RESULT_TYPES = [
    ((_dim(tt.int8), 300), tt.int8),                          # an int scalar never widens an int tensor
    ((_dim(tt.int8), 2.5), tt.float32),                       # a float scalar gives the default float
    ((_dim(tt.float16), 2.5), tt.float16),
    ((_dim(tt.bool), 2), tt.int64),
    ((_dim(tt.bool), True), tt.bool),
    ((_dim(tt.uint8), True), tt.uint8),
    ((_dim(tt.int8), _zero_dim(tt.int64)), tt.int8),           # 0-dim tensor of the same kind: ignored
    ((_dim(tt.int8), _zero_dim(tt.float64)), tt.float64),      # 0-dim tensor of a higher kind: its dtype
    ((_dim(tt.float16), _zero_dim(tt.float64)), tt.float16),
    ((_zero_dim(tt.int8), _zero_dim(tt.int32)), tt.int32),     # among 0-dim tensors: ordinary promotion
    ((_zero_dim(tt.int8), 2.5), tt.float32),
    ((_zero_dim(tt.float64), 2), tt.float64),
    ((_zero_dim(tt.bool), 2), tt.int64),
    ((_dim(tt.int32), _dim(tt.float16)), tt.float16),
    ((2, 3), tt.int64),
    ((2, 3.0), tt.float32),
    ((True, False), tt.bool),
]


@pytest.mark.parametrize("operands,expected", RESULT_TYPES, ids=[str(i) for i in range(len(RESULT_TYPES))])


def test_result_type_table(operands, expected):
    assert tt.result_type(*operands) is expected


@needs_torch


def test_result_type_matches_pytorch():
    import torch
    scalars = [True, 2, 2.5]
    for a in ALL:
        ta = _torch_dtype(torch, a)
        for shape in [(2,), ()]:
            x, tx = tt.zeros(shape, dtype=a), torch.zeros(shape, dtype=ta)
            for s in scalars:
                assert tt.result_type(x, s).name == str(torch.result_type(tx, s)).removeprefix("torch."), (a, shape, s)
            for b in ALL:
                tb = _torch_dtype(torch, b)
                for shape_b in [(2,), ()]:
                    y, ty = tt.zeros(shape_b, dtype=b), torch.zeros(shape_b, dtype=tb)
                    expected = str(torch.result_type(tx, ty)).removeprefix("torch.")
                    assert tt.result_type(x, y).name == expected, (a, shape, b, shape_b)


def test_result_type_follows_the_default_dtype():
    tt.set_default_dtype(tt.float64)
    assert tt.result_type(_dim(tt.int32), 2.5) is tt.float64
    assert tt.result_type(_dim(tt.float16), 2.5) is tt.float16
    assert tt.result_type(1, 2.0) is tt.float64


# --------------------------------------------------------------------------------------------- default dtype

def test_default_dtype_get_set():
    assert tt.get_default_dtype() is tt.float32
    for d in (tt.float64, tt.float16, tt.bfloat16, tt.float32):
        tt.set_default_dtype(d)
        assert tt.get_default_dtype() is d
        assert tt.tensor([1.5]).dtype is d
        assert tt.zeros(2).dtype is d
        assert tt.arange(0.0, 1.0).dtype is d
    tt.set_default_dtype(tt.float64)
    assert tt.tensor([1, 2]).dtype is tt.int64  # integers are unaffected
    assert tt.tensor(np.array([1.0], np.float32)).dtype is tt.float32  # NumPy data keeps its dtype


def test_set_default_dtype_rejects_non_floats():
    for d in (tt.int64, tt.int32, tt.bool):
        with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
            tt.set_default_dtype(d)
    assert tt.get_default_dtype() is tt.float32


# ------------------------------------------------------------------------------------------------ finfo / iinfo

FINFO = {  # dtype: (bits, eps, max, tiny, resolution), PyTorch's values
    tt.float16: (16, 0.0009765625, 65504.0, 6.103515625e-05, 0.001),
    tt.bfloat16: (16, 0.0078125, 3.3895313892515355e38, 1.1754943508222875e-38, 0.01),
    tt.float32: (32, 1.1920928955078125e-07, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-06),
    tt.float64: (64, 2.220446049250313e-16, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-15),
}


@pytest.mark.parametrize("d", list(FINFO), ids=lambda d: d.name)


def test_finfo(d):
    bits, eps, mx, tiny, resolution = FINFO[d]
    fi = tt.finfo(d)
    assert (fi.bits, fi.eps, fi.max, fi.min, fi.tiny, fi.smallest_normal) == (bits, eps, mx, -mx, tiny, tiny)
    assert fi.resolution == resolution
    assert fi.dtype == d.name


def test_finfo_default_and_errors():
    assert tt.finfo().dtype == "float32"
    tt.set_default_dtype(tt.float64)
    assert tt.finfo().dtype == "float64"
    with pytest.raises(TypeError):
        tt.finfo(tt.int32)
    with pytest.raises(TypeError):
        tt.iinfo(tt.float32)


@pytest.mark.parametrize("d,lo,hi", [(tt.uint8, 0, 255), (tt.int8, -128, 127), (tt.int16, -32768, 32767),
                                     (tt.int32, -2 ** 31, 2 ** 31 - 1), (tt.int64, -2 ** 63, 2 ** 63 - 1)],
                         ids=lambda v: getattr(v, "name", str(v)))


def test_iinfo(d, lo, hi):
    ii = tt.iinfo(d)
    assert (ii.min, ii.max, ii.bits, ii.dtype) == (lo, hi, d.itemsize * 8, d.name)


@needs_torch


def test_finfo_iinfo_match_pytorch():
    import torch
    for d in FINFO:
        fi, tf = tt.finfo(d), torch.finfo(_torch_dtype(torch, d))
        for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(fi, k) == getattr(tf, k), (d, k)
    for d in (tt.uint8, tt.int8, tt.int16, tt.int32, tt.int64):
        ii, ti = tt.iinfo(d), torch.iinfo(_torch_dtype(torch, d))
        assert (ii.min, ii.max, ii.bits, ii.dtype) == (ti.min, ti.max, ti.bits, ti.dtype)


# ----------------------------------------------------------------------------------------------- dtype objects

def test_dtype_objects_and_aliases():
    assert tt.float is tt.float32 and tt.double is tt.float64 and tt.half is tt.float16
    assert tt.long is tt.int64 and tt.int is tt.int32 and tt.short is tt.int16
    assert repr(tt.float32) == "tritorch.float32"
    assert tt.float32.is_floating_point and not tt.int32.is_floating_point and not tt.float32.is_complex
    assert tt.int8.is_signed and not tt.uint8.is_signed
    assert [d.itemsize for d in ALL] == [1, 1, 1, 2, 4, 8, 2, 2, 4, 8]
    import pickle
    assert pickle.loads(pickle.dumps(tt.bfloat16)) is tt.bfloat16


LIMITED = ["uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
           "float8_e8m0fnu", "float4_e2m1fn_x2"]


@pytest.mark.parametrize("name", LIMITED)


def test_limited_support_dtypes_exist_with_torch_properties(name):
    # transformers maps safetensors' U16/U32/U64/F8_* to these at import time
    d = getattr(tt, name)
    assert repr(d) == f"tritorch.{name}" and tt.dtypes.as_dtype(name) is d
    import pickle
    assert pickle.loads(pickle.dumps(d)) is d
    expected = {"uint16": (False, False, 2), "uint32": (False, False, 4), "uint64": (False, False, 8),
                "float8_e8m0fnu": (True, False, 1)}.get(name, (True, True, 1))
    assert (d.is_floating_point, d.is_signed, d.itemsize) == expected


def test_limited_support_dtypes_limits():
    assert tt.finfo(tt.float8_e4m3fn).max == 448.0 and tt.finfo(tt.float8_e5m2).max == 57344.0
    assert tt.finfo(tt.float8_e4m3fnuz).max == 240.0 and tt.finfo(tt.float8_e4m3fn).eps == 0.125
    assert tt.iinfo(tt.uint16).max == 65535 and tt.iinfo(tt.uint32).max == 2 ** 32 - 1
    assert tt.iinfo(tt.uint64).max == 2 ** 64 - 1 and tt.iinfo(tt.uint64).min == 0


@needs_torch


def test_limited_support_dtypes_match_torch():
    import torch
    for name in LIMITED:
        d, t = getattr(tt, name), getattr(torch, name)
        assert (d.is_floating_point, d.is_signed, d.itemsize) == (t.is_floating_point, t.is_signed, t.itemsize), name
        if d.is_floating_point and name != "float4_e2m1fn_x2":
            assert tt.finfo(d).max == torch.finfo(t).max, name
            if name != "float8_e5m2fnuz":   # torch says 0.125 for it; with 2 mantissa bits it is 0.25 (ml_dtypes)
                assert tt.finfo(d).eps == torch.finfo(t).eps, name


def test_limited_unsigned_dtypes():
    # torchvision compares image dtypes with torch.uint16; PyTorch promotes these only with themselves and floats
    assert str(tt.uint16) == "tritorch.uint16" and not tt.uint32.is_signed and tt.iinfo(tt.uint64).max == 2 ** 64 - 1
    assert tt.uint16 != tt.uint8 and tt.promote_types(tt.uint16, tt.uint16) is tt.uint16
    assert tt.promote_types(tt.uint32, tt.float16) is tt.float16
    assert tt.promote_types(tt.float64, tt.uint16) is tt.float64
    with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64 types is not supported, attempted to "
                                           "promote UInt16 and Int"):
        tt.promote_types(tt.uint16, tt.int32)
    with pytest.raises(RuntimeError, match="promote UInt32 and UInt16"):
        tt.promote_types(tt.uint32, tt.uint16)
    a = tt.tensor([1, 2], dtype=tt.uint16)
    assert (a + tt.ones(2)).dtype is tt.float32 and a.float().tolist() == [1.0, 2.0]
    import pickle
    assert pickle.loads(pickle.dumps(tt.uint64)) is tt.uint64
