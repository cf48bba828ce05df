"""Sparse COO tensors (layout torch.sparse_coo) and the torch.sparse namespace.

A sparse tensor holds `indices` (sparse_dim, nnz) int64 and `values` (nnz, *dense dims), two ordinary tensors on
one device, and a shape. Everything is composed of registered ops on those two, so every operation runs on both
devices and autograd reaches the values (a sparse leaf's .grad is the sparse tensor of its values' gradient):
  coalesce: linear index of each entry, unique (sorted) with inverse, index_add of the values;
  to_dense: index_put with accumulate into zeros; dense.to_sparse(): nonzero, then a gather of the values;
  sparse @ dense: ops/sparse_mm.py's coo_mm on the coalesced entries; dense @ sparse: its transpose; sparse @
  sparse: the product with the right operand densified, made sparse again;
  dense + sparse: index_put with accumulate into the dense operand (a dense result); sparse + sparse: the
  entries concatenated (uncoalesced, as PyTorch's); sparse * scalar, * dense (sampled at the entries), sum.
Ops without a sparse form refuse a sparse operand before any kernel runs and say so (registry.__call__ sends
every call with a sparse operand here once a program has made one: `_state.FLAGS.sparse`).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _state
from .. import dtypes as _dt
from .._memory_format import layout as _layout
from ..tensor import Tensor

__all__ = ["mm", "addmm", "sum", "spmm", "softmax", "log_softmax", "spdiags", "SparseTensor", "sparse_coo",
           "sparse_coo_tensor", "to_sparse", "as_sparse_gradcheck", "check_sparse_tensor_invariants"]

sparse_coo = _layout("sparse_coo")


class SparseCOO:
    """The storage of a sparse tensor (its `_data`): shape, ndim and size answer what Tensor asks of storage."""
    __slots__ = ("indices", "values", "shape", "coalesced")

    def __init__(self, indices: Tensor, values: Tensor, shape: tuple, coalesced: bool):
        self.indices, self.values, self.shape, self.coalesced = indices, values, tuple(shape), coalesced

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class SparseTensor(Tensor):
    """A sparse COO tensor (see the module docstring)."""
    _tritorch_layout = True     # not a user subclass: the registry sends it to the sparse rules, not to autograd

    def __init__(self, *args, **kwargs):
        raise TypeError("make sparse tensors with torch.sparse_coo_tensor(...) or dense.to_sparse()")

    # ----------------------------------------------------------------------------------- structure
    @property
    def layout(self):
        return sparse_coo

    @property
    def is_sparse(self) -> bool:
        return True

    def sparse_dim(self) -> int:
        return self._data.indices.shape[0]

    def dense_dim(self) -> int:
        return len(self._data.shape) - self.sparse_dim()

    def _nnz(self) -> int:
        return self._data.indices.shape[1]

    def is_coalesced(self) -> bool:
        return self._data.coalesced

    def _indices(self) -> Tensor:
        return self._data.indices

    def _values(self) -> Tensor:
        return self._data.values

    def indices(self) -> Tensor:
        if not self._data.coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._data.indices

    def values(self) -> Tensor:
        if not self._data.coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._data.values

    def coalesce(self) -> "SparseTensor":
        if self._data.coalesced:
            return self
        return _coalesced(self)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        from ..ops.creation import zeros
        from ..ops.indexing import index_put
        d = self._data
        out = zeros(d.shape, dtype=d.values.dtype, device=self.device)
        r = index_put(out, tuple(d.indices[i] for i in range(self.sparse_dim())), d.values, accumulate=True)
        return r if dtype is None else r.to(dtype)

    def to_sparse(self, *args, **kwargs) -> "SparseTensor":
        return self

    to_sparse_coo = to_sparse

    # ----------------------------------------------------------------------------------- autograd
    @property
    def requires_grad(self) -> bool:
        return self._data.values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._data.values.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "SparseTensor":
        self._data.values.requires_grad_(requires_grad)
        return self

    @property
    def grad(self):
        g = self._data.values.grad
        return None if g is None else _wrap(self._data.indices, g, self._data.shape, self._data.coalesced)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise RuntimeError("a sparse tensor's .grad can only be reset to None")
        self._data.values.grad = None

    @property
    def grad_fn(self):
        return self._data.values.grad_fn

    @grad_fn.setter
    def grad_fn(self, value) -> None:
        pass   # (the values carry the history)

    def zero_(self) -> "SparseTensor":
        """No entries left (PyTorch's sparse zero_: the size stays)."""
        d = self._data
        values = d.values.detach().new_zeros((0,) + tuple(d.values.shape[1:]))
        indices = d.indices.new_zeros((d.indices.shape[0], 0))
        object.__setattr__(self, "_data", SparseCOO(indices, values, d.shape, True))
        return self

    def detach(self) -> "SparseTensor":
        d = self._data
        return _wrap(d.indices, d.values.detach(), d.shape, d.coalesced)

    def clone(self, *, memory_format=None) -> "SparseTensor":
        d = self._data
        return _wrap(d.indices.clone(), d.values.clone(), d.shape, d.coalesced)

    # ----------------------------------------------------------------------------------- conversions
    def to(self, *args, **kwargs) -> "SparseTensor":
        d = self._data
        values = d.values.to(*args, **kwargs)
        indices = d.indices.to(values.device)
        return _wrap(indices, values, d.shape, d.coalesced)

    def cpu(self) -> "SparseTensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> "SparseTensor":
        return self.to("cuda" if device is None else device)

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            return f"torch.sparse.{type(self._data.values.type()).__name__}"
        return self.to(dtype)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def t(self) -> "SparseTensor":
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a 2-D sparse tensor, got sparse_dim {self.sparse_dim()} and dense_dim "
                               f"{self.dense_dim()}")
        return self.transpose(0, 1)

    def transpose(self, dim0: int, dim1: int) -> "SparseTensor":
        from ..ops.movement import stack
        d = self._data
        n = len(d.shape)
        a, b = dim0 % n, dim1 % n
        if max(a, b) >= self.sparse_dim():
            raise RuntimeError("transpose of a sparse tensor's dense dims is not supported by tritorch")
        order = list(range(self.sparse_dim()))
        order[a], order[b] = order[b], order[a]
        shape = list(d.shape)
        shape[a], shape[b] = shape[b], shape[a]
        return _wrap(stack([d.indices[i] for i in order]), d.values, tuple(shape), a == b and d.coalesced)

    @property
    def T(self):
        return self.t()

    def numpy(self, *, force: bool = False):
        raise RuntimeError("numpy() of a sparse tensor: call .to_dense() first")

    def tolist(self):
        raise RuntimeError("tolist() of a sparse tensor: call .to_dense() first")

    def item(self):
        raise RuntimeError("item() of a sparse tensor: call .to_dense() first")

    def __repr__(self) -> str:
        d = self._data
        vals = repr(d.values.detach() if d.values.requires_grad else d.values)
        grad = f", grad_fn=<{type(d.values.grad_fn).__name__}>" if d.values.grad_fn is not None else \
            (", requires_grad=True" if d.values.requires_grad else "")
        device = "" if self.device.type == "cpu" else f", device='{self.device}'"
        return (f"tensor(indices={d.indices!r},\n       values={vals},\n       size={d.shape}, nnz={self._nnz()}"
                f"{', dtype=' + str(self.dtype) if self.dtype is not _dt.get_default_dtype() else ''}"
                f"{device}, layout=torch.sparse_coo{grad})")

    __str__ = __repr__

    # ----------------------------------------------------------------------------------- operators
    def __neg__(self):
        return _scaled(self, -1)

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return add(self, other, alpha=-1)

    def __rsub__(self, other):
        return add(other, self, alpha=-1)

    def __mul__(self, other):
        return mul(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if not isinstance(other, numbers.Number):
            raise RuntimeError("a sparse tensor divides by a number only in tritorch")
        return _scaled(self, 1 / other)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def mm(self, other):
        return matmul(self, other)

    def matmul(self, other):
        return matmul(self, other)

    def add(self, other, *, alpha=1):
        return add(self, other, alpha=alpha)

    def mul(self, other):
        return mul(self, other)

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        return sum(self, dim, dtype=dtype) if not keepdim else self.to_dense().sum(dim, keepdim=True, dtype=dtype)


def _wrap(indices: Tensor, values: Tensor, shape: tuple, coalesced: bool) -> SparseTensor:
    t = object.__new__(SparseTensor)
    object.__setattr__(t, "_data", SparseCOO(indices, values, shape, coalesced))
    object.__setattr__(t, "dtype", values.dtype)
    object.__setattr__(t, "device", values.device)
    object.__setattr__(t, "_requires_grad", False)
    object.__setattr__(t, "grad_fn", None)
    object.__setattr__(t, "_grad", None)
    object.__setattr__(t, "_version", [0])
    object.__setattr__(t, "_base", None)
    object.__setattr__(t, "_extra", None)
    _state.FLAGS.sparse = True
    return t


# --------------------------------------------------------------------------------------------- creation

def _as_tensor(x, dtype=None, device=None) -> Tensor:
    from ..ops.creation import tensor
    if isinstance(x, Tensor):
        return x if dtype is None and device is None else x.to(device=device, dtype=dtype)
    return tensor(np.asarray(x) if not isinstance(x, (list, tuple)) else x, dtype=dtype, device=device)


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, pin_memory: bool = False,
                      requires_grad: bool = False, check_invariants=None, is_coalesced=None) -> SparseTensor:
    """torch.sparse_coo_tensor: a sparse tensor of `values` at `indices` (sparse_dim, nnz); size defaults to the
    smallest that holds every index. Entries may repeat (their values add up: coalesce())."""
    values = _as_tensor(values, dtype, device)
    indices = _as_tensor(indices, None, values.device).to(_dt.int64)
    if indices.dim() != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    sparse_dim, nnz = indices.shape
    if values.dim() == 0 or values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {values.shape[0] if values.dim() else 0}")
    if size is None:
        if nnz == 0:
            raise RuntimeError("sparse_coo_tensor: give size= for a tensor without entries")
        size = tuple(int(m) + 1 for m in indices.amax(1).tolist()) + tuple(values.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + values.dim() - 1:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({sparse_dim}) + dense_dim "
                           f"({values.dim() - 1}), but got {len(size)}")
    if tuple(values.shape[1:]) != size[sparse_dim:]:
        raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sparse_dim:]]}, got "
                           f"{list(values.shape)}")
    if nnz and (check_invariants is None or check_invariants):
        lo, hi = indices.amin(1).tolist(), indices.amax(1).tolist()
        for d in range(sparse_dim):
            if lo[d] < 0 or hi[d] >= size[d]:
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                                   f"index {hi[d] if hi[d] >= size[d] else lo[d]}")
    if requires_grad:
        values = values.detach().requires_grad_(True)
    return _wrap(indices, values, size, bool(is_coalesced) or nnz <= 1)


