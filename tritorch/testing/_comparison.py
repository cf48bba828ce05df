"""torch.testing.assert_close / assert_allclose for tritorch: PyTorch's signature, defaults, pairing rules and
mismatch messages (torch/testing/_comparison.py), with the values compared on the host in NumPy.

Inputs pair up as PyTorch pairs them: None with None, bools with bools, Python/NumPy numbers with numbers,
tensors with tensors (or NumPy arrays with NumPy arrays), nested sequences and mappings item by item. Anything
else, a Tensor against a NumPy array included, is a TypeError as in PyTorch.
"""
from __future__ import annotations

import cmath
import collections.abc
import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor

# (rtol, atol) per dtype, as torch.testing's _DTYPE_PRECISIONS; every other dtype compares exactly
_DTYPE_PRECISIONS = {
    _dt.float16: (0.001, 1e-5),
    _dt.bfloat16: (0.016, 1e-5),
    _dt.float32: (1.3e-6, 1e-5),
    _dt.float64: (1e-7, 1e-7),
    _dt.complex64: (1.3e-6, 1e-5),
    _dt.complex128: (1e-7, 1e-7),
}
# what Python numbers count as when their tolerances are chosen
_NUMBER_DTYPES = {int: _dt.int64, float: _dt.float64, complex: _dt.complex128}


class _Mismatch(Exception):
    """A failed comparison: the exception type to raise, its message, and the path to the failing item."""

    def __init__(self, kind: type, msg: str, path: tuple = ()):
        super().__init__(msg)
        self.kind, self.msg, self.path = kind, msg, path

    def to_error(self, msg=None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.path:
                generated += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
            msg = msg(generated) if callable(msg) else generated
        return self.kind(msg)


def _tolerances(*dtypes, rtol, atol, path, precisions=_DTYPE_PRECISIONS) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*[precisions.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol) -> str:
    equality = rtol == 0 and atol == 0

    def diff_line(kind, diff, idx, tol):
        if idx is None:
            line = f"{kind.title()} difference: {diff}"
        else:
            line = f"Greatest {kind} difference: {diff} at index {idx}"
        return line + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += diff_line("absolute", abs_diff, abs_idx, atol) + diff_line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_mismatch_msg(actual, expected, rtol, atol) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol, rel_diff, None,
                         rtol)


def _compare_numbers(actual, expected, path, rtol, atol, equal_nan, check_dtype, **_) -> None:
    actual, expected = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
    rtol, atol = _tolerances(*[_NUMBER_DTYPES.get(type(x), _dt.float64) for x in (actual, expected)],
                             rtol=rtol, atol=atol, path=path)
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    if actual == expected or (equal_nan and cmath.isnan(actual) and cmath.isnan(expected)):
        return
    abs_diff = abs(actual - expected)
    if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_mismatch_msg(actual, expected, rtol, atol), path)


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ..ops.creation import tensor
    return tensor(x)


def _attribute_mismatch(name, actual, expected, path):
    raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {actual} != {expected}.", path)


