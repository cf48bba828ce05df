"""Benchmark of softmax / log_softmax / cross_entropy / dropout (forward, and forward + backward) against PyTorch
in the same run: CPU (NumPy fallback vs PyTorch CPU) always, cuda (Triton vs torch eager) when a GPU is there.
Also the peak memory of cross_entropy forward + backward, fused vs the unfused log_softmax + nll_loss composition,
and linear_cross_entropy forward + backward (an LM head: linear then cross_entropy), the plain composition and the
chunked path (options=LinearCrossEntropyOptions()), time against torch's same two paths and peak memory.

    .venv/bin/python perf/bench_nn_softmax_loss.py [--quick] [--json out.json]

Figures are the fastest of several repeats, tritorch and torch (default threads) timed interleaved in the same
process; ratio = tritorch / torch (lower is better; the target is <= 1.2 on CPU). On CPU torch runs with its
default thread count and, as a second column, with one thread (the NumPy
fallback computes on a thread pool only for inputs of 2**19 elements or more).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from tritorch.ops import nn_dropout, nn_loss, nn_softmax  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the peer is optional
    torch = None

try:
    from tabulate import tabulate
except ImportError:  # plain columns without tabulate
    def tabulate(rows, headers):
        lines = ["  ".join(str(h) for h in headers)]
        lines += ["  ".join(str(c) for c in r) for r in rows]
        return "\n".join(lines)


def bench(fn, repeat: int, sync=None) -> float:
    """Fastest of `repeat` calls, in seconds (after one warm-up call): the minimum is the figure least disturbed by
    other processes on a shared machine."""
    fn()
    times = []
    for _ in range(repeat):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_interleaved(fns: list, repeat: int, syncs: list) -> list:
    """Fastest of `repeat` calls of each of `fns`, timed in turn (a, b, a, b, ...) so that all see the same load."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, sync, ts in zip(fns, syncs, times):
            if sync:
                sync()
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            ts.append(time.perf_counter() - t0)
    return [min(ts) for ts in times]


def _fwd_bwd(fn, x, g):
    def run():
        x.grad = None
        fn(x).backward(g)
    return run


