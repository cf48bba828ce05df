"""More torch.* functions composed from registered ops (no kernels of their own; both devices; differentiable
through their ops where PyTorch's are):

quantile, nanquantile, nanmedian, trapezoid/trapz, cumulative_trapezoid, gradient, histogram, unique_consecutive,
renorm, vander, pdist, cosine_similarity, pairwise_distance, chain_matmul, narrow_copy, slice_scatter,
select_scatter, diagonal_scatter, isreal, is_nonzero, the window functions (hann, hamming, blackman, bartlett),
and the Tensor methods fill_diagonal_, geometric_, log_normal_, cauchy_, real, conj, resolve_conj, resolve_neg
(the last four through ops/complex.py).
"""
from __future__ import annotations

import collections
import math

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .composite import _reduced_pair
from .registry import write_out as _write_out

__all__ = ["quantile", "nanquantile", "nanmedian", "trapezoid", "trapz", "cumulative_trapezoid", "gradient",
           "histogram", "unique_consecutive", "renorm", "vander", "pdist", "cosine_similarity",
           "pairwise_distance", "chain_matmul", "narrow_copy", "slice_scatter", "select_scatter", "diagonal_scatter",
           "as_strided_scatter",
           "isreal", "is_nonzero", "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
           "poisson", "binomial"]

_histogram = collections.namedtuple("histogram", ["hist", "bin_edges"])
_nanmedian = collections.namedtuple("nanmedian", ["values", "indices"])


def _tt():
    import tritorch
    return tritorch


