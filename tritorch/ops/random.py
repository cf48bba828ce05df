"""Random numbers: a counter-based Philox4x32-10 generator that gives the same values on cpu and cuda.

Every draw is a pure function of (seed, counter). Element j of a call whose first Philox counter is `base` takes
lane j % 4 of Philox(seed, base + j // 4); a 64-bit draw (float64, integer ranges >= 2**32) takes lanes
(2k, 2k+1) of Philox(seed, base + j // 2), k = j % 2. The Triton kernels get their lanes from tl.randint4x (Triton's
own Philox); the NumPy fallback runs the same ten Philox rounds on uint32 arrays, and both map a uint32 to a float
with Triton's conversion (tl.uint_to_uniform_float), so `rand` is bitwise equal on the two devices and `randn`
(Box-Muller on pairs of lanes, as tl.randn) agrees to within float rounding.

The generator state is (seed, offset): offset counts the 32-bit values drawn so far, in whole Philox counters (4
values). Each call takes the counters [offset / 4, offset / 4 + ceil(values / 4)) and moves the offset past them,
so successive calls never share a counter and a seed replays exactly. The registered ops take `seed` and `offset`
as explicit arguments (so each op is a pure function, and the generated tests can compare cuda with cpu and with a
reference); the public functions read and advance a `Generator`.
"""
from __future__ import annotations

import collections
import functools
import math
import os

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CPU, CUDA, as_device
from ..tensor import Tensor, _make
from . import _bind, launch
from ._cpu_parallel import run_row_blocks
from . import pointwise as pw
from .creation import _dev, _shape_arg, size_arg
from .launch import f64_bits
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, broadcast_shapes, device_of, register
from .samples import make_tensor, rng_for
from .registry import write_out as _write_out

FAMILY = "random"

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial"]

_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1
# PyTorch's default CPU seed, so that an unseeded program starts from a fixed, documented state.
_DEFAULT_SEED = 67280421310721


# ================================================================================================ generator

