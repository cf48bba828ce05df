"""torch.* functions composed from registered ops, with no kernels of their own: they run on both devices, and
the differentiable ones get their gradients from the ops they are made of.

take_along_dim, rot90, block_diag, cartesian_prod, combinations, unravel_index, isin, inner, mv, vdot, dist,
aminmax, kthvalue, mode, histc, heaviside, signbit, column_stack, row_stack, hsplit/vsplit/dsplit, diagflat,
broadcast_shapes, cov, corrcoef, log10, deg2rad, rad2deg, isposinf, isneginf, sgn, sinc, logaddexp2; and the
Tensor methods unfold (sliding windows as a strided view) and sum_to_size.
"""
from __future__ import annotations

import collections
import itertools
import math
import types
import warnings

import numpy as np

from .. import _state
from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .registry import write_out as _write_out

__all__ = ["take_along_dim", "rot90", "block_diag", "cartesian_prod", "combinations", "unravel_index", "isin",
           "inner", "mv", "vdot", "dist", "aminmax", "kthvalue", "mode", "histc", "heaviside", "signbit",
           "column_stack", "row_stack", "hsplit", "vsplit", "dsplit", "diagflat", "broadcast_shapes", "cov",
           "corrcoef", "log10", "deg2rad", "rad2deg", "isposinf", "isneginf", "sgn", "sinc", "logaddexp2"]

_aminmax = collections.namedtuple("aminmax", ["min", "max"])
_kthvalue = collections.namedtuple("kthvalue", ["values", "indices"])
_mode = collections.namedtuple("mode", ["values", "indices"])


def _tt():
    import tritorch
    return tritorch


def _index_tensor(values, device) -> Tensor:
    return _tt().tensor(np.asarray(values, np.int64), device=device)


# ---------------------------------------------------------------------------------------------- movement

def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """gather along dim after broadcasting input and indices over the other dims; without dim, over the
    flattened input."""
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    if input.dim() != indices.dim():
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    d = dim % input.dim()
    shape_in, shape_idx = list(input.shape), list(indices.shape)
    shape_in[d] = shape_idx[d] = 1
    common = list(np.broadcast_shapes(tuple(shape_in), tuple(shape_idx)))
    target_in, target_idx = list(common), list(common)
    target_in[d], target_idx[d] = input.shape[d], indices.shape[d]
    return input.expand(*target_in).gather(d, indices.expand(*target_idx))


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotation by 90 degrees k times in the plane of dims, from the first dim towards the second."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    d0, d1 = dims[0] % input.dim(), dims[1] % input.dim()
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return input.flip([d1]).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip([d0]).transpose(d0, d1)
    return input.clone()


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d as 1x1, 1-d as one row, 2-d as they are) along the diagonal of a zero matrix."""
    tt = _tt()
    blocks = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.dim()} dimensions")
        blocks.append(t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t)
    if not blocks:
        return tt.empty((1, 0))
    dtype = blocks[0].dtype
    for b in blocks[1:]:
        dtype = tt.promote_types(dtype, b.dtype)
    device = blocks[0].device
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        parts = [tt.zeros((r, left), dtype=dtype, device=device), b.to(dtype),
                 tt.zeros((r, width - left - c), dtype=dtype, device=device)]
        rows.append(tt.cat(parts, 1))
        left += c
    return tt.cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element of each 1-d tensor, one per row (a 1-d result for one tensor)."""
    tt = _tt()
    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = tt.meshgrid(*tensors, indexing="ij")
    return tt.stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """itertools.combinations (or combinations_with_replacement) of the elements of a 1-d tensor, one per row."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty((0,))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), np.int64).reshape(-1, r)
    return input.index_select(0, _index_tensor(idx.reshape(-1), input.device)).reshape(-1, r)


def unravel_index(indices, shape) -> tuple:
    """The coordinates, one tensor per dim of `shape`, of flat indices into a tensor of that shape."""
    tt = _tt()
    if not isinstance(indices, Tensor):
        indices = tt.tensor(indices)
    if indices.dtype.kind != _dt.INT:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(shape)))
    total = math.prod(shape)
    if bool(((indices < -total) | (indices >= total)).any().item()) if indices.numel() else False:
        raise ValueError(f"'indices' must be in range [{-total}, {total - 1}]")
    flat = tt.where(indices < 0, indices + total, indices)
    coords, stride = [], total
    for s in shape:
        stride //= s if s else 1
        coords.append(tt.div(flat, stride, rounding_mode="floor") % s if s else flat * 0)
    return tuple(coords)


# --------------------------------------------------------------------------------------------- comparison

def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of `elements` is in `test_elements` (a binary search in their sorted values)."""
    tt = _tt()
    if not isinstance(elements, Tensor):
        if not isinstance(test_elements, Tensor):
            raise TypeError("isin(): at least one of elements and test_elements must be a Tensor")
        elements = tt.tensor(elements, device=test_elements.device)
    if not isinstance(test_elements, Tensor):
        test_elements = tt.tensor([test_elements], device=elements.device)
    pool = test_elements.reshape(-1)
    if pool.dtype.kind == _dt.FLOAT:   # NaN equals nothing, and in the sorted pool it would steer the search
        pool = pool[~pool.isnan()]
    if pool.numel() == 0:
        found = tt.zeros(tuple(elements.shape), dtype=tt.bool, device=elements.device)
    else:
        dtype = tt.promote_types(elements.dtype, pool.dtype)
        values, probe = pool.to(dtype).sort().values, elements.to(dtype)
        at = tt.searchsorted(values, probe.reshape(-1)).clamp_max(values.numel() - 1)
        found = (values.index_select(0, at) == probe.reshape(-1)).reshape(tuple(elements.shape))
    return found.logical_not() if invert else found


