"""Shared helpers of the NumPy (cpu) fallbacks that process independent row blocks on a small thread pool.

NumPy's ufuncs and reductions release the GIL, so blocks of rows run in parallel on os.cpu_count() threads.
Blocks are sized so that the several passes a fused op makes over one block stay in cache (one trip to memory
instead of one per pass). The split depends only on the array's shape, never on the thread count, so results
are bitwise the same on any machine.
"""
from __future__ import annotations

import concurrent.futures
import itertools
import os

# Elements per row block: 64 Ki fp32 elements = 256 KiB, which with a temporary or two fits an L2 cache.
BLOCK_ELEMS = 1 << 16
# Inputs of at least this many elements are split into blocks and run on the pool; below it the thread
# hand-off costs more than it saves.
PARALLEL_MIN = 1 << 18

_POOL = None


def parallel_chunks(fn, chunks: list) -> list:
    """[fn(chunk) for chunk in chunks], shared between the calling thread and the pool's: each takes the next chunk
    nobody has taken, so a pool thread that wakes late (up to milliseconds on a busy machine) just takes fewer,
    and the caller never sits idle waiting for a hand-off. Results come back in chunk order."""
    global _POOL
    workers = os.cpu_count() or 1
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