class Generator:
    """torch.Generator: a Philox key (`seed`) and a position in its counter stream (`offset`, in 32-bit values).

    One generator serves every device: the same state gives the same numbers on cpu and cuda."""

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        self._seed = _DEFAULT_SEED
        self._offset = 0

    def manual_seed(self, seed) -> "Generator":
        seed = int(seed)
        if not -(1 << 63) <= seed <= _U64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & _U64  # negative seeds wrap to uint64, as in PyTorch
        self._offset = 0
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor of 16 bytes: seed and offset, little-endian uint64 each."""
        raw = np.array([self._seed, self._offset], dtype="<u8").view(np.uint8).copy()
        return _make(raw, _dt.uint8, CPU)

    def set_state(self, state) -> "Generator":
        if isinstance(state, Tensor):
            if state.dtype is not _dt.uint8 or state.numel() != 16:
                raise RuntimeError("RNG state must be a uint8 tensor of 16 bytes (seed and offset, as get_state() returns)")
            seed, offset = (int(v) for v in np.ascontiguousarray(state._host()).reshape(16).view("<u8"))
        else:
            seed, offset = (int(v) for v in state)
        if offset % 4 or not 0 <= offset <= _U64 or not 0 <= seed <= _U64:
            raise RuntimeError(f"invalid RNG state: seed={seed}, offset={offset} (offset must be a multiple of 4)")
        self._seed, self._offset = seed, offset
        return self

    def get_offset(self) -> int:
        return self._offset

    def set_offset(self, offset: int) -> "Generator":
        return self.set_state((self._seed, int(offset)))

    def _advance(self, values: int) -> None:
        """Move past `values` 32-bit draws, in whole Philox counters (4 values each)."""
        self._offset = (self._offset + -(-values // 4) * 4) & _U64

    def __repr__(self) -> str:
        return f"<tritorch.Generator seed={self._seed} offset={self._offset}>"


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed the default generator (every device) and reset its offset."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def _gen(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tritorch.Generator, not {type(generator).__name__}")
    return generator


# ============================================================================================ distributions

# Distributions (kernel constexpr DIST).
UNIFORM, NORMAL, INTEGER, INTEGER_FULL, BERNOULLI, BERNOULLI_TENSOR, EXPONENTIAL = range(7)

# How a draw becomes a float in [0, 1): UBITS == 0 is Triton's fp32 conversion (31 random bits, tl.rand); k > 0
# keeps the top k bits as k / 2**k, exact in the target dtype (so fp16/bf16 never round up to 1.0); 53 is float64
# from a 64-bit draw.
_UBITS = {_dt.float16: 11, _dt.bfloat16: 8, _dt.float32: 0, _dt.float64: 53}

# What both implementations need to know about one call: which distribution, 64-bit draws or not, the uniform
# conversion, the dtype of the arithmetic, and the two parameters (floats, or ints for INTEGER).
Plan = collections.namedtuple("Plan", "dist wide ubits compute a b")


def _compute_dtype(d: _dt.dtype) -> _dt.dtype:
    return _dt.float64 if d is _dt.float64 else _dt.float32


def _float_plan(dist, dtype, a, b) -> Plan:
    wide = dtype is _dt.float64
    ubits = _UBITS[dtype] if dist == UNIFORM else (53 if wide else 0)
    return Plan(dist, wide, ubits, _compute_dtype(dtype), float(a), float(b))


def _check_offset(seed, offset) -> None:
    if not 0 <= int(seed) <= _U64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    if int(offset) % 4 or offset < 0:
        raise ValueError(f"offset must be a non-negative multiple of 4, got {offset}")


# ============================================================================================= Triton side

@triton.jit
def _to_uniform(r, UBITS: tl.constexpr):
    # r: uint32 lanes (uint64 when UBITS == 53) -> floats in [0, 1)
    if UBITS == 0:
        u = tl.uint_to_uniform_float(r)  # exactly tl.rand's conversion
    elif UBITS == 53:
        u = (r >> 11).to(tl.float64) * 1.1102230246251565e-16  # 2**-53: exact
    else:
        u = (r >> (32 - UBITS)).to(tl.float32) * (1.0 / (1 << UBITS))  # exact: at most 11 bits
    return u


@triton.jit
def _box_muller(u1, u2, WIDE: tl.constexpr):
    # Two uniforms -> two standard normals (tl.pair_uniform_to_normal; float64 takes log of 1 - u, never 0).
    if WIDE:
        u1 = 1.0 - u1
    else:
        u1 = tl.maximum(1.0e-7, u1)
    th = 6.283185307179586 * u2
    r = tl.sqrt(-2.0 * tl.log(u1))
    return r * tl.cos(th), r * tl.sin(th)


@triton.jit
def _draw_pair(r0, r1, a, b, DIST: tl.constexpr, WIDE: tl.constexpr, UBITS: tl.constexpr):
    # Two lanes -> two draws before the per-element finish (see _finish).
    if DIST == 1:  # NORMAL
        x0, x1 = _box_muller(_to_uniform(r0, UBITS), _to_uniform(r1, UBITS), WIDE)
    elif DIST == 2:  # INTEGER: low + r % range
        if WIDE:
            rng = tl.cast(b, tl.uint64)
            x0 = (r0 % rng).to(tl.int64, bitcast=True) + tl.cast(a, tl.int64)
            x1 = (r1 % rng).to(tl.int64, bitcast=True) + tl.cast(a, tl.int64)
        else:
            rng = tl.cast(b, tl.uint32)
            x0 = (r0 % rng).to(tl.int64) + tl.cast(a, tl.int64)
            x1 = (r1 % rng).to(tl.int64) + tl.cast(a, tl.int64)
    elif DIST == 3:  # INTEGER_FULL: every 64-bit value (range 2**64)
        x0 = r0.to(tl.int64, bitcast=True) + tl.cast(a, tl.int64)
        x1 = r1.to(tl.int64, bitcast=True) + tl.cast(a, tl.int64)
    else:
        x0 = _to_uniform(r0, UBITS)
        x1 = _to_uniform(r1, UBITS)
    return x0, x1


@triton.jit
def _f64(bits):
    # a float64 kernel argument passed as its int64 bits (Python floats would arrive as fp32 or stay floats)
    return tl.cast(bits, tl.int64).to(tl.float64, bitcast=True)


@triton.jit
def _log1p(x):
    # Kahan: log(1 + x) accurate for small x without libdevice
    w = 1.0 + x
    d = w - 1.0
    return tl.where(d == 0.0, x, tl.log(w) * (x / tl.where(d == 0.0, 1.0, d)))


@triton.jit
def _finish(x, p_ptr, idx, mask, a, b, DIST: tl.constexpr, COMPUTE: tl.constexpr):
    # Per-element transform of the draws x (2-D [counters, lanes]) into the distribution's values.
    if DIST == 0:  # UNIFORM: u * (high - low) + low
        v = x * _f64(b).to(COMPUTE) + _f64(a).to(COMPUTE)
    elif DIST == 1:  # NORMAL: z * std + mean
        v = x * _f64(b).to(COMPUTE) + _f64(a).to(COMPUTE)
    elif DIST == 4:  # BERNOULLI (scalar p): u < p, compared in float64
        v = x.to(tl.float64) < _f64(a)
    elif DIST == 5:  # BERNOULLI_TENSOR: u < p[i]
        p = tl.load(p_ptr + idx, mask=mask, other=0)
        v = x.to(tl.float64) < p.to(tl.float64)
    elif DIST == 6:  # EXPONENTIAL: -log(1 - u) / lambd
        v = -_log1p(-x) / _f64(a).to(COMPUTE)
    else:  # INTEGER, INTEGER_FULL
        v = x
    return v


@triton.jit
def _random_kernel(
    out_ptr,                 # output, contiguous, n elements (bool as uint8)
    p_ptr,                   # BERNOULLI_TENSOR: probabilities, contiguous, n elements; otherwise unused
    n,                       # number of elements
    seed,                    # Philox key (0 <= seed < 2**64)
    counter,                 # Philox counter of element 0 (the generator offset // 4)
    a, b,                    # parameters: float64 bits of (low, range) | (mean, std) | (p, 0) | (lambd, 0); ints (low, range)
    DIST: tl.constexpr,      # UNIFORM | NORMAL | INTEGER | INTEGER_FULL | BERNOULLI | BERNOULLI_TENSOR | EXPONENTIAL
    WIDE: tl.constexpr,      # 64-bit draws: two elements per counter instead of four
    UBITS: tl.constexpr,     # uniform conversion (see _to_uniform)
    COMPUTE: tl.constexpr,   # float dtype of the arithmetic (fp32 for 16-bit outputs)
    BLOCK_C: tl.constexpr,   # Philox counters per program
):
    # bytes: writes n elements (BERNOULLI_TENSOR also reads n probabilities); ~100 integer ops per counter
    c = tl.program_id(0).to(tl.int64) * BLOCK_C + tl.arange(0, BLOCK_C)
    r0, r1, r2, r3 = tl.randint4x(seed, counter + c)
    if WIDE:
        lane = tl.arange(0, 2)[None, :]
        idx = c[:, None] * 2 + lane
        w0 = (r0.to(tl.uint64) << 32) | r1.to(tl.uint64)
        w1 = (r2.to(tl.uint64) << 32) | r3.to(tl.uint64)
        x0, x1 = _draw_pair(w0, w1, a, b, DIST, WIDE, UBITS)
        x = tl.where(lane == 0, x0[:, None], x1[:, None])
    else:
        lane = tl.arange(0, 4)[None, :]
        idx = c[:, None] * 4 + lane
        x0, x1 = _draw_pair(r0, r1, a, b, DIST, WIDE, UBITS)
        x2, x3 = _draw_pair(r2, r3, a, b, DIST, WIDE, UBITS)
        x = tl.where(lane == 0, x0[:, None],
                     tl.where(lane == 1, x1[:, None], tl.where(lane == 2, x2[:, None], x3[:, None])))
    mask = idx < n
    v = _finish(x, p_ptr, idx, mask, a, b, DIST, COMPUTE)
    ty = out_ptr.dtype.element_ty
    if ty.is_fp16() or ty.is_bf16():
        v = v.to(tl.float32)  # integers and bools reach 16-bit floats through fp32, as on the cpu
    tl.store(out_ptr + idx, v.to(ty), mask=mask)


@triton.jit
def _same(x, y, z, p0, p1):
    return x


@triton.jit
def _affine(x, y, z, p0, p1):
    return x * y + z


# The interpreter runs each program as NumPy calls: fewer, larger programs run faster there.
_BLOCK_C = 1024 if _cuda.INTERPRET else 256


def _param_bits(plan: Plan) -> tuple:
    if plan.dist in (INTEGER, INTEGER_FULL):
        return int(plan.a), int(plan.b)
    return tuple(f64_bits(v) for v in (plan.a, plan.b))


def _launch(plan: Plan, seed: int, offset: int, out: CudaArray, p: CudaArray | None = None) -> CudaArray:
    """Fill `out` (any layout) with the plan's n draws in row-major element order."""
    n = out.size_
    if n == 0:
        return out
    dst = out if out.is_contiguous() else CudaArray.empty(out.shape, out.dtype)
    counters = -(-n // (2 if plan.wide else 4))
    a, b = _param_bits(plan)
    _random_kernel[(launch.num_programs(counters, _BLOCK_C),)](
        pw.kernel_view(dst), pw.kernel_view(p) if p is not None else 0, n, int(seed), int(offset) // 4, a, b,
        DIST=plan.dist, WIDE=plan.wide, UBITS=plan.ubits, COMPUTE=pw.TL_DTYPE[plan.compute], BLOCK_C=_BLOCK_C)
    if dst is not out:
        dt = _dt.from_numpy_dtype(out.dtype)
        pw.launch_pointwise(_same, [_make(dst, dt, CUDA)], tuple(out.shape), dt, dt, out)
    return out


# ============================================================================================== NumPy side

_PHILOX_A, _PHILOX_B = 0xD2511F53, 0xCD9E8D57          # round multipliers (Philox4x32)
_PHILOX_KEY_A, _PHILOX_KEY_B = 0x9E3779B9, 0xBB67AE85  # key schedule (Weyl) increments


def philox_lanes(seed: int, first_counter: int, count: int) -> np.ndarray:
    """(count, 4) uint32: Philox4x32-10 of counters first..first+count-1 under key `seed`, as tl.randint4x.

    Counters are independent, so they run in blocks of _PHILOX_BLOCK whose hundred array passes stay in cache,
    on the cpu thread pool for large counts (128K counters, a 512K-element dropout mask: 14 -> ~5.3 ms here); the
    bits never depend on the split."""
    if count <= _PHILOX_FEW:
        return _philox_few(seed, first_counter, count)
    if count <= _PHILOX_PACKED_MAX:
        return _philox_packed(seed, first_counter, count)
    lanes = np.empty((count, 4), np.uint32)

    def block(rows):
        _philox_block(seed, first_counter + rows.start, lanes[rows])

    run_row_blocks(block, count, 1, block_elems=_PHILOX_BLOCK, min_elems=_PHILOX_PARALLEL_MIN)
    return lanes


# Counters per block, and the count from which blocks go to the thread pool. Measured here on 128K counters:
# 14 ms in one block; blocks of 8K: 9.3 ms serial, 13.2 on the pool (two threads trading the GIL between ~110
# small NumPy calls a block cost more than they overlap); blocks of 32K: 6.9 serial, 5.3 on the pool.
_PHILOX_BLOCK = 1 << 15
_PHILOX_PARALLEL_MIN = 1 << 16


# Up to _PHILOX_FEW counters (4 values each) are computed with Python integers, a counter at a time (~3 us a
# counter); up to _PHILOX_PACKED_MAX with every counter's word in a 64-bit lane of one Python integer, so each
# round is a few big-integer operations (~10 us plus ~0.25 us a counter); more with NumPy's array rounds, which
# cost ~50 us a call in NumPy calls whatever the count (a Categorical.sample() of one value spent 3/4 of its time
# there; randn(8, 16), 32 counters: 51 -> 18 us).
_PHILOX_FEW = 3
_PHILOX_PACKED_MAX = 128


@functools.lru_cache(maxsize=16)
def _round_keys(seed: int) -> tuple:
    """The ten (k0, k1) round keys of Philox4x32-10 under key `seed` (the Weyl sequence)."""
    k0, k1, keys = seed & _U32, (seed >> 32) & _U32, []
    for _ in range(10):
        keys.append((k0, k1))
        k0, k1 = (k0 + _PHILOX_KEY_A) & _U32, (k1 + _PHILOX_KEY_B) & _U32
    return tuple(keys)


def _philox_few(seed: int, first_counter: int, count: int) -> np.ndarray:
    """philox_lanes for a few counters, in Python integers (the counter wraps at 2**64, as in the kernel)."""
    out = []
    mul_a, mul_b, mask = _PHILOX_A, _PHILOX_B, _U32
    keys = _round_keys(seed)
    for i in range(count):
        ctr = (first_counter + i) & 0xFFFFFFFFFFFFFFFF
        c0, c1, c2, c3 = ctr & mask, ctr >> 32, 0, 0
        for k0, k1 in keys:
            pa, pb = mul_a * c0, mul_b * c2
            c0, c1, c2, c3 = (pb >> 32) ^ c1 ^ k0, pb & mask, (pa >> 32) ^ c3 ^ k1, pa & mask
        out += (c0, c1, c2, c3)
    return np.array(out, np.uint32).reshape(count, 4)


def _philox_packed(seed: int, first_counter: int, count: int) -> np.ndarray:
    """philox_lanes with each word of every counter in a 64-bit lane of one Python integer: a 32 x 32-bit product
    fits its lane, a shift by 32 moves each lane's high half into its low half (the next lane's low half, shifted
    into this lane's top, is masked off), so a round is ten big-integer operations for all counters at once."""
    nbytes = 8 * count
    ctr = np.arange(count, dtype=np.uint64)
    ctr += np.uint64(first_counter & 0xFFFFFFFFFFFFFFFF)        # (wraps at 2**64, as in the kernel)
    c0 = int.from_bytes((ctr & np.uint64(_U32)).tobytes(), "little")
    c1 = int.from_bytes((ctr >> np.uint64(32)).tobytes(), "little")
    c2 = c3 = 0
    ones = int.from_bytes(np.ones(count, np.uint64).tobytes(), "little")   # 1 in every lane
    low = ones * _U32
    for k0, k1 in _round_keys(seed):
        pa, pb = c0 * _PHILOX_A, c2 * _PHILOX_B
        c0 = ((pb >> 32) & low) ^ c1 ^ (ones * k0)
        c1 = pb & low
        c2 = ((pa >> 32) & low) ^ c3 ^ (ones * k1)
        c3 = pa & low
    lanes = np.empty((count, 4), np.uint32)
    for i, c in enumerate((c0, c1, c2, c3)):
        lanes[:, i] = np.frombuffer(c.to_bytes(nbytes, "little"), np.uint64)
    return lanes


def _philox_block(seed: int, first_counter: int, lanes: np.ndarray) -> None:
    """Philox4x32-10 of len(lanes) consecutive counters into `lanes` ((count, 4) uint32). The four words live in
    uint64 arrays (values < 2**32) so each round is ten in-place array operations. The counter's words c2, c3
    start at 0 and c1 (its high word) is one number across a block that does not cross a multiple of 2**32, so
    the first three rounds have scalar operands there (_philox_head: 16 array passes instead of 30, ~10% of the
    block's time)."""
    count = lanes.shape[0]
    mask = np.uint64(_U32)
    shift = np.uint64(32)
    mul_a, mul_b = np.uint64(_PHILOX_A), np.uint64(_PHILOX_B)
    k0, k1 = seed & _U32, (seed >> 32) & _U32
    high = first_counter >> 32
    if count and (first_counter + count - 1) >> 32 == high:
        c0, c1, c2, c3, pb = _philox_head(first_counter & _U32, high & _U32, count, k0, k1)
        rounds = 7
        for _ in range(3):
            k0 = (k0 + _PHILOX_KEY_A) & _U32
            k1 = (k1 + _PHILOX_KEY_B) & _U32
    else:
        ctr = np.arange(count, dtype=np.uint64)
        ctr += np.uint64(first_counter)
        c0 = ctr & mask
        c1 = np.right_shift(ctr, shift, out=ctr)
        c2 = np.zeros(count, np.uint64)
        c3 = np.zeros(count, np.uint64)
        pb = np.empty(count, np.uint64)
        rounds = 10
    pa = np.empty(count, np.uint64)
    for _ in range(rounds):
        np.multiply(c0, mul_a, out=pa)
        np.multiply(c2, mul_b, out=pb)
        np.right_shift(pb, shift, out=c0)   # c0 = hi(B * c2) ^ c1 ^ k0
        c0 ^= c1
        c0 ^= np.uint64(k0)
        np.bitwise_and(pb, mask, out=c1)    # c1 = lo(B * c2)
        np.right_shift(pa, shift, out=c2)   # c2 = hi(A * c0) ^ c3 ^ k1
        c2 ^= c3
        c2 ^= np.uint64(k1)
        np.bitwise_and(pa, mask, out=c3)    # c3 = lo(A * c0)
        k0 = (k0 + _PHILOX_KEY_A) & _U32
        k1 = (k1 + _PHILOX_KEY_B) & _U32
    for i, c in enumerate((c0, c1, c2, c3)):
        lanes[:, i] = c


def _philox_head(low: int, high: int, count: int, k0: int, k1: int) -> tuple:
    """(c0, c1, c2, c3, a scratch array) after Philox's first three rounds of the counters (low + i, high, 0, 0),
    i < count (low + count <= 2**32), keys k0, k1 (the round keys follow the Weyl increments): round 1 multiplies
    c2 = 0 and leaves c0 = high ^ k0 and c1 = 0 as numbers, round 2 multiplies that c0 and leaves c3 a number."""
    mask = np.uint64(_U32)
    shift = np.uint64(32)
    mul_a, mul_b = np.uint64(_PHILOX_A), np.uint64(_PHILOX_B)
    c0 = np.arange(low, low + count, dtype=np.uint64)
    pa = np.multiply(c0, mul_a)                            # round 1: B * c2 = 0
    s0 = high ^ k0                                         # c0 = 0 ^ c1 ^ k0; c1 = 0
    c2 = np.right_shift(pa, shift)
    c2 ^= np.uint64(k1)                                    # c2 = hi(A * c0) ^ 0 ^ k1
    c3 = np.bitwise_and(pa, mask, out=pa)                  # c3 = lo(A * c0)
    k0, k1 = (k0 + _PHILOX_KEY_A) & _U32, (k1 + _PHILOX_KEY_B) & _U32
    product = _PHILOX_A * s0                               # round 2: A * c0 is a number
    pb = np.multiply(c2, mul_b)
    c0 = np.right_shift(pb, shift, out=c0)
    c0 ^= np.uint64(k0)                                    # c0 = hi(B * c2) ^ 0 ^ k0
    c1 = np.bitwise_and(pb, mask)                          # c1 = lo(B * c2)
    c3 ^= np.uint64((product >> 32) ^ k1)                  # c2 = hi(A * c0) ^ c3 ^ k1 (in c3's array)
    c2, s3 = c3, product & _U32                            # c3 = lo(A * c0), a number
    k0, k1 = (k0 + _PHILOX_KEY_A) & _U32, (k1 + _PHILOX_KEY_B) & _U32
    pa = np.multiply(c0, mul_a)                            # round 3: c3 is a number
    np.multiply(c2, mul_b, out=pb)
    np.right_shift(pb, shift, out=c0)
    c0 ^= c1
    c0 ^= np.uint64(k0)
    np.bitwise_and(pb, mask, out=c1)
    np.right_shift(pa, shift, out=c2)
    c2 ^= np.uint64(s3 ^ k1)
    c3 = np.bitwise_and(pa, mask, out=pa)
    return c0, c1, c2, c3, pb


def _draws_np(seed: int, offset: int, n: int, wide: bool) -> np.ndarray:
    """The raw draws of a call, in element order, padded to whole counters: uint32 (uint64 when wide)."""
    per = 2 if wide else 4
    lanes = philox_lanes(seed, offset // 4, -(-n // per))
    if wide:
        return ((lanes[:, 0::2].astype(np.uint64) << np.uint64(32)) | lanes[:, 1::2]).reshape(-1)
    return lanes.reshape(-1)


def _uniform_np(r: np.ndarray, ubits: int) -> np.ndarray:
    if ubits == 0:  # tl.uint_to_uniform_float: int32 view, fold negatives with ~x, scale in fp32
        x = r.view(np.int32)
        x = x ^ (x >> 31)  # ~x where x < 0
        u = x.astype(np.float32)
        u *= np.float32(4.6566127342e-10)
        return u
    if ubits == 53:
        return (r >> np.uint64(11)).astype(np.float64) * np.float64(2.0 ** -53)
    return (r >> np.uint32(32 - ubits)).astype(np.float32) * np.float32(2.0 ** -ubits)


def _box_muller_np(u: np.ndarray, wide: bool) -> np.ndarray:
    u1, u2 = u[0::2], u[1::2]
    t = u.dtype.type
    u1 = t(1.0) - u1 if wide else np.maximum(t(1.0e-7), u1)
    th = t(6.283185307179586) * u2
    r = np.sqrt(t(-2.0) * np.log(u1))
    out = np.empty_like(u)
    out[0::2] = r * np.cos(th)
    out[1::2] = r * np.sin(th)
    return out


def generate_np(plan: Plan, seed: int, offset: int, n: int, p: np.ndarray | None = None) -> np.ndarray:
    """The NumPy fallback of every distribution: n values in element order (compute dtype, int64 or bool)."""
    r = _draws_np(seed, offset, n, plan.wide)
    dist = plan.dist
    if dist == INTEGER:
        m = r % (np.uint64(plan.b) if plan.wide else np.uint32(plan.b))
        return m[:n].astype(np.int64) + np.int64(plan.a)
    if dist == INTEGER_FULL:
        return r[:n].view(np.int64) + np.int64(plan.a)
    c = plan.compute.np.type
    if dist == NORMAL:
        z = _box_muller_np(_uniform_np(r, plan.ubits), plan.wide)[:n]
        return z * c(plan.b) + c(plan.a)
    u = _uniform_np(r, plan.ubits)[:n]
    if dist == UNIFORM:
        return u * c(plan.b) + c(plan.a)
    if dist == BERNOULLI:
        return u.astype(np.float64) < plan.a
    if dist == BERNOULLI_TENSOR:
        return u.astype(np.float64) < p.astype(np.float64)
    if dist == EXPONENTIAL:
        return -np.log1p(-u) / c(plan.a)
    raise ValueError(dist)


def _cpu_fill(plan: Plan, seed: int, offset: int, meta: Meta, out, p=None):
    n = math.prod(meta.shape)
    with np.errstate(over="ignore"):
        v = generate_np(plan, seed, offset, n, p).reshape(meta.shape)
    if meta.dtype in (_dt.float16, _dt.bfloat16) and v.dtype != np.float32:
        v = v.astype(np.float32)  # integers and bools reach 16-bit floats through fp32, as in the kernel
    if out is not None:
        np.copyto(out, v, casting="unsafe")
        return out
    return v.astype(meta.dtype.np, copy=False)


# ====================================================================== reference (pure Python, independent)

def philox_py(seed: int, counter: int) -> tuple:
    """One Philox4x32-10 block in plain Python integers (the reference the NumPy fallback is tested against)."""
    c0, c1, c2, c3 = counter & _U32, (counter >> 32) & _U32, 0, 0
    k0, k1 = seed & _U32, (seed >> 32) & _U32
    for _ in range(10):
        pa, pb = _PHILOX_A * c0, _PHILOX_B * c2
        c0, c1, c2, c3 = (pb >> 32) ^ c1 ^ k0, pb & _U32, (pa >> 32) ^ c3 ^ k1, pa & _U32
        k0, k1 = (k0 + _PHILOX_KEY_A) & _U32, (k1 + _PHILOX_KEY_B) & _U32
    return c0, c1, c2, c3


def _ref_draws(seed, offset, n, wide) -> list:
    draws = []
    counter = offset // 4
    while len(draws) < n:
        c = philox_py(seed, counter)
        draws += [(c[0] << 32) | c[1], (c[2] << 32) | c[3]] if wide else list(c)
        counter += 1
    return draws[: n + (n % 2)]  # whole pairs for Box-Muller


def _ref_uniform(r: int, ubits: int) -> float:
    if ubits == 0:
        x = r - (1 << 32) if r >= 1 << 31 else r
        x = -x - 1 if x < 0 else x
        # two fp32 roundings, as the kernel: int32 -> fp32, then the product
        return float(np.float32(np.float32(x) * np.float32(4.6566127342e-10)))
    if ubits == 53:
        return (r >> 11) * 2.0 ** -53
    return (r >> (32 - ubits)) * 2.0 ** -ubits


def _ref_normals(seed, offset, n, plan) -> list:
    us = [_ref_uniform(r, plan.ubits) for r in _ref_draws(seed, offset, n, plan.wide)]
    out = []
    for u1, u2 in zip(us[0::2], us[1::2]):
        u1 = 1.0 - u1 if plan.wide else max(float(np.float32(1e-7)), u1)
        r = math.sqrt(-2.0 * math.log(u1))
        th = 2 * math.pi * u2
        out += [r * math.cos(th), r * math.sin(th)]
    return out[:n]


# ================================================================================================= the ops

def _float_only(dtype: _dt.dtype, kernel_name: str) -> None:
    # PyTorch raises NotImplementedError (a RuntimeError) when a distribution's kernel lacks the dtype.
    if dtype.kind != _dt.FLOAT:
        raise NotImplementedError(f'"{kernel_name}" not implemented for \'{_type_name(dtype)}\'')


def _creation_meta(size, dtype, device, aux) -> Meta:
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return Meta(tuple(size), dtype, as_device(device), aux)


def _shape_samples(device, dtype, kwargs_for):
    """Sizes every creation-style random op is tested on, each with its own seed and offset."""
    cases = [((), 0, 0), ((1,), 1, 4), ((0,), 2, 8), ((5,), 3, 12), ((2 ** 6 + 17,), 2 ** 64 - 1, 4 * (2 ** 32 + 3)),
             ((3, 4), 12345, 40), ((4 * _BLOCK_C + 17,), 7, 0)]
    for size, s, off in cases:
        kw = {"size": size, "dtype": dtype, "device": device, "seed": s, "offset": off}
        kw.update(kwargs_for(size))
        yield Sample((), kw, name=f"{size}-seed{s}-off{off}")


def _bench(make_kwargs):
    def make(size, device, dtype):
        return (), dict(size=(size,), dtype=dtype, device=device, seed=1, offset=0, **make_kwargs(dtype))
    return BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=make, bytes=lambda size, dtype: size * dtype.itemsize,
                     dtypes=(_dt.float32,))


# ------------------------------------------------------------------------------------------------- uniform

def _uniform_infer(*, size, low=0.0, high=1.0, dtype, device, seed, offset):
    _float_only(dtype, "check_uniform_bounds")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low:g} > to={high:g}")
    _check_offset(seed, offset)
    return _creation_meta(size, dtype, device, _float_plan(UNIFORM, dtype, low, float(high) - float(low)))


