"""Benchmark of the normalisation family (layer_norm, rms_norm, group_norm, batch_norm): forward and
forward+backward (input, weight and bias gradients) on cpu against PyTorch CPU in the same run, and on cuda
against torch cuda when a GPU is there (skipped otherwise; the interpreter is not timed).

    .venv/bin/python perf/bench_nn_norm.py [--quick] [--threads N]

tritorch and torch are timed interleaved in the same process; each figure is the fastest of several repeats (the
least disturbed by other load); ratio = tritorch / torch (lower is better; the CPU target is <= 1.2). PyTorch runs
with --threads threads (default: PyTorch's own default); tritorch's NumPy fallback splits inputs of 2**19 elements
or more into cache-sized row blocks on a thread pool of os.cpu_count() threads (tritorch/ops/_cpu_parallel.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from tritorch.ops import nn_norm  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

try:
    from tabulate import tabulate
except ImportError:  # pragma: no cover
    tabulate = None


def bench_pair(ours, theirs, number, repeat=7, sync=None, tsync=None) -> tuple:
    """Seconds per call of `ours` and `theirs`, timed interleaved (ours, theirs, ours, ...) in this process; each
    the fastest of `repeat` rounds of `number` calls: the minimum is the figure least disturbed by other processes
    on a shared machine, and interleaving exposes both to the same load."""
    def timed(fn, s):
        def run():
            fn()
            if s is not None:
                s()
        return run
    a, b = timed(ours, sync), timed(theirs, tsync)
    a()
    b()
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(timeit.timeit(a, number=number))
        tb.append(timeit.timeit(b, number=number))
    return min(ta) / number, min(tb) / number


def _cases(quick):
    # (1024, 64): a small GPT's layer_norm (batch 8 x 128 tokens, width 64), where dispatch cost shows
    ln = [(1024, 64), (512, 768), (2048, 1024), (256, 4096)] if not quick else [(1024, 64), (512, 768), (1024, 1024)]
    return {
        "layer_norm": ln,
        "rms_norm": ln[1:3],
        "group_norm": [(16, 64, 16)] if quick else [(16, 64, 16), (32, 128, 8)],
        "batch_norm": [(16, 64, 16)] if quick else [(16, 64, 16), (32, 128, 8)],
    }


def _make(op, size, device, rng):
    """(tritorch call, torch call, tritorch leaves, torch leaves) for one case."""
    f32 = np.float32
    if op in ("layer_norm", "rms_norm"):
        m, n = size
        x = rng.standard_normal((m, n)).astype(f32)
        w = rng.uniform(0.5, 1.5, n).astype(f32)
        b = rng.standard_normal(n).astype(f32)
        xs, ws, bs = (tt.tensor(a, device=device).requires_grad_(True) for a in (x, w, b))
        tx, tw, tb = (torch.tensor(a, device=_tdev(device)).requires_grad_(True) for a in (x, w, b))
        if op == "layer_norm":
            return (lambda: nn_norm.layer_norm(xs, (n,), ws, bs), lambda: torch.nn.functional.layer_norm(
                tx, (n,), tw, tb), [xs, ws, bs], [tx, tw, tb])
        return (lambda: nn_norm.rms_norm(xs, (n,), ws, 1e-6), lambda: torch.nn.functional.rms_norm(
            tx, (n,), tw, 1e-6), [xs, ws], [tx, tw])
    nb, c, hw = size
    x = rng.standard_normal((nb, c, hw, hw)).astype(f32)
    w = rng.uniform(0.5, 1.5, c).astype(f32)
    b = rng.standard_normal(c).astype(f32)
    xs, ws, bs = (tt.tensor(a, device=device).requires_grad_(True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, device=_tdev(device)).requires_grad_(True) for a in (x, w, b))
    if op == "group_norm":
        return (lambda: nn_norm.group_norm(xs, 32, ws, bs), lambda: torch.nn.functional.group_norm(tx, 32, tw, tb),
                [xs, ws, bs], [tx, tw, tb])
    rm, rv = tt.zeros(c, device=device), tt.ones(c, device=device)
    trm, trv = torch.zeros(c, device=_tdev(device)), torch.ones(c, device=_tdev(device))
    return (lambda: nn_norm.batch_norm(xs, rm, rv, ws, bs, True),
            lambda: torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True), [xs, ws, bs], [tx, tw, tb])


def _tdev(device):
    return "cuda" if device == "cuda" else "cpu"


def _fwd_bwd(call, leaves, grad_fn, weight):
    def run():
        y = call()
        grad_fn(y, leaves, weight)
    return run


def run(device, quick, rows):
    rng = np.random.default_rng(0)
    # Many short rounds on cpu: the fastest single call is the figure least disturbed by a loaded machine.
    number, repeat = (3, 7) if device == "cuda" else (1, 10 if quick else 25)
    sync = _cuda.synchronize if device == "cuda" else None
    tsync = torch.cuda.synchronize if device == "cuda" else None
    for op, sizes in _cases(quick).items():
        for size in sizes:
            ours, theirs, leaves, tleaves = _make(op, size, device, rng)
            y = ours()
            g = tt.ones(*y.shape, device=device)
            tg = torch.ones(*tuple(y.shape), device=_tdev(device))
            with tt.no_grad(), torch.no_grad():
                t_f, p_f = bench_pair(ours, theirs, number, repeat, sync=sync, tsync=tsync)
            t_fb, p_fb = bench_pair(_fwd_bwd(ours, leaves, lambda o, ls, w: tt.autograd.grad(o, ls, w), g),
                                    _fwd_bwd(theirs, tleaves, lambda o, ls, w: torch.autograd.grad(o, ls, w), tg),
                                    number, repeat, sync=sync, tsync=tsync)
            rows.append([device, op, "x".join(map(str, size)), t_f * 1e3, p_f * 1e3, t_f / p_f,
                         t_fb * 1e3, p_fb * 1e3, t_fb / p_fb])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="PyTorch CPU threads (0: PyTorch's default)")
    args = ap.parse_args()
    if torch is None:
        print("PyTorch is not installed: nothing to compare against")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    run("cpu", args.quick, rows)
    if not _cuda.INTERPRET and _cuda.is_available() and torch.cuda.is_available():
        run("cuda", args.quick, rows)
    headers = ["device", "op", "size", "fwd ms", "torch fwd ms", "fwd ratio", "fwd+bwd ms", "torch fwd+bwd ms",
               "fwd+bwd ratio"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch threads")
    if tabulate is not None:
        print(tabulate(rows, headers=headers, floatfmt=".3f"))
    else:
        print(headers)
        for r in rows:
            print(r)


if __name__ == "__main__":
    main()
