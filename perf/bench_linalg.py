"""Benchmark of the factorisations and solves (ops/linalg_factor.py, ops/linalg_spectral.py) against PyTorch on
the same device in the same run: forward, and forward + backward, for a batch of small matrices and one larger
matrix, in float32.

    .venv/bin/python perf/bench_linalg.py [--repeat R] [--threads N] [--device cuda] [--sizes 256x16,64x64,1x512]
        [--time-limit S]

Each figure is the median of R interleaved repeats (tritorch and torch alternate); ratio = tritorch / torch.
On cuda every call is followed by each framework's synchronize (wall time per finished call), and the peer is
cuSOLVER/cuBLAS through torch; our kernels run one Triton program per matrix (see the op families' docstrings),
so a single large matrix is their worst case. --time-limit stops starting cases after S seconds.
The fallbacks call LAPACK through np.linalg (cholesky, solve, inv, det, slogdet, svd, eigh) or run a blocked LU
in NumPy (lu_factor); the triangular solve substitutes in blocks; qr is LAPACK's Householder QR through NumPy
(on cuda geqrf's and orgqr's one-program-per-matrix kernels). The fwd+bwd rows of svd and eigh differentiate the
values only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

from tabulate import tabulate  # noqa: E402

SIZES = ((256, 16), (64, 64), (1, 512))   # (batch, n)


from bench_nn_composites import _pair, _time  # noqa: E402  (interleaved medians, as that benchmark times)


def _inputs(batch, n):
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, (batch, n, n))
    general = (m / n ** 0.5 + np.eye(n)).astype(np.float32)   # (|det| stays within float32)
    spd = (m @ np.swapaxes(m, -1, -2) + n * np.eye(n)).astype(np.float32)
    rhs = rng.uniform(-1, 1, (batch, n, 4)).astype(np.float32)
    return general, spd, rhs


def _cases(lib, batch, n, device="cpu"):
    general, spd, rhs = _inputs(batch, n)
    la = lib.linalg
    sync = lib.cuda.synchronize if device == "cuda" else (lambda: None)

    def t(a, grad):
        return lib.tensor(a, device=device, requires_grad=grad)

    def case(fn, *arrays):
        plain = [t(a, False) for a in arrays]
        leaves = [t(a, True) for a in arrays]

        def fwd():
            fn(*plain)
            sync()

        def both():
            out = fn(*leaves)
            out = out[0] if isinstance(out, tuple) else out
            out.sum().backward()
            sync()
        return fwd, both

    return {
        "cholesky": case(lambda A: la.cholesky(A), spd),
        "lu_factor": case(lambda A: la.lu_factor(A)[0], general),
        "solve (4 rhs)": case(lambda A, B: la.solve(A, B), general, rhs),
        "solve_triangular (4 rhs)": case(lambda A, B: la.solve_triangular(A, B, upper=False), spd, rhs),
        "inv": case(lambda A: la.inv(A), general),
        "det": case(lambda A: la.det(A), general),
        "slogdet": case(lambda A: la.slogdet(A)[1], general),
        "svd (reduced)": case(lambda A: la.svd(A, full_matrices=False)[1], general),
        "eigh": case(lambda A: la.eigh(A)[0], spd),
        "qr": case(lambda A: la.qr(A)[1], general),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--sizes", default=",".join(f"{b}x{n}" for b, n in SIZES), help="BATCHxN,... (n x n matrices)")
    ap.add_argument("--time-limit", type=float, default=float("inf"))
    args = ap.parse_args()
    if torch is None:
        raise SystemExit("PyTorch is the peer of this benchmark: pip install torch")
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, deadline = [], time.monotonic() + args.time_limit
    for batch, n in (tuple(map(int, size.split("x"))) for size in args.sizes.split(",")):
        ours, theirs = _cases(tt, batch, n, args.device), _cases(torch, batch, n, args.device)
        for name in ours:
            for mode, k in (("fwd", 0), ("fwd+bwd", 1)):
                if time.monotonic() > deadline:
                    rows.append([name, f"{batch}x{n}x{n}", mode, "skipped: time limit", "", ""])
                    continue
                ours[name][k]()  # the first call compiles (cuda): not part of the probe
                probe = _time(ours[name][k], 1)
                number = max(1, int(0.05 / max(probe, 1e-6)))
                a, b = _pair(ours[name][k], theirs[name][k], args.repeat, number)
                rows.append([name, f"{batch}x{n}x{n}", mode, round(a * 1e3, 3), round(b * 1e3, 3), round(a / b, 2)])
                print(*rows[-1], sep="\t", flush=True)
    where = (f"cuda ({torch.cuda.get_device_name()})" if args.device == "cuda"
             else f"{torch.get_num_threads()} threads")
    print(f"torch {torch.__version__}, {where}; float32; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(tabulate(rows, headers=["op", "size", "pass", "tritorch ms", "torch ms", "ratio"]))


if __name__ == "__main__":
    main()