def _uniform_cpu(meta, *, size, low=0.0, high=1.0, dtype, device, seed, offset, out=None):
    return _cpu_fill(meta.aux, seed, offset, meta, out)


def _uniform_cuda(meta, *, size, low=0.0, high=1.0, dtype, device, seed, offset, out=None):
    return _launch(meta.aux, seed, offset, out if out is not None else CudaArray.empty(meta.shape, dtype.np))


def _uniform_ref(*, size, low=0.0, high=1.0, dtype, device, seed, offset):
    n = math.prod(size)
    draws = _ref_draws(seed, offset, n, dtype is _dt.float64)[:n]
    return np.array([_ref_uniform(r, _UBITS[dtype]) for r in draws], np.float64).reshape(size) * (high - low) + low


uniform_op = register(OpDef(
    name="uniform", family=FAMILY, infer=_uniform_infer, impl={"cpu": _uniform_cpu, "cuda": _uniform_cuda},
    # cuda and cpu give bitwise equal uniforms: compare them at the dtype's own tolerance, not the loose default
    ref=_uniform_ref, dtypes=_dt.FLOATS, supports_out=True, differentiable=False, cross_device_rtol=0.0,
    samples=lambda device, dtype: _shape_samples(device, dtype, lambda size: {"low": -2.0, "high": 3.0} if size == (3, 4) else {}),
    bench=_bench(lambda dtype: {}),
    extra={"torch": lambda torch, *, size, dtype, low=0.0, high=1.0, **_: torch.empty(size, dtype=dtype).uniform_(low, high)}))