# ----------------------------------------------------------------------------------------- linear algebra

def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Sum of products over the last dims (a scalar operand multiplies)."""
    if input.dim() == 0 or other.dim() == 0:
        r = input * other
    else:
        if input.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(input.shape)} and {list(other.shape)}")
        r = _tt().tensordot(input, other, dims=([-1], [-1]))
    return r if out is None else _write_out(out, r)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix (n, m) times vector (m,)."""
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.dim()}, {vec.dim()}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    r = input @ vec
    return r if out is None else _write_out(out, r)


def vdot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Dot product of two 1-d tensors, the first conjugated (a no-op for real dtypes)."""
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    r = _tt().dot(input.conj() if input.dtype.kind == _dt.COMPLEX else input, other)
    return r if out is None else _write_out(out, r)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The p-norm of input - other."""
    return _tt().norm(input - other, p)


# --------------------------------------------------------------------------------------------- reductions

def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """(min, max) over dim, or over everything."""
    tt = _tt()
    if dim is None and input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    return _aminmax(tt.amin(input, () if dim is None else dim, keepdim),
                    tt.amax(input, () if dim is None else dim, keepdim))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest value along dim and its index (of one of its occurrences when values tie)."""
    n = input.shape[dim] if input.dim() else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    x = input if input.dim() else input.reshape(1)
    s = x.sort(dim=dim, stable=True)
    values, indices = s.values.narrow(dim, k - 1, 1), s.indices.narrow(dim, k - 1, 1)
    if not keepdim or not input.dim():
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return _kthvalue(values.reshape(input.shape) if not input.dim() else values,
                     indices.reshape(input.shape) if not input.dim() else indices)


def _reduced_pair(values, indices, d: int, keepdim: bool, ndim: int):
    """(values, indices) reduced along a last dim of size 1, moved back to dim d, kept or squeezed as keepdim says
    (a 0-d input gives 0-d results): the epilogue of mode and nanmedian."""
    values, indices = values.movedim(-1, d), indices.movedim(-1, d)
    if not keepdim or not ndim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    if not ndim:
        values, indices = values.reshape(()), indices.reshape(())
    return values, indices


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along dim (the smallest one when several are) and the last index where it
    occurs: runs of the sorted values counted with a scatter-add."""
    tt = _tt()
    x = input if input.dim() else input.reshape(1)
    d = dim % x.dim()
    moved = x.movedim(d, -1)
    n = moved.shape[-1]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {dim} to have non-zero size.")
    s = moved.sort(dim=-1).values
    starts = tt.cat([tt.ones(tuple(s.shape[:-1]) + (1,), dtype=tt.bool, device=s.device),
                     s[..., 1:] != s[..., :-1]], -1)
    run = starts.long().cumsum(-1) - 1
    counts = tt.zeros(tuple(s.shape), dtype=tt.int64, device=s.device).scatter_add(-1, run, tt.ones_like(run))
    best = counts.argmax(-1, keepdim=True)                      # the first longest run: the smallest value
    first = (run == best).long().argmax(-1, keepdim=True)
    values = s.gather(-1, first)
    positions = tt.arange(n, device=s.device).expand(*moved.shape)
    indices = tt.where(moved == values, positions, -1).amax(-1, keepdim=True)
    values, indices = _reduced_pair(values, indices, d, keepdim, input.dim())
    return _mode(values, indices)


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:
    """Counts of the elements in `bins` equal-width bins over [min, max] (the data's range when min == max);
    elements outside are ignored, max falls in the last bin. The result has input's dtype."""
    tt = _tt()
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f"torch.histc: input tensor and hist tensor should have the same dtype, but got input "
                           f"{input.dtype} and hist {input.dtype}")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and input.numel():
        lo, hi = float(input.min().item()), float(input.max().item())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    x = input.reshape(-1)
    x = x.masked_select((x >= lo) & (x <= hi))
    pos = ((x - lo) * (bins / (hi - lo))).floor().long().clamp(0, bins - 1)
    r = tt.bincount(pos, minlength=bins).to(input.dtype)
    return r if out is None else _write_out(out, r)


