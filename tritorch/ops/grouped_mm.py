"""grouped_mm (torch.nn.functional.grouped_mm): one matrix product per group, the groups of a Mixture-of-Experts
layer, with jagged token counts given by `offs` (int32 ends of the groups along the jagged dim).

    mat_a        mat_b         offs  out            group g (rows/cols s_g..e_g, s_g = offs[g-1] or 0, e_g = offs[g])
    (M, K)       (G, K, N)     yes   (M, N)         out[s:e] = a[s:e] @ b[g]           (expert forward: jagged M)
    (G, M, K)    (G, K, N)     no    (G, M, N)      out[g] = a[g] @ b[g]               (batched)
    (M, K)       (K, N)        yes   (G, M, N)      out[g] = a[:, s:e] @ b[s:e]        (weight gradient: jagged K)
    (G, M, K)    (K, N)        yes   (M, N)         out[:, s:e] = a[g] @ b[:, s:e]     (jagged N)

Rows (columns) past offs[-1] of a jagged output are 0; a group with e <= s is empty (0 where it owns an output).
Each gradient is a grouped_mm of the other operand's transpose with the incoming gradient (in the layout of the
table's row that fits), so double backward works on both devices.

cuda: one Triton kernel for the four layouts (JAGGED = 0 none, 1 M, 2 K, 3 N): program (tile, g) reads the
group's bounds from offs on the device (no host sync) and computes its (BLOCK_M, BLOCK_N) tile of the group's
product, exiting at once when the tile lies past the group's extent. The grid covers, per group, the tiles of the
whole jagged extent, so G x (tiles of the total) programs are launched and all but the group's own exit at once.
NumPy: one np.matmul per group (fp16/bf16 in fp32, rounded once).
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..tensor import Tensor
from .registry import BenchSpec, Meta, OpDef, Sample, device_of, register
from .samples import make_tensor, rng_for

FAMILY = "grouped_mm"

__all__ = ["grouped_mm"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)
_HALF = (_dt.float16, _dt.bfloat16)
NONE, JAGGED_M, JAGGED_K, JAGGED_N = 0, 1, 2, 3


@triton.jit
def _grouped_gemm_kernel(
    a_ptr, b_ptr, c_ptr,                # A, B and the output (any strides; 2-D or 3-D as in the table above)
    offs_ptr,                           # int32 group ends along the jagged dim (unused when JAGGED == 0)
    M, N, K,                            # extents: the jagged one is its total length
    sa_g, sa_m, sa_k,                   # A strides in elements: group (0 for 2-D A), rows, reduction
    sb_g, sb_k, sb_n,                   # B strides: group (0 for 2-D B), reduction, columns
    sc_g, sc_m, sc_n,                   # output strides: group (0 for a 2-D output), rows, columns
    JAGGED: tl.constexpr,               # 0: none (batched), 1: M, 2: K, 3: N
    PRECISION: tl.constexpr,            # tl.dot input precision for fp32: "ieee" or "tf32"
    UPCAST: tl.constexpr,               # fp16/bf16 tiles as fp32 before the dot (the interpreter)
    ACC: tl.constexpr,                  # accumulator: fp32, or fp64 for fp64 operands
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    # bytes: per group reads its A rows once per output tile column and its B once per output tile row, writes its
    # output tile once; the programs past a group's extent read two int32 bounds and exit
    g = tl.program_id(1)
    tiles_n = tl.cdiv(N, BLOCK_N)
    pid_m = tl.program_id(0) // tiles_n
    pid_n = tl.program_id(0) % tiles_n
    m_size = M
    n_size = N
    k_size = K
    start = 0
    if JAGGED != 0:
        total = M
        if JAGGED == 2:
            total = K
        if JAGGED == 3:
            total = N
        end = tl.minimum(tl.load(offs_ptr + g), total)
        start = tl.minimum(tl.load(offs_ptr + tl.maximum(g - 1, 0), mask=g > 0, other=0), total)
        length = tl.maximum(end - start, 0)
        if JAGGED == 1:
            m_size = length
        if JAGGED == 2:
            k_size = length
        if JAGGED == 3:
            n_size = length
    if (pid_m * BLOCK_M < m_size) & (pid_n * BLOCK_N < n_size):
        g64 = g.to(tl.int64)
        a_base = a_ptr + g64 * sa_g
        b_base = b_ptr + g64 * sb_g
        c_base = c_ptr + g64 * sc_g
        if JAGGED == 1:
            a_base += start.to(tl.int64) * sa_m
            c_base += start.to(tl.int64) * sc_m
        if JAGGED == 2:
            a_base += start.to(tl.int64) * sa_k
            b_base += start.to(tl.int64) * sb_k
        if JAGGED == 3:
            b_base += start.to(tl.int64) * sb_n
            c_base += start.to(tl.int64) * sc_n
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        m_ok = rm < m_size
        n_ok = rn < n_size
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
        for k0 in range(0, tl.cdiv(k_size, BLOCK_K)):
            kk = k0 * BLOCK_K + rk
            k_ok = kk < k_size
            a = tl.load(a_base + rm.to(tl.int64)[:, None] * sa_m + kk.to(tl.int64)[None, :] * sa_k,
                        mask=m_ok[:, None] & k_ok[None, :], other=0)
            b = tl.load(b_base + kk.to(tl.int64)[:, None] * sb_k + rn.to(tl.int64)[None, :] * sb_n,
                        mask=k_ok[:, None] & n_ok[None, :], other=0)
            if UPCAST:
                a = a.to(tl.float32)
                b = b.to(tl.float32)
            acc = tl.dot(a, b, acc, input_precision=PRECISION, out_dtype=ACC)
        tl.store(c_base + rm.to(tl.int64)[:, None] * sc_m + rn.to(tl.int64)[None, :] * sc_n,
                 acc.to(c_ptr.dtype.element_ty), mask=m_ok[:, None] & n_ok[None, :])


# ====================================================================================================== infer

def _layout(a_dim: int, b_dim: int, has_offs: bool) -> int:
    if (a_dim == 3 and b_dim == 3) == has_offs:
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d")
    if a_dim == 2:
        return JAGGED_M if b_dim == 3 else JAGGED_K
    return NONE if b_dim == 3 else JAGGED_N


def _infer(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    for x, name, pos in ((mat_a, "mat_a", 1), (mat_b, "mat_b", 2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"grouped_mm(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")
    dev = device_of(mat_a, mat_b, *(() if offs is None else (offs,)))
    for x, name in ((mat_a, "mat_a"), (mat_b, "mat_b")):
        if x.dim() not in (2, 3):
            raise RuntimeError(f"{name} has to be 2 or 3d")
        if x.dtype not in FLOATS:
            raise RuntimeError(f"Expected {name} to be Float32, Float64, BFloat16 or Float16 matrix, got "
                               f"{x.dtype}")
    if mat_a.dtype is not mat_b.dtype:
        raise RuntimeError(f"Expected mat_a and mat_b to have the same dtype, got {mat_a.dtype} and {mat_b.dtype}")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if offs is not None:
        if not isinstance(offs, Tensor):
            raise TypeError(f"grouped_mm(): argument 'offs' must be Tensor, not {type(offs).__name__}")
        if offs.dtype is not _dt.int32:
            raise RuntimeError("Offsets have to be int32")
        if offs.dim() != 1:
            raise RuntimeError(f"Offsets have to be 1-D, got {offs.dim()}-D")
    jagged = _layout(mat_a.dim(), mat_b.dim(), offs is not None)
    a, b = tuple(mat_a.shape), tuple(mat_b.shape)
    if a[-1] != b[-2]:
        raise RuntimeError(f"contraction dimension of mat_a and mat_b must match, got {a[-1]} and {b[-2]}")
    if jagged == NONE:
        if a[0] != b[0]:
            raise RuntimeError(f"batched dimension has to match, got {a[0]} and {b[0]}")
        groups, shape = a[0], (a[0], a[1], b[2])
    else:
        groups = offs.shape[0]
        if jagged == JAGGED_M:
            if b[0] != groups:
                raise RuntimeError(f"matrix batch sizes have to match the number of offsets, got {b[0]} and {groups}")
            shape = (a[0], b[2])
        elif jagged == JAGGED_K:
            shape = (groups, a[0], b[1])
        else:
            if a[0] != groups:
                raise RuntimeError(f"matrix batch sizes have to match the number of offsets, got {a[0]} and {groups}")
            shape = (a[1], b[1])
    dtype = mat_a.dtype
    if out_dtype is not None:
        out_dtype = _dt.as_dtype(out_dtype)
        if out_dtype is not dtype and not (dtype in _HALF and out_dtype is _dt.float32):
            raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype (or be float32 for float16 / "
                               "bfloat16 operands)")
        dtype = out_dtype
    return Meta(shape, dtype, dev, (jagged, groups))


# ====================================================================================================== impls

def _bounds(offs: np.ndarray, total: int) -> list:
    """[(start, end)] per group from the int32 group ends, checked (the cpu can afford to)."""
    ends = offs.astype(np.int64)
    if ends.size and (np.any(np.diff(ends) < 0) or ends[0] < 0 or ends[-1] > total):
        raise RuntimeError(f"offs must be non-decreasing group ends within [0, {total}], got {ends.tolist()}")
    starts = np.concatenate([[0], ends[:-1]]) if ends.size else ends
    return list(zip(starts.tolist(), ends.tolist()))


def _grouped_cpu(meta, mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    jagged, groups = meta.aux
    acc = np.float64 if mat_a.dtype is _dt.float64 else np.float32
    a = mat_a._data.astype(acc, copy=False)
    b = mat_b._data.astype(acc, copy=False)
    out = np.zeros(meta.shape, acc)
    if jagged == NONE:
        np.matmul(a, b, out=out)
    elif jagged == JAGGED_M:
        for g, (s, e) in enumerate(_bounds(offs._data, a.shape[0])):
            if e > s:
                np.matmul(a[s:e], b[g], out=out[s:e])
    elif jagged == JAGGED_K:
        for g, (s, e) in enumerate(_bounds(offs._data, a.shape[1])):
            if e > s:
                np.matmul(a[:, s:e], b[s:e], out=out[g])
    else:
        for g, (s, e) in enumerate(_bounds(offs._data, b.shape[1])):
            if e > s:
                np.matmul(a[g], b[:, s:e], out=out[:, s:e])
    return out.astype(meta.dtype.np, copy=False)


def _strides3(arr: CudaArray, is_3d: bool) -> tuple:
    """(group, row, column) element strides; group 0 for a 2-D operand."""
    return tuple(arr.strides) if is_3d else (0,) + tuple(arr.strides)


_GPU_META = dict(BLOCK_M=64, BLOCK_N=128, BLOCK_K=32, num_warps=4, num_stages=3)
_GPU_META_F64 = dict(BLOCK_M=32, BLOCK_N=64, BLOCK_K=16, num_warps=4, num_stages=2)
_INTERPRET_META = dict(BLOCK_M=16, BLOCK_N=16, BLOCK_K=16)


def _grouped_cuda(meta, mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    from .creation import zeros
    jagged, groups = meta.aux
    a, b = mat_a._data, mat_b._data
    out = zeros(meta.shape, dtype=meta.dtype, device=meta.device)._data
    if out.size == 0 or groups == 0:
        return out
    sa, sb, sc = _strides3(a, mat_a.dim() == 3), _strides3(b, mat_b.dim() == 3), _strides3(out, len(meta.shape) == 3)
    m = a.shape[-2]
    k = a.shape[-1]
    n = b.shape[-1]
    dtype = mat_a.dtype
    blocks = _INTERPRET_META if _cuda.INTERPRET else (_GPU_META_F64 if dtype is _dt.float64 else _GPU_META)
    grid = (triton.cdiv(m, blocks["BLOCK_M"]) * triton.cdiv(n, blocks["BLOCK_N"]), groups)
    _grouped_gemm_kernel[grid](
        a, b, out, a if offs is None else offs._data, m, n, k, *sa, *sb, *sc, JAGGED=jagged,
        PRECISION="tf32" if dtype is _dt.float32 and _cuda.matmul.allow_tf32 else "ieee",
        UPCAST=_cuda.INTERPRET and dtype in _HALF, ACC=tl.float64 if dtype is _dt.float64 else tl.float32, **blocks)
    return out


def _ref(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    a, b = np.asarray(mat_a, np.float64), np.asarray(mat_b, np.float64)
    if offs is None:
        return a @ b
    ends = np.asarray(offs, np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    if a.ndim == 2 and b.ndim == 3:
        out = np.zeros((a.shape[0], b.shape[2]))
        for g, (s, e) in enumerate(zip(starts, ends)):
            out[s:e] = a[s:e] @ b[g]
    elif a.ndim == 2:
        out = np.stack([a[:, s:e] @ b[s:e] for s, e in zip(starts, ends)]) if len(ends) else \
            np.zeros((0, a.shape[0], b.shape[1]))
    else:
        out = np.zeros((a.shape[1], b.shape[1]))
        for g, (s, e) in enumerate(zip(starts, ends)):
            out[:, s:e] = a[g] @ b[:, s:e]
    return out


# ======================================================================================================= vjp

def _vjp(ctx, grad):
    """Each operand's gradient is a grouped_mm of the other's transpose with the incoming gradient."""
    mat_a, mat_b = ctx.inputs[0], ctx.inputs[1]
    offs = ctx.kwargs.get("offs")
    jagged = ctx.meta.aux[0]
    grad = grad.to(mat_a.dtype) if grad.dtype is not mat_a.dtype else grad
    a_t, b_t = mat_a.mT, mat_b.mT
    if jagged == NONE:
        return grouped_mm_op(grad, b_t), grouped_mm_op(a_t, grad)
    if jagged == JAGGED_M:       # grad (M, N): dA = grad @ b[g]^T per group rows, dB[g] = a[s:e]^T @ grad[s:e]
        return grouped_mm_op(grad, b_t, offs=offs), grouped_mm_op(a_t, grad, offs=offs)
    if jagged == JAGGED_K:       # grad (G, M, N): dA[:, s:e] = grad[g] @ b[s:e]^T, dB[s:e] = a[:, s:e]^T @ grad[g]
        return grouped_mm_op(grad, b_t, offs=offs), grouped_mm_op(a_t, grad, offs=offs)
    # JAGGED_N, grad (M, N): dA[g] = grad[:, s:e] @ b[:, s:e]^T, dB[:, s:e] = a[g]^T @ grad[:, s:e]
    return grouped_mm_op(grad, b_t, offs=offs), grouped_mm_op(a_t, grad, offs=offs)


# =================================================================================================== samples

def _offs(ends, device):
    from .creation import tensor
    return tensor(np.asarray(ends, np.int32), dtype=_dt.int32, device=device)


def _samples(device, dtype):
    rng = rng_for("grouped_mm", dtype.name)

    def T(shape, **kw):
        return make_tensor(shape, dtype, device, low=-1, high=1, rng=rng, **kw)

    # jagged M: groups of 2, 0 (empty), 3 rows; the last row is past offs[-1]
    yield Sample((T((6, 4)), T((3, 4, 5))), {"offs": _offs([2, 2, 5], device)}, name="jagged_m", reduction_size=4)
    yield Sample((T((2, 2)), T((2, 2, 3))), {"offs": _offs([1, 2], device)}, name="jagged_m_small",
                 reduction_size=2)
    yield Sample((T((3, 2, 4)), T((3, 4, 5))), {}, name="batched", reduction_size=4)
    yield Sample((T((1, 2, 2)), T((1, 2, 3))), {}, name="batched_small", reduction_size=2)
    # jagged K (a weight gradient): groups of 3, 0, 4 along K = 8 (the last column ignored)
    yield Sample((T((2, 8)), T((8, 3))), {"offs": _offs([3, 3, 7], device)}, name="jagged_k", reduction_size=4)
    yield Sample((T((2, 3)), T((3, 2))), {"offs": _offs([1, 3], device)}, name="jagged_k_small", reduction_size=2)
    # jagged N: groups of 2, 4 along N = 7
    yield Sample((T((2, 3, 4)), T((4, 7))), {"offs": _offs([2, 6], device)}, name="jagged_n", reduction_size=4)
    yield Sample((T((2, 2, 2)), T((2, 3))), {"offs": _offs([1, 3], device)}, name="jagged_n_small",
                 reduction_size=2)
    # non-contiguous operands: a transposed A, a strided B
    yield Sample((T((4, 6)).mT, T((2, 4, 10), noncontiguous=True)[..., :5]), {"offs": _offs([4, 6], device)},
                 name="noncontig_jagged_m", reduction_size=4)
    yield Sample((T((4, 3, 2)).mT, T((4, 3, 2))), {}, name="noncontig_batched", reduction_size=3)
    # more groups than one tile of rows, groups crossing tile edges
    yield Sample((T((40, 3)), T((5, 3, 4))), {"offs": _offs([7, 17, 17, 33, 38], device)}, name="many_groups",
                 reduction_size=3)


def _bench_make(size, device, dtype):
    tokens, d, groups = size
    rng = rng_for("grouped_mm_bench", size)
    a = make_tensor((tokens, d), dtype, device, rng=rng)
    b = make_tensor((groups, d, d), dtype, device, rng=rng)
    ends = np.linspace(tokens // groups, tokens, groups).astype(np.int32)
    return (a, b), {"offs": _offs(ends, device)}


grouped_mm_op = register(OpDef(
    name="grouped_mm", family=FAMILY, infer=_infer, impl={"cpu": _grouped_cpu, "cuda": _grouped_cuda}, ref=_ref,
    samples=_samples, dtypes=FLOATS, vjp=_vjp, autocast="lower",
    bench=BenchSpec(sizes=((4096, 512, 8), (16384, 1024, 16)), make=_bench_make,
                    bytes=lambda s, d: (s[0] * s[1] * 2 + s[2] * s[1] * s[1]) * d.itemsize,
                    flops=lambda s: 2 * s[0] * s[1] * s[1]),
    cross_device_rtol=2e-3,
    doc="one matrix product per group (MoE experts), jagged along M, K or N by int32 offs, or batched"))


def grouped_mm(mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None, bias: Tensor | None = None,
               out_dtype=None) -> Tensor:
    """torch.nn.functional.grouped_mm: per-group products of mat_a and mat_b (see the module docstring for the
    four layouts); offs: int32 group ends along the jagged dim (None when both operands are 3-D)."""
    return grouped_mm_op(mat_a, mat_b, offs=offs, bias=bias, out_dtype=out_dtype)