# -------------------------------------------------------------------------------------------------- normal

def _check_std(std) -> None:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def _randn_infer(*, size, mean=0.0, std=1.0, dtype, device, seed, offset):
    _float_only(dtype, "normal_kernel_cpu")
    _check_std(std)
    _check_offset(seed, offset)
    return _creation_meta(size, dtype, device, _float_plan(NORMAL, dtype, mean, std))


def _randn_cpu(meta, *, size, mean=0.0, std=1.0, dtype, device, seed, offset, out=None):
    return _cpu_fill(meta.aux, seed, offset, meta, out)


def _randn_cuda(meta, *, size, mean=0.0, std=1.0, dtype, device, seed, offset, out=None):
    return _launch(meta.aux, seed, offset, out if out is not None else CudaArray.empty(meta.shape, dtype.np))


def _randn_ref(*, size, mean=0.0, std=1.0, dtype, device, seed, offset):
    z = _ref_normals(seed, offset, math.prod(size), _float_plan(NORMAL, dtype, 0, 1))
    return np.array(z, np.float64).reshape(size) * std + mean


randn_op = register(OpDef(
    name="randn", family=FAMILY, infer=_randn_infer, impl={"cpu": _randn_cpu, "cuda": _randn_cuda},
    ref=_randn_ref, dtypes=_dt.FLOATS, supports_out=True, differentiable=False,
    samples=lambda device, dtype: _shape_samples(device, dtype, lambda size: {"mean": 1.5, "std": 0.5} if size == (3, 4) else {}),
    bench=_bench(lambda dtype: {}),
    extra={"torch": lambda torch, *, size, dtype, mean=0.0, std=1.0, **_: torch.empty(size, dtype=dtype).normal_(mean, std)}))


# ------------------------------------------------------------------------------------------------- randint

_C_NAMES = {_dt.uint8: "unsigned char", _dt.int8: "signed char", _dt.int16: "short int", _dt.int32: "int",
            _dt.int64: "long int", _dt.bool_: "bool"}


def _int_bounds(dtype: _dt.dtype) -> tuple[int, int]:
    """The integers a dtype holds exactly (floats: +-2**digits, PyTorch's discrete-uniform limit)."""
    if dtype is _dt.bool_:
        return 0, 1
    if dtype.kind == _dt.INT:
        info = np.iinfo(dtype.np)
        return int(info.min), int(info.max)
    digits = {_dt.float16: 11, _dt.bfloat16: 8, _dt.float32: 24, _dt.float64: 53}[dtype]
    return -(2 ** digits), 2 ** digits