def to_sparse(dense: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None,
              dense_dim=None) -> SparseTensor:
    """Tensor.to_sparse(): the nonzero entries (of the first sparse_dim dims; default all) as a coalesced sparse
    tensor; autograd reaches the dense tensor through the gathered values."""
    if isinstance(dense, SparseTensor):
        return dense
    if layout is not None and layout is not sparse_coo and getattr(layout, "name", None) != "sparse_coo":
        raise RuntimeError(f"to_sparse: tritorch has the sparse_coo layout only, not {layout}")
    n = dense.dim()
    sd = n if sparse_dim is None else int(sparse_dim)
    if not 0 < sd <= n:
        raise RuntimeError(f"sparse_dim must be in [1, {n}], got {sd}")
    mask = dense != 0
    if sd < n:
        mask = mask.flatten(sd).any(-1)
    nz = mask.nonzero()                                  # (nnz, sd), row-major order: coalesced
    idx = nz.t().contiguous()
    values = dense[tuple(idx[i] for i in range(sd))]
    return _wrap(idx, values, tuple(dense.shape), True)


def _coalesced(s: SparseTensor) -> SparseTensor:
    from ..ops.creation import zeros
    from ..ops.movement import stack
    from ..ops.reduce import unique
    d = s._data
    sd = s.sparse_dim()
    if s._nnz() == 0:
        return _wrap(d.indices, d.values, d.shape, True)
    strides = [math.prod(d.shape[i + 1:sd]) for i in range(sd)]
    lin = d.indices[0] * strides[0]
    for i in range(1, sd):
        lin = lin + d.indices[i] * strides[i]
    keys, inverse = unique(lin, sorted=True, return_inverse=True)
    values = zeros((keys.shape[0],) + tuple(d.values.shape[1:]), dtype=d.values.dtype, device=s.device)
    values = values.index_add(0, inverse, d.values)
    idx = stack([(keys // strides[i]) % d.shape[i] for i in range(sd)])
    return _wrap(idx, values, d.shape, True)


# --------------------------------------------------------------------------------------------- arithmetic

def _scaled(s: SparseTensor, k) -> SparseTensor:
    d = s._data
    return _wrap(d.indices, d.values * k, d.shape, d.coalesced)


def _check_same_shape(a, b, what: str) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"{what}: sizes {list(a.shape)} and {list(b.shape)} must match (a sparse operand does "
                           "not broadcast)")


def add(a, b, *, alpha=1):
    """a + alpha * b with a sparse operand: sparse + sparse is sparse, otherwise the result is dense."""
    from ..ops.indexing import index_put
    from ..ops.movement import cat
    if isinstance(b, numbers.Number) or isinstance(a, numbers.Number):
        raise RuntimeError("add(sparse, number): a sparse tensor adds to tensors only (a number would fill every "
                           "entry: call .to_dense() first)")
    _check_same_shape(a, b, "add")
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        da, db = a._data, b._data
        dt = _dt.promote_types(da.values.dtype, db.values.dtype)
        vb = db.values.to(dt) if alpha == 1 else db.values.to(dt) * alpha
        return _wrap(cat([da.indices, db.indices], 1), cat([da.values.to(dt), vb], 0), da.shape, False)
    dense, sparse, k_dense, k_sparse = (a, b, 1, alpha) if isinstance(b, SparseTensor) else (b, a, alpha, 1)
    d = sparse._data
    out_dtype = _dt.promote_types(dense.dtype, d.values.dtype)
    base = dense.to(out_dtype) if k_dense == 1 else dense.to(out_dtype) * k_dense
    vals = d.values.to(out_dtype)
    vals = vals if k_sparse == 1 else vals * k_sparse
    return index_put(base, tuple(d.indices[i] for i in range(sparse.sparse_dim())), vals, accumulate=True)


def mul(a, b):
    """sparse * number, sparse * dense (the dense values at the entries: sparse), sparse * sparse (sparse)."""
    if isinstance(b, SparseTensor) and not isinstance(a, SparseTensor):
        a, b = b, a
    if isinstance(b, numbers.Number):
        return _scaled(a, b)
    _check_same_shape(a, b, "mul")
    s = a.coalesce()
    d = s._data
    other = b.to_dense() if isinstance(b, SparseTensor) else b
    picked = other[tuple(d.indices[i] for i in range(s.sparse_dim()))]
    return _wrap(d.indices, d.values * picked, d.shape, True)


def _dense_operand(x, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(x).__name__}")
    return x


def matmul(a, b):
    """sparse @ dense and dense @ sparse (dense results), sparse @ sparse (sparse), for 2-D sparse matrices."""
    from ..ops.sparse_mm import coo_mm, transposed_entries
    if isinstance(a, SparseTensor):
        if a.sparse_dim() != 2 or a.dense_dim():
            raise RuntimeError(f"sparse matmul takes 2-D sparse matrices, got sparse_dim {a.sparse_dim()} and "
                               f"dense_dim {a.dense_dim()}")
        if isinstance(b, SparseTensor):
            return matmul(a, b.to_dense()).to_sparse()
        b = _dense_operand(b, "matmul")
        vector = b.dim() == 1
        m = b.unsqueeze(1) if vector else b
        if m.dim() != 2 or m.shape[0] != a.shape[1]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                               f"{'x'.join(str(s) for s in b.shape)})")
        s = a.coalesce()._data
        r = coo_mm(s.indices, s.values, m, a.shape[0])
        return r.squeeze(1) if vector else r
    if isinstance(b, SparseTensor):
        a = _dense_operand(a, "matmul")
        if b.sparse_dim() != 2 or b.dense_dim():
            raise RuntimeError("sparse matmul takes 2-D sparse matrices")
        if a.dim() != 2 or a.shape[1] != b.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(str(s) for s in a.shape)} "
                               f"and {b.shape[0]}x{b.shape[1]})")
        s = b.coalesce()._data
        t_idx, t_vals = transposed_entries(s.indices, s.values)
        return coo_mm(t_idx, t_vals, a.t(), b.shape[1]).t().contiguous()
    raise TypeError("matmul: no sparse operand")