def _compare_tensors(actual, expected, path, rtol, atol, equal_nan, check_device, check_dtype, check_layout,
                     check_stride, **_) -> None:
    actual, expected = _as_tensor(actual), _as_tensor(expected)
    rtol, atol = _tolerances(actual.dtype, expected.dtype, rtol=rtol, atol=atol, path=path)
    if actual.shape != expected.shape:
        _attribute_mismatch("shape", actual.shape, expected.shape, path)
    if check_stride and actual.stride() != expected.stride():
        _attribute_mismatch("stride()", actual.stride(), expected.stride(), path)
    if check_device and actual.device != expected.device:
        _attribute_mismatch("device", actual.device, expected.device, path)
    if check_dtype and actual.dtype is not expected.dtype:
        _attribute_mismatch("dtype", actual.dtype, expected.dtype, path)
    # different devices are compared on the host; different dtypes in their promoted dtype, as PyTorch does
    dtype = _dt.promote_types(actual.dtype, expected.dtype)
    a, e = (np.asarray(t._host()).astype(dtype.np) for t in (actual, expected))
    matches = _isclose(a, e, rtol, atol, equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        msg = _scalar_mismatch_msg(a.item(), e.item(), rtol, atol)
    else:
        msg = _tensor_mismatch_msg(a, e, matches, rtol, atol, dtype)
    raise _Mismatch(AssertionError, msg, path)


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    """torch.isclose: |a - e| <= atol + rtol * |e| (complex: the modulus of the difference), infinities equal only to
    themselves, exact for integers; with equal_nan, NaN (in either part of a complex number) matches NaN."""
    if a.dtype.kind in "biu":
        if rtol == 0 and atol == 0:
            return a == e
        a, e = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(a - e)
        close = (a == e) | (np.isfinite(error) & (error <= atol + rtol * np.abs(e)))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return close


def _tensor_mismatch_msg(a, e, matches, rtol, atol, dtype) -> str:
    total = matches.size
    mismatches = total - int(matches.sum())
    extra = f"Mismatched elements: {mismatches} / {total} ({mismatches / total:.1%})"
    if dtype.kind < _dt.FLOAT:  # PyTorch measures integer and bool differences in int64
        a, e = a.astype(np.int64), e.astype(np.int64)
    flat_matches = matches.ravel()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a.ravel() - e.ravel())
        abs_diff[flat_matches] = 0
        # an integer quotient is true division in the default float dtype, float32, as in PyTorch
        rel_diff = abs_diff / np.abs(e.ravel()) if dtype.kind >= _dt.FLOAT else \
            abs_diff.astype(np.float32) / np.abs(e.ravel()).astype(np.float32)
        rel_diff[flat_matches] = 0

    def greatest(diff):  # torch.max: a NaN is the maximum, and the first one found is reported
        nans = np.flatnonzero(np.isnan(diff)) if diff.dtype.kind == "f" else ()
        i = int(nans[0]) if len(nans) else int(np.argmax(diff))
        return diff[i].item(), tuple(int(k) for k in np.unravel_index(i, matches.shape))

    abs_max, abs_idx = greatest(abs_diff)
    rel_max, rel_idx = greatest(rel_diff)
    return _mismatch_msg("Tensor-likes", extra, abs_max, abs_idx, atol, rel_max, rel_idx, rtol)


def _compare(actual, expected, path, options) -> None:
    """Raise _Mismatch for the first pair of leaves that differ, recursing through sequences and mappings."""
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq) \
            and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                            path)
        for i in range(len(actual)):
            _compare(actual[i], expected[i], (*path, i), options)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        a_keys, e_keys = set(actual.keys()), set(expected.keys())
        if a_keys != e_keys:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(e_keys - a_keys)}\n"
                                            f"Additional keys in the actual mapping: {sorted(a_keys - e_keys)}", path)
        try:
            keys = sorted(a_keys)
        except TypeError:
            keys = list(a_keys)
        for k in keys:
            _compare(actual[k], expected[k], (*path, k), options)
        return
    _compare_leaves(actual, expected, path, options)


def _compare_leaves(actual, expected, path, options) -> None:
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", path)
        return
    bools = (bool, np.bool_)
    if isinstance(actual, bools) and isinstance(expected, bools):
        if bool(actual) is not bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {bool(actual)} is not {bool(expected)}", path)
        return
    numbers = (int, float, complex, np.number)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        _compare_numbers(actual, expected, path, **options)
        return
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if related and isinstance(actual, (Tensor, np.ndarray)) \
            and (options["allow_subclasses"] or type(actual) is type(expected)):
        _compare_tensors(actual, expected, path, **options)
        return
    raise _Mismatch(TypeError, "No comparison pair was able to handle inputs of type "
                               f"{type(actual)} and {type(expected)}.", path)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Asserts that `actual` and `expected` are close, exactly as torch.testing.assert_close does.

    Default tolerances by dtype (the loosest of the two): float16 rtol 1e-3 / atol 1e-5, bfloat16 1.6e-2 / 1e-5,
    float32 1.3e-6 / 1e-5, float64 1e-7 / 1e-7, integers and bools exact. `msg` replaces the message, or (a
    callable) receives the generated one. tritorch tensors are always strided, so `check_layout` has nothing to
    compare."""
    __tracebackhide__ = True
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype, check_layout=check_layout,
                   check_stride=check_stride)
    try:
        _compare(actual, expected, (), options)
    except _Mismatch as mismatch:
        raise mismatch.to_error(msg) from None


_ALLCLOSE_PRECISIONS = {_dt.float16: (1e-3, 1e-3), _dt.float32: (1e-4, 1e-5), _dt.float64: (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol: float | None = None, atol: float | None = None, equal_nan: bool = True,
                    msg: str = "") -> None:
    """Deprecated (as in PyTorch since 1.12): use assert_close. Looser defaults, dtypes promoted, NaNs equal."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    from ..ops.creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype, rtol=None, atol=None, path=(),
                                 precisions=_ALLCLOSE_PRECISIONS)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)