def _integer_plan(low: int, high: int) -> Plan:
    span = high - low
    if span >= 1 << 64:
        return Plan(INTEGER_FULL, True, 0, _dt.int64, low, 0)
    return Plan(INTEGER, span >= 1 << 32, 0, _dt.int64, low, span)


def _randint_infer(*, size, low=0, high, dtype=_dt.int64, device, seed, offset):
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype.kind != _dt.FLOAT:
        lo, hi = _int_bounds(dtype)
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {_C_NAMES[dtype]}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {_C_NAMES[dtype]}")
    _check_offset(seed, offset)
    return _creation_meta(size, dtype, device, _integer_plan(low, high))


def _randint_cpu(meta, *, size, low=0, high, dtype=_dt.int64, device, seed, offset, out=None):
    return _cpu_fill(meta.aux, seed, offset, meta, out)


def _randint_cuda(meta, *, size, low=0, high, dtype=_dt.int64, device, seed, offset, out=None):
    return _launch(meta.aux, seed, offset, out if out is not None else CudaArray.empty(meta.shape, dtype.np))


def _randint_ref(*, size, low=0, high, dtype=_dt.int64, device, seed, offset):
    low, high = int(low), int(high)
    n = math.prod(size)
    draws = _ref_draws(seed, offset, n, _integer_plan(low, high).wide)[:n]
    vals = [(low + r % (high - low)) for r in draws]
    if dtype.kind == _dt.FLOAT:
        return np.array(vals, np.float64).reshape(size)
    return np.array(vals, np.int64).reshape(size)


def _randint_samples(device, dtype):
    lo, hi = _int_bounds(dtype)
    small = {"low": max(lo, -5), "high": min(hi + 1, 7)}
    yield from _shape_samples(device, dtype, lambda size: small)
    yield Sample((), {"size": (37,), "low": lo if dtype.kind != _dt.FLOAT else -100, "high": hi + 1 if dtype.kind != _dt.FLOAT else 100,
                      "dtype": dtype, "device": device, "seed": 99, "offset": 16}, name="full-range")
    if dtype is _dt.int64:
        yield Sample((), {"size": (33,), "low": -2 ** 40, "high": 2 ** 40 + 3, "dtype": dtype, "device": device,
                          "seed": 5, "offset": 4}, name="wide")


def _randint_torch(torch, *, size, low=0, high, dtype, **_):
    return torch.empty(size, dtype=dtype).random_(low, high) if high < 2 ** 63 else torch.empty(size, dtype=dtype)


randint_op = register(OpDef(
    name="randint", family=FAMILY, infer=_randint_infer, impl={"cpu": _randint_cpu, "cuda": _randint_cuda},
    ref=_randint_ref, dtypes=_dt.ALL, supports_out=True, differentiable=False, samples=_randint_samples,
    bench=_bench(lambda dtype: {"low": 0, "high": 1000}), extra={"torch": _randint_torch}))


# --------------------------------------------------------------------------------------------- exponential

def _exponential_infer(*, size, lambd=1.0, dtype, device, seed, offset):
    if dtype.kind != _dt.FLOAT:
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_type_name(dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    _check_offset(seed, offset)
    return _creation_meta(size, dtype, device, _float_plan(EXPONENTIAL, dtype, lambd, 0.0))


def _exponential_cpu(meta, *, size, lambd=1.0, dtype, device, seed, offset, out=None):
    return _cpu_fill(meta.aux, seed, offset, meta, out)


def _exponential_cuda(meta, *, size, lambd=1.0, dtype, device, seed, offset, out=None):
    return _launch(meta.aux, seed, offset, out if out is not None else CudaArray.empty(meta.shape, dtype.np))


def _exponential_ref(*, size, lambd=1.0, dtype, device, seed, offset):
    plan = _float_plan(EXPONENTIAL, dtype, lambd, 0.0)
    n = math.prod(size)
    us = [_ref_uniform(r, plan.ubits) for r in _ref_draws(seed, offset, n, plan.wide)[:n]]
    return np.array([-math.log1p(-u) / lambd for u in us], np.float64).reshape(size)


exponential_op = register(OpDef(
    name="exponential", family=FAMILY, infer=_exponential_infer,
    impl={"cpu": _exponential_cpu, "cuda": _exponential_cuda}, ref=_exponential_ref, dtypes=_dt.FLOATS,
    supports_out=True, differentiable=False,
    samples=lambda device, dtype: _shape_samples(device, dtype, lambda size: {"lambd": 2.5} if size == (3, 4) else {}),
    bench=_bench(lambda dtype: {}),
    extra={"torch": lambda torch, *, size, dtype, lambd=1.0, **_: torch.empty(size, dtype=dtype).exponential_(lambd)}))


# ----------------------------------------------------------------------------------------------- bernoulli

def _bernoulli_infer(input, p=None, *, seed, offset):
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' must be Tensor, not {type(input).__name__}")
    _check_offset(seed, offset)
    if p is None:
        if input.dtype.kind != _dt.FLOAT:
            raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for \'{_type_name(input.dtype)}\'')
        _check_probabilities(input)
        return Meta(tuple(input._data.shape), input.dtype, input.device, _float_plan(BERNOULLI_TENSOR, _dt.float32, 0, 0))
    if isinstance(p, Tensor):
        dev = device_of(input, p)
        shape = tuple(input._data.shape)
        if broadcast_shapes(shape, tuple(p._data.shape)) != shape:
            raise RuntimeError(f"The expanded size of the tensor ({shape[-1] if shape else 1}) must match the existing "
                               f"size ({p._data.shape[-1]}) at non-singleton dimension {len(shape) - 1}.  Target "
                               f"sizes: {list(shape)}.  Tensor sizes: {list(p._data.shape)}")
        _check_probabilities(p)
        return Meta(shape, input.dtype, dev, _float_plan(BERNOULLI_TENSOR, _dt.float32, 0, 0))
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    return Meta(tuple(input._data.shape), input.dtype, input.device, _float_plan(BERNOULLI, _dt.float32, p, 0))


def _check_probabilities(p: Tensor) -> None:
    # Only host data is checked: validating cuda probabilities would need a device round trip.
    if p.device is CPU and p._data.size:
        a = p._data
        if not (np.all(a >= 0) and np.all(a <= 1)):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                               "message be improved?  If so, please report an enhancement request to PyTorch.)")


def _bernoulli_cpu(meta, input, p=None, *, seed, offset, out=None):
    probs = input if p is None else p
    pv = None
    if isinstance(probs, Tensor):
        pv = np.broadcast_to(probs._host(), meta.shape).reshape(-1)
    return _cpu_fill(meta.aux, seed, offset, meta, out, pv)


def _bernoulli_cuda(meta, input, p=None, *, seed, offset, out=None):
    probs = input if p is None else p
    plan = meta.aux
    pa = None
    if isinstance(probs, Tensor):
        if probs.device is CPU:  # a 0-dim cpu tensor joining a cuda op acts as a scalar
            plan = plan._replace(dist=BERNOULLI, a=float(probs.item()))
        else:
            pa = probs._data
            if tuple(pa.shape) != meta.shape or not pa.is_contiguous():
                pa = pw.launch_pointwise(_same, [probs], meta.shape, probs.dtype, probs.dtype)
    if out is None:
        out = CudaArray.empty(meta.shape, meta.dtype.np)
    return _launch(plan, seed, offset, out, pa)


def _bernoulli_ref(input, p=None, *, seed, offset):
    probs = np.broadcast_to(np.asarray(input if p is None else p, np.float64), np.shape(input))
    n = probs.size
    us = [_ref_uniform(r, 0) for r in _ref_draws(seed, offset, n, False)[:n]]
    return (np.array(us, np.float64).reshape(probs.shape) < probs).astype(np.float64)


def _bernoulli_samples(device, dtype):
    rng = rng_for("bernoulli", dtype.name)
    shapes = [(), (1,), (0,), (5,), (2 ** 6 + 17,), (3, 4)]
    for i, shape in enumerate(shapes):
        x = make_tensor(shape, dtype, device, low=0.0, high=1.0, rng=rng)
        yield Sample((x,), {"seed": 11 + i, "offset": 4 * i}, name=f"{shape}", compare_ref=True)
    x = make_tensor((5, 6), dtype, device, low=0.0, high=1.0, rng=rng, noncontiguous=True)
    yield Sample((x,), {"seed": 3, "offset": 0}, name="noncontig")
    x = make_tensor((4, 6), dtype, device, rng=rng)
    yield Sample((x, 0.3), {"seed": 4, "offset": 8}, name="p=0.3")
    yield Sample((x, make_tensor((6,), dtype, device, low=0.0, high=1.0, rng=rng)), {"seed": 5, "offset": 0},
                 name="p-broadcast")