# ============================================================================================== quantiles

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool, name: str) -> Tensor:
    """Sort along dim (NaN last), then read each quantile at its fractional rank (count - 1) * q among the
    values that count (all of them; or the non-NaN ones with ignore_nan), interpolated as asked."""
    tt = _tt()
    if input.dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    scalar_q = not isinstance(q, Tensor)
    qt = tt.tensor(float(q) if scalar_q else q, dtype=input.dtype, device=input.device) if scalar_q else q
    if qt.dim() > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    qv = qt.reshape(-1)
    if qv.numel() and bool(((qv < 0) | (qv > 1)).any()):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dim % max(x.dim(), 1)
    if x.dim() == 0:
        x = x.reshape(1)
    moved = x.movedim(d, -1)
    n = moved.shape[-1]
    if n == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    s = moved.sort(-1).values                                       # NaN sorts last
    nan_count = s.isnan().long().sum(-1, keepdim=True)
    count = (n - nan_count) if ignore_nan else tt.full_like(nan_count, n)
    rank = qv * (count.to(x.dtype) - 1).clamp_min(0)                   # (..., nq)
    if interpolation == "lower":
        rank = rank.floor()
    elif interpolation == "higher":
        rank = rank.ceil()
    elif interpolation == "nearest":
        rank = rank.round()                                            # (half to even, as PyTorch's)
    lo = rank.floor().long().clamp(0, n - 1)
    hi = rank.ceil().long().clamp(0, n - 1)
    a, b = s.gather(-1, lo), s.gather(-1, hi)
    if interpolation == "midpoint":
        out = tt.where(lo == hi, a, (a + b) * 0.5)
    else:
        w = rank - lo.to(x.dtype)
        out = a + (b - a) * w if interpolation == "linear" else a
    nan = float("nan")
    if ignore_nan:
        out = tt.where(count == 0, nan, out)
    else:
        out = tt.where(nan_count > 0, nan, out)
    out = out.movedim(-1, 0)                                           # q first, as PyTorch lays it out
    if keepdim:
        if dim is None:
            out = out.reshape((qv.numel(),) + (1,) * input.dim())
        else:
            out = out.unsqueeze(d + 1)
    if scalar_q or qt.dim() == 0:
        out = out.squeeze(0)
    return out


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
             out=None) -> Tensor:
    r = _quantile(input, q, dim, keepdim, interpolation, False, "quantile")
    return r if out is None else _write_out(out, r)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
                out=None) -> Tensor:
    r = _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")
    return r if out is None else _write_out(out, r)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median of the non-NaN values (NaN where all are NaN); along a dim also its index."""
    tt = _tt()
    if input.dtype is _dt.bool_:
        raise NotImplementedError('"nanmedian" not implemented for \'Bool\'')
    if dim is None:
        x = input.reshape(-1)
        r = nanmedian(x, 0)
        return r.values
    d = dim % max(input.dim(), 1)
    x = input if input.dim() else input.reshape(1)
    moved = x.movedim(d, -1)
    n = moved.shape[-1]
    if n == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {dim} to have non-zero size.")
    s = moved.sort(-1)
    count = (~moved.isnan()).long().sum(-1, keepdim=True)
    k = ((count - 1).clamp_min(0)) // 2
    values = s.values.gather(-1, k)
    indices = s.indices.gather(-1, k)
    if input.dtype.kind == _dt.FLOAT:  # (integers have no NaN: every count is n, and a NaN would promote them)
        values = tt.where(count == 0, float("nan"), values)
    values, indices = _reduced_pair(values, indices, d, keepdim, input.dim())
    return _nanmedian(values, indices)


# ====================================================================================== integration, grads

def _spacing_along(y: Tensor, x, dx, dim: int) -> Tensor | float:
    if x is None:
        return 1.0 if dx is None else dx
    if x.dim() == 1:
        shape = [1] * y.dim()
        shape[dim] = x.shape[0]
        x = x.reshape(shape)
    n = x.shape[dim]
    return x.narrow(dim, 1, n - 1) - x.narrow(dim, 0, n - 1)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoid rule along dim: sum of (y[i] + y[i+1]) / 2 * spacing."""
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x   # trapezoid(y, dx) as a number
    d = dim % y.dim()
    n = y.shape[d]
    if n == 0:
        return y.sum(d)
    mids = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) * 0.5
    return (mids * _spacing_along(y, x, dx, d)).sum(d)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x
    d = dim % y.dim()
    n = y.shape[d]
    if n == 0:
        return y
    mids = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) * 0.5
    return (mids * _spacing_along(y, x, dx, d)).cumsum(d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Central differences inside, one-sided (edge_order 1 or 2) at the ends, per dim; spacing a number, a list
    of numbers or a list of coordinate tensors (one per dim)."""
    tt = _tt()
    dims = list(range(input.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [d % input.dim() for d in dims]
    if isinstance(spacing, (int, float)):
        spacing = [spacing] * len(dims)
    elif isinstance(spacing, Tensor) and spacing.dim() == 0:
        spacing = [float(spacing)] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length "
                           f"{len(spacing)} and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    outs = []
    for d, h in zip(dims, spacing):
        n = input.shape[d]
        if n < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")

        def sl(a, b, t=input):
            return t.narrow(d, a, b - a)
        if isinstance(h, Tensor) and h.dim() == 1:   # coordinates: nonuniform spacing
            shape = [1] * input.dim()
            shape[d] = n
            xc = h.to(input.dtype if input.dtype.kind == _dt.FLOAT else _dt.float32).reshape(shape)
            hx = sl(1, n, xc) - sl(0, n - 1, xc)                        # h_i = x[i+1] - x[i]
            h0, h1 = hx.narrow(d, 0, n - 2), hx.narrow(d, 1, n - 2)
            f = input if input.dtype.kind == _dt.FLOAT else input.to(xc.dtype)
            inner = (h0 * h0 * sl(2, n, f) - h1 * h1 * sl(0, n - 2, f) + (h1 * h1 - h0 * h0) * sl(1, n - 1, f)) \
                / (h0 * h1 * (h0 + h1))
            if edge_order == 1:
                first = (sl(1, 2, f) - sl(0, 1, f)) / hx.narrow(d, 0, 1)
                last = (sl(n - 1, n, f) - sl(n - 2, n - 1, f)) / hx.narrow(d, n - 2, 1)
            else:
                a0, a1 = hx.narrow(d, 0, 1), hx.narrow(d, 1, 1)
                first = (-(2 * a0 + a1) / (a0 * (a0 + a1)) * sl(0, 1, f) + (a0 + a1) / (a0 * a1) * sl(1, 2, f)
                         - a0 / (a1 * (a0 + a1)) * sl(2, 3, f))
                b0, b1 = hx.narrow(d, n - 3, 1), hx.narrow(d, n - 2, 1)
                last = (b1 / (b0 * (b0 + b1)) * sl(n - 3, n - 2, f) - (b0 + b1) / (b0 * b1) * sl(n - 2, n - 1, f)
                        + (2 * b1 + b0) / (b1 * (b0 + b1)) * sl(n - 1, n, f))
        else:
            h = float(h)
            f = input if input.dtype.kind == _dt.FLOAT else input.to(_dt.float32)
            inner = (sl(2, n, f) - sl(0, n - 2, f)) / (2 * h)
            if edge_order == 1:
                first = (sl(1, 2, f) - sl(0, 1, f)) / h
                last = (sl(n - 1, n, f) - sl(n - 2, n - 1, f)) / h
            else:
                first = (-1.5 * sl(0, 1, f) + 2 * sl(1, 2, f) - 0.5 * sl(2, 3, f)) / h
                last = (0.5 * sl(n - 3, n - 2, f) - 2 * sl(n - 2, n - 1, f) + 1.5 * sl(n - 1, n, f)) / h
        outs.append(tt.cat([first, inner, last], d))
    return tuple(outs)


# ============================================================================================== counting

def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False, out=None):
    """(hist, bin_edges) of a 1-d or flattened input: `bins` equal bins over `range` (the data's range by
    default) or the given edges; the last bin includes its right edge."""
    tt = _tt()
    x = input.reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins.to(input.dtype)
    else:
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        elif x.numel():
            lo, hi = float(x.min()), float(x.max())
        else:
            lo, hi = 0.0, 0.0
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = tt.linspace(lo, hi, int(bins) + 1, dtype=input.dtype, device=input.device)
    nb = edges.numel() - 1
    inside = (x >= edges[0]) & (x <= edges[-1])
    pos = (tt.searchsorted(edges, x, right=True) - 1).clamp(0, nb - 1)
    w = tt.ones_like(x) if weight is None else weight.reshape(-1).to(input.dtype)
    hist = tt.zeros(nb, dtype=input.dtype, device=input.device).index_add(0, pos, tt.where(inside, w, 0.0))
    if density:
        hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return _histogram(hist, edges)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The first of each run of equal consecutive values (of rows along dim), with the inverse map and run
    lengths when asked."""
    tt = _tt()
    x = input.reshape(-1) if dim is None else input.movedim(dim, 0)
    n = x.shape[0]
    if n == 0:
        out = input.reshape(-1) if dim is None else input
        extras = []
        if return_inverse:
            extras.append(tt.zeros(tuple(input.shape) if dim is None else (0,), dtype=tt.int64,
                                   device=input.device))
        if return_counts:
            extras.append(tt.zeros(0, dtype=tt.int64, device=input.device))
        return (out, *extras) if extras else out
    diff = (x[1:] != x[:-1])
    if diff.dim() > 1:
        diff = diff.reshape(n - 1, -1).any(1)
    starts = tt.cat([tt.ones(1, dtype=tt.bool, device=input.device), diff])
    first = starts.nonzero().reshape(-1)
    values = x.index_select(0, first)
    if dim is not None:
        values = values.movedim(0, dim)
    extras = []
    if return_inverse:
        inv = starts.long().cumsum(0) - 1
        extras.append(inv.reshape(tuple(input.shape)) if dim is None else inv)
    if return_counts:
        ends = tt.cat([first[1:], tt.tensor([n], device=input.device)])
        extras.append(ends - first)
    return (values, *extras) if extras else values


# ============================================================================================== matrices

def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Each slice along dim (all other dims) scaled down to p-norm maxnorm where it exceeds it."""
    d = dim % input.dim()
    others = tuple(i for i in range(input.dim()) if i != d)
    norms = input.norm(p, others, keepdim=True) if others else input.abs()
    scale = maxnorm / (norms + 1e-7)
    return input * _tt().where(norms > maxnorm, scale, 1.0)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    """Columns x^(N-1) ... x^0 (or increasing powers)."""
    tt = _tt()
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    xx = x if x.dtype.kind == _dt.FLOAT or x.dtype is _dt.int64 else x.to(_dt.int64)
    cols = [tt.ones_like(xx)]
    for _ in range(1, n):
        cols.append(cols[-1] * xx)
    v = tt.stack(cols[:n], 1) if n else xx.new_empty((x.shape[0], 0))
    return v if increasing else v.flip(1)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distances between the rows of a 2-d input, pairs (i < j) in row-major order."""
    tt = _tt()
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    n = input.shape[0]
    i, j = tt.triu_indices(n, n, 1, device=input.device)
    return (input.index_select(0, i) - input.index_select(0, j)).norm(p, 1)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    from ..nn.functional import cosine_similarity as f
    return f(x1, x2, dim, eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    from ..nn.functional import pairwise_distance as f
    return f(x1, x2, p, eps, keepdim)


def chain_matmul(*matrices, out=None) -> Tensor:
    from ..linalg import multi_dot
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:  # PyTorch returns a copy of the one matrix (multi_dot wants two)
        r = matrices[0].clone()
        return r if out is None else _write_out(out, r)
    return multi_dot(list(matrices), out=out)


# ========================================================================================== scatter forms

def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return input.narrow(dim, start, length).clone()


def _scattered(input: Tensor, src: Tensor, index) -> Tensor:
    out = input.clone()
    view = out[index]
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(view.shape)}")
    out[index] = src
    return out


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """input with input[..., start:end:step, ...] (along dim) replaced by src (differentiable in both)."""
    d = dim % input.dim()
    return _scattered(input, src, (slice(None),) * d + (slice(start, end, step),))


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    d = dim % input.dim()
    return _scattered(input, src, (slice(None),) * d + (index,))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    out = input.clone()
    _fill_view(out.diagonal(offset, dim1, dim2), src)
    return out


def _fill_view(view: Tensor, src: Tensor) -> None:
    """view.copy_(src) after PyTorch's *_scatter size check."""
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(view.shape)}")
    view.copy_(src)


