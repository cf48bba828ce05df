"""Linear-algebra helpers that PyTorch composes from other ops: einsum, tensordot, outer/ger, kron, diag,
diag_embed, trace, cross, cdist, baddbmm, addbmm, addmv (addr: ops/addr.py).

Each is a function composed of registered ops (permute/reshape/expand, bmm/matmul, mul/sum, where, cat,
diagonal), as PyTorch composes them (CompositeImplicit in ATen), so they run on both devices and are
differentiable (and differentiable again) through their component ops' backward rules. The heavy lifting is
the component kernels: einsum and tensordot reduce to one bmm per pairwise contraction.
"""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..tensor import Tensor
from .registry import write_out as _write_out

__all__ = ["einsum", "tensordot", "outer", "ger", "kron", "diag", "diag_embed", "trace", "cross", "cdist",
           "baddbmm", "addbmm", "addmv"]


def _tt():
    import tritorch
    return tritorch


def _require_tensor(name, x, arg="input", position=1):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not {type(x).__name__}")


def _wrap_dim(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {dim})")
    return dim % max(ndim, 1)


# ================================================================================================== einsum

def _parse_einsum(equation, operands):
    """Operand label lists and the output label list; '...' becomes one private label per broadcast dim,
    right-aligned across operands as PyTorch broadcasts them."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    ell_rank = 0
    for term, op in zip(terms, operands):
        if "..." in term:
            ell_rank = max(ell_rank, op.dim() - (len(term) - 3))
    ell_labels = [f"...{i}" for i in range(ell_rank)]
    labels = []
    for term, op in zip(terms, operands):
        head, ell, tail = term.partition("...")
        for c in head + tail:
            if not c.isalpha():
                raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation "
                                   f"string, subscripts must be in [a-zA-Z]")
        if ell:
            k = op.dim() - len(head) - len(tail)
            if k < 0:
                raise RuntimeError("einsum(): the number of subscripts in the equation does not match the number "
                                   "of dimensions for operand")
            labs = list(head) + ell_labels[ell_rank - k:] + list(tail)
        else:
            labs = list(term)
        if len(labs) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(labs)}) does not match "
                               f"the number of dimensions ({op.dim()}) for operand {len(labels)}"
                               + ("" if ell_rank == 0 else " and no ellipsis was given"))
        labels.append(labs)
    if arrow:
        head, ell, tail = rhs.partition("...")
        out = list(head) + (ell_labels if ell else []) + list(tail)
        if not ell and ell_rank:
            out = list(head) + list(tail)
        for c in head + tail:
            if not any(c in labs for labs in labels):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   "input operand")
    else:
        counts = {}
        for labs in labels:
            for c in labs:
                counts[c] = counts.get(c, 0) + 1
        out = ell_labels + sorted(c for c, n in counts.items() if n == 1 and not c.startswith("..."))
    return labels, out


def _take_diagonals(x, labs):
    """Repeated labels within one operand ('ii'): their diagonal, which diagonal() moves to the last dim."""
    tt = _tt()
    labs = list(labs)
    while True:
        seen = {}
        pair = None
        for i, c in enumerate(labs):
            if c in seen:
                pair = (seen[c], i)
                break
            seen[c] = i
        if pair is None:
            return x, labs
        i, j = pair
        x = tt.diagonal(x, 0, i, j)
        c = labs[i]
        labs = [l for k, l in enumerate(labs) if k not in (i, j)] + [c]


def _sum_out(x, labs, keep):
    """Sum over the labels of x that are not in `keep`."""
    dims = [i for i, c in enumerate(labs) if c not in keep]
    if not dims:
        return x, labs
    return _tt().sum(x, dim=dims), [c for c in labs if c in keep]


def _contract(a, la, b, lb, keep):
    """a (labels la) times b (labels lb), summed over shared labels not in `keep`, as one bmm:
    (batch, a-only, contracted) @ (batch, contracted, b-only). Size-1 dims broadcast against the other side."""
    tt = _tt()
    size = {}
    for x, labs in ((a, la), (b, lb)):
        for c, s in zip(labs, x.shape):
            size[c] = max(size.get(c, 1), s) if s != 1 else size.get(c, 1)
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    a_only = [c for c in la if c not in lb]
    b_only = [c for c in lb if c not in la]

    def arrange(x, labs, order):
        x = tt.permute(x, [labs.index(c) for c in order])
        return x.expand(*[size[c] for c in order])

    pa = arrange(a, la, batch + a_only + summed)
    pb = arrange(b, lb, batch + summed + b_only)
    nb = math.prod(size[c] for c in batch)
    m = math.prod(size[c] for c in a_only)
    k = math.prod(size[c] for c in summed)
    n = math.prod(size[c] for c in b_only)
    r = tt.bmm(tt.reshape(pa, (nb, m, k)), tt.reshape(pb, (nb, k, n)))
    labs = batch + a_only + b_only
    return tt.reshape(r, tuple(size[c] for c in labs)), labs


def einsum(equation, *operands):
    """Sums of products over the labelled dims of the operands, as in torch.einsum ('ij,jk->ik', 'bii->bi',
    '...ij,...jk', implicit output). Operands are contracted pairwise, left to right, each pair by one bmm."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not {type(equation).__name__}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for i, op in enumerate(operands):
        _require_tensor("einsum", op, "operands", 2)
    tt = _tt()
    labels, out = _parse_einsum(equation, operands)
    items = [_take_diagonals(x, labs) for x, labs in zip(operands, labels)]
    x, labs = items[0]
    rest = items[1:]

    def needed_later(others):
        keep = set(out)
        for _, l in others:
            keep.update(l)
        return keep

    x, labs = _sum_out(x, labs, needed_later(rest))
    for i, (y, ly) in enumerate(rest):
        keep = needed_later(rest[i + 1:])
        y, ly = _sum_out(y, ly, keep | set(labs))
        x, labs = _contract(x, labs, y, ly, keep)
    x, labs = _sum_out(x, labs, set(out))
    if labs != out:
        x = tt.permute(x, [labs.index(c) for c in out])
    return x


