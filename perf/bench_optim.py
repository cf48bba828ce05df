"""CPU benchmark of optimizer steps on a ~1M-parameter model (an MLP's six tensors), against torch.optim in the
same run.

    .venv/bin/python perf/bench_optim.py [--quick] [--json out.json] [--torch-threads N]

For each optimizer: the median time of one `optimizer.step()` over all parameters (gradients fixed), for
tritorch (in-place NumPy), torch.optim with its CPU default (the single-tensor loop: torch only picks foreach
for CUDA tensors) and torch.optim with foreach=True. Ratios are tritorch / torch default (lower is better).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402

try:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
except ImportError:  # the peer is optional
    torch = None

# 784-1024-256-10 MLP: 1,068,810 parameters in six tensors.
SHAPES = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]
CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD momentum+nesterov+wd", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adam", dict(lr=1e-3)),
    ("Adam amsgrad+wd", dict(lr=1e-3, amsgrad=True, weight_decay=1e-4)),
    ("AdamW", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop centered+momentum", dict(lr=1e-3, centered=True, momentum=0.9)),
    ("Adagrad", dict(lr=1e-2)),
    ("Adamax", dict(lr=2e-3)),
    ("Adadelta", dict(lr=1.0)),
    ("NAdam", dict(lr=2e-3)),
    ("RAdam", dict(lr=1e-3)),
    ("Rprop", dict(lr=1e-2)),
    ("ASGD", dict(lr=1e-2)),
    ("ASGD averaging+wd", dict(lr=1e-2, t0=0, weight_decay=1e-4)),
    ("Adafactor", dict(lr=1e-2)),
]


def bench(fn, number, repeat) -> float:
    """Median seconds per call."""
    fn()  # warm-up: creates the optimizer state
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def make(lib, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    params, grads = [], []
    for s in SHAPES:
        p = rng.standard_normal(s).astype(np.float32) * 0.01
        g = rng.standard_normal(s).astype(np.float32) * 0.01
        if lib is tt:
            t = tt.tensor(p).requires_grad_()
            t.grad = tt.tensor(g)
        else:
            t = torch.tensor(p, requires_grad=True)
            t.grad = torch.tensor(g)
        params.append(t)
    return params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: all cores)")
    args = ap.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    number, repeat = (3, 5) if args.quick else (10, 7)
    n_params = sum(int(np.prod(s)) for s in SHAPES)
    rows = []
    for label, kw in CASES:
        name = label.split()[0]
        ours_opt = getattr(tt.optim, name)(make(tt), **kw)
        r = {"case": label, "tritorch_ms": bench(ours_opt.step, number, repeat) * 1e3}
        if torch is not None:
            r["torch_ms"] = bench(getattr(torch.optim, name)(make(torch), **kw).step, number, repeat) * 1e3
            r["torch_foreach_ms"] = bench(getattr(torch.optim, name)(make(torch), foreach=True, **kw).step,
                                          number, repeat) * 1e3
            r["vs_torch"] = r["tritorch_ms"] / r["torch_ms"]
            r["vs_torch_foreach"] = r["tritorch_ms"] / r["torch_foreach_ms"]
        rows.append(r)
        print(", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)
    print(f"\noptimizer.step() on {n_params:,} float32 parameters in {len(SHAPES)} tensors, cpu, "
          f"{os.cpu_count()} cores; torch {torch.__version__ if torch else 'not installed'}"
          f"{f' ({torch.get_num_threads()} threads)' if torch else ''}")
    header = f"{'case':28s} {'tritorch ms':>12s} {'torch ms':>10s} {'foreach ms':>11s} {'x torch':>8s} {'x foreach':>10s}"
    print(header)
    for r in rows:
        print(f"{r['case']:28s} {r['tritorch_ms']:12.3f} {r.get('torch_ms', float('nan')):10.3f} "
              f"{r.get('torch_foreach_ms', float('nan')):11.3f} {r.get('vs_torch', float('nan')):8.2f} "
              f"{r.get('vs_torch_foreach', float('nan')):10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n_params": n_params, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