# The NumPy peers of the random ops that take tensors: NumPy's own generator (PCG64) drawing the same
# distribution over the same operands (draws in float32 for float32 operands, as the op's are).
_PEER_RNG = np.random.default_rng(0)


def _peer_float(dtype: np.dtype):
    return dtype if dtype in (np.float32, np.float64) else np.float32


def _numpy_bernoulli(input, p=None, **_):
    probs = input if p is None else p
    return (_PEER_RNG.random(input.shape, _peer_float(input.dtype)) < probs).astype(input.dtype)


def _bernoulli_bench_make(size, device, dtype):
    probs = make_tensor((size,), dtype, device, low=0.0, high=1.0, rng=rng_for("bernoulli-bench", size))
    return (probs,), {"seed": 1, "offset": 0}


bernoulli_op = register(OpDef(
    name="bernoulli", family=FAMILY, infer=_bernoulli_infer, impl={"cpu": _bernoulli_cpu, "cuda": _bernoulli_cuda},
    ref=_bernoulli_ref, dtypes=_dt.FLOATS, supports_out=True, differentiable=False, samples=_bernoulli_samples,
    # bernoulli(probabilities): reads them and writes the 0/1 samples
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_bernoulli_bench_make,
                    bytes=lambda size, dtype: 2 * size * dtype.itemsize, dtypes=(_dt.float32,)),
    extra={"torch": lambda torch, input, p=None, **_: torch.bernoulli(input) if p is None else
           (torch.bernoulli(input, p) if not isinstance(p, torch.Tensor) else torch.empty_like(input).bernoulli_(p)),
           "numpy": _numpy_bernoulli}))


# -------------------------------------------------------------------------------------- normal(mean, std)