def as_strided_scatter(input: Tensor, src: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A copy of input (same strides) whose as_strided(size, stride, storage_offset) view holds src
    (differentiable in both; PyTorch's own input gradient here is wrong: it keeps the scattered positions)."""
    out = _tt().empty_strided(tuple(input.shape), input.stride(), dtype=input.dtype, device=input.device)
    out.copy_(input)
    _fill_view(out.as_strided(size, stride, storage_offset), src)
    return out


# ============================================================================================= predicates

def isreal(input: Tensor) -> Tensor:
    """Where the imaginary part is zero: everywhere for a real tensor."""
    if input.dtype.kind == _dt.COMPLEX:
        from .complex import imag
        return imag(input) == 0
    return _tt().ones(tuple(input.shape), dtype=_dt.bool_, device=input.device)


def is_nonzero(input: Tensor) -> bool:
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous" if input.numel()
                           else "Boolean value of Tensor with no values is ambiguous")
    return bool(input.reshape(()).item() != 0)


# ================================================================================================ windows

def _window(name: str, window_length: int, periodic: bool, dtype, device, fn) -> Tensor:
    tt = _tt()
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dtype = dtype or tt.get_default_dtype()
    if window_length == 0:
        return tt.empty(0, dtype=dtype, device=device)
    if window_length == 1:
        return tt.ones(1, dtype=dtype, device=device)
    n = window_length + 1 if periodic else window_length
    k = tt.arange(window_length, dtype=_dt.float64, device=device)
    return fn(k, n).to(dtype)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, layout=None,
                requires_grad: bool = False) -> Tensor:
    w = _window("hann_window", window_length, periodic, dtype, device,
                lambda k, n: 0.5 - 0.5 * (2 * math.pi * k / (n - 1)).cos())
    return w.requires_grad_(requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, device=None, layout=None, requires_grad: bool = False) -> Tensor:
    w = _window("hamming_window", window_length, periodic, dtype, device,
                lambda k, n: alpha - beta * (2 * math.pi * k / (n - 1)).cos())
    return w.requires_grad_(requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, layout=None,
                    requires_grad: bool = False) -> Tensor:
    w = _window("blackman_window", window_length, periodic, dtype, device,
                lambda k, n: 0.42 - 0.5 * (2 * math.pi * k / (n - 1)).cos() + 0.08 * (4 * math.pi * k / (n - 1)).cos())
    return w.requires_grad_(requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, device=None,
                  layout=None, requires_grad: bool = False) -> Tensor:
    """I0(beta sqrt(1 - (2k / (n - 1) - 1)^2)) / I0(beta), k = 0..window_length-1 (n = window_length + 1 when
    periodic), computed in float64 and rounded to dtype once."""
    tt = _tt()

    def kaiser(k, n):
        r = (k - (n - 1) / 2) / ((n - 1) / 2)
        return tt.i0(beta * (1 - r * r).clamp(min=0).sqrt()) / tt.i0(tt.tensor(float(beta), dtype=_dt.float64,
                                                                                device=k.device))

    w = _window("kaiser_window", window_length, periodic, dtype, device, kaiser)
    return w.requires_grad_(requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None, layout=None,
                    requires_grad: bool = False) -> Tensor:
    w = _window("bartlett_window", window_length, periodic, dtype, device,
                lambda k, n: 1 - (2 * k / (n - 1) - 1).abs())
    return w.requires_grad_(requires_grad)