# -------------------------------------------------------------------------------------------- elementwise

# heaviside has no derivative in PyTorch: recorded as an op without a rule, so that backward through it raises
# PyTorch's kind of error instead of giving a silent zero
_HEAVISIDE = types.SimpleNamespace(name="heaviside", list_input=False, vjp=None, differentiable=True, n_outputs=1)


def heaviside(input: Tensor, values, *, out=None) -> Tensor:
    """0 where input < 0, values where input == 0, 1 where input > 0 (not differentiable)."""
    tt = _tt()
    for pos, (name, v) in enumerate((("input", input), ("values", values)), 1):
        if not isinstance(v, Tensor):   # (PyTorch takes no number for either)
            raise TypeError(f"heaviside(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    with tt.no_grad():
        r = tt.where(input == 0, values, (input > 0).to(input.dtype))
    if (not _state.FLAGS.grad_off or _state.GRAD.enabled) and (input._requires_grad or values._requires_grad):
        _state.recorder(_HEAVISIDE, (input, values), {}, r, None)
    return r if out is None else _write_out(out, r)


_SAME_WIDTH_INT = {2: _dt.int16, 4: _dt.int32, 8: _dt.int64}


def signbit(input: Tensor, *, out=None) -> Tensor:
    """Whether the sign bit is set: True for negative numbers, -0.0 and NaNs with the sign bit (a view of the
    bits as a signed integer of the same width)."""
    tt = _tt()
    if input.dtype.kind == _dt.FLOAT:
        r = input.detach().view(_SAME_WIDTH_INT[input.dtype.itemsize]) < 0
    elif input.dtype in (_dt.bool_, _dt.uint8):
        r = tt.zeros(tuple(input.shape), dtype=tt.bool, device=input.device)
    else:
        r = input.detach() < 0
    return r if out is None else _write_out(out, r)


# --------------------------------------------------------------------------------- stacking and splitting

def column_stack(tensors, *, out=None) -> Tensor:
    """Tensors side by side as columns (0-d and 1-d ones become columns first)."""
    tt = _tt()
    cols = [t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors]
    return tt.hstack(cols, out=out) if out is not None else tt.hstack(cols)


def row_stack(tensors, *, out=None) -> Tensor:
    return _tt().vstack(tensors, out=out) if out is not None else _tt().vstack(tensors)


def _split_along(input: Tensor, sections, dim: int, fn: str, min_dims: int):
    if input.dim() < min_dims:
        raise RuntimeError(f"torch.{fn} requires a tensor with at least {min_dims} dimension, but got a tensor with "
                           f"{input.dim()} dimensions!")
    if isinstance(sections, int) and input.shape[dim] % sections:
        raise RuntimeError(f"torch.{fn} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return _tt().tensor_split(input, sections, dim)


def _one_split(name, sections, indices):
    """hsplit/vsplit/dsplit's argument: sections (an int or indices, positionally) or PyTorch's keyword names."""
    if (sections is None) == (indices is None):
        raise TypeError(f"{name}() takes one of sections or indices")
    return sections if indices is None else indices


def hsplit(input: Tensor, sections=None, *, indices=None):
    return _split_along(input, _one_split("hsplit", sections, indices), 1 if input.dim() > 1 else 0, "hsplit", 1)


def vsplit(input: Tensor, sections=None, *, indices=None):
    return _split_along(input, _one_split("vsplit", sections, indices), 0, "vsplit", 2)


def dsplit(input: Tensor, sections=None, *, indices=None):
    return _split_along(input, _one_split("dsplit", sections, indices), 2, "dsplit", 3)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened input on diagonal `offset`."""
    return _tt().diag(input.reshape(-1), offset)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to."""
    return _tt().Size(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


# ----------------------------------------------------------------------------------------------- statistics

def _cov_weights(name: str, w: Tensor, n: int, integral: bool) -> Tensor:
    if w.dim() > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with {w.dim()} "
                           "dimensions")
    if integral != (w.dtype.kind == _dt.INT):
        from .registry import _type_name
        want = "integral" if integral else "floating point"
        raise RuntimeError(f"cov(): expected {name} to have {want} dtype but got {name} with {_type_name(w.dtype)} "
                           "dtype")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the input "
                           f"but got {w.numel()} != {n}")
    if n and bool((w < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")
    return w


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of input (observations in the columns), with frequency
    and/or observation weights; correction 1 is the unbiased estimate. As PyTorch's: integer inputs give float32,
    complex ones the Hermitian covariance (x x^H), and the result is squeezed (a single variable gives a 0-d
    tensor); with no degrees of freedom left it warns and divides by zero."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    if input.dtype is _dt.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _cov_weights("fweights", fweights, n, integral=True)
    if aweights is not None:
        aw = _cov_weights("aweights", aweights, n, integral=False)
        w = aw if w is None else w * aw
    if w is None:
        w_sum = n
        mean = x.sum(1, keepdim=True) / n
        norm = n - correction
    else:
        w_sum = w.sum()
        if not bool(w_sum != 0):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        mean = (x * w).sum(1, keepdim=True) / w_sum
        norm = w_sum - correction * (w * aweights).sum() / w_sum if aweights is not None and correction != 0 \
            else w_sum - correction
    if bool(norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.")
        norm = 0 * norm
    xc = x - mean
    c = xc @ (xc if w is None else xc * w).mT.conj()
    return _tt().true_divide(c, norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of input, clipped to [-1, 1] (the real and
    imaginary parts separately for a complex input, as PyTorch's)."""
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    std = (d.real if d.is_complex() else d).sqrt()
    c = c / std.reshape(-1, 1) / std.reshape(1, -1)
    if c.is_complex():
        return _tt().complex(c.real.clamp(-1, 1), c.imag.clamp(-1, 1))
    return c.clamp(-1, 1)


# ------------------------------------------------------------------------------------ elementwise (composed)

_LOG10_E = 1.0 / math.log(10.0)


def log10(input: Tensor, *, out=None) -> Tensor:
    """Base-10 logarithm: log(x) / ln(10)."""
    r = input.log() * _LOG10_E
    return r if out is None else _write_out(out, r)


def deg2rad(input: Tensor, *, out=None) -> Tensor:
    r = input * (math.pi / 180.0)
    return r if out is None else _write_out(out, r)


def rad2deg(input: Tensor, *, out=None) -> Tensor:
    r = input * (180.0 / math.pi)
    return r if out is None else _write_out(out, r)


def isposinf(input: Tensor, *, out=None) -> Tensor:
    r = input == math.inf if input.dtype.kind == _dt.FLOAT else input != input
    return r if out is None else _write_out(out, r)


def isneginf(input: Tensor, *, out=None) -> Tensor:
    r = input == -math.inf if input.dtype.kind == _dt.FLOAT else input != input
    return r if out is None else _write_out(out, r)


def sgn(input: Tensor, *, out=None) -> Tensor:
    """z / |z| (0 at 0) for complex tensors; sign for real ones."""
    from .complex import sgn as complex_sgn
    r = complex_sgn(input) if input.dtype.kind == _dt.COMPLEX else input.sign()
    return r if out is None else _write_out(out, r)


def sinc(input: Tensor, *, out=None) -> Tensor:
    """sin(pi x) / (pi x), 1 at x = 0 (complex in, complex out)."""
    tt = _tt()
    x = input if input.dtype.kind in (_dt.FLOAT, _dt.COMPLEX) else input.to(tt.get_default_dtype())
    px = x * math.pi
    safe = tt.where(x == 0, tt.ones_like(px), px)
    r = tt.where(x == 0, tt.ones_like(px), safe.sin() / safe)
    return r if out is None else _write_out(out, r)


def logaddexp2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """log2(2^x + 2^y), computed as logaddexp in natural units, in the operands' promoted dtype (fp16/bf16 in
    fp32, rounded once), as PyTorch's: scaling each operand by ln 2 in its own dtype first rounded a bfloat16
    operand of a float64 call to 3 digits, and a bfloat16 call with an integer operand came back float32."""
    tt = _tt()
    dt = tt.result_type(input, other)
    if dt.kind != _dt.FLOAT:
        from .registry import _type_name
        raise NotImplementedError(f'"logaddexp2_{input.device.type}" not implemented for '
                                  f"'{_type_name(dt)}'")
    op_math = tt.float32 if dt in (tt.float16, tt.bfloat16) else dt
    ln2 = math.log(2.0)
    r = (tt.logaddexp(input.to(op_math) * ln2, other.to(op_math) * ln2) / ln2).to(dt)
    return r if out is None else _write_out(out, r)


# ------------------------------------------------------------------------------------------------ methods

def _unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every slice of `size` elements along `dimension`, `step` apart, as a new last dim (a strided view)."""
    d = dimension % self.dim() if self.dim() else 0
    length = self.shape[d] if self.dim() else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not self.dim():
        return self.reshape(1)
    shape, strides = list(self.shape), list(self.stride())
    shape[d] = (length - size) // step + 1
    inner_stride = strides[d]
    strides[d] = inner_stride * step
    return self.as_strided(tuple(shape) + (size,), tuple(strides) + (inner_stride,), self.storage_offset())


def _sum_to_size(self: Tensor, *size) -> Tensor:
    """The sum of self down to `size` (which self's shape must broadcast to... from)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if tuple(np.broadcast_shapes(size, tuple(self.shape))) != tuple(self.shape):
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    lead = self.dim() - len(size)
    x = self.sum(tuple(range(lead))) if lead > 0 else self
    dims = tuple(i for i, (a, b) in enumerate(zip(x.shape, size)) if b == 1 and a != 1)
    return x.sum(dims, keepdim=True) if dims else x


_bind.methods(take_along_dim=take_along_dim, rot90=rot90, inner=inner, mv=mv, vdot=vdot, dist=dist,
              aminmax=aminmax, kthvalue=kthvalue, mode=mode, histc=histc, heaviside=heaviside, signbit=signbit,
              unfold=_unfold, sum_to_size=_sum_to_size, hsplit=hsplit, vsplit=vsplit, dsplit=dsplit,
              diagflat=diagflat, cov=cov, corrcoef=corrcoef, log10=log10, deg2rad=deg2rad, rad2deg=rad2deg,
              isposinf=isposinf, isneginf=isneginf, sgn=sgn, sinc=sinc, logaddexp2=logaddexp2)
