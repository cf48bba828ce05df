"""Data types and PyTorch's type-promotion rules.

A `dtype` pairs the NumPy dtype that stores it (ml_dtypes supplies bfloat16 on the CPU) with what the
promotion rules need to know: its kind (bool < integer < floating < complex) and its size. Triton kernels see
the same NumPy dtype on the cuda storage, whose `str()` Triton maps to its pointer types; Triton has no complex
types, so kernels see a complex array as its (re, im) float pairs (ops/complex.py).

Complex dtypes are not in ALL (the dtypes an op accepts unless it says otherwise): an op takes complex tensors only
where its declaration lists COMPLEX, and the registry refuses them for every other op before its infer runs.
"""
from __future__ import annotations

import builtins as _b

import ml_dtypes
import numpy as np

from ._state import FLAGS as _FLAGS

BOOL, INT, FLOAT, COMPLEX = 0, 1, 2, 3

# The package name printed reprs use (dtypes, Size, return types, legacy type strings): "torch" once
# tritorch.alias_torch() has made tritorch `torch`, so a script's str(x.dtype) == "torch.float32" holds as under
# PyTorch.
PUBLIC_NAME = ["tritorch"]


class dtype:
    __slots__ = ("name", "np", "itemsize", "kind", "is_signed", "__weakref__")

    def __init__(self, name: str, np_dtype, kind: int, is_signed: bool):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.kind = kind
        self.is_signed = is_signed

    @property
    def is_floating_point(self) -> bool:
        return self.kind == FLOAT

    @property
    def is_complex(self) -> bool:
        return self.kind == COMPLEX

    def to_real(self) -> "dtype":
        """torch.dtype.to_real: the dtype of a complex dtype's parts (other dtypes: themselves)."""
        return _REAL_OF.get(self, self)

    def to_complex(self) -> "dtype":
        """torch.dtype.to_complex: the complex dtype with parts of this floating dtype (complex dtypes: themselves)."""
        if self.kind == COMPLEX:
            return self
        try:
            return _COMPLEX_OF[self]
        except KeyError:
            raise RuntimeError(f"Unsupported dtype {self} for to_complex") from None

    def __repr__(self) -> str:
        return f"{PUBLIC_NAME[0]}.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, BOOL, False)
uint8 = dtype("uint8", np.uint8, INT, False)
int8 = dtype("int8", np.int8, INT, True)
int16 = dtype("int16", np.int16, INT, True)
int32 = dtype("int32", np.int32, INT, True)
int64 = dtype("int64", np.int64, INT, True)
float16 = dtype("float16", np.float16, FLOAT, True)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, FLOAT, True)
float32 = dtype("float32", np.float32, FLOAT, True)
float64 = dtype("float64", np.float64, FLOAT, True)
complex64 = dtype("complex64", np.complex64, COMPLEX, True)
complex128 = dtype("complex128", np.complex128, COMPLEX, True)
# PyTorch's dtypes of limited support: they name storage formats (safetensors' U16/U32/U64, F8_E4M3, ...) and have
# finfo/iinfo, but no op in ALL takes them (nor does torch's CPU arithmetic, mostly).
uint16 = dtype("uint16", np.uint16, INT, False)
uint32 = dtype("uint32", np.uint32, INT, False)
uint64 = dtype("uint64", np.uint64, INT, False)
float8_e4m3fn = dtype("float8_e4m3fn", ml_dtypes.float8_e4m3fn, FLOAT, True)
float8_e5m2 = dtype("float8_e5m2", ml_dtypes.float8_e5m2, FLOAT, True)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz, FLOAT, True)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz, FLOAT, True)
float8_e8m0fnu = dtype("float8_e8m0fnu", ml_dtypes.float8_e8m0fnu, FLOAT, False)
float4_e2m1fn_x2 = dtype("float4_e2m1fn_x2", np.uint8, FLOAT, True)   # two 4-bit floats packed in a byte
LIMITED = (uint16, uint32, uint64, float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu,
           float4_e2m1fn_x2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
FLOATS = (float16, bfloat16, float32, float64)
INTS = (uint8, int8, int16, int32, int64)
COMPLEX_DTYPES = (complex64, complex128)
# complex64 stands in for float16/bfloat16 parts too: tritorch has no complex32 (PyTorch's ComplexHalf)
_COMPLEX_OF = {float16: complex64, bfloat16: complex64, float32: complex64, float64: complex128}
_REAL_OF = {complex64: float32, complex128: float64}

# PyTorch's aliases.
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64  # noqa: A001 - these mirror torch's names
cfloat, cdouble = complex64, complex128

_BY_NAME = {d.name: d for d in ALL + COMPLEX_DTYPES + LIMITED}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64, cfloat=complex64,
                cdouble=complex128)