def mm(mat1, mat2):
    """torch.sparse.mm: a sparse matrix times a dense (or sparse) one."""
    return matmul(mat1, mat2)


spmm = mm


def addmm(mat, mat1, mat2, *, beta=1, alpha=1):
    """torch.sparse.addmm: beta * mat + alpha * (mat1 @ mat2), mat1 sparse."""
    product = matmul(mat1, mat2)
    return (mat.to_dense() if isinstance(mat, SparseTensor) else mat) * beta + product * alpha


def sum(input, dim=None, dtype=None):  # noqa: A001
    """torch.sparse.sum: the sum of every entry (a 0-d dense tensor), or over `dim` (a sparse tensor)."""
    if dim is None:
        return input._data.values.sum(dtype=dtype)
    return input.to_dense().sum(dim, dtype=dtype).to_sparse()


def _softmax(input, dim: int, dtype, log: bool):
    """softmax over the specified entries of each slice along `dim` (unspecified ones count as -inf): a sparse
    tensor with the input's (coalesced) entries."""
    from ..ops.creation import zeros
    from ..ops.reduce import unique
    s = input.coalesce()
    d = s._data
    values = d.values if dtype is None else d.values.to(dtype)
    n = len(d.shape)
    dim = dim % n if -n <= dim < n else dim
    if not 0 <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    sd = s.sparse_dim()
    if dim >= sd:                        # a dense dim: within each entry's values
        f = values.log_softmax if log else values.softmax
        return _wrap(d.indices, f(dim - sd + 1), d.shape, True)
    if s._nnz() == 0:
        return _wrap(d.indices, values, d.shape, True)
    # the slice of each entry: its index along every other sparse dim
    key = zeros(s._nnz(), dtype=_dt.int64, device=s.device)
    for i in range(sd):
        if i != dim:
            key = key * d.shape[i] + d.indices[i]
    _, group = unique(key, sorted=True, return_inverse=True)
    count = int(group.max().item()) + 1
    shape = (count,) + tuple(values.shape[1:])
    index = group.view((-1,) + (1,) * (values.dim() - 1)).expand(tuple(values.shape))
    top = zeros(shape, dtype=values.dtype, device=s.device).scatter_reduce(0, index, values.detach(), "amax",
                                                                          include_self=False)
    shifted = values - top.index_select(0, group)
    e = shifted.exp()
    total = zeros(shape, dtype=values.dtype, device=s.device).index_add(0, group, e)
    out = shifted - total.log().index_select(0, group) if log else e / total.index_select(0, group)
    return _wrap(d.indices, out, d.shape, True)