def _cases(quick: bool):
    n = 1 << (19 if quick else 21)
    # a classifier's logits first: at that size the figure is the dispatch cost (Python), not the arithmetic
    cases = [("softmax", (64, 10)), ("cross_entropy", (64, 10))]
    for L in (256, 1024, 4096):
        cases.append(("softmax", (n // L, L)))
        cases.append(("log_softmax", (n // L, L)))
    for N, C in ((1024, 1000), (256, 8192)) if not quick else ((512, 1000),):
        cases.append(("cross_entropy", (N, C)))
    cases.append(("dropout", (n // 1024, 1024)))
    return cases


def _fns(name, device):
    """(tritorch forward, torch forward, whether the torch op needs a target)."""
    if name == "softmax":
        return (lambda x: nn_softmax.softmax(x, -1)), (lambda x: F.softmax(x, -1) if torch else None)
    if name == "log_softmax":
        return (lambda x: nn_softmax.log_softmax(x, -1)), (lambda x: F.log_softmax(x, -1))
    if name == "dropout":
        return (lambda x: nn_dropout.dropout(x, 0.1)), (lambda x: F.dropout(x, 0.1))
    raise ValueError(name)


def run_device(device: str, quick: bool, repeat: int):
    rows = []
    on_gpu = device == "cuda"
    sync = _cuda.synchronize if on_gpu else None
    tsync = (torch.cuda.synchronize if on_gpu else None) if torch else None
    tdev = "cuda" if on_gpu else "cpu"
    for name, shape in _cases(quick):
        a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        x = tt.tensor(a, device=device).requires_grad_(True)
        gy = None
        if name == "cross_entropy":
            tgt = np.random.default_rng(1).integers(0, shape[1], shape[0])
            t = tt.tensor(tgt, device=device)
            ours = lambda v, t=t: nn_loss.cross_entropy(v, t)  # noqa: E731
            g = None
        else:
            ours, _ = _fns(name, device)
            g = tt.tensor(np.cos(np.arange(a.size, dtype=np.float32)).reshape(shape), device=device)
        xf = x.detach()
        peers = []   # (label, fwd, fwd+bwd) per torch setting: default threads, and one thread on cpu
        if torch is not None:
            tx = torch.tensor(a, device=tdev, requires_grad=True)
            if name == "cross_entropy":
                ttg = torch.tensor(tgt, device=tdev)
                theirs = lambda v: F.cross_entropy(v, ttg)  # noqa: E731
                gy = None
            else:
                _, theirs = _fns(name, device)
                gy = torch.tensor(np.cos(np.arange(a.size, dtype=np.float32)).reshape(shape), device=tdev)
            threads = [torch.get_num_threads()] + ([1] if not on_gpu and torch.get_num_threads() > 1 else [])
            default = torch.get_num_threads()
            # tritorch and torch (default threads) interleaved in the same process; then torch on one thread
            with tt.no_grad(), torch.no_grad():
                t_fwd, r_fwd = bench_interleaved([lambda: ours(xf), lambda: theirs(tx)], repeat, [sync, tsync])
            t_fb, r_fb = bench_interleaved([_fwd_bwd(ours, x, g), _fwd_bwd(theirs, tx, gy)], repeat, [sync, tsync])
            peers.append((r_fwd, r_fb))
            for n_threads in threads[1:]:
                torch.set_num_threads(n_threads)
                with torch.no_grad():
                    r_fwd = bench(lambda: theirs(tx), repeat, tsync)
                r_fb = bench(_fwd_bwd(theirs, tx, gy), repeat, tsync)
                peers.append((r_fwd, r_fb))
            torch.set_num_threads(default)
        else:
            with tt.no_grad():
                t_fwd = bench(lambda: ours(xf), repeat, sync)
            t_fb = bench(_fwd_bwd(ours, x, g), repeat, sync)
        label = f"{name} {shape[0]}x{shape[1]} fp32"
        for i, (kind, ours_t) in enumerate((("fwd", t_fwd), ("fwd+bwd", t_fb))):
            r = [device, label, kind, round(ours_t * 1e3, 3)]
            for k in range(2):
                theirs_t = peers[k][i] if k < len(peers) else None
                r += [round(theirs_t * 1e3, 3) if theirs_t else None, round(ours_t / theirs_t, 2) if theirs_t else None]
            rows.append(r)
    return rows


def peak_memory_cpu(N: int, C: int) -> list:
    """Peak NumPy memory (tracemalloc) of cross_entropy forward + backward: fused vs log_softmax + nll_loss."""
    a = np.random.default_rng(0).standard_normal((N, C)).astype(np.float32)
    t = tt.tensor(np.random.default_rng(1).integers(0, C, N))
    out = []
    for label, fn in (("fused cross_entropy", lambda v: nn_loss.cross_entropy(v, t)),
                      ("log_softmax + nll_loss", lambda v: nn_loss.nll_loss(nn_softmax.log_softmax(v, 1), t))):
        h = tt.tensor(a)
        x = (h * 1.0).requires_grad_(True)  # a leaf: its .grad is the one (N, C) result both keep
        tracemalloc.start()
        fn(x).backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append([label, f"{N}x{C}", round(peak / 2 ** 20, 2), round(peak / (N * C * 4), 2)])
    return out


def linear_ce_rows(device: str, quick: bool, repeat: int) -> list:
    """linear_cross_entropy forward + backward, (N, D) input, (C, D) weight: the composition (options=None) and the
    chunked path (default options), tritorch vs torch, time and peak memory over what the inputs hold (cpu:
    tracemalloc of tritorch's NumPy buffers; cuda: max_memory_allocated, both frameworks)."""
    N, D, C = (512, 128, 4096) if quick else (2048, 256, 8192)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, D)).astype(np.float32)
    w = (rng.standard_normal((C, D)) * 0.05).astype(np.float32)
    t = rng.integers(0, C, N)
    on_cuda = device == "cuda"
    sync = (lambda: _cuda.synchronize()) if on_cuda else None
    t_sync = (lambda: torch.cuda.synchronize()) if on_cuda and torch is not None else None
    rows = []
    for label, chunked in (("linear_cross_entropy", False), ("linear_cross_entropy chunked", True)):
        X = tt.tensor(x, device=device).requires_grad_(True)
        W = tt.tensor(w, device=device).requires_grad_(True)
        T = tt.tensor(t, device=device)
        opts = tt.nn.LinearCrossEntropyOptions() if chunked else None

        def ours():
            X.grad = W.grad = None
            tt.nn.functional.linear_cross_entropy(X, W, T, options=opts).backward()

        fns, syncs = [ours], [sync]
        if torch is not None:
            tdev = "cuda" if on_cuda else "cpu"
            tX = torch.tensor(x, device=tdev, requires_grad=True)
            tW = torch.tensor(w, device=tdev, requires_grad=True)
            tT = torch.tensor(t, device=tdev)
            topts = torch.nn.LinearCrossEntropyOptions() if chunked else None

            def theirs():
                tX.grad = tW.grad = None
                F.linear_cross_entropy(tX, tW, tT, options=topts).backward()

            fns.append(theirs)
            syncs.append(t_sync)
        times = bench_interleaved(fns, repeat, syncs)
        peaks = []
        if on_cuda:
            tt.cuda.reset_peak_memory_stats()
            base = tt.cuda.memory_allocated()
            ours()
            peaks.append(tt.cuda.max_memory_allocated() - base)
            if torch is not None:
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                fns[1]()
                peaks.append(torch.cuda.max_memory_allocated() - base)
        else:
            tracemalloc.start()
            ours()
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        logits = N * C * 4
        rows.append([device, f"{label} {N}x{D} -> {C}", round(times[0] * 1e3, 2),
                     round(times[1] * 1e3, 2) if len(times) > 1 else "-",
                     round(times[0] / times[1], 2) if len(times) > 1 else "-",
                     round(peaks[0] / logits, 2), round(peaks[1] / logits, 2) if len(peaks) > 1 else "-"])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    repeat = 5 if args.quick else 15
    rows = run_device("cpu", args.quick, repeat)
    if _cuda.on_gpu() and _cuda.is_available():
        rows += run_device("cuda", args.quick, repeat)
    n_threads = torch.get_num_threads() if torch is not None else 0
    headers = ["device", "case", "pass", "tritorch ms", f"torch ms ({n_threads} thr)", "ratio",
               "torch ms (1 thr)", "ratio 1 thr"]
    print(tabulate(rows, headers=headers))
    mem = peak_memory_cpu(1024, 1000 if args.quick else 8192)
    print()
    print(tabulate(mem, headers=["cross_entropy fwd+bwd (cpu)", "shape", "peak MiB", "peak / (N*C*4 B)"]))
    lce = linear_ce_rows("cpu", args.quick, 3 if args.quick else 7)
    if _cuda.on_gpu() and _cuda.is_available():
        lce += linear_ce_rows("cuda", args.quick, repeat)
    lce_headers = ["device", "fwd+bwd", "tritorch ms", "torch ms", "ratio", "peak / (N*C*4 B)",
                   "torch peak / (N*C*4 B)"]
    print()
    print(tabulate(lce, headers=lce_headers))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"timings": [dict(zip(headers, r)) for r in rows],
                       "memory": [dict(zip(["case", "shape", "peak_mib", "peak_over_nc_fp32"], m)) for m in mem],
                       "linear_cross_entropy": [dict(zip(lce_headers, r)) for r in lce]},
                      f, indent=1)


if __name__ == "__main__":
    main()