_FROM_NP = {d.np: d for d in ALL + COMPLEX_DTYPES}


class ComplexOperand(TypeError):
    """Raised by an infer rule that meets a Python complex number before the program used any complex dtype: the
    registry then calls the op again, and with complex numbers now in use it goes to the op's complex form."""


def _complex_in_use() -> None:
    """Raise the process flag that turns on the registry's complex check (ops/registry.py): set where a complex
    dtype is first named or a complex tensor first made, so that a program without complex numbers never pays for
    the check."""
    _FLAGS.complex = True


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The tritorch dtype stored as `np_dtype`; raises TypeError for one tritorch has not."""
    try:
        d = _FROM_NP[np_dtype]
    except (KeyError, TypeError):
        d = np.dtype(np_dtype)
        d = _FROM_NP.get(d, d)
    if d.__class__ is dtype:
        if d.kind == COMPLEX:
            _complex_in_use()
        return d
    if d == np.uint16 or d == np.uint32 or d == np.uint64:
        raise TypeError(f"can't convert np.ndarray of type numpy.{d}. The only supported types are: "
                        "float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and bool.")
    raise TypeError(f"tritorch has no dtype for numpy {d}")


def as_dtype(d) -> dtype:
    """Accept a tritorch dtype, a NumPy dtype, a Python type or a name; return the tritorch dtype."""
    if d.__class__ is dtype:
        if d.kind == COMPLEX:
            _complex_in_use()
        return d
    if isinstance(d, str):
        try:
            return as_dtype(_BY_NAME[d.removeprefix("torch.").removeprefix("tritorch.")])
        except KeyError:
            raise TypeError(f"unknown dtype {d!r}") from None
    if d is _b.float:
        return _default_float
    if d is _b.int:
        return int64
    if d is _b.bool:
        return bool_
    if d is _b.complex:
        return as_dtype(_default_float.to_complex())
    return from_numpy_dtype(d)


# ---------------------------------------------------------------------------------------------- promotion

def _promote_pair(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a.kind == COMPLEX or b.kind == COMPLEX:
        # complex wins; its parts are at least as wide as a floating operand's (complex64 + float64: complex128)
        c, other = (a, b) if a.kind == COMPLEX else (b, a)
        if other.kind == COMPLEX or other.kind == FLOAT:
            return complex128 if complex128 in (c, other) or other is float64 else complex64
        return c
    if a.kind != b.kind:
        return a if a.kind > b.kind else b  # bool < int < float: the higher kind wins whole
    if a.kind == FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    # integers: unsigned uint8 against a signed type needs a signed type wider than one byte
    if a.is_signed == b.is_signed:
        return a if a.itemsize > b.itemsize else b
    signed = a if a.is_signed else b
    return signed if signed.itemsize > 1 else int16


class _Promotions(dict):
    """(a, b) -> promoted dtype. The limited unsigned dtypes promote only with themselves and floating dtypes; any
    other pair is PyTorch's error."""

    def __missing__(self, key):
        a, b = key
        if a.__class__ is dtype and b.__class__ is dtype and {a, b} & _LIMITED:
            if a is b:
                return a
            if a.kind == FLOAT or b.kind == FLOAT:
                return a if a.kind == FLOAT else b
            from .ops.registry import _type_name
            raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
                               f"{_type_name(a)} and {_type_name(b)}")
        raise KeyError(key)