# ========================================================================================= products

def tensordot(a, b, dims=2, out=None):
    """Contracts the last `dims` dims of a with the first `dims` of b (or the listed dim pairs) by one matmul."""
    tt = _tt()
    _require_tensor("tensordot", a, "a", 1)
    _require_tensor("tensordot", b, "b", 2)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [_wrap_dim(d, a.dim()) for d in dims_a]
    dims_b = [_wrap_dim(d, b.dim()) for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                               f"{da} and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.dim()) if d not in dims_a]
    free_b = [d for d in range(b.dim()) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    pa = tt.reshape(tt.permute(a, free_a + dims_a), (math.prod(a.shape[d] for d in free_a), k))
    pb = tt.reshape(tt.permute(b, dims_b + free_b), (k, math.prod(b.shape[d] for d in free_b)))
    r = tt.reshape(tt.matmul(pa, pb), tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))
    if out is not None:
        _write_out(out, r)
        return out
    return r


def outer(input, vec2, *, out=None):
    """The outer product input[i] * vec2[j] of two vectors."""
    _require_tensor("outer", input)
    _require_tensor("outer", vec2, "vec2", 2)
    for name, v in (("self", input), ("vec2", vec2)):
        if v.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.dim()}-D")
    from . import binary
    return binary.mul(input.reshape(-1, 1), vec2.reshape(1, -1), out=out)


ger = outer


def kron(input, other, *, out=None):
    """Kronecker product: block (i, j) of the result is input[i, j] * other (any ranks, padded with 1s)."""
    tt = _tt()
    _require_tensor("kron", input)
    _require_tensor("kron", other, "other", 2)
    nd = max(input.dim(), other.dim())
    sa = (1,) * (nd - input.dim()) + tuple(input.shape)
    sb = (1,) * (nd - other.dim()) + tuple(other.shape)
    a = tt.reshape(input, tuple(s for d in sa for s in (d, 1)))
    b = tt.reshape(other, tuple(s for d in sb for s in (1, d)))
    from . import binary
    r = tt.reshape(binary.mul(a, b), tuple(x * y for x, y in zip(sa, sb)))
    if out is not None:
        _write_out(out, r)
        return out
    return r


# ========================================================================================= diagonals

def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (dim1, dim2) diagonal at `offset` holds input's last dim, zeros elsewhere."""
    tt = _tt()
    _require_tensor("diag_embed", input)
    nd = input.dim() + 1
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] if input.dim() else 1
    v = input if input.dim() else input.reshape(1)
    eye = tt.eye(n, dtype=_dt.bool_, device=input.device)
    m = tt.where(eye, v.unsqueeze(-1), tt.zeros((), dtype=input.dtype, device=input.device))  # (..., n, n)
    k = abs(offset)
    if k:
        lead = tuple(m.shape[:-2])
        side = tt.zeros(lead + (n, k), dtype=input.dtype, device=input.device)
        cap = tt.zeros(lead + (k, n + k), dtype=input.dtype, device=input.device)
        if offset > 0:   # the diagonal sits above the main one: zero columns on the left, zero rows below
            m = tt.cat([tt.cat([side, m], -1), cap], -2)
        else:
            m = tt.cat([cap, tt.cat([m, side], -1)], -2)
    if (d1, d2) != (nd - 2, nd - 1):
        m = tt.movedim(m, (nd - 2, nd - 1), (d1, d2))
    return m


def diag(input, diagonal=0, *, out=None):
    """A 1-D input as the `diagonal`-th diagonal of a square matrix; a matrix's `diagonal`-th diagonal (a copy)."""
    tt = _tt()
    _require_tensor("diag", input)
    if input.dim() == 1:
        r = diag_embed(input, diagonal)
    elif input.dim() == 2:
        r = tt.diagonal(input, diagonal, 0, 1).clone()
    else:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.dim()}D")
    if out is not None:
        _write_out(out, r)
        return out
    return r


def trace(input):
    """The sum of a matrix's main diagonal (integer inputs sum to int64)."""
    _require_tensor("trace", input)
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    tt = _tt()
    return tt.sum(tt.diagonal(input, 0, 0, 1))