def softmax(input, dim: int, *, dtype=None):
    """torch.sparse.softmax: softmax over the specified entries of each slice along dim (the others are -inf)."""
    return _softmax(input, dim, dtype, False)


def log_softmax(input, dim: int, *, dtype=None):
    """torch.sparse.log_softmax: log of sparse.softmax, computed directly."""
    return _softmax(input, dim, dtype, True)


def spdiags(diagonals, offsets, shape, layout=None):
    """torch.sparse.spdiags: a sparse matrix with the rows of `diagonals` on the diagonals `offsets` (row i of
    diagonals holds, at column j, the value for matrix element (j - offsets[i], j))."""
    from ..ops.creation import arange
    from ..ops.movement import cat, stack
    rows_, cols_, vals_ = [], [], []
    m, n = int(shape[0]), int(shape[1])
    offs = offsets.tolist() if isinstance(offsets, Tensor) else list(offsets)
    for i, k in enumerate(offs):
        j = arange(max(0, k), min(n, m + k, diagonals.shape[1]), device=diagonals.device)
        rows_.append(j - k)
        cols_.append(j)
        vals_.append(diagonals[i].index_select(0, j))
    idx = stack([cat(rows_), cat(cols_)])
    return sparse_coo_tensor(idx, cat(vals_), (m, n)).coalesce()


