"""GPU benchmark of the foundation ops against the card's limits and PyTorch eager on the same card.

    python perf/bench_gpu_foundation.py [--json out.json] [--dry-run]

Timings use CUDA events on tritorch's stream (cuda-python); PyTorch is timed with its own events. Elementwise
ops and reductions report GB/s (bytes read + written), matmul TFLOP/s. `--dry-run` runs every step at tiny
sizes (works under TRITON_INTERPRET=1 with host timers) to check the script before a GPU is lent.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402


class Events:
    """Median milliseconds of fn() measured with CUDA events on tritorch's stream (host clock in dry runs)."""

    def __init__(self):
        self.gpu = not _cuda.INTERPRET
        if self.gpu:
            drv = _cuda.DRIVER.init()
            self.cu = drv.cu
            self.stream = drv.stream
            self.start = _cuda._check(self.cu.cuEventCreate(0))
            self.end = _cuda._check(self.cu.cuEventCreate(0))

    def time(self, fn, warmup=3, reps=20) -> float:
        for _ in range(warmup):
            fn()
        tt.cuda.synchronize()
        times = []
        for _ in range(reps):
            if self.gpu:
                self.cu.cuEventRecord(self.start, self.stream)
                fn()
                self.cu.cuEventRecord(self.end, self.stream)
                self.cu.cuEventSynchronize(self.end)
                times.append(_cuda._check(self.cu.cuEventElapsedTime(self.start, self.end)))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)


def torch_time(torch, fn, warmup=3, reps=20) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    dry = args.dry_run
    ev = Events()
    torch = None
    if not dry:
        try:
            import torch  # the peer, in this benchmark process only
        except ImportError:
            torch = None
    rows = []
    dev = "cuda"

    def add_row(case, ms, nbytes=None, flops=None, torch_ms=None):
        r = {"case": case, "ms": ms, "torch_ms": torch_ms}
        if nbytes:
            r["GB/s"] = nbytes / ms / 1e6
        if flops:
            r["TFLOP/s"] = flops / ms / 1e9
        r["speed_vs_torch"] = (torch_ms / ms) if torch_ms else None
        rows.append(r)
        print(r, flush=True)

    sizes = [1 << 12] if dry else [1 << 20, 1 << 24, 1 << 27]
    for n in sizes:
        x = tt.rand(n, device=dev)
        y = tt.rand(n, device=dev)
        tx = ty = None
        if torch is not None:
            tx = torch.rand(n, device="cuda")
            ty = torch.rand(n, device="cuda")
        add_row(f"copy (clone) {n} fp32", ev.time(lambda: x.clone()), nbytes=8 * n,
                torch_ms=torch_time(torch, lambda: tx.clone()) if torch else None)
        add_row(f"add {n} fp32", ev.time(lambda: x + y), nbytes=12 * n,
                torch_ms=torch_time(torch, lambda: tx + ty) if torch else None)
        add_row(f"mul scalar {n} fp32", ev.time(lambda: x * 2.0), nbytes=8 * n,
                torch_ms=torch_time(torch, lambda: tx * 2.0) if torch else None)
        add_row(f"exp {n} fp32", ev.time(lambda: x.exp()), nbytes=8 * n,
                torch_ms=torch_time(torch, lambda: tx.exp()) if torch else None)
        add_row(f"sum {n} fp32", ev.time(lambda: x.sum()), nbytes=4 * n,
                torch_ms=torch_time(torch, lambda: tx.sum()) if torch else None)
        xh, yh = x.half(), y.half()
        txh, tyh = (tx.half(), ty.half()) if torch else (None, None)
        add_row(f"add {n} fp16", ev.time(lambda: xh + yh), nbytes=6 * n,
                torch_ms=torch_time(torch, lambda: txh + tyh) if torch else None)
    # broadcast add (strided kernel path) and a transposed copy
    m = 64 if dry else 4096
    a = tt.rand(m, m, device=dev)
    r = tt.rand(m, device=dev)
    ta = tr = None
    if torch is not None:
        ta, tr = torch.rand(m, m, device="cuda"), torch.rand(m, device="cuda")
    add_row(f"add broadcast ({m},{m})+({m},) fp32", ev.time(lambda: a + r), nbytes=8 * m * m,
            torch_ms=torch_time(torch, lambda: ta + tr) if torch else None)
    add_row(f"transpose-contiguous ({m},{m}) fp32", ev.time(lambda: a.t().contiguous()), nbytes=8 * m * m,
            torch_ms=torch_time(torch, lambda: ta.t().contiguous()) if torch else None)
    add_row(f"sum dim=1 ({m},{m}) fp32", ev.time(lambda: a.sum(dim=1)), nbytes=4 * m * m,
            torch_ms=torch_time(torch, lambda: ta.sum(dim=1)) if torch else None)
    add_row(f"sum dim=0 ({m},{m}) fp32", ev.time(lambda: a.sum(dim=0)), nbytes=4 * m * m,
            torch_ms=torch_time(torch, lambda: ta.sum(dim=0)) if torch else None)

    msizes = [64] if dry else [1024, 4096, 8192]
    for k in msizes:
        for dt_name in ("float16", "bfloat16", "float32"):
            dt = getattr(tt, dt_name)
            p = tt.randn(k, k, device=dev).to(dt)
            q = tt.randn(k, k, device=dev).to(dt)
            tp = tq = None
            if torch is not None:
                tdt = getattr(torch, dt_name)
                tp, tq = torch.randn(k, k, device="cuda", dtype=tdt), torch.randn(k, k, device="cuda", dtype=tdt)
            for tf32 in ((False, True) if dt_name == "float32" else (False,)):
                tt.backends.cuda.matmul.allow_tf32 = tf32
                if torch is not None:
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                label = f"matmul {k}^3 {dt_name}" + (" tf32" if tf32 else "")
                add_row(label, ev.time(lambda: p @ q, reps=10), flops=2 * k ** 3,
                        torch_ms=torch_time(torch, lambda: tp @ tq, reps=10) if torch else None)
            tt.backends.cuda.matmul.allow_tf32 = False

    env = {"device": tt.cuda.get_device_name(), "triton": __import__("triton").__version__,
           "torch": torch.__version__ if torch else None, "dry_run": dry,
           "tritorch_driver_allocations": tt.cuda.memory_stats()["driver_allocations"]}
    print("environment:", env)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