# ==================================================================================== cross and cdist

def cross(input, other, dim=None, *, out=None):
    """The cross product along `dim` (size 3), operands broadcast; dim=None takes the first dim of size 3."""
    tt = _tt()
    _require_tensor("cross", input)
    _require_tensor("cross", other, "other", 2)
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = tuple(max(x, y) for x, y in zip(input.shape, other.shape))
    a, b = input.expand(*shape), other.expand(*shape)
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 3]
        if not dims:
            raise RuntimeError("no dimension of size 3 in input")
        dim = dims[0]
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
    dim = _wrap_dim(dim, len(shape))
    if shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    a1, a2, a3 = (tt.narrow(a, dim, i, 1) for i in range(3))
    b1, b2, b3 = (tt.narrow(b, dim, i, 1) for i in range(3))
    r = tt.cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], dim)
    if out is not None:
        _write_out(out, r)
        return out
    return r


def _safe_root(s, p):
    """s ** (1/p) with a zero gradient where s == 0 (PyTorch's cdist backward gives 0 at zero distance)."""
    tt = _tt()
    zero = s == 0
    safe = tt.where(zero, tt.ones_like(s), s)
    root = tt.sqrt(safe) if p == 2 else tt.pow(safe, 1.0 / p)
    return tt.where(zero, tt.zeros_like(s), root)


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _euclidean_by_mm(x1, x2):
    """sqrt(|a|^2 + |b|^2 - 2 a.b) with the products one batched GEMM, as PyTorch computes p = 2 distances between
    more than 25 rows (its default compute_mode): (P + R) M + P R memory instead of the P R M differences
    (512 x 300 rows of 64: 57 -> 0.5 ms on the cpu). Rounding can make a square negative: clamped at 0, and the
    root taken where it is positive, so coincident rows get distance 0 and gradient 0, as PyTorch's."""
    tt = _tt()
    n1 = (x1 * x1).sum(-1, keepdim=True)                        # (..., P, 1)
    n2 = (x2 * x2).sum(-1, keepdim=True).transpose(-1, -2)      # (..., 1, R)
    sq = tt.matmul(x1, x2.transpose(-1, -2)) * -2.0 + n1 + n2
    return _safe_root(tt.clamp_min(sq, 0.0), 2)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R)."""
    tt = _tt()
    _require_tensor("cdist", x1, "x1", 1)
    _require_tensor("cdist", x2, "x2", 2)
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if x1.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == "use_mm_for_euclid_dist_if_necessary" and (x1.shape[-2] > 25 or x2.shape[-2] > 25))):
        return _euclidean_by_mm(x1, x2)
    diff = tt.abs(x1.unsqueeze(-2) - x2.unsqueeze(-3))      # (..., P, R, M)
    if p == 0:
        return tt.sum((diff != 0).to(x1.dtype), dim=-1)
    if math.isinf(p):
        return tt.amax(diff, dim=-1)
    if p == 1:
        return tt.sum(diff, dim=-1)
    s = tt.sum(diff * diff if p == 2 else tt.pow(diff, float(p)), dim=-1)
    return _safe_root(s, p)


# ====================================================================================== fused adds

def _scaled_add(input, product, beta, alpha):
    """beta * input + alpha * product; beta == 0 ignores input (NaN and inf in it do not propagate)."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        from .creation import zeros_like
        if not input.requires_grad:
            return product + zeros_like(input)
        # still in the graph with a zero gradient, as PyTorch's (a None one left input.grad unset)
        from .ternary import where
        return product + where(zeros_like(input, dtype=_dt.bool_), input, 0.0)
    return product + (input if beta == 1 else input * beta)


def _finish(r, out):
    if out is not None:
        _write_out(out, r)
        return out
    return r


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (batch1 @ batch2) for batches of matrices."""
    tt = _tt()
    _require_tensor("baddbmm", input)
    return _finish(_scaled_add(input, tt.bmm(batch1, batch2), beta, alpha), out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * sum_b(batch1[b] @ batch2[b])."""
    tt = _tt()
    _require_tensor("addbmm", input)
    return _finish(_scaled_add(input, tt.sum(tt.bmm(batch1, batch2), dim=0), beta, alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec)."""
    tt = _tt()
    _require_tensor("addmv", input)
    if mat.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {mat.dim()}, {vec.dim()}")
    return _finish(_scaled_add(input, tt.matmul(mat, vec), beta, alpha), out)


def _bind_methods():
    from . import _bind

    def inplace(fn):
        def method(self, *args, **kwargs):
            return self.copy_(fn(self, *args, **kwargs))
        method.__name__ = fn.__name__ + "_"
        return method

    _bind.methods(outer=outer, ger=outer, kron=kron, diag=diag, diag_embed=diag_embed, trace=trace, cross=cross,
                  tensordot=tensordot, baddbmm=baddbmm, addbmm=addbmm, addmv=addmv, baddbmm_=inplace(baddbmm),
                  addbmm_=inplace(addbmm), addmv_=inplace(addmv))


_bind_methods()
