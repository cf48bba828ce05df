"""scaled_dot_product_attention: a flash-attention-style tiled Triton kernel and a NumPy fallback.

Two registered ops:
  scaled_dot_product_attention           (query, key, value, attn_mask) -> (out, lse)
  scaled_dot_product_attention_backward  (grad_out, grad_lse, query, key, value, attn_mask, out, lse)
                                          -> (grad_query, grad_key, grad_value)
The public function returns `out` only. `lse` is the per-row log-sum-exp of the scaled, masked scores (fp32, or
fp64 for fp64 inputs); the backward recomputes the attention probabilities from it (P = exp(S - lse)), so no
L x S matrix is ever kept on cuda: memory grows linearly with the sequence length.

Layout: inputs are (*batch, heads, L, E) (2-D and 3-D inputs as PyTorch takes them); the kernels see them as 4-D
(batch, heads, rows, features) through strides, so non-contiguous and broadcast operands are read in place.
Grouped-query attention (enable_gqa=True): query head h reads key head h // (Hq / Hk) and value head
h // (Hq / Hv), as PyTorch's repeat_interleave does.

Semantics that follow PyTorch 2.13 (CPU):
  * is_causal is the top-left aligned lower triangle (key j visible to query i when j <= i); with attn_mask too,
    both apply.
  * a boolean mask keeps True; a float mask is added to the scaled scores.
  * a row whose every key is masked out gives 0 (output and gradients) and lse = -inf. (PyTorch's math backend
    gives NaN there; its functional CPU result, which the tests compare with, is 0.)
  * dropout_p > 0 draws a keep decision for every (batch, head, i, j) from the Philox stream of the default
    generator (tritorch/ops/random.py): element e = ((b * H + h) * L + i) * S + j takes the uniform of counter
    offset // 4 + e // 4, lane e % 4 (exactly what `tritorch.rand` would draw at that position), kept when
    u >= dropout_p and scaled by 1 / (1 - dropout_p). cpu and cuda draw bitwise the same decisions for the same
    generator state; the backward recomputes them from (seed, offset).

GPU speed (FlashAttention-2's scheme): scores in log2 units with exp2; causal loops visit no tile above the diagonal
and split the rest into unchecked inner tiles and checked edge tiles; the backward is a row-delta kernel, a dK/dV
kernel per key tile (looping over query tiles from the diagonal down) and a separate dQ kernel per query tile (no
atomics, deterministic). Tile shapes, warps and pipeline stages are autotuned per bucketed (L, S, head dims, mask,
causal, dropout, dtype); small problems and fp64 run one fixed config, the interpreter the tiles of `TILES`.

Gradients: the forward's vjp calls the fused backward op (dQ, dK/dV and row-delta kernels, recomputing P tile by
tile from lse; no atomics: a dK/dV program owns its key rows and loops over its GQA group). When an additive
attn_mask itself requires grad, the gradient is the materialised formula (composed of registered ops), since
d(mask) is an L x S tensor anyway. Double backward: the backward op's vjp differentiates that materialised formula
with the engine (treating its inputs as leaves), so second derivatives are exact; third and higher derivatives
through attention are not supported (they would treat the first backward's inputs as constants).

The NumPy fallback materialises the scores key-major, (S, *batch, H, L), so that the softmax's reductions over
the keys are passes over contiguous planes (see _scores_np); BLAS matmuls (one stacked call for small heads,
one per head for large) read and write them through strides. Its forward keeps the probabilities for the
backward of small problems (see _SAVED_PROBS); larger ones recompute them from lse.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CUDA
from ..tensor import Tensor, _make
from . import pointwise as pw
from ._cpu_parallel import one_blas_thread, parallel_chunks
from .matmul import _EventTimer
from .registry import _GRAD, BenchSpec, Meta, OpDef, Sample, _no_record, device_of, register
from .samples import make_tensor, rng_for
from .launch import cdiv as _cdiv, f64_bits as _bits, next_pow2

FAMILY = "nn_attention"
_FLAGS = _state.FLAGS

__all__ = ["scaled_dot_product_attention"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)

# Tile sizes (rows of queries x columns of keys per step) under the interpreter, which runs each tile as NumPy
# calls: small, so that tests reach several tiles with tiny inputs (see `tiles`). A GPU autotunes its tiles (see
# _FWD_CONFIGS); TILES["M"] is also the row block of the (tiny) backward delta kernel.
TILES = {"M": 16 if _cuda.INTERPRET else 64, "N": 16 if _cuda.INTERPRET else 64}
_FORCED_TILES = [False]  # inside `with tiles(...)`: the GPU runs these tiles too instead of the autotuned ones


class tiles:
    """with tiles(m, n): run the attention kernels with BLOCK_M = m, BLOCK_N = n (powers of two, >= 16), on a GPU
    too (outside, a GPU runs the autotuned tiles)."""

    def __init__(self, m: int, n: int):
        self.new = {"M": m, "N": n}

    def __enter__(self):
        self.prev = (dict(TILES), _FORCED_TILES[0])
        TILES.update(self.new)
        _FORCED_TILES[0] = True

    def __exit__(self, *exc):
        TILES.update(self.prev[0])
        _FORCED_TILES[0] = self.prev[1]


# ============================================================================================== Triton kernels
#
# Scores are kept in log2 units: s2 = (q . k * scale + additive mask) * log2(e), so that P = exp2(s2 - m2) (one
# ex2 instruction; the scale and log2(e) fold into one multiply). lse stays in natural units outside the kernels.
# fp64 keeps natural units (log2(e) passed as 1, exp/log for exp2/log2: Triton cannot lower fp64 exp2).
# Every loop over key (or query) tiles is split into "inner" tiles, fully in range and fully visible under the
# causal mask (no bounds or causal arithmetic, unmasked loads), and "edge" tiles (the diagonal and the partial
# last tile), which check everything; tiles above the causal diagonal are never visited.

@triton.jit
def _f64(bits):
    # fp64 scalar arguments travel as their int64 bits (a Python float arrives as fp32 on a GPU)
    return tl.cast(bits, tl.int64).to(tl.float64, bitcast=True)


@triton.jit
def _pow2(x, ACC: tl.constexpr):
    # 2**x; fp64 (whose exp2 Triton cannot lower) keeps its scores in natural units instead and takes e**x
    if ACC == tl.float64:
        return tl.exp(x)
    else:
        return tl.exp2(x)


@triton.jit
def _lg2(x, ACC: tl.constexpr):
    # log2(x); natural log for fp64 (see _pow2)
    if ACC == tl.float64:
        return tl.log(x)
    else:
        return tl.log2(x)


@triton.jit
def _keep(bh, r2, c2, L, S, seed, counter0, p_drop):
    # dropout keep decisions at rows r2 x cols c2 (broadcastable 2-D indices): Philox lane of element
    # ((bh * L + i) * S + j), as tritorch.rand draws it
    e = (bh.to(tl.int64) * L + r2.to(tl.int64)) * S + c2.to(tl.int64)
    r0, r1, r2_, r3 = tl.randint4x(seed, counter0 + e // 4)
    lane = e % 4
    r = tl.where(lane == 0, r0, tl.where(lane == 1, r1, tl.where(lane == 2, r2_, r3)))
    return tl.uint_to_uniform_float(r) >= p_drop


@triton.jit
def _logits(qk, r2, c2, r_ok, c_ok, m_base, sm_l, sm_s, qk_scale, l2e,
            MASK: tl.constexpr, CAUSAL: tl.constexpr, EDGE: tl.constexpr, ACC: tl.constexpr):
    # log2-unit scores of a tile from the raw dot qk; r2/c2 query/key indices and r_ok/c_ok their range checks
    # (broadcastable 2-D, either orientation). -inf where masked out; on EDGE tiles also where out of range or
    # hidden by the causal mask (inner tiles need neither).
    s = qk * qk_scale
    if MASK != 0:
        mk = tl.load(m_base + r2 * sm_l + c2 * sm_s, mask=r_ok & c_ok, other=0)
        if MASK == 1:
            s = tl.where(mk != 0, s, float("-inf"))
        else:
            s = s + mk.to(ACC) * l2e
    if EDGE:
        ok = r_ok & c_ok
        if CAUSAL:
            ok = ok & (c2 <= r2)
        s = tl.where(ok, s, float("-inf"))
    return s


@triton.jit
def _load_tile(base, idx, idx_ok, s_idx, feat, s_feat, FEAT: tl.constexpr, CHECK_IDX: tl.constexpr,
               CHECK_FEAT: tl.constexpr, ACC: tl.constexpr, UPCAST: tl.constexpr):
    # a (len(idx), FEAT) tile of rows `idx`, zero past the checked edges; in ACC when UPCAST (interpreter, fp64)
    f = tl.arange(0, FEAT)
    ptrs = base + idx[:, None] * s_idx + f[None, :] * s_feat
    if CHECK_IDX:
        if CHECK_FEAT:
            t = tl.load(ptrs, mask=idx_ok[:, None] & (f < feat)[None, :], other=0)
        else:
            t = tl.load(ptrs, mask=idx_ok[:, None], other=0)
    else:
        if CHECK_FEAT:
            t = tl.load(ptrs, mask=(f < feat)[None, :], other=0)
        else:
            t = tl.load(ptrs)
    if UPCAST:
        t = t.to(ACC)
    return t


@triton.jit
def _load_rows(ptr, rows, row_ok, CHECK: tl.constexpr):
    # a vector of per-row statistics (lse, delta)
    if CHECK:
        return tl.load(ptr + rows, mask=row_ok, other=0)
    else:
        return tl.load(ptr + rows)


@triton.jit
def _fwd_tile(acc, l_i, m_i, q, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e, sv_s, sv_e, sm_l, sm_s,
              qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale,
              MASK: tl.constexpr, CAUSAL: tl.constexpr, DROPOUT: tl.constexpr, EDGE: tl.constexpr,
              CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr, ACC: tl.constexpr, UPCAST: tl.constexpr,
              PRECISION: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr):
    # one online-softmax step over key tile n0: m_i running max (log2 units), l_i running sum of exp2(s - m_i),
    # acc the running p @ v, rescaled by exp2(m_old - m_new) as m grows
    cols = n0 + tl.arange(0, BLOCK_N)
    col_ok = cols < S
    k = _load_tile(k_base, cols, col_ok, sk_s, E, sk_e, BLOCK_E, EDGE, CHECK_E, ACC, UPCAST)
    qk = tl.dot(q, tl.trans(k), input_precision=PRECISION, out_dtype=ACC)
    s = _logits(qk, rows[:, None], cols[None, :], (rows < L)[:, None], col_ok[None, :], m_base, sm_l, sm_s,
                qk_scale, l2e, MASK, CAUSAL, EDGE, ACC)
    m_new = tl.maximum(m_i, tl.max(s, 1))
    if EDGE or MASK != 0:
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # a row masked so far adds exp2(-inf) = 0
    else:
        m_safe = m_new  # inner tiles without a mask: every score is finite
    p = _pow2(s - m_safe[:, None], ACC)
    alpha = _pow2(m_i - m_safe, ACC)
    l_i = l_i * alpha + tl.sum(p, 1)
    if DROPOUT:
        keep = _keep(bh, rows[:, None], cols[None, :], L, S, seed, counter0, p_drop)
        p = tl.where(keep, p * keep_scale, 0.0)
    v = _load_tile(v_base, cols, col_ok, sv_s, EV, sv_e, BLOCK_EV, EDGE, CHECK_EV, ACC, UPCAST)
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=PRECISION, out_dtype=ACC)
    return acc, l_i, m_new


@triton.jit
def _attn_fwd_kernel(
    q_ptr, k_ptr, v_ptr, m_ptr,         # query (B,H,L,E), key (B,Hk,S,E), value (B,Hv,S,Ev), mask (B,H,L,S) or 0
    out_ptr, lse_ptr,                   # out (B,H,L,Ev); lse (B*H*L contiguous, ACC, natural log)
    H, L, S, E, EV,                     # query heads, query rows, key rows, head dims of q/k and of v
    GK, GV,                             # query heads per key head / per value head (GQA; 1 otherwise)
    L_KEY, S_KEY,                       # L and S bucketed to powers of two (autotuner key only)
    sq_b, sq_h, sq_l, sq_e,             # query strides (elements)
    sk_b, sk_h, sk_s, sk_e,             # key strides
    sv_b, sv_h, sv_s, sv_e,             # value strides
    sm_b, sm_h, sm_l, sm_s,             # mask strides (0 where broadcast)
    so_b, so_h, so_l, so_e,             # out strides
    scale_bits, qk_bits, l2e_bits,      # fp64 bits of: score scale, scale * log2(e), log2(e)
    p_bits, ks_bits,                    # fp64 bits of: dropout p, 1 / (1 - p)
    seed, counter0,                     # Philox key and first counter (dropout)
    MASK: tl.constexpr,                 # 0 none, 1 boolean (keep where != 0), 2 additive
    CAUSAL: tl.constexpr, DROPOUT: tl.constexpr,
    ACC: tl.constexpr,                  # fp32, or fp64 for fp64 inputs
    UPCAST: tl.constexpr,               # convert tiles to ACC before tl.dot (interpreter, fp64)
    PRECISION: tl.constexpr,            # tl.dot input_precision for fp32
    CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr,  # head dims below BLOCK_E / BLOCK_EV (feature masks needed)
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
):
    # bytes: reads the query tile once, every visible key/value row once per query tile (mask tile alongside),
    # writes out (L*Ev) and lse (L) once; flops 4*L*S*E (half with CAUSAL).
    pid_m = tl.num_programs(0) - 1 - tl.program_id(0)  # the longest (causal: last) query tiles start first
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    q = _load_tile(q_ptr + b * sq_b + h * sq_h, rows, row_ok, sq_l, E, sq_e, BLOCK_E, True, CHECK_E, ACC, UPCAST)
    k_base = k_ptr + b * sk_b + (h // GK) * sk_h
    v_base = v_ptr + b * sv_b + (h // GV) * sv_h
    m_base = m_ptr + b * sm_b + h * sm_h
    qk_scale = _f64(qk_bits).to(ACC)
    l2e = _f64(l2e_bits).to(ACC)
    p_drop = _f64(p_bits).to(tl.float32)
    keep_scale = _f64(ks_bits).to(ACC)
    m_i = tl.full([BLOCK_M], float("-inf"), ACC)
    l_i = tl.zeros([BLOCK_M], ACC)
    acc = tl.zeros([BLOCK_M, BLOCK_EV], ACC)
    start = pid_m * BLOCK_M
    if CAUSAL:
        inner = (tl.minimum(start, S) // BLOCK_N) * BLOCK_N  # key tiles wholly left of the diagonal
        hi = tl.minimum(S, start + BLOCK_M)                   # nothing right of the diagonal is visited
    else:
        inner = (S // BLOCK_N) * BLOCK_N
        hi = S
    for n0 in range(0, inner, BLOCK_N):
        acc, l_i, m_i = _fwd_tile(acc, l_i, m_i, q, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e,
                                  sv_s, sv_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale,
                                  MASK, CAUSAL, DROPOUT, False, CHECK_E, CHECK_EV, ACC, UPCAST, PRECISION,
                                  BLOCK_N, BLOCK_E, BLOCK_EV)
    for n0 in range(inner, hi, BLOCK_N):
        acc, l_i, m_i = _fwd_tile(acc, l_i, m_i, q, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e,
                                  sv_s, sv_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale,
                                  MASK, CAUSAL, DROPOUT, True, CHECK_E, CHECK_EV, ACC, UPCAST, PRECISION,
                                  BLOCK_N, BLOCK_E, BLOCK_EV)
    empty = l_i == 0  # every key masked out: 0 and lse = -inf (PyTorch's CPU result)
    out = tl.where(empty[:, None], 0.0, acc / tl.where(empty, 1.0, l_i)[:, None])
    lse2 = tl.where(m_i == float("-inf"), 0.0, m_i) + _lg2(tl.where(empty, 1.0, l_i), ACC)
    lse = tl.where(empty, float("-inf"), lse2 / l2e)
    ev = tl.arange(0, BLOCK_EV)
    o_ptrs = out_ptr + b * so_b + h * so_h + rows[:, None] * so_l + ev[None, :] * so_e
    tl.store(o_ptrs, out.to(out_ptr.dtype.element_ty), mask=row_ok[:, None] & (ev < EV)[None, :])
    tl.store(lse_ptr + bh.to(tl.int64) * L + rows, lse, mask=row_ok)


@triton.jit
def _attn_bwd_delta_kernel(
    do_ptr, out_ptr, glse_ptr, delta_ptr,  # grad_out (B,H,L,Ev), out (B,H,L,Ev), grad_lse (B*H*L) or 0, delta
    H, L, EV,                              # heads, rows, value head dim
    sd_b, sd_h, sd_l, sd_e,                # grad_out strides
    so_b, so_h, so_l, so_e,                # out strides
    sg_b, sg_h, sg_l,                      # grad_lse strides
    HAS_GLSE: tl.constexpr, ACC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_EV: tl.constexpr,
):
    # bytes: reads grad_out and out once (2*L*Ev) and grad_lse (L), writes delta (L) in ACC.
    # delta_i = sum_j P_ij dP_ij - grad_lse_i = rowsum(grad_out * out) - grad_lse_i: dS = P * (dP - delta).
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    do = _load_tile(do_ptr + b * sd_b + h * sd_h, rows, row_ok, sd_l, EV, sd_e, BLOCK_EV, True, True, ACC, True)
    o = _load_tile(out_ptr + b * so_b + h * so_h, rows, row_ok, so_l, EV, so_e, BLOCK_EV, True, True, ACC, True)
    delta = tl.sum(do * o, 1)
    if HAS_GLSE:
        delta -= tl.load(glse_ptr + b * sg_b + h * sg_h + rows * sg_l, mask=row_ok, other=0).to(ACC)
    tl.store(delta_ptr + bh.to(tl.int64) * L + rows, delta, mask=row_ok)


@triton.jit
def _lse2(lse, l2e):
    # lse in log2 units; +inf for a fully masked row (lse = -inf), so that its P = exp2(s - lse2) is 0
    return tl.where(lse == float("-inf"), float("inf"), lse * l2e)


@triton.jit
def _dkdv_tile(dk, dv, k, v, cols, m0, q_base, do_base, m_base, lse_base, delta_base, L, S, E, EV,
               sq_l, sq_e, sd_l, sd_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale,
               MASK: tl.constexpr, CAUSAL: tl.constexpr, DROPOUT: tl.constexpr, DO_DK: tl.constexpr,
               DO_DV: tl.constexpr, EDGE: tl.constexpr, CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr,
               ACC: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
               BLOCK_M: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr):
    # one query tile's contribution to a key tile's dK, dV, computed transposed (keys x queries) so that every
    # tl.dot takes its operands as loaded (no register transposes): P^T = exp2(S^T - lse), dV += P^T dO,
    # dP^T = V dO^T, dS^T = P^T (dP^T - delta), dK += dS^T Q (times scale, applied once at the end)
    rows = m0 + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    q = _load_tile(q_base, rows, row_ok, sq_l, E, sq_e, BLOCK_E, EDGE, CHECK_E, ACC, UPCAST)
    lse2 = _lse2(_load_rows(lse_base, rows, row_ok, EDGE), l2e)
    qk_t = tl.dot(k, tl.trans(q), input_precision=PRECISION, out_dtype=ACC)
    s_t = _logits(qk_t, rows[None, :], cols[:, None], row_ok[None, :], (cols < S)[:, None], m_base, sm_l, sm_s,
                  qk_scale, l2e, MASK, CAUSAL, EDGE, ACC)
    p_t = _pow2(s_t - lse2[None, :], ACC)
    if DROPOUT:
        keep = _keep(bh, rows[None, :], cols[:, None], L, S, seed, counter0, p_drop)
        pd_t = tl.where(keep, p_t * keep_scale, 0.0)
    else:
        pd_t = p_t
    do = _load_tile(do_base, rows, row_ok, sd_l, EV, sd_e, BLOCK_EV, EDGE, CHECK_EV, ACC, UPCAST)
    if DO_DV:
        dv = tl.dot(pd_t.to(do.dtype), do, dv, input_precision=PRECISION, out_dtype=ACC)
    if DO_DK:
        delta = _load_rows(delta_base, rows, row_ok, EDGE)
        dp_t = tl.dot(v, tl.trans(do), input_precision=PRECISION, out_dtype=ACC)
        if DROPOUT:
            dp_t = tl.where(keep, dp_t * keep_scale, 0.0)
        ds_t = p_t * (dp_t - delta[None, :])
        dk = tl.dot(ds_t.to(q.dtype), q, dk, input_precision=PRECISION, out_dtype=ACC)
    return dk, dv


@triton.jit
def _attn_bwd_dkdv_kernel(
    q_ptr, k_ptr, v_ptr, m_ptr,         # query, key, value, mask (as in the forward)
    do_ptr, lse_ptr, delta_ptr,         # grad_out (B,H,L,Ev); lse and delta (B*H*L, ACC)
    dk_ptr, dv_ptr,                     # grad_key (B,Hk,S,E) (DO_DK), grad_value (B,Hv,S,Ev) (DO_DV)
    H, L, S, E, EV, GK, GV,             # as in the forward
    G_OWN, H_OWN,                       # query heads summed per program; heads of the gradient written
    L_KEY, S_KEY,                       # L and S bucketed to powers of two (autotuner key only)
    sq_b, sq_h, sq_l, sq_e,
    sk_b, sk_h, sk_s, sk_e,
    sv_b, sv_h, sv_s, sv_e,
    sm_b, sm_h, sm_l, sm_s,
    sd_b, sd_h, sd_l, sd_e,             # grad_out strides
    sdk_b, sdk_h, sdk_s, sdk_e,         # grad_key strides
    sdv_b, sdv_h, sdv_s, sdv_e,         # grad_value strides
    scale_bits, qk_bits, l2e_bits, p_bits, ks_bits, seed, counter0,
    MASK: tl.constexpr, CAUSAL: tl.constexpr, DROPOUT: tl.constexpr,
    DO_DK: tl.constexpr, DO_DV: tl.constexpr,  # which gradients this launch writes
    ACC: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
    CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
):
    # bytes: per key tile reads every visible query/grad_out row of its G_OWN query heads once (plus lse, delta,
    # mask), writes the key/value gradient tile once. No atomics: a program owns its rows of dK/dV and sums the
    # GQA group in a loop, so results are deterministic.
    pid_n = tl.program_id(0)
    bo = tl.program_id(1)
    b = bo // H_OWN
    ho = bo % H_OWN
    n_start = pid_n * BLOCK_N
    cols = n_start + tl.arange(0, BLOCK_N)
    col_ok = cols < S
    scale = _f64(scale_bits).to(ACC)
    qk_scale = _f64(qk_bits).to(ACC)
    l2e = _f64(l2e_bits).to(ACC)
    p_drop = _f64(p_bits).to(tl.float32)
    keep_scale = _f64(ks_bits).to(ACC)
    dk = tl.zeros([BLOCK_N, BLOCK_E], ACC)
    dv = tl.zeros([BLOCK_N, BLOCK_EV], ACC)
    # query tiles: [first, inner) edge (they cross the diagonal), [inner, full) inner, [full, last) edge (partial)
    last = tl.cdiv(L, BLOCK_M) * BLOCK_M
    if CAUSAL:
        first = (n_start // BLOCK_M) * BLOCK_M  # tiles above it see none of these keys
        inner = tl.maximum(first, tl.minimum(tl.cdiv(n_start + BLOCK_N - 1, BLOCK_M) * BLOCK_M, last))
    else:
        first = 0
        inner = 0
    full = tl.maximum(inner, (L // BLOCK_M) * BLOCK_M)
    for g in range(0, G_OWN):
        h = ho * G_OWN + g
        bh = b * H + h
        k = _load_tile(k_ptr + b * sk_b + (h // GK) * sk_h, cols, col_ok, sk_s, E, sk_e, BLOCK_E, True, CHECK_E,
                       ACC, UPCAST)
        v = _load_tile(v_ptr + b * sv_b + (h // GV) * sv_h, cols, col_ok, sv_s, EV, sv_e, BLOCK_EV, True, CHECK_EV,
                       ACC, UPCAST)
        q_base = q_ptr + b * sq_b + h * sq_h
        do_base = do_ptr + b * sd_b + h * sd_h
        m_base = m_ptr + b * sm_b + h * sm_h
        lse_base = lse_ptr + bh.to(tl.int64) * L
        delta_base = delta_ptr + bh.to(tl.int64) * L
        for m0 in range(first, inner, BLOCK_M):
            dk, dv = _dkdv_tile(dk, dv, k, v, cols, m0, q_base, do_base, m_base, lse_base, delta_base, L, S, E, EV,
                                sq_l, sq_e, sd_l, sd_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop,
                                keep_scale, MASK, CAUSAL, DROPOUT, DO_DK, DO_DV, True, CHECK_E, CHECK_EV, ACC,
                                UPCAST, PRECISION, BLOCK_M, BLOCK_E, BLOCK_EV)
        for m0 in range(inner, full, BLOCK_M):
            dk, dv = _dkdv_tile(dk, dv, k, v, cols, m0, q_base, do_base, m_base, lse_base, delta_base, L, S, E, EV,
                                sq_l, sq_e, sd_l, sd_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop,
                                keep_scale, MASK, CAUSAL, DROPOUT, DO_DK, DO_DV, False, CHECK_E, CHECK_EV, ACC,
                                UPCAST, PRECISION, BLOCK_M, BLOCK_E, BLOCK_EV)
        for m0 in range(full, last, BLOCK_M):
            dk, dv = _dkdv_tile(dk, dv, k, v, cols, m0, q_base, do_base, m_base, lse_base, delta_base, L, S, E, EV,
                                sq_l, sq_e, sd_l, sd_e, sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop,
                                keep_scale, MASK, CAUSAL, DROPOUT, DO_DK, DO_DV, True, CHECK_E, CHECK_EV, ACC,
                                UPCAST, PRECISION, BLOCK_M, BLOCK_E, BLOCK_EV)
    if DO_DK:
        e = tl.arange(0, BLOCK_E)
        ptrs = dk_ptr + b * sdk_b + ho * sdk_h + cols[:, None] * sdk_s + e[None, :] * sdk_e
        tl.store(ptrs, (dk * scale).to(dk_ptr.dtype.element_ty), mask=col_ok[:, None] & (e < E)[None, :])
    if DO_DV:
        ev = tl.arange(0, BLOCK_EV)
        ptrs = dv_ptr + b * sdv_b + ho * sdv_h + cols[:, None] * sdv_s + ev[None, :] * sdv_e
        tl.store(ptrs, dv.to(dv_ptr.dtype.element_ty), mask=col_ok[:, None] & (ev < EV)[None, :])


@triton.jit
def _dq_tile(dq, q, do, lse2, delta, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e, sv_s, sv_e,
             sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale,
             MASK: tl.constexpr, CAUSAL: tl.constexpr, DROPOUT: tl.constexpr, EDGE: tl.constexpr,
             CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr, ACC: tl.constexpr, UPCAST: tl.constexpr,
             PRECISION: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr):
    # one key tile's contribution to a query tile's dQ: dQ += (P (dP - delta)) K (times scale, at the end)
    cols = n0 + tl.arange(0, BLOCK_N)
    col_ok = cols < S
    k = _load_tile(k_base, cols, col_ok, sk_s, E, sk_e, BLOCK_E, EDGE, CHECK_E, ACC, UPCAST)
    v = _load_tile(v_base, cols, col_ok, sv_s, EV, sv_e, BLOCK_EV, EDGE, CHECK_EV, ACC, UPCAST)
    qk = tl.dot(q, tl.trans(k), input_precision=PRECISION, out_dtype=ACC)
    s = _logits(qk, rows[:, None], cols[None, :], (rows < L)[:, None], col_ok[None, :], m_base, sm_l, sm_s,
                qk_scale, l2e, MASK, CAUSAL, EDGE, ACC)
    p = _pow2(s - lse2[:, None], ACC)
    dp = tl.dot(do, tl.trans(v), input_precision=PRECISION, out_dtype=ACC)
    if DROPOUT:
        keep = _keep(bh, rows[:, None], cols[None, :], L, S, seed, counter0, p_drop)
        dp = tl.where(keep, dp * keep_scale, 0.0)
    ds = p * (dp - delta[:, None])
    dq = tl.dot(ds.to(k.dtype), k, dq, input_precision=PRECISION, out_dtype=ACC)
    return dq


@triton.jit
def _attn_bwd_dq_kernel(
    q_ptr, k_ptr, v_ptr, m_ptr,         # query, key, value, mask (as in the forward)
    do_ptr, lse_ptr, delta_ptr,         # grad_out; lse and delta (B*H*L, ACC)
    dq_ptr,                             # grad_query (B,H,L,E)
    H, L, S, E, EV, GK, GV,
    L_KEY, S_KEY,                       # L and S bucketed to powers of two (autotuner key only)
    sq_b, sq_h, sq_l, sq_e,
    sk_b, sk_h, sk_s, sk_e,
    sv_b, sv_h, sv_s, sv_e,
    sm_b, sm_h, sm_l, sm_s,
    sd_b, sd_h, sd_l, sd_e,
    sdq_b, sdq_h, sdq_l, sdq_e,         # grad_query strides
    scale_bits, qk_bits, l2e_bits, p_bits, ks_bits, seed, counter0,
    MASK: tl.constexpr, CAUSAL: tl.constexpr, DROPOUT: tl.constexpr,
    ACC: tl.constexpr, UPCAST: tl.constexpr, PRECISION: tl.constexpr,
    CHECK_E: tl.constexpr, CHECK_EV: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_EV: tl.constexpr,
):
    # bytes: reads its query/grad_out tile once and every visible key/value row once (mask alongside), writes dQ
    # once.
    pid_m = tl.num_programs(0) - 1 - tl.program_id(0)  # the longest (causal: last) query tiles start first
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < L
    scale = _f64(scale_bits).to(ACC)
    qk_scale = _f64(qk_bits).to(ACC)
    l2e = _f64(l2e_bits).to(ACC)
    p_drop = _f64(p_bits).to(tl.float32)
    keep_scale = _f64(ks_bits).to(ACC)
    q = _load_tile(q_ptr + b * sq_b + h * sq_h, rows, row_ok, sq_l, E, sq_e, BLOCK_E, True, CHECK_E, ACC, UPCAST)
    do = _load_tile(do_ptr + b * sd_b + h * sd_h, rows, row_ok, sd_l, EV, sd_e, BLOCK_EV, True, CHECK_EV, ACC,
                    UPCAST)
    lse2 = _lse2(tl.load(lse_ptr + bh.to(tl.int64) * L + rows, mask=row_ok, other=0), l2e)
    delta = tl.load(delta_ptr + bh.to(tl.int64) * L + rows, mask=row_ok, other=0)
    k_base = k_ptr + b * sk_b + (h // GK) * sk_h
    v_base = v_ptr + b * sv_b + (h // GV) * sv_h
    m_base = m_ptr + b * sm_b + h * sm_h
    dq = tl.zeros([BLOCK_M, BLOCK_E], ACC)
    start = pid_m * BLOCK_M
    if CAUSAL:
        inner = (tl.minimum(start, S) // BLOCK_N) * BLOCK_N
        hi = tl.minimum(S, start + BLOCK_M)
    else:
        inner = (S // BLOCK_N) * BLOCK_N
        hi = S
    for n0 in range(0, inner, BLOCK_N):
        dq = _dq_tile(dq, q, do, lse2, delta, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e, sv_s, sv_e,
                      sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale, MASK, CAUSAL, DROPOUT,
                      False, CHECK_E, CHECK_EV, ACC, UPCAST, PRECISION, BLOCK_N, BLOCK_E, BLOCK_EV)
    for n0 in range(inner, hi, BLOCK_N):
        dq = _dq_tile(dq, q, do, lse2, delta, rows, n0, k_base, v_base, m_base, L, S, E, EV, sk_s, sk_e, sv_s, sv_e,
                      sm_l, sm_s, qk_scale, l2e, bh, seed, counter0, p_drop, keep_scale, MASK, CAUSAL, DROPOUT,
                      True, CHECK_E, CHECK_EV, ACC, UPCAST, PRECISION, BLOCK_N, BLOCK_E, BLOCK_EV)
    e = tl.arange(0, BLOCK_E)
    ptrs = dq_ptr + b * sdq_b + h * sdq_h + rows[:, None] * sdq_l + e[None, :] * sdq_e
    tl.store(ptrs, (dq * scale).to(dq_ptr.dtype.element_ty), mask=row_ok[:, None] & (e < E)[None, :])


# ================================================================================================ call facts

class _Plan:
    """What infer decided and both implementations share."""

    __slots__ = ("batch", "H", "L", "S", "E", "EV", "HK", "HV", "GK", "GV", "scale", "mask_kind", "causal",
                 "p", "seed", "offset", "acc", "out_shape", "lse_shape", "nd")

    def __repr__(self):
        return f"_Plan(batch={self.batch}, H={self.H}, L={self.L}, S={self.S}, E={self.E}, EV={self.EV})"


_C10 = {_dt.float32: "float", _dt.float64: "double", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16",
        _dt.int64: "long int", _dt.int32: "int", _dt.int16: "short int", _dt.int8: "signed char",
        _dt.uint8: "unsigned char", _dt.bool_: "bool"}


def _heads(t: Tensor) -> int:
    return t.shape[-3] if t.ndim >= 3 else 1


def _plan(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, seed, offset) -> _Plan:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    # the storages' shape tuples: Tensor.shape builds a Size per access, and this runs on every call
    qs, ks, vs = query._data.shape, key._data.shape, value._data.shape
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{len(qs)} key.dim: {len(ks)} and value.dim: {len(vs)} instead.")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_C10[query.dtype]} key.dtype: {_C10[key.dtype]} and value.dtype: {_C10[value.dtype]}"
                           f" instead.")
    if query.dtype not in FLOATS:
        raise RuntimeError(f"expected scalar type Float but found {_C10[query.dtype].capitalize()}")
    device_of(query, key, value, attn_mask)
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument 'attn_mask' must be Tensor, not "
                            f"{type(attn_mask).__name__}")
        if attn_mask.dtype is not _dt.bool_ and attn_mask.dtype is not query.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_C10[attn_mask.dtype]} and  query.dtype: {_C10[query.dtype]} "
                               f"instead.")
    if not 0.0 <= float(dropout_p) <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    p = _Plan()
    p.nd = len(qs)
    L, E = qs[-2:]
    S, EK = ks[-2:]
    SV, EV = vs[-2:]
    if EK != E:
        raise RuntimeError(f"Expected key's last dimension ({EK}) to match query's last dimension ({E})")
    if SV != S:
        raise RuntimeError(f"Expected key and value to have the same sequence length, but got {S} and {SV}")
    batch = tuple(qs[:-3])
    if tuple(ks[:-3]) != batch or tuple(vs[:-3]) != batch or not (len(qs) == len(ks) == len(vs)):
        raise RuntimeError(f"Expected query, key and value to have the same batch dimensions, but got "
                           f"{list(query.shape[:-2])}, {list(key.shape[:-2])} and {list(value.shape[:-2])}")
    H, HK, HV = (sh[-3] if len(sh) >= 3 else 1 for sh in (qs, ks, vs))
    if enable_gqa:
        if H % HK or H % HV:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
    else:
        for other in (HK, HV):
            if other != H and other != 1:
                dim = len(qs) - 3
                raise RuntimeError(f"The size of tensor a ({H}) must match the size of tensor b ({other}) at "
                                   f"non-singleton dimension {dim}")
    p.batch, p.H, p.L, p.S, p.E, p.EV, p.HK, p.HV = batch, H, L, S, E, EV, HK, HV
    p.GK, p.GV = H // HK, H // HV
    if attn_mask is not None:
        from .registry import broadcast_shapes
        full = batch + ((H,) if len(qs) >= 3 else ()) + (L, S)
        if broadcast_shapes(tuple(attn_mask.shape), full) != full:
            raise RuntimeError(f"attn_mask of shape {list(attn_mask.shape)} cannot be broadcast to the attention "
                               f"scores' shape {list(full)}")
        p.mask_kind = 1 if attn_mask.dtype is _dt.bool_ else 2
    else:
        p.mask_kind = 0
    # E == 0: every score is an empty sum and the output is empty, so any scale gives PyTorch's result
    p.scale = float(scale) if scale is not None else (1.0 / math.sqrt(E) if E else 1.0)
    p.causal = bool(is_causal)
    p.p = float(dropout_p)
    p.seed, p.offset = int(seed), int(offset)
    p.acc = _dt.float64 if query.dtype is _dt.float64 else _dt.float32
    lead = tuple(qs[:-2])
    p.out_shape = lead + (L, EV)
    p.lse_shape = lead + (L,)
    return p


def _n_draws(p: _Plan) -> int:
    return math.prod(p.batch) * p.H * p.L * p.S


def _keep_scale(p: float) -> float:
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)


# ================================================================================================ NumPy side

def _np4(a: np.ndarray) -> np.ndarray:
    """(*batch, H, L, E) with a heads axis (2-D inputs get one of size 1)."""
    return a[None] if a.ndim == 2 else a


# Multiply-adds per product from which the batch is split over the cpu pool. Below it the two threads' GIL hand-offs
# cost more than they overlap: 16 products of 64 x 64 x 32 (a small GPT's heads) took 210-270 us split, 40-80 us
# as one stacked call; at 128 x 128 x 64 the two were even; at 256 x 256 x 64 the split was 1.55x faster.
_POOL_MIN_PRODUCT = 1 << 21


def _bmm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Batched a @ b (into `out` when given: a strided view, e.g. of a key-major score array). Large matrices go
    one BLAS call each (NumPy's stacked matmul runs several times slower there); many small ones take the stacked
    call (one Python iteration per matrix would cost more)."""
    m, k = a.shape[-2:]
    n = b.shape[-1]
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if not lead or m * n * k < 32768:  # (OpenBLAS runs products this small on one thread anyway)
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if math.prod(lead) > 4096 or m * n * k < _POOL_MIN_PRODUCT:
        with one_blas_thread():  # many medium products, or products too small to share: see below
            return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(lead + (m, n), np.result_type(a.dtype, b.dtype))
    a = np.broadcast_to(a, lead + a.shape[-2:])
    b = np.broadcast_to(b, lead + b.shape[-2:])
    matrices = list(np.ndindex(*lead))

    def products(part):
        for i in part:
            np.matmul(a[i], b[i], out=out[i])

    # the matrices are split over the cpu pool, each product on one OpenBLAS thread: OpenBLAS's own threads
    # synchronise on every call, which on a loaded machine costs far more than the product (see nn_conv)
    with one_blas_thread():
        parallel_chunks(products, [matrices[:len(matrices) // 2], matrices[len(matrices) // 2:]])
    return out


def _rows_view(key_major: np.ndarray) -> np.ndarray:
    """The (*lead, L, S) view of a key-major (S, *lead, L) array."""
    return np.moveaxis(key_major, 0, -1)


def _cols_view(key_major: np.ndarray) -> np.ndarray:
    """The (*lead, S, L) view (the transposed matrices) of a key-major (S, *lead, L) array."""
    return np.moveaxis(key_major, 0, -2)


def _keep_np(p: _Plan, for_backward: bool = False) -> np.ndarray:
    """The dropout keep decisions (*batch, H, L, S), the same bits the kernels draw (uniform >= p, as dropout's:
    for_backward keeps them for the backward's call, see nn_dropout._KEPT)."""
    from .nn_dropout import keep_mask_np
    return keep_mask_np(p.seed, p.offset, _n_draws(p), p.p, for_backward).reshape(p.batch + (p.H, p.L, p.S))


_CAUSAL_BIAS: dict = {}


def _causal_bias(L: int, S: int, acc) -> np.ndarray:
    """Key-major (S, L): 0 where key j is visible to query i (j <= i), -inf elsewhere. Kept for small shapes (the
    same few shapes come back every step)."""
    key = (L, S, np.dtype(acc).char)
    bias = _CAUSAL_BIAS.get(key)
    if bias is None:
        hidden = np.tri(S, L, -1, dtype=np.bool_)  # [j, i]: i < j (C order, so the add runs along L)
        bias = np.where(hidden, acc.type(-np.inf), acc.type(0))
        bias.flags.writeable = False
        if L * S <= 1 << 16:
            if len(_CAUSAL_BIAS) >= 64:  # e.g. a decoding loop's growing lengths: keep the cache small
                _CAUSAL_BIAS.clear()
            _CAUSAL_BIAS[key] = bias
    return bias


def _key_major(a: np.ndarray, ndim: int) -> np.ndarray:
    """A (..., L, S) array that broadcasts against (*lead, L, S), as a C-ordered key-major (S, ..., L) array that
    broadcasts against the key-major scores (an add across each other's strides runs ~20x slower)."""
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    return np.ascontiguousarray(np.moveaxis(a, -1, 0))


def _scores_np(p: _Plan, q, k, mask, acc) -> np.ndarray:
    """scale * q @ k^T, masked (-inf), in acc, stored KEY-MAJOR: shape (S, *batch, H, L).

    Why key-major: the softmax reduces over the keys, and for the short rows of small models (S ~ 10) NumPy's
    reductions and broadcasts along a short last axis cost ~50 ns a row; with the key axis first they become S
    passes over contiguous (*batch, H, L) planes (~15x faster). The matmuls read and write the transposed
    matrices through strides at little extra cost (BLAS takes either orientation)."""
    kx = np.repeat(k, p.GK, axis=-3) if p.GK > 1 else k
    lead = np.broadcast_shapes(q.shape[:-2], kx.shape[:-2])
    s = np.empty((p.S,) + lead + (p.L,), acc)
    rows = _rows_view(s)
    _bmm(q, np.swapaxes(kx, -1, -2), out=rows)
    s *= acc.type(p.scale)
    # masks are added as 0 / -inf biases (a broadcast add is much faster than a masked write)
    if mask is not None:  # broadcasts against (*batch, H, L, S) (2-D inputs carry a leading axis of 1 here)
        bias = np.where(mask, acc.type(0), acc.type(-np.inf)) if p.mask_kind == 1 else mask.astype(acc, copy=False)
        s += _key_major(bias, s.ndim)
    if p.causal:  # added key-major: both operands run along L innermost (not across each other's strides)
        s += _causal_bias(p.L, p.S, acc).reshape((p.S,) + (1,) * len(lead) + (p.L,))
    return s


def _inputs_np(p: _Plan, *tensors):
    acc = p.acc.np
    out = []
    for t in tensors:
        if t is None:
            out.append(None)
            continue
        a = t._data
        if a.dtype != np.bool_:
            a = a.astype(acc, copy=False)
        out.append(_np4(a) if p.nd == 2 else a)
    return out


def _softmax_keys_(s: np.ndarray, acc):
    """Softmax over the keys of key-major scores, in place: s becomes P. Returns the per-row log-sum-exp
    (*lead, L); a row whose every key is masked out gets P = 0 and lse = -inf."""
    m = np.maximum.reduce(s, axis=0, initial=-np.inf)
    not_finite = ~np.isfinite(m)
    if not_finite.any():
        m[not_finite] = 0  # a fully masked row: exp(-inf - 0) = 0
    s -= m
    np.exp(s, out=s)
    total = np.add.reduce(s, axis=0)
    empty = total == 0
    if empty.any():
        total[empty] = 1
        lse = np.where(empty, -np.inf, m + np.log(total))
    else:
        lse = np.log(total)
        lse += m
    s /= total
    return lse


# The cpu backward needs the forward's probabilities P; recomputing them costs a matmul and an exp over the whole
# score array (a third of the backward for a small model). So the forward keeps P for small problems, keyed by its
# lse array (which only the backward reads), and the backward takes it when it is called with that lse and the
# very same, unmodified query, key and mask (same arrays, same version counts) and plan; otherwise it recomputes P.
# An entry goes when its lse array is freed (with the autograd graph), so memory is held as long as the graph is.
_SAVED_PROBS: dict = {}
SAVE_PROBS_MAX = 1 << 22  # elements (16 MiB in fp32); larger problems recompute P in the backward


class _SavedProbs:
    __slots__ = ("probs", "arrays", "versions", "counts", "plan")

    def __init__(self, probs, tensors, p: _Plan):
        self.probs = probs
        self.arrays = tuple(None if t is None else t._data for t in tensors)
        self.versions = tuple(None if t is None else t._version for t in tensors)
        self.counts = tuple(None if t is None else t._version[0] for t in tensors)
        self.plan = (p.scale, p.causal, p.mask_kind, p.acc)

    def matches(self, tensors, p: _Plan) -> bool:
        for t, arr, ver, count in zip(tensors, self.arrays, self.versions, self.counts):
            if t is None:
                if arr is not None:
                    return False
            elif t._data is not arr or t._version is not ver or ver[0] != count:
                return False
        return self.plan == (p.scale, p.causal, p.mask_kind, p.acc)


def _save_probs(lse: np.ndarray, probs: np.ndarray, tensors, p: _Plan) -> None:
    if probs.size > SAVE_PROBS_MAX or probs.size == 0:
        return
    key = id(lse)
    _SAVED_PROBS[key] = _SavedProbs(probs, tensors, p)
    weakref.finalize(lse, _SAVED_PROBS.pop, key, None)


def _saved_probs(lse: np.ndarray, tensors, p: _Plan):
    entry = _SAVED_PROBS.get(id(lse))
    return entry.probs if entry is not None and entry.matches(tensors, p) else None


def _fwd_cpu(meta, query, key, value, attn_mask=None, **_kw):
    p = meta.aux
    acc = p.acc.np
    q, k, v = _inputs_np(p, query, key, value)
    s = _scores_np(p, q, k, None if attn_mask is None else attn_mask._data, acc)
    lse = _softmax_keys_(s, acc)
    probs = _rows_view(s)
    if p.p > 0:
        grad = any(t._requires_grad for t in (query, key, value)) and (not _FLAGS.grad_off or _GRAD.enabled)
        probs = probs * (_keep_np(p, grad) * acc.type(_keep_scale(p.p)))  # s stays P for the backward
    vx = np.repeat(v, p.GV, axis=-3) if p.GV > 1 else v
    out = _bmm(probs, vx)
    if p.nd == 2:
        out, lse = out[0], lse[0]
    out, lse = out.astype(meta.dtype[0].np, copy=False), lse.astype(meta.dtype[1].np, copy=False)
    _save_probs(lse, s, (query, key, attn_mask), p)
    return out, lse


def _group_sum(g: np.ndarray, groups: int) -> np.ndarray:
    if groups == 1:
        return g
    sh = g.shape
    return g.reshape(sh[:-3] + (sh[-3] // groups, groups) + sh[-2:]).sum(axis=-3)


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b, axis=-1) for same-shape arrays: one product, then one BLAS matrix-vector product for the row
    sums (NumPy's sum along a short last axis costs ~30 ns a row)."""
    prod = np.multiply(a, b, out=np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b)))
    n = prod.shape[-1]
    with one_blas_thread():  # a threaded gemv synchronises its threads: far slower on a loaded machine
        sums = prod.reshape(math.prod(prod.shape[:-1]), n) @ np.ones(n, prod.dtype)
    return sums.reshape(prod.shape[:-1])


def _bwd_cpu(meta, grad_out, grad_lse, query, key, value, attn_mask, out, lse, **_kw):
    p = meta.aux
    acc = p.acc.np
    g, q, k, v, o, ls = _inputs_np(p, grad_out, query, key, value, out, lse)
    P = _saved_probs(lse._data, (query, key, attn_mask), p)  # read only: a second backward may take it again
    if P is None:
        # P = exp(S - lse), key-major like the scores (see _scores_np); a fully masked row (lse = -inf) gives 0
        P = _scores_np(p, q, k, None if attn_mask is None else attn_mask._data, acc)
        P -= np.where(ls == -np.inf, np.inf, ls)
        np.exp(P, out=P)
    vx = np.repeat(v, p.GV, axis=-3) if p.GV > 1 else v
    kx = np.repeat(k, p.GK, axis=-3) if p.GK > 1 else k
    dp = np.empty_like(P)
    _bmm(g, np.swapaxes(vx, -1, -2), out=_rows_view(dp))
    if p.p > 0:
        keep = np.moveaxis(_keep_np(p), -1, 0) * acc.type(_keep_scale(p.p))
        pd = P * keep
        dp *= keep
    else:
        pd = P
    dv = _group_sum(_bmm(_cols_view(pd), g), p.GV)
    delta = _row_dot(g, o)
    if grad_lse is not None:
        gl = grad_lse._data.astype(acc, copy=False)
        delta = delta - (gl[None] if p.nd == 2 else gl)
    dp -= delta
    ds = np.multiply(P, dp, out=dp)
    ds *= acc.type(p.scale)
    dq = _bmm(_rows_view(ds), kx)
    dk = _group_sum(_bmm(_cols_view(ds), q), p.GK)
    if p.nd == 2:
        dq, dk, dv = dq[0], dk[0], dv[0]
    d = meta.dtype[0].np
    return dq.astype(d, copy=False), dk.astype(d, copy=False), dv.astype(d, copy=False)


# ================================================================================================= Triton side

def _view4(arr: CudaArray, nd: int) -> CudaArray:
    """A (batch, heads, rows, features) view of a (*batch, heads, rows, features) array (copied only when the
    batch dims cannot be merged by strides)."""
    sh, st = tuple(arr.shape), tuple(arr.strides)
    if nd == 2:
        return arr.view_as((1, 1) + sh, (0, 0) + st, arr.offset)
    if nd == 3:
        return arr.view_as((1,) + sh, (0,) + st, arr.offset)
    if nd == 4:
        return arr
    lead, lead_st = sh[:-3], st[:-3]
    if all(lead_st[i] == lead_st[i + 1] * lead[i + 1] or lead[i + 1] == 1 for i in range(len(lead) - 1)) \
            or math.prod(lead) <= 1:
        return arr.view_as((math.prod(lead),) + sh[-3:], (lead_st[-1],) + st[-3:], arr.offset)
    from .copy import clone_op
    c = clone_op(_make(arr, _dt.from_numpy_dtype(arr.dtype), CUDA))._data  # contiguous: batch dims merge
    return c.view_as((math.prod(lead),) + sh[-3:], (math.prod(sh[-3:]),) + tuple(c.strides[-3:]), c.offset)


def _mask4(p: _Plan, mask: Tensor | None):
    """The mask seen at the scores' shape, as a 4-D strided view (0 strides where broadcast), or (0, zeros)."""
    if mask is None:
        return 0, (0, 0, 0, 0)
    from . import launch
    arr = pw.kernel_view(mask._data)
    full = p.batch + ((p.H,) if p.nd >= 3 else ()) + (p.L, p.S)
    st = launch.broadcast_strides(arr, full)
    view = _view4(arr.view_as(full, st, arr.offset), p.nd)
    return view, tuple(view.strides)


def _st(a: CudaArray) -> tuple:
    return tuple(a.strides)


def _blocks(p: _Plan):
    return max(16, next_pow2(p.E)), max(16, next_pow2(p.EV))  # (triton's is a constexpr function from 3.7: slow)


def _consts(p: _Plan, dtype: _dt.dtype) -> dict:
    fp32_prec = "tf32" if dtype is _dt.float32 and _cuda.matmul.allow_tf32 else "ieee"
    BE, BEV = _blocks(p)
    return dict(MASK=p.mask_kind, CAUSAL=p.causal, DROPOUT=p.p > 0, ACC=pw.TL_DTYPE[p.acc],
                UPCAST=_cuda.INTERPRET or dtype is _dt.float64, PRECISION=fp32_prec,
                CHECK_E=p.E != BE, CHECK_EV=p.EV != BEV, BLOCK_E=BE, BLOCK_EV=BEV)


_LOG2E = math.log2(math.e)


def _scalars(p: _Plan) -> tuple:
    l2e = 1.0 if p.acc is _dt.float64 else _LOG2E  # fp64 scores stay in natural units (see _pow2)
    return (_bits(p.scale), _bits(p.scale * l2e), _bits(l2e), _bits(p.p), _bits(_keep_scale(p.p)), p.seed,
            p.offset // 4)


def _fwd_cuda(meta, query, key, value, attn_mask=None, **_kw):
    p = meta.aux
    out = CudaArray.empty(meta.shape[0], meta.dtype[0].np)
    lse = CudaArray.empty(meta.shape[1], meta.dtype[1].np)
    B = math.prod(p.batch)
    if B * p.H * p.L == 0:
        return out, lse
    q, k, v, o = (_view4(a._data if isinstance(a, Tensor) else a, p.nd) for a in (query, key, value, out))
    consts = _consts(p, meta.dtype[0])
    if p.mask_kind == 1 and p.acc is _dt.float64:
        # Triton 3.6 cannot lower this kernel's fp64 MMA fed by a boolean-mask select (MMAv2 asserts "fp64 don't
        # support largeK MMA"): fp64, rare on a GPU, takes the mask as an additive 0 / -inf one instead
        from .creation import full
        from .ternary import where
        zero, neg_inf = (full((), x, dtype=_dt.float64, device=attn_mask.device) for x in (0.0, float("-inf")))
        attn_mask = where(attn_mask, zero, neg_inf)
        consts["MASK"] = 2
    m, sm = _mask4(p, attn_mask)
    args = (q, k, v, m, o, lse, p.H, p.L, p.S, p.E, p.EV, p.GK, p.GV, _bucket(p.L), _bucket(p.S),
            *_st(q), *_st(k), *_st(v), *sm, *_st(o), *_scalars(p))
    _launch(_attn_fwd_kernel, _fwd_tuned, p.L, B * p.H, args, consts)
    return out, lse


def _bwd_cuda(meta, grad_out, grad_lse, query, key, value, attn_mask, out, lse, **_kw):
    p = meta.aux
    dt = meta.dtype[0]
    dq = CudaArray.empty(meta.shape[0], dt.np)
    dk = CudaArray.empty(meta.shape[1], dt.np)
    dv = CudaArray.empty(meta.shape[2], dt.np)
    B = math.prod(p.batch)
    if B * p.H == 0:
        return dq, dk, dv
    q, k, v, do, o = (_view4(a._data, p.nd) for a in (query, key, value, grad_out, out))
    dq4, dk4, dv4 = (_view4(a, p.nd) for a in (dq, dk, dv))
    m, sm = _mask4(p, attn_mask)
    ls = lse._data
    if not ls.is_contiguous() or ls.dtype != p.acc.np:
        from .copy import cast
        ls = cast(_make(ls, lse.dtype, CUDA).contiguous(), p.acc)._data
    consts = _consts(p, dt)
    delta = CudaArray.empty((B * p.H * p.L,), p.acc.np)
    if grad_lse is not None:
        gl = grad_lse._data
        gl4 = _view4(gl.view_as(tuple(gl.shape) + (1,), tuple(gl.strides) + (0,), gl.offset), p.nd)
        gst = _st(gl4)[:3]
    else:
        gl4, gst = 0, (0, 0, 0)
    common = (p.H, p.L, p.S, p.E, p.EV, p.GK, p.GV)
    keys = (_bucket(p.L), _bucket(p.S))
    if p.L:
        delta_rows = TILES["M"]
        _attn_bwd_delta_kernel[(_cdiv(p.L, delta_rows), B * p.H)](
            do, o, gl4, delta, p.H, p.L, p.EV, *_st(do), *_st(o), *gst,
            HAS_GLSE=grad_lse is not None, ACC=consts["ACC"], BLOCK_M=delta_rows, BLOCK_EV=consts["BLOCK_EV"])
        args = (q, k, v, m, do, ls, delta, dq4, *common, *keys, *_st(q), *_st(k), *_st(v), *sm, *_st(do),
                *_st(dq4), *_scalars(p))
        _launch(_attn_bwd_dq_kernel, _dq_tuned, p.L, B * p.H, args, consts)
    if not p.S:
        return dq, dk, dv
    # dK and dV: one launch when key and value share their head grouping, else one launch each
    launches = [(True, True, p.GK, p.HK)] if p.GK == p.GV else [(True, False, p.GK, p.HK), (False, True, p.GV, p.HV)]
    for do_dk, do_dv, g_own, h_own in launches:
        args = (q, k, v, m, do, ls, delta, dk4, dv4, *common, g_own, h_own, *keys,
                *_st(q), *_st(k), *_st(v), *sm, *_st(do), *_st(dk4), *_st(dv4), *_scalars(p))
        _launch(_attn_bwd_dkdv_kernel, _dkdv_tuned, p.S, B * h_own, args, dict(consts, DO_DK=do_dk, DO_DV=do_dv))
    return dq, dk, dv


# ================================================================================= launch configuration (GPU)

def _cfg(bm: int, bn: int, warps: int, stages: int):
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=warps, num_stages=stages)


# BLOCK_M counts query rows and BLOCK_N key rows in every kernel. Shapes after FlashAttention-2 / Triton's fused
# attention on sm80/sm90 for fp16/bf16 and head dims up to 128: 8 warps for 128-row accumulators (two warpgroups),
# 4 for smaller ones. Every config below was compiled with Triton 3.6 for sm_90 at head dim 128, fp16 (shared
# memory / registers per thread, no spills): forward 128x128 w8 s2 160 KB / 242, 128x64 w8 s3 128 KB / 173;
# dQ 128x64 w8 s2 128 KB / 191; dK/dV 64x128 w8 s2 129 KB / 252 (the 4-warp 128-row ones spill a few bytes).
_FWD_CONFIGS = [_cfg(128, 128, 8, 2), _cfg(128, 64, 8, 3), _cfg(128, 64, 8, 2), _cfg(128, 64, 4, 3),
                _cfg(128, 32, 4, 3), _cfg(64, 64, 4, 3)]
# dK/dV: a key tile of BLOCK_N rows keeps K, V and two BLOCK_N x E accumulators; query/grad_out tiles stream
_DKDV_CONFIGS = [_cfg(64, 128, 8, 2), _cfg(32, 128, 8, 3), _cfg(64, 64, 4, 3), _cfg(64, 64, 4, 2)]
# dQ: a query tile keeps Q, dO and one BLOCK_M x E accumulator; key/value tiles stream
_DQ_CONFIGS = [_cfg(128, 64, 8, 2), _cfg(128, 32, 8, 3), _cfg(128, 32, 4, 3), _cfg(64, 64, 4, 3)]
# Problems this small (L_KEY * S_KEY, e.g. the tests') gain nothing from tuning: one config, one compile.
_SMALL_WORK = 256 * 256
_SMEM_BYTES = 227 * 1024


def _small_config(named_args):
    wide = max(named_args["BLOCK_E"], named_args["BLOCK_EV"]) > 64
    if named_args["q_ptr"].dtype.itemsize == 8:  # fp64: FMA dots with operands in registers
        return _cfg(32 if wide else 64, 32, 4, 2)
    return _cfg(64, 32 if wide else 64, 4, 2)


def _prune(configs, named_args, **kwargs):
    """One config for small problems and fp64; otherwise the configs whose pipelined key/value (or query/grad_out)
    tiles fit in shared memory. (The autotuner passes positional arguments in named_args, keywords apart.)"""
    named_args = {**named_args, **kwargs}
    itemsize = named_args["q_ptr"].dtype.itemsize
    if named_args["L_KEY"] * named_args["S_KEY"] <= _SMALL_WORK or itemsize == 8:
        return [_small_config(named_args)]
    feats = named_args["BLOCK_E"] + named_args["BLOCK_EV"]
    # a rough bound on the resident and (num_stages + 1)-buffered streamed tiles (the autotuner also drops any
    # config that still runs out of resources, after compiling it)
    keep = [c for c in configs
            if (c.kwargs["BLOCK_M"] + c.kwargs["BLOCK_N"]) * feats * itemsize * (c.num_stages + 1) // 2
            <= _SMEM_BYTES]
    return keep or [_small_config(named_args)]


_TUNE_KEY = ["L_KEY", "S_KEY", "BLOCK_E", "BLOCK_EV", "MASK", "CAUSAL", "DROPOUT", "PRECISION"]


def _tuned(kernel, configs, extra_key=()):
    return triton.autotune(configs=configs, key=_TUNE_KEY + list(extra_key),
                           prune_configs_by={"early_config_prune": _prune}, do_bench=_EventTimer())(kernel)


_fwd_tuned = _tuned(_attn_fwd_kernel, _FWD_CONFIGS)
_dkdv_tuned = _tuned(_attn_bwd_dkdv_kernel, _DKDV_CONFIGS, ("DO_DK", "DO_DV"))
_dq_tuned = _tuned(_attn_bwd_dq_kernel, _DQ_CONFIGS)


def _bucket(n: int) -> int:
    return max(16, next_pow2(max(n, 1)))


def _fixed_tiles() -> bool:
    return _cuda.INTERPRET or _FORCED_TILES[0]


def _launch(kernel, tuned, rows, heads_grid, args, meta):
    """Run `kernel` over (cdiv(rows, BLOCK), heads_grid): the tiles of `TILES` under the interpreter or inside
    `with tiles(...)`, else the autotuned config. `rows` pairs with BLOCK_M (query-tile kernels) or BLOCK_N."""
    block = "BLOCK_N" if kernel is _attn_bwd_dkdv_kernel else "BLOCK_M"
    if _fixed_tiles():
        fixed = {"BLOCK_M": TILES["M"], "BLOCK_N": TILES["N"]}
        kernel[(_cdiv(rows, fixed[block]), heads_grid)](*args, **meta, **fixed)
    else:
        tuned[lambda cfg: (_cdiv(rows, cfg[block]), heads_grid)](*args, **meta)


# ================================================================================================ infer, ref

def _fwd_infer(query, key, value, attn_mask=None, *, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
               seed=0, offset=0):
    p = _plan(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, seed, offset)
    return Meta((p.out_shape, p.lse_shape), (query.dtype, p.acc), query.device, p)


def _bwd_infer(grad_out, grad_lse, query, key, value, attn_mask, out, lse, *, dropout_p=0.0, is_causal=False,
               scale=None, enable_gqa=False, seed=0, offset=0):
    p = _plan(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, seed, offset)
    if tuple(grad_out.shape) != p.out_shape or tuple(out.shape) != p.out_shape:
        raise RuntimeError(f"scaled_dot_product_attention_backward: grad_out and out must have shape "
                           f"{list(p.out_shape)}, got {list(grad_out.shape)} and {list(out.shape)}")
    for t in (lse, grad_lse):
        if t is not None and tuple(t.shape) != p.lse_shape:
            raise RuntimeError(f"scaled_dot_product_attention_backward: lse and grad_lse must have shape "
                               f"{list(p.lse_shape)}, got {list(t.shape)}")
    device_of(grad_out, grad_lse, query, out, lse)
    shapes = (tuple(query.shape), tuple(key.shape), tuple(value.shape))
    return Meta(shapes, (query.dtype,) * 3, query.device, p)


def _ref_plan(q, k, v, mask, kw):
    L, E = q.shape[-2:]
    S = k.shape[-2]
    H = q.shape[-3] if q.ndim >= 3 else 1
    scale = kw.get("scale")
    return L, S, E, H, (1.0 / math.sqrt(E) if scale is None else scale)


def _ref_probs(q, k, mask, kw):
    """float64 softmax probabilities and log-sum-exp, written with einsum and explicit per-row loops' algebra."""
    q = np.asarray(q, np.float64)
    k = np.asarray(k, np.float64)
    L, S, E, H, scale = _ref_plan(q, k, None, mask, kw)
    if q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        k = np.repeat(k, q.shape[-3] // k.shape[-3], axis=-3)
    s = np.einsum("...ie,...je->...ij", q, k) * scale
    allowed = np.ones(s.shape, bool)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype == np.bool_:
            allowed = allowed & mask
        else:
            s = s + mask.astype(np.float64)
    if kw.get("is_causal"):
        allowed = allowed & (np.arange(S)[None, :] <= np.arange(L)[:, None])
    s = np.where(allowed, s, -np.inf)
    top = np.max(s, axis=-1, keepdims=True, initial=-np.inf)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(s - top)
    tot = w.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        probs = np.where(tot > 0, w / tot, 0.0)
        lse = np.where(tot[..., 0] > 0, top[..., 0] + np.log(tot[..., 0]), -np.inf)
    return probs, lse


def _ref(query, key, value, attn_mask=None, *, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
         seed=0, offset=0):
    kw = dict(is_causal=is_causal, scale=scale)
    probs, lse = _ref_probs(query, key, attn_mask, kw)
    v = np.asarray(value, np.float64)
    if v.ndim >= 3 and v.shape[-3] != probs.shape[-3] and np.ndim(query) >= 3:
        v = np.repeat(v, probs.shape[-3] // v.shape[-3], axis=-3)
    if dropout_p > 0:
        probs = probs * _ref_keep(probs.shape, dropout_p, seed, offset) / (1.0 - dropout_p)
    return np.einsum("...ij,...jd->...id", probs, v), lse


def _ref_keep(shape, p, seed, offset):
    from . import random as _random
    n = math.prod(shape)
    lanes = _random.philox_lanes(seed, offset // 4, -(-n // 4)).reshape(-1)[:n]
    return (_random._uniform_np(lanes, 0) >= np.float32(p)).reshape(shape)


def _bwd_ref(grad_out, grad_lse, query, key, value, attn_mask, out, lse, *, dropout_p=0.0, is_causal=False,
             scale=None, enable_gqa=False, seed=0, offset=0):
    q = np.asarray(query, np.float64)
    k = np.asarray(key, np.float64)
    v = np.asarray(value, np.float64)
    g = np.asarray(grad_out, np.float64)
    o = np.asarray(out, np.float64)
    lse = np.asarray(lse, np.float64)
    L, S, E, H, sc = _ref_plan(q, k, v, attn_mask, dict(scale=scale))
    gk = q.shape[-3] // k.shape[-3] if q.ndim >= 3 else 1
    gv = q.shape[-3] // v.shape[-3] if q.ndim >= 3 else 1
    kx = np.repeat(k, gk, axis=-3) if gk > 1 else k
    vx = np.repeat(v, gv, axis=-3) if gv > 1 else v
    s = np.einsum("...ie,...je->...ij", q, kx) * sc
    allowed = np.ones(s.shape, bool)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        if m.dtype == np.bool_:
            allowed = allowed & m
        else:
            s = s + m.astype(np.float64)
    if is_causal:
        allowed = allowed & (np.arange(S)[None, :] <= np.arange(L)[:, None])
    s = np.where(allowed, s, -np.inf)
    P = np.exp(s - np.where(lse == -np.inf, np.inf, lse)[..., None])
    keep = _ref_keep(P.shape, dropout_p, seed, offset) / (1.0 - dropout_p) if dropout_p > 0 else 1.0
    dv = np.einsum("...ij,...id->...jd", P * keep, g)
    dp = np.einsum("...id,...jd->...ij", g, vx) * keep
    delta = (g * o).sum(-1) - (0.0 if grad_lse is None else np.asarray(grad_lse, np.float64))
    ds = P * (dp - delta[..., None]) * sc
    dq = np.einsum("...ij,...je->...ie", ds, kx)
    dk = np.einsum("...ij,...ie->...je", ds, q)

    def fold(x, gr):
        return x if gr == 1 else x.reshape(x.shape[:-3] + (x.shape[-3] // gr, gr) + x.shape[-2:]).sum(-3)
    return dq, fold(dk, gk), fold(dv, gv)


# ================================================================================= composed (materialised) form

def _composed_backward(g, glse, q, k, v, mask, out, lse, p: _Plan):
    """(dq, dk, dv, dS) of the backward formula written in registered ops (differentiable; used for double
    backward and for the gradient of an additive mask)."""
    import tritorch as tt
    kx = _repeat_heads(k, p.GK) if p.nd >= 3 and p.GK > 1 else k
    vx = _repeat_heads(v, p.GV) if p.nd >= 3 and p.GV > 1 else v
    s = tt.matmul(q, kx.transpose(-1, -2)) * p.scale
    neg_inf = tt.full((), float("-inf"), dtype=s.dtype, device=s.device)
    if mask is not None:
        s = tt.where(mask, s, neg_inf) if p.mask_kind == 1 else s + mask
    if p.causal:
        tril = tt.ones((p.L, p.S), dtype=tt.bool, device=s.device).tril()
        s = tt.where(tril, s, neg_inf)
    inf = tt.full((), float("inf"), dtype=lse.dtype, device=lse.device)
    lse_safe = tt.where(lse == float("-inf"), inf, lse)
    P = tt.exp(s - lse_safe.unsqueeze(-1).to(s.dtype))
    if p.p > 0:
        keep = _keep_tensor(p, s.device, s.dtype)
        pd, dp = P * keep, tt.matmul(g, vx.transpose(-1, -2)) * keep
    else:
        pd, dp = P, tt.matmul(g, vx.transpose(-1, -2))
    dv = _fold_heads(tt.matmul(pd.transpose(-1, -2), g), p.GV) if p.nd >= 3 else tt.matmul(pd.transpose(-1, -2), g)
    delta = (g * out).sum(-1, keepdim=True)
    if glse is not None:
        delta = delta - glse.unsqueeze(-1).to(delta.dtype)
    ds = P * (dp - delta)
    dq = tt.matmul(ds, kx) * p.scale
    dk = tt.matmul(ds.transpose(-1, -2), q) * p.scale
    if p.nd >= 3:
        dk = _fold_heads(dk, p.GK)
    return dq, dk, dv, ds


def _repeat_heads(t, groups):
    sh = tuple(t.shape)
    return t.unsqueeze(-3).expand(*sh[:-2], groups, *sh[-2:]).reshape(*sh[:-3], sh[-3] * groups, *sh[-2:])


def _fold_heads(t, groups):
    if groups == 1:
        return t
    sh = tuple(t.shape)
    return t.reshape(*sh[:-3], sh[-3] // groups, groups, *sh[-2:]).sum(-3)


def _keep_tensor(p: _Plan, device, dtype):
    """keep / (1 - p) as a tensor of the scores' shape (the same draws as the kernels)."""
    from . import random as _random
    u = _random.uniform_op(size=p.batch + ((p.H,) if p.nd >= 3 else ()) + (p.L, p.S), low=0.0, high=1.0,
                           dtype=_dt.float32, device=device, seed=p.seed, offset=p.offset)
    return (u >= p.p).to(dtype) * _keep_scale(p.p)


# ======================================================================================================= vjps

def _kw(ctx) -> dict:
    return dict(ctx.kwargs)


def _fwd_vjp(ctx, grad_out, grad_lse):
    query, key, value, mask = ctx.inputs
    out, lse = ctx.output
    import tritorch as tt
    if grad_out is None:
        grad_out = tt.zeros_like(out)
    mask_needs = mask is not None and ctx.needs_input_grad[3]
    if mask_needs:
        dq, dk, dv, ds = _composed_backward(grad_out, grad_lse, query, key, value, mask, out, lse, ctx.meta.aux)
        return dq, dk, dv, ds
    dq, dk, dv = sdpa_backward_op(grad_out, grad_lse, query, key, value, mask, out, lse, **_kw(ctx))
    return (dq, dk, dv) if mask is None else (dq, dk, dv, None)


def _bwd_vjp(ctx, gdq, gdk, gdv):
    """Double backward: differentiate the materialised backward formula with the engine."""
    from ..autograd import grad as autograd_grad
    from ..autograd.grad_mode import STATE, enable_grad
    create = bool(STATE.enabled)
    args = ctx.inputs
    present = [a for a in args if isinstance(a, Tensor)]
    leaves = [a.detach().requires_grad_(True) if isinstance(a, Tensor) and a.dtype.is_floating_point else a
              for a in args]
    with enable_grad():
        g, glse, q, k, v, mask, out, lse = leaves
        dq, dk, dv, _ = _composed_backward(g, glse, q, k, v, mask, out, lse, ctx.meta.aux)
        outs, gouts = [], []
        for o, go in zip((dq, dk, dv), (gdq, gdk, gdv)):
            if go is not None:
                outs.append(o)
                gouts.append(go)
        wrt = [x for x in leaves if isinstance(x, Tensor) and x.requires_grad]
        got = autograd_grad(outs, wrt, gouts, allow_unused=True, create_graph=create) if outs and wrt else \
            [None] * len(wrt)
    it = iter(got)
    res = []
    for a, leaf in zip(args, leaves):
        if not isinstance(a, Tensor):
            continue
        res.append(next(it) if leaf.requires_grad else None)
    assert len(res) == len(present)
    return tuple(res)


# ==================================================================================================== samples

def _qkv(device, dtype, rng, b, h, hk, L, S, E, ev=None, noncontig=False):
    q = make_tensor(b + (h, L, E), dtype, device, low=-1, high=1, rng=rng, noncontiguous=noncontig)
    k = make_tensor(b + (hk, S, E), dtype, device, low=-1, high=1, rng=rng)
    v = make_tensor(b + (hk, S, ev or E), dtype, device, low=-1, high=1, rng=rng)
    return q, k, v


def _fwd_samples(device, dtype):
    # The sample list depends on the dtype only (cuda and cpu lists are zipped by the gradient tests). The
    # interpreter is slow, so the multi-tile, dropout and empty samples run in float32 only.
    rng = rng_for("sdpa", dtype.name)
    # tiny samples (gradcheck in float64: <= 40 elements)
    q, k, v = _qkv(device, dtype, rng, (), 1, 1, 3, 4, 2)
    yield Sample((q, k, v, None), name="tiny", reduction_size=4)
    q, k, v = _qkv(device, dtype, rng, (), 2, 1, 3, 3, 2)
    yield Sample((q, k, v, None), dict(is_causal=True, enable_gqa=True), name="tiny_gqa_causal", reduction_size=3)
    q, k, v = _qkv(device, dtype, rng, (), 1, 1, 2, 3, 2)
    mask = make_tensor((2, 3), dtype, device, low=-1, high=1, rng=rng)
    yield Sample((q, k, v, mask), dict(scale=0.7), name="tiny_additive", reduction_size=3)
    if dtype in (_dt.float32, _dt.float64):
        # a fully masked row (over 40 elements, so gradcheck skips it: its lse is -inf)
        q, k, v = _qkv(device, dtype, rng, (1,), 2, 2, 5, 6, 3)
        bm = np.ones((5, 6), bool)
        bm[2] = False
        bm[0, 1] = False
        yield Sample((q, k, v, from_bool(bm, device)), name="bool_fully_masked_row", reduction_size=6)
    if dtype is not _dt.float32:
        return
    # lengths not multiples of the 16 x 16 tiles (2 x 2 tiles), GQA, causal and a boolean mask together,
    # non-contiguous query, head dims padded to a power of two (E = 5, Ev = 3)
    q = make_tensor((1, 2, 17, 5), dtype, device, low=-1, high=1, rng=rng, noncontiguous=True)
    k = make_tensor((1, 1, 18, 5), dtype, device, low=-1, high=1, rng=rng)
    v = make_tensor((1, 1, 18, 3), dtype, device, low=-1, high=1, rng=rng)
    m = from_bool(rng.random((17, 18)) > 0.3, device)
    yield Sample((q, k, v, m), dict(is_causal=True, enable_gqa=True), name="multi_tile_gqa_causal_mask",
                 reduction_size=18)
    q, k, v = _qkv(device, dtype, rng, (), 2, 2, 5, 7, 4)
    am = make_tensor((2, 1, 7), dtype, device, low=-2, high=2, rng=rng)
    yield Sample((q, k, v, am), dict(dropout_p=0.3, seed=1234, offset=8), name="dropout_additive_broadcast",
                 reduction_size=7)
    q, k, v = _qkv(device, dtype, rng, (), 1, 1, 0, 5, 4)
    yield Sample((q, k, v, None), name="empty_L")
    q, k, v = _qkv(device, dtype, rng, (), 1, 1, 3, 0, 4)
    yield Sample((q, k, v, None), name="empty_S")


def from_bool(a: np.ndarray, device) -> Tensor:
    from ..tensor import from_array
    t = from_array(np.ascontiguousarray(a))
    return t if str(device) == "cpu" else t.to(device)


def _bwd_samples(device, dtype):
    rng = rng_for("sdpa_bwd", dtype.name)
    acc = _dt.float64 if dtype is _dt.float64 else _dt.float32
    for s in _fwd_samples(device, dtype):
        q, k, v, mask = s.args
        # (the masked-row and additive-mask cases are covered through the forward op's gradients; the backward
        # op's own double-backward runs many interpreted launches, so it keeps the other samples only)
        if q.numel() == 0 or k.numel() == 0 or s.name in ("tiny_additive", "bool_fully_masked_row"):
            continue
        with _no_record():
            out, lse = sdpa_op(q, k, v, mask, **s.kwargs)
        g = make_tensor(tuple(out.shape), dtype, device, low=-1, high=1, rng=rng)
        gl = make_tensor(tuple(lse.shape), acc, device, low=-1, high=1, rng=rng) if s.name != "tiny" else None
        # out and lse as the forward gives them (the op is only meaningful there); lse stays an input tensor
        yield Sample((g, gl, q, k, v, mask, out, lse), s.kwargs, name=s.name, reduction_size=s.reduction_size)




# ====================================================================================================== bench

def _bench_make(size, device, dtype):
    b, h, L, e = size
    rng = rng_for("sdpa_bench", size)
    q, k, v = _qkv(device, dtype, rng, (b,), h, h, L, L, e)
    return (q, k, v, None), dict(is_causal=True)


def _bench_bytes(size, dtype):
    b, h, L, e = size
    return 4 * b * h * L * e * dtype.itemsize


def _bench_flops(size):
    b, h, L, e = size
    return 2 * b * h * L * L * e  # causal: half of 4 * L * L * E


def _torch_out(torch, q, k, v, mask, dropout_p, is_causal, scale, enable_gqa):
    if mask is not None and is_causal:  # PyTorch applies both on some paths and refuses the pair on others
        tri = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        mask = mask & tri if mask.dtype == torch.bool else mask.masked_fill(~tri, float("-inf"))
        is_causal = False
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                            is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)


def _torch_fwd(torch, q, k, v, mask=None, *, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
               seed=0, offset=0):
    out = _torch_out(torch, q, k, v, mask, dropout_p, is_causal, scale, enable_gqa)
    # torch returns no lse: the materialised one from the same scores
    kk = k
    if q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        kk = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)
    sc = (1.0 / math.sqrt(q.shape[-1])) if scale is None else scale
    s = (q @ kk.transpose(-1, -2)) * sc
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    if is_causal:
        tri = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~tri, float("-inf"))
    s = s.to(torch.float64 if q.dtype == torch.float64 else torch.float32)
    dead = (s == float("-inf")).all(-1, keepdim=True)  # fully masked rows: lse -inf, zero gradient
    lse = torch.logsumexp(s.masked_fill(dead, 0.0), -1).masked_fill(dead[..., 0], float("-inf"))
    return out, lse


def _bwd_bench_make(size, device, dtype):
    """The forward's bench inputs, its (out, lse) and an upstream gradient; no gradient into lse (a plain
    training step)."""
    (q, k, v, mask), kw = _bench_make(size, device, dtype)
    with _no_record():
        out, lse = sdpa_op(q, k, v, mask, **kw)
    g = make_tensor(tuple(out.shape), dtype, device, low=-1, high=1, rng=rng_for("sdpa_bwd_bench", size))
    return (g, None, q, k, v, mask, out, lse), kw


def _bwd_bench_bytes(size, dtype):
    # reads grad_out, q, k, v, out and the fp32 lse; writes dq, dk, dv
    b, h, L, e = size
    return 8 * b * h * L * e * dtype.itemsize + 4 * b * h * L


def _bwd_bench_flops(size):
    b, h, L, e = size
    return 5 * b * h * L * L * e  # causal: half of 10 * L * L * E (scores again, dV, dP, dQ, dK)


# The backward's PyTorch peer differentiates torch's own forward; the graph of the latest inputs is kept, so each
# timed call is torch's backward alone (as ours is), not its forward too.
_TORCH_GRAPH = {}


def _torch_bwd(torch, g, grad_lse, q, k, v, mask=None, out=None, lse=None, *, dropout_p=0.0, is_causal=False,
               scale=None, enable_gqa=False, seed=0, offset=0):
    kw = dict(dropout_p=dropout_p, is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
    grads = (g,) if grad_lse is None else (g, grad_lse)

    def forward(leaves):
        with torch.enable_grad():
            # with a gradient into lse, torch's graph needs the materialised lse too (torch's sdpa returns none)
            return (_torch_out(torch, *leaves, mask, **kw),) if grad_lse is None else \
                _torch_fwd(torch, *leaves, mask, **kw)

    hit = _TORCH_GRAPH.get("latest")
    if hit is None or any(a is not b for a, b in zip(hit[0], (q, k, v, mask))) or hit[1] != (grad_lse is None):
        leaves = [t.detach().requires_grad_(True) for t in (q, k, v)]
        hit = _TORCH_GRAPH["latest"] = ((q, k, v, mask), grad_lse is None, leaves, forward(leaves))
    _, _, leaves, outs = hit
    return torch.autograd.grad(outs, leaves, grads, retain_graph=True)


sdpa_op = register(OpDef(
    name="scaled_dot_product_attention", family=FAMILY, infer=_fwd_infer,
    impl={"cpu": _fwd_cpu, "cuda": _fwd_cuda}, ref=_ref, samples=_fwd_samples,
    bench=BenchSpec(sizes=((4, 16, 1024, 64), (2, 16, 4096, 128)), make=_bench_make, bytes=_bench_bytes,
                    flops=_bench_flops, dtypes=(_dt.float16, _dt.bfloat16)),
    dtypes=FLOATS, n_outputs=2, vjp=_fwd_vjp, save="both",
    tolerances={_dt.float32: (1e-5, 1e-5)},
    doc="flash attention forward: (out, per-row log-sum-exp)",
    extra={"torch": _torch_fwd}))

sdpa_backward_op = register(OpDef(
    name="scaled_dot_product_attention_backward", family=FAMILY, infer=_bwd_infer,
    impl={"cpu": _bwd_cpu, "cuda": _bwd_cuda}, ref=_bwd_ref, samples=_bwd_samples,
    dtypes=FLOATS, n_outputs=3, vjp=_bwd_vjp, double_backward=False,
    tolerances={_dt.float32: (1e-5, 1e-5)},
    # the forward's sizes and dtypes; forward only (its backward is the double backward)
    bench=BenchSpec(sizes=((4, 16, 1024, 64), (2, 16, 4096, 128)), make=_bwd_bench_make, bytes=_bwd_bench_bytes,
                    flops=_bwd_bench_flops, dtypes=(_dt.float16, _dt.bfloat16), backward=False),
    doc="flash attention backward from the saved log-sum-exp: (dq, dk, dv)",
    # torch_grad False: the peer recomputes out and lse from q, k, v, while the op takes them as inputs of their
    # own, so the two differ as functions of q, k, v and their derivatives are not comparable
    extra={"torch": _torch_bwd, "torch_grad": False}))


# ============================================================================================== public function

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False) -> Tensor:
    """torch.nn.functional.scaled_dot_product_attention (see the module docstring for the exact semantics)."""
    seed = offset = 0
    if dropout_p and dropout_p > 0:
        from . import random as _random
        p = _plan(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, 0, 0)
        gen = _random.default_generator
        seed, offset = gen.initial_seed(), gen.get_offset()
        if query.device.type != "meta":   # (nothing is drawn there)
            gen._advance(_n_draws(p))
    out, _ = sdpa_op(query, key, value, attn_mask, dropout_p=float(dropout_p), is_causal=bool(is_causal),
                     scale=scale, enable_gqa=bool(enable_gqa), seed=seed, offset=offset)
    return out