# ========================================================================================= Tensor methods

def _fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """The main diagonal (of a 2-d tensor, or all dims equal) set to fill_value in place; with wrap, a tall
    matrix's diagonal restarts every n + 1 rows, as NumPy's and PyTorch's do."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.dim() > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    flat = self.reshape(-1) if self.is_contiguous() else None
    if flat is None:
        raise RuntimeError("fill_diagonal_: tritorch needs a contiguous tensor")
    rows, cols = self.shape[0], self.shape[1]
    step = sum(self.stride()) if self.dim() > 2 else cols + 1
    end = self.numel() if (wrap and self.dim() == 2) else min(rows, cols) * step if self.dim() == 2 else \
        self.numel()
    flat[0:end:step] = fill_value
    return self


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with the rates in `input` (torch.poisson): a float tensor of input's dtype and device."""
    if not input.dtype.is_floating_point:
        from .registry import _type_name
        raise RuntimeError(f'"poisson_cpu" not implemented for \'{_type_name(input.dtype)}\'')
    if bool((input < 0).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    from ..distributions.discrete import poisson_sample
    return poisson_sample(input, generator)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial draws (torch.binomial): successes in `count` trials of probability `prob`, elementwise (the two
    broadcast), as floats of prob's dtype and device."""
    for name, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor):
            raise TypeError(f"binomial(): argument '{name}' must be Tensor, not {type(t).__name__}")
    for name, t in (("count", count), ("prob", prob)):
        if not t.dtype.is_floating_point:
            from .registry import _type_name
            raise RuntimeError(f"binomial only supports floating-point dtypes for {name}, got: {_type_name(t.dtype)}")
    if bool(((prob < 0) | (prob > 1)).any()):
        raise RuntimeError("binomial: probabilities must lie in [0, 1]")
    if bool(((count < 0) | (count != count.floor())).any()):
        raise RuntimeError("binomial: counts must be non-negative integers")
    from ..distributions.counts import binomial_sample
    return binomial_sample(count, prob, generator)