def as_sparse_gradcheck(gradcheck):
    return gradcheck


class check_sparse_tensor_invariants:
    """torch.sparse.check_sparse_tensor_invariants: tritorch checks indices against the size at construction
    always (check_invariants=False skips it per call); the context manager and its switches are accepted."""
    _enabled = True

    def __init__(self, enable: bool = True):
        self.enable = enable

    @staticmethod
    def is_enabled() -> bool:
        return check_sparse_tensor_invariants._enabled

    @staticmethod
    def enable() -> None:
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable() -> None:
        check_sparse_tensor_invariants._enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _dense_to_sparse(self, *args, **kwargs):
    return to_sparse(self, *args, **kwargs)


Tensor.to_sparse = _dense_to_sparse
Tensor.to_sparse_coo = _dense_to_sparse


def _not_sparse(name: str, what: str = "sparse coordinate tensor layout"):
    def method(self):
        raise RuntimeError(f"{name} expected {what} but got Strided")
    method.__name__ = name
    return method


# the sparse queries on a dense (strided) tensor: PyTorch's answers and refusals
Tensor.sparse_dim = lambda self: 0
Tensor.dense_dim = lambda self: self.ndim
Tensor.is_coalesced = _not_sparse("is_coalesced")
Tensor.coalesce = _not_sparse("coalesce")
Tensor.indices = _not_sparse("indices")
Tensor.values = _not_sparse("values", "sparse tensor layout")


