"""Benchmark of the convolution and pooling families (conv2d, conv1d, conv_transpose2d, max_pool2d, avg_pool2d,
adaptive_avg_pool2d): forward, and forward+backward (input, weight and bias gradients through autograd), on cpu
against PyTorch CPU in the same run, and on cuda against torch cuda when a GPU is there (skipped otherwise; the
interpreter is not timed).

    .venv/bin/python perf/bench_nn_conv.py [--quick] [--threads N] [--repeat R]

Each figure is the median of R interleaved repeats (tritorch and torch alternate, so machine load hits both
alike); ratio = tritorch / torch (lower is better). PyTorch runs with --threads threads (default: all cores, as
PyTorch does by default); tritorch's NumPy fallback is single-threaded except inside BLAS.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from tritorch.ops import nn_conv, nn_pool  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

try:
    from tabulate import tabulate
except ImportError:  # pragma: no cover
    tabulate = None


def _timed(fn, number, sync):
    t = time.perf_counter()
    for _ in range(number):
        fn()
    if sync is not None:
        sync()
    return (time.perf_counter() - t) / number


def bench_pair(ours, theirs, number, repeat, sync_ours=None, sync_theirs=None):
    """Median seconds per call of each, timed alternately."""
    ours()
    if theirs is not None:
        theirs()
    a, b = [], []
    for _ in range(repeat):
        a.append(_timed(ours, number, sync_ours))
        if theirs is not None:
            b.append(_timed(theirs, number, sync_theirs))
    return statistics.median(a), (statistics.median(b) if b else None)


# (label, op, input shape, weight shape or pool args, kwargs)
def _cases(quick):
    cases = [
        ("conv2d 32x3x32x32 -> 32, 3x3 p1", "conv2d", (32, 3, 32, 32), (32, 3, 3, 3), {"padding": 1}),
        ("conv2d 32x32x16x16 -> 64, 3x3 p1", "conv2d", (32, 32, 16, 16), (64, 32, 3, 3), {"padding": 1}),
        ("conv2d 32x64x8x8 -> 64, 3x3 s2 p1", "conv2d", (32, 64, 8, 8), (64, 64, 3, 3), {"stride": 2, "padding": 1}),
        # the two convolutions of examples/digits.py's SmallCNN (batch 32 of 1x8x8 images), issue 4's CNN step
        ("conv2d digits 32x1x8x8 -> 32, 3x3 p1", "conv2d", (32, 1, 8, 8), (32, 1, 3, 3), {"padding": 1}),
        ("conv2d digits 32x32x4x4 -> 64, 3x3 p1", "conv2d", (32, 32, 4, 4), (64, 32, 3, 3), {"padding": 1}),
        ("conv2d depthwise 32x64x16x16, 3x3", "conv2d", (32, 64, 16, 16), (64, 1, 3, 3), {"padding": 1, "groups": 64}),
        ("conv1d 32x64x256 -> 64, k5", "conv1d", (32, 64, 256), (64, 64, 5), {"padding": 2}),
        ("conv_transpose2d 32x64x8x8 -> 32, 4x4 s2", "conv_transpose2d", (32, 64, 8, 8), (64, 32, 4, 4),
         {"stride": 2, "padding": 1}),
        ("max_pool2d 32x32x32x32, 2x2", "max_pool2d", (32, 32, 32, 32), None, {"kernel_size": 2}),
        ("max_pool2d 32x64x16x16, 3x3 s2 p1", "max_pool2d", (32, 64, 16, 16), None,
         {"kernel_size": 3, "stride": 2, "padding": 1}),
        ("avg_pool2d 32x32x32x32, 2x2", "avg_pool2d", (32, 32, 32, 32), None, {"kernel_size": 2}),
        ("adaptive_avg_pool2d 32x64x8x8 -> 1", "adaptive_avg_pool2d", (32, 64, 8, 8), None, {"output_size": 1}),
    ]
    return cases[:2] + cases[4:5] + cases[8:9] if quick else cases


_OURS = {"conv2d": nn_conv.conv2d, "conv1d": nn_conv.conv1d, "conv_transpose2d": nn_conv.conv_transpose2d,
         "max_pool2d": nn_pool.max_pool2d, "avg_pool2d": nn_pool.avg_pool2d,
         "adaptive_avg_pool2d": nn_pool.adaptive_avg_pool2d}


def _make(op, xs, ws, kw, device, rng, tdev):
    """(tritorch call, torch call, tritorch leaves, torch leaves)."""
    x = rng.standard_normal(xs).astype(np.float32)
    arrays = [x]
    if ws is not None:
        w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
        out_ch = ws[1] * kw.get("groups", 1) if op == "conv_transpose2d" else ws[0]
        arrays += [w, rng.standard_normal(out_ch).astype(np.float32)]
    ours = [tt.tensor(a, device=device).requires_grad_(True) for a in arrays]
    fn = _OURS[op]
    tfn = getattr(torch.nn.functional, op) if torch is not None else None
    theirs = [torch.tensor(a, device=tdev).requires_grad_(True) for a in arrays] if torch is not None else []
    return (lambda: fn(*ours, **kw)), ((lambda: tfn(*theirs, **kw)) if tfn else None), ours, theirs


def _fwd_bwd(call, leaves, grad_fn):
    def run():
        out = call()
        grad_fn(out, leaves)
    return run


def _ours_grad(out, leaves):
    tt.autograd.grad(out, leaves, tt.ones_like(out))


def _torch_grad(out, leaves):
    torch.autograd.grad(out, leaves, torch.ones_like(out))


def run_device(device, quick, repeat):
    rng = np.random.default_rng(0)
    rows = []
    tdev = "cuda" if device == "cuda" else "cpu"
    use_torch = torch is not None and (device == "cpu" or torch.cuda.is_available())
    sync_ours = _cuda.synchronize if device == "cuda" else None
    sync_theirs = torch.cuda.synchronize if use_torch and device == "cuda" else None
    for label, op, xs, ws, kw in _cases(quick):
        ours, theirs, lo, lt = _make(op, xs, ws, kw, device, rng, tdev)
        theirs = theirs if use_torch else None
        number = 2 if device == "cpu" else 10
        with tt.no_grad():
            if theirs is not None:
                with torch.no_grad():
                    f_o, f_t = bench_pair(ours, theirs, number, repeat, sync_ours, sync_theirs)
            else:
                f_o, f_t = bench_pair(ours, None, number, repeat, sync_ours)
        b_o, b_t = bench_pair(_fwd_bwd(ours, lo, _ours_grad), _fwd_bwd(theirs, lt, _torch_grad) if theirs else None,
                              number, repeat, sync_ours, sync_theirs)
        for kind, o, t in (("forward", f_o, f_t), ("fwd+bwd", b_o, b_t)):
            rows.append([device, label, kind, o * 1e3, None if t is None else t * 1e3,
                         None if t is None else o / t])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
    load = os.getloadavg()  # the machine may be shared: figures taken under load are not comparable to quiet ones
    rows = run_device("cpu", args.quick, args.repeat)
    if _cuda.is_available() and not _cuda.INTERPRET:
        rows += run_device("cuda", args.quick, args.repeat)
    print(f"load average (1 min) before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}; torch threads: "
          f"{args.threads}")
    headers = ["device", "case", "pass", "tritorch ms", "torch ms", "ratio"]
    if tabulate is not None:
        print(tabulate(rows, headers=headers, floatfmt=".3f"))
    else:
        print(headers)
        for r in rows:
            print(r)


if __name__ == "__main__":
    main()