def _geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Number of Bernoulli(p) trials up to the first success: ceil(log(U) / log(1 - p))."""
    u = self.new_empty(tuple(self.shape), dtype=_dt.float64).uniform_(0, 1, generator=generator)
    u = _tt().where(u == 0, 1e-300, u)
    return self.copy_((u.log() / math.log1p(-p)).ceil())


def _log_normal_(self: Tensor, mean: float = 1, std: float = 2, *, generator=None) -> Tensor:
    return self.copy_(self.new_empty(tuple(self.shape)).normal_(mean, std, generator=generator).exp())


def _cauchy_(self: Tensor, median: float = 0, sigma: float = 1, *, generator=None) -> Tensor:
    u = self.new_empty(tuple(self.shape), dtype=_dt.float64).uniform_(0, 1, generator=generator)
    return self.copy_(median + sigma * (math.pi * (u - 0.5)).tan())


def _real(self: Tensor) -> Tensor:
    from .complex import real
    return real(self)


def _conj(self: Tensor) -> Tensor:
    from .complex import conj
    return conj(self)


_bind.methods(quantile=quantile, nanquantile=nanquantile, nanmedian=nanmedian, renorm=renorm,
              narrow_copy=narrow_copy, slice_scatter=slice_scatter, select_scatter=select_scatter,
              diagonal_scatter=diagonal_scatter, as_strided_scatter=as_strided_scatter, is_nonzero=is_nonzero,
              unique_consecutive=unique_consecutive,
              histogram=histogram, fill_diagonal_=_fill_diagonal_, geometric_=_geometric_, log_normal_=_log_normal_,
              cauchy_=_cauchy_, conj=_conj, resolve_conj=_conj, resolve_neg=_conj, isreal=isreal)
_bind.properties(real=_real)