def _normal_infer(mean, std, *, dtype=None, seed, offset):
    """normal(mean, std) with a Tensor mean and/or std. `dtype` is the result dtype the public function decided
    (mean's dtype when mean is a Tensor, else std's), passed so the reference knows it too."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors:
        raise TypeError("normal(): a Tensor mean or std is needed when no size is given")
    if not isinstance(std, Tensor):
        _check_std(std)
    elif std.device is CPU and std._data.size and not np.all(std._data >= 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    _check_offset(seed, offset)
    dt = _normal_dtype(mean, std) if dtype is None else dtype
    _float_only(dt, "normal_kernel_cpu")
    shape = broadcast_shapes(*[tuple(t._data.shape) for t in tensors])
    return Meta(shape, dt, device_of(*tensors), _float_plan(NORMAL, dt, 0.0, 1.0))


def _normal_dtype(mean, std) -> _dt.dtype:
    t = mean if isinstance(mean, Tensor) else std
    _float_only(t.dtype, "normal_kernel_cpu")
    return t.dtype


def _host_operand(x, np_dtype):
    return x._host().astype(np_dtype, copy=False) if isinstance(x, Tensor) else np_dtype.type(x)


def _normal_cpu(meta, mean, std, *, dtype=None, seed, offset, out=None):
    plan = meta.aux
    c = plan.compute.np
    z = generate_np(plan, seed, offset, math.prod(meta.shape)).reshape(meta.shape)
    v = z * _host_operand(std, c) + _host_operand(mean, c)
    if out is not None:
        np.copyto(out, v, casting="unsafe")
        return out
    return np.asarray(v).astype(meta.dtype.np, copy=False)


def _normal_cuda(meta, mean, std, *, dtype=None, seed, offset, out=None):
    # standard normals in the compute dtype, then z * std + mean over broadcast operands in one pointwise pass
    plan = meta.aux
    z = _launch(plan, seed, offset, CudaArray.empty(meta.shape, plan.compute.np))
    operands = [_make(z, plan.compute, meta.device), std, mean]
    return pw.launch_pointwise(_affine, operands, meta.shape, meta.dtype, meta.dtype, out)


def _normal_ref(mean, std, *, dtype=None, seed, offset):
    shape = np.broadcast_shapes(np.shape(mean), np.shape(std))
    z = _ref_normals(seed, offset, math.prod(shape), _float_plan(NORMAL, dtype, 0, 1))
    return np.array(z, np.float64).reshape(shape) * std + mean


def _normal_samples(device, dtype):
    rng = rng_for("normal", dtype.name)

    def mk(shape, lo=-2.0, hi=2.0, **kw):
        return make_tensor(shape, dtype, device, low=lo, high=hi, rng=rng, **kw)

    cases = [((mk(()), mk((), 0.5, 2.0)), "0-dim"), ((mk((5,)), 2.0), "std-scalar"),
             ((1.5, mk((7,), 0.1, 3.0)), "mean-scalar"), ((mk((2 ** 6 + 17,)), mk((2 ** 6 + 17,), 0.0, 1.0)), "odd"),
             ((mk((3, 1)), mk((4,), 0.5, 1.0)), "broadcast"), ((mk((0, 3)), 1.0), "empty"),
             ((mk((4, 5), noncontiguous=True), mk((5,), 0.5, 1.5)), "noncontig")]
    for i, (args, name) in enumerate(cases):
        yield Sample(args, {"dtype": dtype, "seed": 21 + i, "offset": 4 * i}, name=name)


def _numpy_normal(mean, std, *, dtype=None, **_):
    shape = np.broadcast_shapes(np.shape(mean), np.shape(std))
    return (_PEER_RNG.standard_normal(shape, _peer_float(np.dtype(dtype))) * std + mean).astype(dtype)


def _normal_bench_make(size, device, dtype):
    rng = rng_for("normal-bench", size)
    mean = make_tensor((size,), dtype, device, low=-2.0, high=2.0, rng=rng)
    std = make_tensor((size,), dtype, device, low=0.5, high=2.0, rng=rng)
    return (mean, std), {"dtype": dtype, "seed": 1, "offset": 0}


normal_op = register(OpDef(
    name="normal", family=FAMILY, infer=_normal_infer, impl={"cpu": _normal_cpu, "cuda": _normal_cuda},
    ref=_normal_ref, dtypes=_dt.FLOATS, supports_out=True, differentiable=False, samples=_normal_samples,
    # normal(mean tensor, std tensor): reads both and writes the samples
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20, 2 ** 24), make=_normal_bench_make,
                    bytes=lambda size, dtype: 3 * size * dtype.itemsize, dtypes=(_dt.float32,)),
    extra={"torch": lambda torch, mean, std, **_: torch.normal(mean, std), "numpy": _numpy_normal}))


# ------------------------------------------------------------------------------------------------ randperm

@triton.jit
def _perm_keys_kernel(
    keys_ptr,              # int64 keys, P elements (P = a power of two >= n)
    n,                     # permutation length
    P,                     # number of keys (n real ones, then padding)
    seed,                  # Philox key
    counter,               # Philox counter of element 0
    BLOCK: tl.constexpr,   # keys per program
):
    # bytes: writes P int64 keys. key = (random uint32 << 32) | index: unique, so the sort order is a permutation
    # that both devices agree on; the padding (int64 max) sorts last. Element i takes lane i % 4 of counter i // 4.
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    r0, r1, r2, r3 = tl.randint4x(seed, counter + i // 4)
    lane = i % 4
    r = tl.where(lane == 0, r0, tl.where(lane == 1, r1, tl.where(lane == 2, r2, r3)))
    key = ((r.to(tl.uint64) << 32) | i.to(tl.uint64)).to(tl.int64, bitcast=True)
    tl.store(keys_ptr + i, tl.where(i < n, key, 0x7FFFFFFFFFFFFFFF), mask=i < P)


@triton.jit
def _bitonic_block_kernel(
    keys_ptr,              # int64 keys, P elements
    k,                     # bitonic stage: a block is sorted descending where (block start & k) != 0
    SB: tl.constexpr,      # block length (a power of two)
):
    # bytes: reads and writes SB keys per program. Finishes stage k inside each block (a full sort of a bitonic
    # sequence is the same as the rest of its merge).
    start = tl.program_id(0).to(tl.int64) * SB
    i = tl.arange(0, SB)
    x = tl.sort(tl.load(keys_ptr + start + i))
    dst = tl.where((start & k) != 0, SB - 1 - i, i)
    tl.store(keys_ptr + start + dst, x)


@triton.jit
def _bitonic_step_kernel(
    keys_ptr,              # int64 keys, P elements
    j,                     # compare distance (a power of two)
    log_j,                 # log2(j)
    k,                     # bitonic stage: pairs are put in ascending order where (index & k) == 0
    BLOCK: tl.constexpr,   # pairs per program (P / 2 pairs in all)
):
    # bytes: reads and writes 2 keys per pair
    t = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    i = ((t >> log_j) << (log_j + 1)) | (t & (j - 1))  # the indices whose bit j is clear
    a = tl.load(keys_ptr + i)
    b = tl.load(keys_ptr + i + j)
    ascending = (i & k) == 0
    small = tl.minimum(a, b)
    big = tl.maximum(a, b)
    tl.store(keys_ptr + i, tl.where(ascending, small, big))
    tl.store(keys_ptr + i + j, tl.where(ascending, big, small))


@triton.jit
def _perm_extract_kernel(
    out_ptr,               # output, contiguous, n elements
    keys_ptr,              # sorted int64 keys
    n,                     # permutation length
    BLOCK: tl.constexpr,   # elements per program
):
    # bytes: reads n keys, writes n indices (the low 32 bits of each sorted key)
    i = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    v = tl.load(keys_ptr + i, mask=mask, other=0) & 0xFFFFFFFF
    ty = out_ptr.dtype.element_ty
    if ty.is_fp16() or ty.is_bf16():
        v = v.to(tl.float32)
    tl.store(out_ptr + i, v.to(ty), mask=mask)


# Keys are sorted per program by tl.sort in blocks of _SORT_BLOCK, then merged by global bitonic steps. The
# interpreter's tl.sort is very slow (seconds for 256 keys), so there every stage is a global step (block 1).
_SORT_BLOCK = 1 if _cuda.INTERPRET else 1024
_STEP_BLOCK = 4096 if _cuda.INTERPRET else 1024


def _bitonic_sort(keys: CudaArray, size: int, sb: int) -> None:
    """Sort `size` (a power of two) int64 keys ascending in place: tl.sort inside blocks of sb keys, global
    compare-exchange steps across them."""
    sb = min(sb, size)
    blocks = size // sb
    if sb > 1:
        _bitonic_block_kernel[(blocks,)](keys, sb, SB=sb)
    step_block = min(_STEP_BLOCK, size // 2)
    k = 2 * sb
    while k <= size:
        j = k // 2
        while j >= sb:
            _bitonic_step_kernel[(size // 2 // step_block,)](keys, j, j.bit_length() - 1, k, BLOCK=step_block)
            j //= 2
        if sb > 1:
            _bitonic_block_kernel[(blocks,)](keys, k, SB=sb)
        k *= 2


def _randperm_infer(*, n, dtype=_dt.int64, device, seed, offset):
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if dtype is _dt.bool_:
        raise NotImplementedError("\"randperm\" not implemented for 'Bool'")
    if n > 1 and n - 1 > _int_bounds(dtype)[1]:
        raise RuntimeError(f"n is too large for result tensor type: '{_type_name(dtype)}'")
    if n >= 1 << 32:
        raise RuntimeError(f"randperm supports n < 2**32, got {n}")
    _check_offset(seed, offset)
    return Meta((n,), dtype, as_device(device), None)


def _perm_keys_np(n, seed, offset) -> np.ndarray:
    r = _draws_np(seed, offset, n, False)[:n]
    return ((r.astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64)).view(np.int64)


def _randperm_cpu(meta, *, n, dtype=_dt.int64, device, seed, offset, out=None):
    keys = np.sort(_perm_keys_np(int(n), seed, offset))
    perm = (keys & np.int64(_U32)).astype(dtype.np)
    if out is not None:
        np.copyto(out, perm, casting="unsafe")
        return out
    return perm


def _randperm_cuda(meta, *, n, dtype=_dt.int64, device, seed, offset, out=None):
    n = int(n)
    if out is None:
        out = CudaArray.empty((n,), dtype.np)
    if n == 0:
        return out
    size = max(launch.next_pow2(n), 2)
    keys = CudaArray.empty((size,), np.dtype(np.int64))
    block = min(launch.ELEMENTWISE_BLOCK, launch.next_pow2(size))
    _perm_keys_kernel[(launch.num_programs(size, block),)](keys, n, size, int(seed), int(offset) // 4, BLOCK=block)
    _bitonic_sort(keys, size, _SORT_BLOCK)
    dst = out if out.is_contiguous() else CudaArray.empty((n,), out.dtype)
    _perm_extract_kernel[(launch.num_programs(n, launch.ELEMENTWISE_BLOCK),)](
        pw.kernel_view(dst), keys, n, BLOCK=launch.ELEMENTWISE_BLOCK)
    if dst is not out:
        pw.launch_pointwise(_same, [_make(dst, dtype, meta.device)], (n,), dtype, dtype, out)
    return out


def _randperm_bytes(n: int) -> int:
    """Bytes the cuda randperm moves: write the keys, read+write them per sort pass, read them once more and
    write the result."""
    size = max(launch.next_pow2(n), 2)
    sb = min(_SORT_BLOCK, size)
    stages = (size // sb).bit_length() - 1                   # bitonic stages above the block size
    passes = stages * (stages + 1) // 2 + (stages + 1 if sb > 1 else 0)  # global steps + block sorts
    return size * 8 + passes * 2 * size * 8 + n * 8 + n * 8


def _randperm_ref(*, n, dtype=_dt.int64, device, seed, offset):
    draws = _ref_draws(seed, offset, n, False)[:n]
    keys = sorted(((r << 32) | i) - ((1 << 64) if r >= 1 << 31 else 0) for i, r in enumerate(draws))
    return np.array([k & _U32 for k in keys], np.int64)


def _randperm_samples(device, dtype):
    for n, s in [(0, 1), (1, 2), (5, 3), (2 ** 6 + 17, 4), (2 * max(_SORT_BLOCK, 64) + 17, 5)]:
        if n - 1 <= _int_bounds(dtype)[1]:
            yield Sample((), {"n": n, "dtype": dtype, "device": device, "seed": s, "offset": 4 * s}, name=f"n={n}")


randperm_op = register(OpDef(
    name="randperm", family=FAMILY, infer=_randperm_infer, impl={"cpu": _randperm_cpu, "cuda": _randperm_cuda},
    ref=_randperm_ref, dtypes=tuple(d for d in _dt.ALL if d is not _dt.bool_), supports_out=True,
    differentiable=False, samples=_randperm_samples,
    bench=BenchSpec(sizes=(2 ** 16, 2 ** 20), bytes=lambda size, dtype: _randperm_bytes(size),
                    make=lambda size, device, dtype: ((), dict(n=size, dtype=_dt.int64, device=device, seed=1, offset=0))),
    extra={"torch": lambda torch, *, n, dtype, **_: torch.randperm(n, dtype=dtype)}))


# ============================================================================================== public API

def _draw(op, values: int, generator, *args, out=None, requires_grad=False, **kwargs) -> Tensor:
    """Call a registered random op at the generator's position, then move the generator past its draws (only
    once the call has succeeded, so a rejected call consumes nothing; on the meta device nothing is drawn)."""
    g = _gen(generator)
    r = op(*args, seed=g._seed, offset=g._offset, out=out, **kwargs)
    if r.device.type != "meta":
        g._advance(values)
    if requires_grad:
        r.requires_grad_(True)
    return r


def _float_args(dtype, device, out):
    """(dtype, device) of a float-creating call: explicit ones first, then `out`'s, then the defaults."""
    if dtype is None:
        dtype = out.dtype if out is not None else _dt.get_default_dtype()
    dtype = _dt.as_dtype(dtype)
    if device is None and out is not None:
        device = out.device
    return dtype, _dev(device)


def _n_values(dtype: _dt.dtype, n: int) -> int:
    return 2 * n if dtype is _dt.float64 else n


def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False) -> Tensor:
    """Uniform samples in [0, 1) of the given size (bitwise the same on cpu and cuda for the same state)."""
    shape = _shape_arg(size_arg("rand", sizes, size))
    dt, dev = _float_args(dtype, device, out)
    if dt.kind == _dt.COMPLEX:   # real and imaginary parts each uniform in [0, 1)
        return _complex_draw(rand, 1.0, shape, generator, out, dt, dev, requires_grad)
    return _draw(uniform_op, _n_values(dt, math.prod(shape)), generator, out=out, requires_grad=requires_grad,
                 size=shape, dtype=dt, device=dev)


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False) -> Tensor:
    """Standard normal samples (Box-Muller on Philox uniforms) of the given size; complex dtypes: real and imaginary
    parts each normal with variance 1/2 (so E|z|^2 = 1, as PyTorch)."""
    shape = _shape_arg(size_arg("randn", sizes, size))
    dt, dev = _float_args(dtype, device, out)
    if dt.kind == _dt.COMPLEX:
        return _complex_draw(randn, math.sqrt(0.5), shape, generator, out, dt, dev, requires_grad)
    return _draw(randn_op, _n_values(dt, math.prod(shape)), generator, out=out, requires_grad=requires_grad,
                 size=shape, dtype=dt, device=dev)


