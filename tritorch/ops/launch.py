"""Launch helpers shared by the Triton implementations: strided-operand layout, block sizes, grids.

Elementwise kernels take every operand with its own strides (0 for a broadcast dim), so neither broadcasting nor
a non-contiguous operand is ever materialised. Before a launch the dims are collapsed: adjacent dims that are
contiguous with each other in every operand merge, and size-1 dims drop, so most calls reach the kernel with
rank 1 (the CONTIG fast path, no index arithmetic) and the rest with rank <= 4. A call that still has rank > 4
runs as several launches over its leading dims.
"""
from __future__ import annotations

import struct

import numpy as np

from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray

MAX_RANK = 4
# The interpreter runs each program as NumPy calls, so fewer, larger programs run faster there.
ELEMENTWISE_BLOCK = 4096 if _cuda.INTERPRET else 1024


def broadcast_strides(arr: CudaArray, shape: tuple) -> tuple:
    """`arr`'s strides seen at broadcast `shape` (0 where `arr` is broadcast)."""
    nd = len(shape)
    off = nd - len(arr.shape)
    st = [0] * nd
    for i, (n, s) in enumerate(zip(arr.shape, arr.strides)):
        st[off + i] = s if n != 1 else 0
    return tuple(st)


def collapse(shape: tuple, strides_list: list) -> tuple[tuple, list]:
    """Merge dims that are contiguous in every operand; drop size-1 dims. Returns (shape, strides_list)."""
    dims = [i for i, n in enumerate(shape) if n != 1]
    if not dims:
        return (), [() for _ in strides_list]
    out_shape = [shape[dims[0]]]
    out_strides = [[st[dims[0]]] for st in strides_list]
    for i in dims[1:]:
        n = shape[i]
        if all(os[-1] == st[i] * n for os, st in zip(out_strides, strides_list)):
            out_shape[-1] *= n
            for os, st in zip(out_strides, strides_list):
                os[-1] = st[i]
        else:
            out_shape.append(n)
            for os, st in zip(out_strides, strides_list):
                os.append(st[i])
    return tuple(out_shape), [tuple(os) for os in out_strides]


def pad_rank(shape: tuple, strides_list: list, rank: int = MAX_RANK) -> tuple[tuple, list]:
    """Left-pad a collapsed layout to exactly `rank` dims (size 1, stride 0)."""
    k = rank - len(shape)
    return (1,) * k + tuple(shape), [(0,) * k + tuple(st) for st in strides_list]


def split_leading(shape: tuple, strides_list: list, arrays: list):
    """For layouts of rank > MAX_RANK: yield (sub_shape, sub_strides, element offsets per operand) over the
    leading dims, each part of rank MAX_RANK."""
    lead = shape[: len(shape) - MAX_RANK]
    tail = shape[len(shape) - MAX_RANK:]
    for idx in np.ndindex(*lead):
        offs = [sum(i * st[d] for d, i in enumerate(idx)) for st in strides_list]
        yield tail, [st[len(lead):] for st in strides_list], offs


_F64, _I64 = struct.Struct("<d"), struct.Struct("<q")


def f64_bits(v) -> int:
    """A number's fp64 bit pattern as an int64: how kernels take fp64 scalars without a rounding to fp32."""
    return _I64.unpack(_F64.pack(float(v)))[0]


def cdiv(a: int, b: int) -> int:
    """Host-side ceil(a / b) (triton.cdiv is a constexpr function from Triton 3.7 on: ~6 us per host call)."""
    return -(-a // b)


def num_programs(n: int, block: int) -> int:
    return max(1, -(-n // block))


def next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())
