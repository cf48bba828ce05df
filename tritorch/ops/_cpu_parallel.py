"""Shared helpers of the NumPy (cpu) fallbacks that process independent row blocks on a small thread pool.

NumPy's ufuncs and reductions release the GIL, so blocks of rows run in parallel on os.cpu_count() threads.
Blocks are sized so that the several passes a fused op makes over one block stay in cache (one trip to memory
instead of one per pass). The split depends only on the array's shape, never on the thread count, so results
are bitwise the same on any machine. Also here: the control of OpenBLAS's own thread count (`one_blas_thread`),
which the fallbacks that issue many small products share.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import glob
import itertools
import os

import numpy as np

# Elements per row block: 64 Ki fp32 elements = 256 KiB, which with a temporary or two fits an L2 cache.
BLOCK_ELEMS = 1 << 16
# Inputs of at least this many elements are split into blocks and run on the pool; below it the thread
# hand-off costs more than it saves. At 2**18 elements the pool ran 1.0-1.4x one thread's time here
# (softmax, layer_norm, sigmoid, silu, gelu on (256, 1024) float32); from 2**19 it is even or faster.
PARALLEL_MIN = 1 << 19

_POOL = None
_WORKERS = [None]   # set_num_threads: None means every CPU this process may use
# os.cpu_count() costs ~20-70 us a call on this VM (it reads the system's CPU list): read once
_CPU_COUNT = os.cpu_count() or 1


def workers() -> int:
    return _WORKERS[0] or _CPU_COUNT


def set_workers(n: int) -> None:
    """The threads of the row-block pool and of OpenBLAS (tt.set_num_threads)."""
    global _POOL
    _WORKERS[0] = n
    if _POOL is not None:
        _POOL.shutdown(wait=True)
        _POOL = None
    if BLAS_THREADS is not None:
        BLAS_THREADS[1](n)


def parallel_chunks(fn, chunks: list) -> list:
    """[fn(chunk) for chunk in chunks], shared between the calling thread and the pool's: each takes the next chunk
    nobody has taken, so a pool thread that wakes late (up to milliseconds on a busy machine) just takes fewer,
    and the caller never sits idle waiting for a hand-off. Results come back in chunk order."""
    global _POOL
    workers = _WORKERS[0] or _CPU_COUNT
    n = len(chunks)
    if n < 2 or workers < 2:
        return [fn(c) for c in chunks]
    if _POOL is None:
        _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tritorch-rows")
    results = [None] * n
    taken = itertools.count()  # next() on it is atomic (one C call under the GIL)

    def drain():
        i = next(taken)
        while i < n:
            results[i] = fn(chunks[i])
            i = next(taken)

    helpers = [_POOL.submit(drain) for _ in range(min(workers, n) - 1)]
    try:
        drain()
    finally:
        for h in helpers:
            # one that has not started has nothing left to take: cancel it rather than wait for it (this also
            # keeps a nested call from waiting on a pool whose threads are all busy)
            if not h.cancel():
                h.result()  # re-raises a chunk's exception
    return results


# NumPy runs a ufunc over a 2-D block with a per-row operand (x * s[:, None], x - mean[:, None]) through its
# buffered iterator, whose buffer (8192 elements by default) spans several rows: the broadcast column is then
# copied into the buffer element by element, and the pass runs at a third of its speed (measured here, NumPy 2.4,
# (64, 1024) fp32: 21 us against 8 us for the same multiply by one scalar). With the buffer as long as a row,
# the inner loop is one row and reads that row's scalar in place. Rows shorter than ROW_LOOPS_MIN lose more in
# per-row loop calls than they save, or too little to pay the ~1.5 us of setting the buffer twice per block
# (per 64K elements: 96: 20 -> 22 us; 128: 20 -> 17; 192: 22 -> 13; 256: 18 -> 12; 2048: 22 -> 8); rows of
# 8192 or more are one buffer already. A row of 300 takes a buffer of 304 (NumPy wants multiples of 16): 21 -> 11 us.
ROW_LOOPS_MIN = 192
_BUFFER_ELEMS = 8192


class row_loops:
    """Within the block, NumPy's ufuncs run one row of `row_len` elements per inner loop (np.setbufsize), where
    that makes per-row operands cheap (see above); elsewhere it does nothing. The setting is per thread (NumPy
    keeps it in a context variable) and restored on exit; it changes no result (the same arithmetic on each
    element)."""
    __slots__ = ("size", "prev")

    def __init__(self, row_len: int):
        # (NumPy takes multiples of 16 only; a buffer a little longer than the row still holds one row per loop)
        self.size = -(-row_len // 16) * 16 if ROW_LOOPS_MIN <= row_len < _BUFFER_ELEMS else 0

    def __enter__(self):
        if self.size:
            self.prev = np.setbufsize(self.size)

    def __exit__(self, *exc):
        if self.size:
            np.setbufsize(self.prev)


_ONES: dict = {}


def ones_vector(n: int, dtype) -> np.ndarray:
    """A read-only vector of n ones in `dtype` (a view of one cached vector per dtype, grown on demand): the BLAS
    row sums (a @ ones) take it instead of allocating their own on every call (~1 us of a small call's ~15)."""
    v = _ONES.get(dtype)
    if v is None or v.shape[0] < n:
        v = np.ones(max(n, 4096), dtype)
        v.flags.writeable = False
        _ONES[dtype] = v
    return v[:n]


def row_slices(n_rows: int, row_len: int, block_elems: int = BLOCK_ELEMS) -> list:
    """Slices of rows of about `block_elems` elements each (one slice when everything fits in one block)."""
    if n_rows * row_len <= block_elems or n_rows <= 1:
        return [slice(0, n_rows)]
    per = max(1, block_elems // max(row_len, 1))
    return [slice(i, min(i + per, n_rows)) for i in range(0, n_rows, per)]


def run_row_blocks(fn, n_rows: int, row_len: int, block_elems: int = BLOCK_ELEMS,
                   min_elems: int = PARALLEL_MIN) -> list:
    """fn(rows: slice) for every row block of a (n_rows, row_len) problem, their results in order: on the thread
    pool from `min_elems` elements, on the calling thread (still block by block, in cache) below."""
    blocks = row_slices(n_rows, row_len, block_elems)
    if n_rows * row_len < min_elems:
        return [fn(r) for r in blocks]
    return parallel_chunks(fn, blocks)


def elementwise_in_blocks(fn):
    """An elementwise NumPy formula fn(x, *params) -> an array of x's dtype and shape, run over cache-sized blocks
    of a large C-contiguous x (on the thread pool from PARALLEL_MIN elements): a formula of several passes then
    makes them in cache, one trip to memory per block (sigmoid on 2048x1024 float32: 2.4 -> 1.6 ms, softplus
    5.2 -> 2.5). Elementwise, so the result is the same bit for bit; small or strided inputs go straight to fn."""
    def run(x, *params):
        if x.size < 2 * BLOCK_ELEMS or not x.flags.c_contiguous:
            return fn(x, *params)
        flat = x.reshape(-1)
        out = np.empty_like(flat)

        def block(rows):
            out[rows] = fn(flat[rows], *params)

        run_row_blocks(block, flat.size, 1)
        return out.reshape(x.shape)

    run.__name__ = fn.__name__
    return run


# ------------------------------------------------------------ OpenBLAS (NumPy's BLAS): threads, axpy

BLAS_PRIMED = False


def prime_blas() -> None:
    """Run one medium-size GEMM per float type before the first small products. Measured here with NumPy's OpenBLAS
    (scipy-openblas 0.3.31): while every product a process has run is small (e.g. the 64 x 288 x 256 per-sample
    products of a small CNN layer), later products of that size run 3x slower single-threaded and up to 30x
    slower with two threads than after one larger product has run. Done once, it costs about a millisecond."""
    global BLAS_PRIMED
    if not BLAS_PRIMED:
        BLAS_PRIMED = True
        for dt in (np.float32, np.float64):
            np.matmul(np.ones((64, 288), dt), np.ones((288, 512), dt))


# The spellings of OpenBLAS's symbols by build: thread-count prefix and suffix, CBLAS prefix and suffix, and the
# integer type of its interface (scipy-openblas64 is ILP64).
_OPENBLAS_BUILDS = (("scipy_openblas", "64_", "scipy_cblas_", "64_", ctypes.c_int64),
                    ("scipy_openblas", "", "scipy_cblas_", "", ctypes.c_int),
                    ("openblas", "", "cblas_", "", ctypes.c_int))


def _load_openblas():
    """NumPy's bundled OpenBLAS through ctypes: ((get, set) of its thread count, {dtype: axpy}, {dtype: gemm}), or
    (None, {}, {}) (another BLAS, or not found)."""
    try:
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
        for path in libs:
            lib = ctypes.CDLL(path)
            for prefix, suffix, cprefix, csuffix, index in _OPENBLAS_BUILDS:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is None or put is None:
                    continue
                axpy, gemm = {}, {}
                for letter, dtype, scalar in (("s", np.float32, ctypes.c_float), ("d", np.float64, ctypes.c_double)):
                    fn = getattr(lib, f"{cprefix}{letter}axpy{csuffix}", None)
                    if fn is not None:
                        fn.restype = None
                        fn.argtypes = [index, scalar, ctypes.c_void_p, index, ctypes.c_void_p, index]
                        axpy[np.dtype(dtype)] = fn
                    fn = getattr(lib, f"{cprefix}{letter}gemm{csuffix}", None)
                    if fn is not None:   # (order, trans_a, trans_b are C enums: int in every build)
                        fn.restype = None
                        fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, index, index, index, scalar,
                                       ctypes.c_void_p, index, ctypes.c_void_p, index, scalar, ctypes.c_void_p, index]
                        gemm[np.dtype(dtype)] = fn
                return (get, put), axpy, gemm
    except OSError:
        pass
    return None, {}, {}


BLAS_THREADS, _AXPY, _GEMM = _load_openblas()


def blas_axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """y += alpha * x in place with BLAS's axpy, in one pass (NumPy's multiply-then-add makes two): 43 vs 63 us for
    a 256x784 fp32 parameter here, on one OpenBLAS thread. OpenBLAS's AVX2 kernel fuses the multiply-add (one
    rounding, as PyTorch's add_(x, alpha=) does) in its 32-element vector blocks and rounds twice in a last partial
    block (and for n < 32): every element is within an ulp, and a given length always gives the same bits.
    False, with nothing done, where it does not apply: no OpenBLAS found, not fp32/fp64, different dtypes or
    shapes, a non-contiguous or read-only target."""
    fn = _AXPY.get(y.dtype)
    if (fn is None or x.dtype != y.dtype or x.shape != y.shape or not x.flags.c_contiguous
            or not y.flags.c_contiguous or not y.flags.writeable):
        return False
    n = y.size
    # the arrays' addresses: from_buffer takes ~0.8 us, ndarray.ctypes.data ~3 (its helper object)
    px = _address(_CHAR.from_buffer(x)) if x.flags.writeable else x.__array_interface__["data"][0]
    py = _address(_CHAR.from_buffer(y))
    if n <= _AXPY_SERIAL_MAX:
        fn(n, alpha, px, 1, py, 1)
    else:
        with one_blas_thread():
            fn(n, alpha, px, 1, py, 1)
    return True


_CHAR, _address = ctypes.c_char, ctypes.addressof
_AXPY_SERIAL_MAX = 10000  # OpenBLAS runs axpy on one thread up to this length anyway (interface/axpy.c)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112   # CBLAS's enums


def _gemm_operand(a: np.ndarray):
    """(transpose flag, leading dimension) of a 2-D operand BLAS can read in place (rows or columns contiguous), or
    None."""
    item = a.itemsize
    s0, s1 = a.strides
    rows, cols = a.shape
    if s1 == item and s0 % item == 0 and s0 // item >= max(1, cols):
        return _NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(1, rows):
        return _TRANS, s1 // item
    if rows <= 1 and s1 == item:
        return _NO_TRANS, max(1, cols)
    if cols <= 1 and s0 == item:
        return _TRANS, max(1, rows)
    return None


def blas_gemm_accumulate(alpha: float, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """c += alpha * (a @ b) in place with BLAS's gemm (beta = 1): the product is added as it is written, with no
    (M, N) temporary and no second pass over c (the add into c rounds as NumPy's c += a @ b does: the product
    element, then the sum). a and b may be transposed views. False, with nothing done, where it does not apply: no
    OpenBLAS found, not fp32/fp64, mixed dtypes, not 2-D, shapes that do not chain, c not C-contiguous and writable,
    an operand BLAS cannot read in place, c sharing memory with an operand, or an empty product."""
    fn = _GEMM.get(c.dtype)
    if (fn is None or a.dtype != c.dtype or b.dtype != c.dtype or a.ndim != 2 or b.ndim != 2 or c.ndim != 2
            or not c.flags.c_contiguous or not c.flags.writeable):
        return False
    (m, k), (k2, n) = a.shape, b.shape
    if k != k2 or c.shape != (m, n) or m == 0 or n == 0 or k == 0:
        return False
    fa, fb = _gemm_operand(a), _gemm_operand(b)
    if fa is None or fb is None or np.may_share_memory(c, a) or np.may_share_memory(c, b):
        return False
    fn(_ROW_MAJOR, fa[0], fb[0], m, n, k, alpha, a.__array_interface__["data"][0], fa[1],
       b.__array_interface__["data"][0], fb[1], 1.0, _address(_CHAR.from_buffer(c)), n)
    return True


class one_blas_thread:
    """OpenBLAS on one thread inside the block, for the fallbacks' many small products (conv batch parts, norms'
    and softmax's BLAS row sums, attention's per-head products): OpenBLAS's threads synchronise on every call,
    which on a loaded machine costs up to ~0.5 s per call (measured on a shared 2-core machine), far more than
    the product itself. Also measured there (NumPy's scipy-openblas 0.3.31, AMD EPYC Zen 1): two threads of OpenBLAS do run one 8192x288x64 sgemm 1.65x faster on an idle machine,
    but give results that differ in the last bits from one thread's and run 1.5-10x slower whenever the other core
    is busy; and two Python threads calling one-thread OpenBLAS at once do not overlap (200 64x288x256 sgemms:
    47 ms on one thread, 46 ms split over two), so the batch parts overlap the im2col/col2im copies with the
    GEMMs, not GEMMs with each other."""

    def __enter__(self):
        self.prev = BLAS_THREADS[0]() if BLAS_THREADS is not None else 1
        if self.prev != 1:
            BLAS_THREADS[1](1)

    def __exit__(self, *exc):
        if self.prev != 1:
            BLAS_THREADS[1](self.prev)