def _complex_draw(real_draw, scale, shape, generator, out, dt, dev, requires_grad) -> Tensor:
    """A complex sample: (re, im) pairs drawn as a real tensor of shape + (2,), scaled, viewed as complex."""
    from .complex import view_as_complex
    pairs = real_draw(*shape, 2, generator=generator, dtype=dt.to_real(), device=dev)
    r = view_as_complex(pairs if scale == 1.0 else pairs * scale)
    if out is not None:
        return _write_out(out, r)
    return r.requires_grad_(True) if requires_grad else r


def _int_values(n: int, low: int, high: int) -> int:
    return 2 * n if high - low >= 1 << 32 else n


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False) -> Tensor:
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size); int64 by default."""
    if size is None:  # randint(high, size)
        if high is None or isinstance(high, (int, Tensor)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    low, high = int(low), int(high)
    shape = _shape_arg((size,)) if not isinstance(size, int) else (size,)
    dt = _dt.as_dtype(dtype) if dtype is not None else (out.dtype if out is not None else _dt.int64)
    dev = _dev(device if device is not None or out is None else out.device)
    return _draw(randint_op, _int_values(math.prod(shape), low, high), generator, out=out,
                 requires_grad=requires_grad, size=shape, low=low, high=high, dtype=dt, device=dev)


def _like(input: Tensor, dtype, device):
    return (_dt.as_dtype(dtype) if dtype is not None else input.dtype,
            _dev(device) if device is not None else input.device)


def rand_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
              generator=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return rand(*input.shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
               generator=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return randn(*input.shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None, generator=None) -> Tensor:
    """randint_like(input, high) or randint_like(input, low, high): the shape (and by default dtype and device)
    of input."""
    if high is None:
        low, high = 0, low
    dt, dev = _like(input, dtype, device)
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dt, device=dev,
                   requires_grad=requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1: the order that sorts n random keys (the same on cpu and cuda)."""
    n = int(n)
    dt = _dt.as_dtype(dtype) if dtype is not None else (out.dtype if out is not None else _dt.int64)
    dev = _dev(device if device is not None or out is None else out.device)
    return _draw(randperm_op, max(n, 0), generator, out=out, requires_grad=requires_grad, n=n, dtype=dt, device=dev)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """normal(mean, std) with a Tensor mean and/or std (broadcast), or normal(mean: float, std: float, size)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal(): 'size' is only accepted when mean and std are numbers")
        dt = _normal_dtype(mean, std)
        shape = broadcast_shapes(*[tuple(t.shape) for t in (mean, std) if isinstance(t, Tensor)])
        return _draw(normal_op, _n_values(dt, math.prod(shape)), generator, mean, std, out=out,
                     requires_grad=requires_grad, dtype=dt)
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: numbers mean and std need a size")
    shape = _shape_arg((size,)) if not isinstance(size, int) else (size,)
    dt, dev = _float_args(dtype, device, out)
    return _draw(randn_op, _n_values(dt, math.prod(shape)), generator, out=out, requires_grad=requires_grad,
                 size=shape, mean=float(mean), std=float(std), dtype=dt, device=dev)


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """1 with probability input (or p), else 0, in input's dtype."""
    return _draw(bernoulli_op, input.numel(), generator, input, p, out=out)


def _np_bad_weights(w: np.ndarray) -> tuple:
    """(some weight is negative, infinite or NaN; some row sums to <= 0) for multinomial's (rows, n) weights."""
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.add.reduce(w, axis=None)
        if not math.isfinite(total) or np.minimum.reduce(w, axis=None, initial=np.inf) < 0:
            # (a finite total can hide an inf - inf or a negative weight: look element by element)
            if np.logical_or.reduce((w < 0) | ~np.isfinite(w), axis=None):
                return True, False
        return False, bool(np.logical_or.reduce(np.add.reduce(w, axis=-1) <= 0, axis=None))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """Indices drawn from the categories of each row of `input` (non-negative weights, 1-D or 2-D), int64.

    With replacement: uniform draws looked up in each row's normalised cumulative sum (searchsorted, right
    side, so a zero-weight category is never drawn). Without: the k largest weight / Exp(1) keys (PyTorch's
    exponential race, an exact weighted sampling without replacement). The draws come from `generator`'s
    Philox stream, so the same state gives the same samples on cpu and cuda."""
    from .reduce import cumsum, searchsorted
    from .sort import topk
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype}")
    n = int(num_samples)
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = input.shape[-1]
    if not replacement and n > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if categories > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    p = input if input.dtype in (_dt.float32, _dt.float64) else input.float()
    rows = p if p.dim() == 2 else p.unsqueeze(0)
    if rows.device is CPU:   # the checks in NumPy: as ops they were 6 calls and 2 reads (~40 us for one draw)
        bad_value, bad_sum = _np_bad_weights(rows._data)
    else:
        bad_value = bool(((rows < 0) | ~rows.isfinite()).any().item())
        bad_sum = not bad_value and bool((rows.sum(-1) <= 0).any().item())
    if bad_value:
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bad_sum:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # float32 weights are summed in float64: near float32's max a float32 running sum overflows to inf and the
    # normalised cdf to NaN (two weights of 3e38 drew the index 2)
    wide = rows.dtype is _dt.float32
    if replacement and rows.device is CPU:
        # the cuda branch's steps on the arrays, with the same NumPy calls its ops make (the same draws), one op
        # call instead of seven: a policy's one-sample draw is a call per step
        from .searchsorted import np_searchsorted
        w = rows._data
        cdf = np.cumsum(w, axis=-1, dtype=np.float64 if wide else w.dtype)
        cdf = cdf / cdf[:, -1:]
        u = rand((rows.shape[0], n), generator=generator, dtype=rows.dtype, device=rows.device)._data
        idx = _make(np_searchsorted(cdf, u.astype(np.float64) if wide else u, True), _dt.int64, CPU)
    elif replacement:
        cdf = cumsum(rows, -1, dtype=_dt.float64) if wide else cumsum(rows, -1)
        cdf = cdf / cdf[:, -1:]        # the last entry exactly 1, so every draw in [0, 1) finds a category
        u = rand((rows.shape[0], n), generator=generator, dtype=rows.dtype, device=rows.device)
        idx = searchsorted(cdf, u.double() if wide else u, right=True)
    else:
        if bool(((rows > 0).sum(-1) < n).any().item()):
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough non-negative "
                               "category to sample)")
        q = _exponential_(rows.new_empty(tuple(rows.shape)), generator=generator)
        idx = topk(rows / q, n, -1).indices
    idx = idx if input.dim() == 2 else idx.squeeze(0)
    if out is not None:
        return _write_out(out, idx)
    return idx


# ----------------------------------------------------------------------------------------- in-place methods

def _from_to(args, kw, default_from, default_to):
    """PyTorch's `from`/`to` (a Python keyword, so passed positionally or as **{'from': ...})."""
    a = kw.pop("from", args[0] if len(args) > 0 else default_from)
    b = kw.pop("to", args[1] if len(args) > 1 else default_to)
    if kw:
        raise TypeError(f"unexpected keyword arguments {sorted(kw)}")
    return a, b


def _uniform_(self: Tensor, *args, generator=None, **kw) -> Tensor:
    """Fill self with uniform samples in [from, to) (defaults 0 and 1)."""
    low, high = _from_to(args, kw, 0.0, 1.0)
    return _draw(uniform_op, _n_values(self.dtype, self.numel()), generator, out=self, size=tuple(self.shape),
                 low=float(low), high=float(high), dtype=self.dtype, device=self.device)


def _normal_(self: Tensor, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    return _draw(randn_op, _n_values(self.dtype, self.numel()), generator, out=self, size=tuple(self.shape),
                 mean=float(mean), std=float(std), dtype=self.dtype, device=self.device)


def _random_(self: Tensor, *args, generator=None, **kw) -> Tensor:
    """random_(): integers in [0, 2**mantissa] (floats) or [0, max] (integers); random_(to): [0, to);
    random_(from, to): [from, to); random_(from, None): [from, max]."""
    if len(args) == 1 and not kw:
        low, high = 0, args[0]
    else:
        low, high = _from_to(args, kw, 0, None)
    if high is None:
        high = _int_bounds(self.dtype)[1] + 1
    low, high = int(low), int(high)
    return _draw(randint_op, _int_values(self.numel(), low, high), generator, out=self, size=tuple(self.shape),
                 low=low, high=high, dtype=self.dtype, device=self.device)


def _bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    return _draw(bernoulli_op, self.numel(), generator, self, p, out=self)


def _bernoulli_method(self: Tensor, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _exponential_(self: Tensor, lambd=1.0, *, generator=None) -> Tensor:
    return _draw(exponential_op, _n_values(self.dtype, self.numel()), generator, out=self,
                 size=tuple(self.shape), lambd=float(lambd), dtype=self.dtype, device=self.device)


_bind.methods(uniform_=_uniform_, normal_=_normal_, random_=_random_, bernoulli_=_bernoulli_,
              bernoulli=_bernoulli_method, exponential_=_exponential_, multinomial=multinomial)
