"""CPU benchmark of layers composed from registered ops (recurrent layers, interpolate, EmbeddingBag, unfold,
instance norm, multinomial) against PyTorch CPU in the same run: forward, and forward + backward where the
layer is differentiable.

    .venv/bin/python perf/bench_nn_composites.py [--repeat R] [--threads N]

Each figure is the median of R interleaved repeats (tritorch and torch alternate); ratio = tritorch / torch.
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

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

try:
    from tabulate import tabulate
except ImportError:  # pragma: no cover
    tabulate = None


def _time(fn, number):
    t = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t) / number


def _pair(ours, theirs, repeat, number):
    ours()
    theirs()
    a, b = [], []
    for _ in range(repeat):
        a.append(_time(ours, number))
        b.append(_time(theirs, number))
    return statistics.median(a), statistics.median(b)


def _cases(lib):
    """(label, make) where make() returns (forward, forward+backward or None) closures for library `lib`."""
    rng = np.random.default_rng(0)

    def t(shape, grad=False):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)

    def recurrent(cls, **kw):
        def make():
            lib.manual_seed(0)
            m = getattr(lib.nn, cls)(64, 128, batch_first=True, **kw)
            x = t((32, 35, 64), True)

            def fwd():
                with lib.no_grad():
                    m(x)

            def both():
                out, _ = m(x)
                out.sum().backward()
            return fwd, both
        return make

    def interp():
        x = t((16, 32, 32, 32), True)
        return (lambda: lib.nn.functional.interpolate(x.detach(), scale_factor=2, mode="bilinear"),
                lambda: lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear").sum().backward())

    def bag():
        m = lib.nn.EmbeddingBag(10000, 64, mode="mean")
        idx = lib.tensor(rng.integers(0, 10000, 4096))
        offsets = lib.tensor(np.arange(0, 4096, 16))
        return (lambda: m(idx, offsets).detach(), lambda: m(idx, offsets).sum().backward())

    def unfold():
        x = t((16, 32, 32, 32), True)
        return (lambda: lib.nn.functional.unfold(x.detach(), 3, padding=1),
                lambda: lib.nn.functional.unfold(x, 3, padding=1).sum().backward())

    def inorm():
        m = lib.nn.InstanceNorm2d(32, affine=True)
        x = t((16, 32, 32, 32), True)
        return (lambda: m(x.detach()), lambda: m(x).sum().backward())

    def multinomial():
        p = lib.tensor(rng.random((64, 1000)).astype(np.float32))
        return (lambda: lib.multinomial(p, 16, True), None)

    return [("LSTM 64->128, batch 32 x 35 steps", recurrent("LSTM")),
            ("GRU 64->128, 2 layers, batch 32 x 35", recurrent("GRU", num_layers=2)),
            ("interpolate bilinear x2, 16x32x32x32", interp),
            ("EmbeddingBag mean, 256 bags of 16", bag),
            ("unfold 3x3 p1, 16x32x32x32", unfold),
            ("InstanceNorm2d affine, 16x32x32x32", inorm),
            ("multinomial 64 x 1000 -> 16", multinomial)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if torch is None:
        sys.exit("needs torch as the peer")
    torch.set_num_threads(args.threads)
    rows = []
    for (label, ours_make), (_, theirs_make) in zip(_cases(tt), _cases(torch)):
        (o_fwd, o_both), (t_fwd, t_both) = ours_make(), theirs_make()
        a, b = _pair(o_fwd, t_fwd, args.repeat, 3)
        rows.append([label, "forward", f"{a * 1e3:.3f}", f"{b * 1e3:.3f}", f"{a / b:.2f}"])
        if o_both is not None:
            a, b = _pair(o_both, t_both, args.repeat, 3)
            rows.append([label, "fwd+bwd", f"{a * 1e3:.3f}", f"{b * 1e3:.3f}", f"{a / b:.2f}"])
    headers = ["case", "pass", "tritorch ms", "torch ms", "ratio"]
    print(f"torch {torch.__version__}, {args.threads} torch threads")
    print(tabulate(rows, headers) if tabulate else "\n".join("  ".join(r) for r in [headers] + rows))


if __name__ == "__main__":
    main()
