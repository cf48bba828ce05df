"""CPU benchmark of autograd overhead, against PyTorch CPU (when installed) in the same run.

    .venv/bin/python perf/bench_autograd.py [--quick] [--json out.json]

Cases (issue 3, section 4):
- small-op forward (a * b on 4x4 float32) without and with requires_grad: the recording cost per op;
- forward + backward of a 1,000-op chain (alternating mul/add/sin on a 16-element vector);
- backward alone over chains of 1,000 and 10,000 ops (O(N) check: time per op should stay flat).

Figures are medians of timeit repeats; ratios are tritorch / torch (lower is better). The small-op cases run
interleaved (tritorch and torch, without and with grad, in turn, round after round), so that a noisy shared
machine slows all four alike; the recording cost is the median over rounds of each round's difference, and is
also given from the fastest round of each case (timeit's advice for the cost of the code itself).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import timeit

import numpy as np
from tabulate import tabulate

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None


def bench(fn, number, repeat=7) -> float:
    """Median seconds per call."""
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def chain(lib, x, n):
    y = x
    for i in range(n):
        k = i % 3
        y = y * 1.0001 if k == 0 else (y + 0.5 if k == 1 else y.sin())
    return y


SMALL = ("a*b 4x4 no grad (us)", "a*b 4x4 requires_grad (us)")


def small_op_cases(libs, quick) -> dict:
    """{lib: {case: [us per call, one per round]}}: a * b on 4x4 float32 without and with grad, every lib and
    case timed in turn within each round."""
    number, rounds = (4000, 9) if quick else (20000, 15)
    a_np = np.random.default_rng(0).random((4, 4), dtype=np.float32)
    calls = {}
    for lib in libs:
        a, b = lib.tensor(a_np), lib.tensor(a_np + 1)
        ag, bg = lib.tensor(a_np, requires_grad=True), lib.tensor(a_np + 1, requires_grad=True)
        calls[lib] = {SMALL[0]: lambda a=a, b=b: a * b, SMALL[1]: lambda a=ag, b=bg: a * b}
    times = {lib: {case: [] for case in SMALL} for lib in libs}
    for _ in range(rounds):
        for lib in libs:
            for case in SMALL:
                times[lib][case].append(timeit.timeit(calls[lib][case], number=number) / number * 1e6)
    return times


def recording(t: dict) -> tuple:
    """(median of the rounds' differences, difference of the fastest rounds) in us."""
    diffs = [g - n for n, g in zip(t[SMALL[0]], t[SMALL[1]])]
    return statistics.median(diffs), min(t[SMALL[1]]) - min(t[SMALL[0]])


def cases(lib, quick, small):
    out = {case: statistics.median(v) for case, v in small.items()}
    x = lib.tensor(np.linspace(0, 1, 16), requires_grad=True)

    def fwd_bwd(n):
        chain(lib, x, n).sum().backward()
    out["1,000-op chain fwd+bwd (ms)"] = bench(lambda: fwd_bwd(1000), 3 if quick else 10) * 1e3
    for n in (1000, 10000):
        times = []
        for _ in range(3 if quick else 5):
            y = chain(lib, x, n).sum()
            t0 = timeit.default_timer()
            y.backward()
            times.append(timeit.default_timer() - t0)
        out[f"backward of {n:,}-op chain, per op (us)"] = statistics.median(times) / n * 1e6
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    small = small_op_cases([tt] if torch is None else [tt, torch], args.quick)
    ours = cases(tt, args.quick, small[tt])
    peer = cases(torch, args.quick, small[torch]) if torch is not None else {}
    rows = []
    for name, v in ours.items():
        p = peer.get(name)
        rows.append({"case": name, "tritorch": round(v, 3), "torch": None if p is None else round(p, 3),
                     "ratio": None if p is None else round(v / p, 2)})
    for k, label in enumerate(("recording cost per op, median of rounds (us)",
                               "recording cost per op, fastest rounds (us)")):
        r, p = recording(small[tt])[k], recording(small[torch])[k] if torch is not None else None
        rows.append({"case": label, "tritorch": round(r, 3), "torch": None if p is None else round(p, 3),
                     "ratio": None if p is None else round(r / p, 2)})
    print(f"threads: torch {torch.get_num_threads() if torch else '-'}; load average {os.getloadavg()[0]:.1f}")
    print(tabulate(rows, headers="keys", tablefmt="github"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