_LIMITED = {uint16, uint32, uint64}
_PROMOTE = _Promotions({(a, b): _promote_pair(a, b) for a in ALL + COMPLEX_DTYPES for b in ALL + COMPLEX_DTYPES})


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype that both `a` and `b` convert to without losing kind (torch.promote_types)."""
    return _PROMOTE[as_dtype(a), as_dtype(b)]


def _combine(higher, lower):
    # PyTorch's combine_categories: a lower-priority operand (0-dim tensor, Python scalar) changes the
    # result only when it is of a higher kind than the higher-priority ones.
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.kind == COMPLEX:
        return higher
    if lower.kind == COMPLEX:
        # a complex scalar keeps a floating operand's width (float64 * 1j: complex128); over integers it wins whole
        return higher.to_complex() if higher.kind == FLOAT else lower
    if higher.kind == FLOAT:
        return higher
    if higher is bool_ or lower.kind == FLOAT:
        return _PROMOTE[higher, lower]
    return higher


_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d) -> None:
    global _default_float
    d = as_dtype(d)
    if d.kind != FLOAT:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d
    _RESULT_CACHE.clear()
    for cache in DEFAULT_DTYPE_CACHES:
        cache.clear()


def scalar_dtype(value) -> dtype:
    """The dtype a Python scalar takes when wrapped alone (torch.tensor(value).dtype)."""
    if value.__class__ is bool or isinstance(value, np.bool_):
        return bool_
    if isinstance(value, (_b.int, np.integer)):
        return int64
    if isinstance(value, (_b.complex, np.complexfloating)):
        return as_dtype(_default_float.to_complex())
    return _default_float


_RESULT_CACHE: dict = {}
# Caches elsewhere whose entries depend on the default dtype register here; set_default_dtype clears them.
DEFAULT_DTYPE_CACHES: list = []


def result_type_of(dim_dtype, zero_dtype, scalar_dtype_) -> dtype:
    """Combine the three priority groups (tensors with dims, 0-dim tensors, Python scalars); each may be None."""
    return _combine(dim_dtype, _combine(zero_dtype, scalar_dtype_))


def result_type(*operands) -> dtype:
    """torch.result_type over tensors and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if d.__class__ is dtype:
            if x.ndim:
                dim = d if dim is None else _PROMOTE[dim, d]
            else:
                zero = d if zero is None else _PROMOTE[zero, d]
        elif isinstance(x, dtype):
            dim = x if dim is None else _PROMOTE[dim, x]
        else:
            s = scalar_dtype(x)
            if s.kind == FLOAT:
                s = _default_float
            elif s.kind == COMPLEX:
                s = _default_float.to_complex()
            wrapped = s if wrapped is None else _PROMOTE[wrapped, s]
    return _combine(dim, _combine(zero, wrapped))


def binary_result_dtype(a_dtype: dtype, a_zero: bool, b_dtype: dtype, b_zero: bool) -> dtype:
    """result_type for two tensors, cached: this sits on the hot path of every binary op."""
    key = (a_dtype, a_zero, b_dtype, b_zero)
    r = _RESULT_CACHE.get(key)
    if r is None:
        if a_zero == b_zero:
            r = _PROMOTE[a_dtype, b_dtype]
        elif a_zero:
            r = _combine(b_dtype, a_dtype)
        else:
            r = _combine(a_dtype, b_dtype)
        _RESULT_CACHE[key] = r
    return r


def tensor_scalar_result_dtype(t_dtype: dtype, value) -> dtype:
    """result_type(tensor, python_scalar)."""
    cls = value.__class__
    if cls is _b.float:
        return t_dtype if t_dtype.kind >= FLOAT else _default_float
    if cls is bool:
        return t_dtype
    if cls is _b.int:
        return t_dtype if t_dtype.kind != BOOL else int64
    s = scalar_dtype(value)
    if s.kind == FLOAT:
        s = _default_float
    elif s.kind == COMPLEX:
        s = _default_float.to_complex()
    return _combine(t_dtype, s)


def finfo_eps(d: dtype) -> float:
    return _b.float(ml_dtypes.finfo(d.np).eps)


class finfo:
    """torch.finfo: machine limits of a floating dtype."""

    def __init__(self, d=None):
        d = _default_float if d is None else as_dtype(d).to_real()  # a complex dtype: its parts' limits
        if d.kind != FLOAT:
            raise TypeError(f"finfo requires a floating point dtype, got {d}")
        fi = ml_dtypes.finfo(d.np)
        f = _b.float
        self.dtype, self.bits = d.name, d.itemsize * 8
        self.eps, self.max, self.min = f(fi.eps), f(fi.max), f(fi.min)
        self.tiny = self.smallest_normal = f(fi.tiny)
        self.resolution = f(f"1e-{fi.precision}")


class iinfo:
    """torch.iinfo: limits of an integer dtype."""

    def __init__(self, d):
        d = as_dtype(d)
        if d.kind >= FLOAT:
            raise TypeError(f"iinfo requires an integer dtype, got {d}")
        ii = np.iinfo(np.uint8 if d is bool_ else d.np)
        self.dtype, self.bits = d.name, d.itemsize * 8
        self.min, self.max = (0, 1) if d is bool_ else (_b.int(ii.min), _b.int(ii.max))