# ------------------------------------------------------------------------------ the registry's sparse path

def _has_sparse(values) -> bool:
    for v in values:
        if v.__class__ is SparseTensor:
            return True
        if v.__class__ in (list, tuple) and _has_sparse(v):
            return True
    return False


_RULES = {
    "add": lambda input, other, alpha=1, **kw: add(input, other, alpha=alpha),
    "sub": lambda input, other, alpha=1, **kw: add(input, other, alpha=-alpha),
    "mul": lambda input, other, **kw: mul(input, other),
    "div": lambda input, other, **kw: input / other,
    "neg": lambda input, **kw: -input,
    "mm": lambda input, mat2, **kw: matmul(input, mat2),
    "matmul": lambda input, other, **kw: matmul(input, other),
    "sum": lambda input, dim=None, keepdim=False, dtype=None, **kw: input.sum(dim, keepdim, dtype),
}


def registry_call(op, args, kwargs, out):
    """What registry.__call__ does with a call that has a sparse operand: the op's sparse rule, or PyTorch-like
    refusal naming the op; NotImplemented when no operand is sparse."""
    if not _has_sparse(args) and not _has_sparse(kwargs.values()):
        return NotImplemented
    rule = _RULES.get(op.name)
    if rule is None or out is not None:
        raise RuntimeError(f"{op.name}: tritorch has no sparse COO form of this op"
                           f"{' with out=' if out is not None else ''}; call .to_dense() on the sparse operand "
                           f"(sparse tensors support to_dense, coalesce, +, -, *, /, @, mm, sum, t, to)")
    return rule(*args, **kwargs)


from ..ops import registry as _registry  # noqa: E402
_registry.SPARSE_CALL[0] = registry_call
