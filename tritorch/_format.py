"""Printing tensors the way PyTorch does: one width for all elements, int/fixed/scientific float modes,
summarised edges for large tensors, and the device/dtype/grad suffixes."""
import math

import numpy as np

from . import dtypes as _dt

_THRESHOLD, _EDGEITEMS, _LINEWIDTH, _PRECISION = 1000, 3, 80, 4
_SCI_MODE = None   # set_printoptions(sci_mode=): True/False forces it, None chooses per tensor


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The elements PyTorch prints of a large tensor: edge items of every dim (for the formatter's widths)."""
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * _EDGEITEMS:
        arr = np.concatenate([arr[:_EDGEITEMS], arr[-_EDGEITEMS:]])
    if arr.ndim == 1:
        return arr
    return np.stack([_summarized(a) for a in arr])


class _Formatter:
    """torch._tensor_str._Formatter: one width for every element; floats in int, fixed or scientific mode."""

    def __init__(self, arr: np.ndarray, floating: bool):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        flat = arr.reshape(-1)
        if not floating:
            self.width = max([len(self._plain(v)) for v in flat.tolist()], default=1)
            return
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if vals.size == 0:
            return
        a = np.abs(vals)
        lo, hi = a.min(), a.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 if _SCI_MODE is None else _SCI_MODE
            fmt = (lambda v: f"{v:.{_PRECISION}e}") if self.sci_mode else (lambda v: f"{v:.0f}.")
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4 if _SCI_MODE is None else _SCI_MODE
            fmt = (lambda v: f"{v:.{_PRECISION}e}") if self.sci_mode else (lambda v: f"{v:.{_PRECISION}f}")
        self.width = max(len(fmt(v)) for v in vals.tolist())

    @staticmethod
    def _plain(v) -> str:
        return str(v)

    def format(self, v) -> str:
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.width}.{_PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                s = f"{v:.{_PRECISION}f}"
        else:
            s = str(v)
        return s.rjust(self.width)


class _ComplexFormatter:
    """Complex elements as PyTorch prints them: the real parts through one float formatter, the imaginary parts
    through another, joined as "re+imj" (the imaginary part's own sign where it has one). Only the real parts
    are padded, as in PyTorch; `width`, which sets how many fit on a line, is PyTorch's estimate: the two
    formatters' widths and the "j" (not the "+" a positive imaginary part gets, so a line may hold one element
    more than the longest element's length would allow)."""

    def __init__(self, arr: np.ndarray):
        self.real, self.imag = _Formatter(arr.real, True), _Formatter(arr.imag, True)
        self.width = self.real.width + self.imag.width + 1

    def format(self, v) -> str:
        im = self.imag.format(v.imag).lstrip() + "j"
        return self.real.format(v.real) + (im if im[0] in "+-" else "+" + im)


def _vector_str(arr, indent, summarize, fmt) -> str:
    per_line = max(1, (_LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and arr.shape[0] > 2 * _EDGEITEMS:
        data = [fmt.format(v) for v in arr[:_EDGEITEMS].tolist()] + [" ..."] + \
               [fmt.format(v) for v in arr[-_EDGEITEMS:].tolist()]
    else:
        data = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str(arr, indent, summarize, fmt) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    rows = range(arr.shape[0])
    if summarize and arr.shape[0] > 2 * _EDGEITEMS:
        parts = [_tensor_str(arr[i], indent + 1, summarize, fmt) for i in rows[:_EDGEITEMS]] + ["..."] + \
                [_tensor_str(arr[i], indent + 1, summarize, fmt) for i in rows[-_EDGEITEMS:]]
    else:
        parts = [_tensor_str(arr[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _format(t) -> str:
    if t.device.type == "meta":   # no values: PyTorch's "..." with the size
        suffix = ["device='meta'", f"size={tuple(t.shape)}"]
        if t.dtype is not _dt.get_default_dtype():
            suffix.append(f"dtype={t.dtype}")
        return _add_suffixes("tensor(...", suffix + _grad_suffix(t), len("tensor("))
    arr = t._host()
    dt = t.dtype
    if dt is _dt.bfloat16 or dt is _dt.float16:
        arr = arr.astype(np.float32)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffix.append(f"size={tuple(arr.shape)}")
        if dt is not _dt.get_default_dtype():
            suffix.append(f"dtype={dt}")
    else:
        summarize = arr.size > _THRESHOLD
        shown = _summarized(arr) if summarize else arr
        fmt = _ComplexFormatter(shown) if dt.kind == _dt.COMPLEX else _Formatter(shown, dt.kind == _dt.FLOAT)
        body = _tensor_str(arr, len("tensor("), summarize, fmt)
        default = _dt.get_default_dtype()
        # (PyTorch's: nor the complex dtype that goes with the default one, complex64 for float32)
        default_complex = _dt.complex128 if default is _dt.float64 else _dt.complex64
        if dt not in (default, _dt.int64, _dt.bool_, default_complex):
            suffix.append(f"dtype={dt}")
    return _add_suffixes("tensor(" + body, suffix + _grad_suffix(t), len("tensor("))


def _grad_suffix(t) -> list:
    if t.grad_fn is not None:
        return [f"grad_fn=<{t.grad_fn.name()}>"]
    return ["requires_grad=True"] if t._requires_grad else []


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    """Append ", suffix" to the last line, or start a new line when it would pass the line width (as PyTorch)."""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last_line_len + len(s) + 2 > _LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            last_line_len = indent + len(s)
        else:
            parts.append(", " + s)
            last_line_len += len(s) + 2
    return "".join(parts) + ")"
