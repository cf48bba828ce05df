"""Host (Python) time per call of cuda ops, measured on a machine without a GPU: the interpreter's device
memory, with every kernel launch and device allocation stubbed out, so what is timed is tritorch's own dispatch,
checks, planning and argument packing (on a GPU, Triton's launcher and fast_launch's key come on top: about
11 us per launch on an H200 host).

    TRITON_INTERPRET=1 .venv/bin/python perf/host_overhead.py [case ...] [--profile] [--calls N]

A GPU call of a small op is host-bound, so this is the figure to lower between GPU sessions; `--profile` prints
cProfile's top functions by own time for one case. Figures are the median of 5 runs of N calls, in microseconds.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

os.environ["TRITON_INTERPRET"] = "1"  # (set before triton is imported)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from triton.runtime import interpreter  # noqa: E402
from triton.runtime.autotuner import Autotuner  # noqa: E402

import tritorch as tt  # noqa: E402
import tritorch.nn.functional as F  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402

LAUNCHES = [0]


def _stub_launch(self, grid):
    def launch(*args, **kwargs):
        LAUNCHES[0] += 1
    return launch


class _NoBlock:
    """A device block that holds no memory (the kernels that would touch it are stubbed)."""

    __slots__ = ("ptr", "nbytes", "__weakref__")

    def __init__(self, nbytes):
        self.ptr = 4096
        self.nbytes = nbytes


def _cases():
    def t(*shape, **kw):
        return tt.randn(*shape, device="cuda", **kw)
    x, y, w, b = t(64, 1024), t(64, 1024), t(1024), t(1024)
    xg = t(64, 1024, requires_grad=True)
    logits, labels = t(64, 1000, requires_grad=True), tt.randint(0, 1000, (64,), device="cuda")
    q = t(1, 4, 128, 64, dtype=tt.float16)
    image, kernel = t(8, 16, 16, 16), t(16, 16, 3, 3)
    return {
        "add": lambda: x + y,
        "add (grad)": lambda: xg + xg,
        "softmax": lambda: F.softmax(x, -1),
        "layer_norm": lambda: F.layer_norm(x, (1024,), w, b),
        "rms_norm": lambda: F.rms_norm(x, (1024,), w, 1e-6),
        "sum": lambda: x.sum(),
        "sum(dim)": lambda: x.sum(1),
        "matmul": lambda: x @ y.T,
        "sdpa": lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True),
        "conv2d": lambda: F.conv2d(image, kernel, padding=1),
        "softmax fwd+bwd": lambda: tt.autograd.grad(F.softmax(xg, -1).sum(), [xg]),
        "cross_entropy fwd+bwd": lambda: tt.autograd.grad(F.cross_entropy(logits, labels), [logits]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--profile", action="store_true", help="cProfile the (first) case named")
    args = ap.parse_args()
    if not _cuda.INTERPRET:
        sys.exit("run with TRITON_INTERPRET=1 (this measures the host side with launches stubbed)")
    cases = _cases()  # (made before the stubs: randn runs real interpreter kernels)
    interpreter.InterpretedFunction.__getitem__ = _stub_launch
    Autotuner.__getitem__ = _stub_launch
    _cuda._alloc_block = _NoBlock
    _cuda.memset_pattern = lambda arr, bits: None
    _cuda.memset_zero = lambda arr: None
    names = args.cases or list(cases)
    print(f"{'case':24s} {'us/call':>8s} {'launches':>8s}")
    for name in names:
        fn = cases[name]
        for _ in range(50):
            fn()
        runs = []
        for _ in range(5):
            n0, t0 = LAUNCHES[0], time.perf_counter()
            for _ in range(args.calls):
                fn()
            runs.append((time.perf_counter() - t0) / args.calls * 1e6)
        print(f"{name:24s} {statistics.median(runs):8.1f} {(LAUNCHES[0] - n0) / args.calls:8.1f}")
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(args.calls):
            cases[names[0]]()
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
