"""CPU benchmark of the foundation: per-op dispatch cost, large elementwise ops and matmul, against raw NumPy and
PyTorch CPU (when installed) in the same run.

    .venv/bin/python perf/bench_cpu_foundation.py [--quick] [--json out.json]

Each figure is the median of several timeit repeats; ratios are tritorch / peer (lower is better).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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


def bench(stmt, number, repeat=7) -> float:
    """Median seconds per call."""
    times = timeit.repeat(stmt, number=number, repeat=repeat)
    return statistics.median(times) / number


def row(name, ours, numpy_t, torch_t, unit="us", scale=1e6):
    r = {"case": name, "tritorch": ours * scale, "numpy": numpy_t * scale if numpy_t else None,
         "torch": torch_t * scale if torch_t else None, "unit": unit}
    r["vs_numpy"] = ours / numpy_t if numpy_t else None
    r["vs_torch"] = ours / torch_t if torch_t else None
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    n_small = 20000 if args.quick else 200000

    # 1. dispatch: a small a + b without grad
    a_np = np.random.rand(4, 4).astype(np.float32)
    b_np = np.random.rand(4, 4).astype(np.float32)
    a, b = tt.from_numpy(a_np), tt.from_numpy(b_np)
    t_ours = bench(lambda: a + b, n_small)
    t_np = bench(lambda: a_np + b_np, n_small)
    t_torch = None
    if torch is not None:
        ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
        t_torch = bench(lambda: ta + tb, n_small)
    rows.append(row("a + b, 4x4 fp32 (dispatch)", t_ours, t_np, t_torch))
    for name, fn_ours, fn_np, fn_torch in [
        ("a * 2.0, 4x4", lambda: a * 2.0, lambda: a_np * 2.0, (lambda: ta * 2.0) if torch else None),
        ("a.exp(), 4x4", lambda: a.exp(), lambda: np.exp(a_np), (lambda: ta.exp()) if torch else None),
        ("a.sum(), 4x4", lambda: a.sum(), lambda: a_np.sum(), (lambda: ta.sum()) if torch else None),
        ("a[1], 4x4 (view)", lambda: a[1], lambda: a_np[1], (lambda: ta[1]) if torch else None),
    ]:
        rows.append(row(name, bench(fn_ours, n_small // 2), bench(fn_np, n_small // 2),
                        bench(fn_torch, n_small // 2) if fn_torch else None))

    # 2. large elementwise ops
    n = 1 << (22 if args.quick else 24)
    x_np = np.random.rand(n).astype(np.float32)
    y_np = np.random.rand(n).astype(np.float32)
    x, y = tt.from_numpy(x_np), tt.from_numpy(y_np)
    tx = torch.from_numpy(x_np) if torch else None
    ty = torch.from_numpy(y_np) if torch else None
    reps = 5 if args.quick else 20
    for name, fo, fn, ft in [
        (f"x + y, {n} fp32", lambda: x + y, lambda: x_np + y_np, (lambda: tx + ty) if torch else None),
        (f"x * y, {n} fp32", lambda: x * y, lambda: x_np * y_np, (lambda: tx * ty) if torch else None),
        (f"exp(x), {n} fp32", lambda: x.exp(), lambda: np.exp(x_np), (lambda: tx.exp()) if torch else None),
        (f"x.sum(), {n} fp32", lambda: x.sum(), lambda: x_np.sum(), (lambda: tx.sum()) if torch else None),
    ]:
        rows.append(row(name, bench(fo, reps, 5), bench(fn, reps, 5), bench(ft, reps, 5) if ft else None,
                        unit="ms", scale=1e3))

    # 3. matmul
    for m in ([256, 1024] if args.quick else [256, 512, 1024, 2048]):
        p_np = np.random.rand(m, m).astype(np.float32)
        q_np = np.random.rand(m, m).astype(np.float32)
        p, q = tt.from_numpy(p_np), tt.from_numpy(q_np)
        reps = max(2, int(2e8 / (2 * m ** 3)))
        tp = torch.from_numpy(p_np) if torch else None
        tq = torch.from_numpy(q_np) if torch else None
        rows.append(row(f"matmul {m}x{m} fp32", bench(lambda: p @ q, reps, 5), bench(lambda: p_np @ q_np, reps, 5),
                        bench(lambda: tp @ tq, reps, 5) if torch else None, unit="ms", scale=1e3))

    from tabulate import tabulate
    env = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__ if torch else None,
           "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    print(f"environment: {env}")
    print(tabulate([[r["case"], r["unit"], r["tritorch"], r["numpy"], r["torch"], r["vs_numpy"], r["vs_torch"]]
                    for r in rows], headers=["case", "unit", "tritorch", "numpy", "torch", "x numpy", "x torch"],
                   floatfmt=".3f"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
