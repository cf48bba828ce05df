"""Benchmark of scaled_dot_product_attention, embedding, bias_gelu and swiglu: forward and forward+backward on cpu
against PyTorch CPU in the same run, and on cuda against torch cuda when a GPU is there (skipped otherwise: the
interpreter is not timed).

    .venv/bin/python perf/bench_nn_attention.py [--quick] [--threads N]

Each figure is the median of several timeit repeats; ratio = tritorch / torch (lower is better).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from tritorch.ops import nn_attention, nn_embedding, nn_fused  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

try:
    from tabulate import tabulate
except ImportError:  # pragma: no cover
    tabulate = None


def bench(fn, number, repeat=5, sync=None) -> float:
    """Median seconds per call."""
    def run():
        fn()
        if sync is not None:
            sync()
    run()
    return statistics.median(timeit.repeat(run, number=number, repeat=repeat)) / number


def _cases(quick, device):
    gpu = device == "cuda"
    # the first: examples/gpt_addition.py's attention (batch 128, 4 heads of 16, 11 tokens)
    attn = [(128, 4, 11, 16, True), (2, 8, 256, 64, False), (2, 8, 256, 64, True), (1, 8, 1024, 64, True)]
    if gpu:
        attn = [(4, 16, 1024, 64, True), (2, 16, 4096, 128, True), (2, 16, 4096, 128, False)]
    if quick:
        attn = attn[:3]
    emb = [(4096, 32000, 512)] if not gpu else [(32768, 50257, 768)]
    act = [(2048, 1024)] if not gpu else [(8192, 4096)]
    return [("sdpa", c) for c in attn] + [("embedding", c) for c in emb] + \
        [("bias_gelu", c) for c in act] + [("swiglu", c) for c in act]


def _make(name, size, device, dtype, rng):
    """(tritorch fn, torch fn, tritorch leaves, torch leaves, label)."""
    td = getattr(torch, dtype)
    dd = getattr(tt, dtype)

    def pair(*shapes):
        arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ours = [tt.tensor(a, device=device, dtype=dd) for a in arrs]
        theirs = [torch.from_numpy(a).to(device=device, dtype=td) for a in arrs]
        return ours, theirs

    if name == "sdpa":
        b, h, L, e, causal = size
        ours, theirs = pair((b, h, L, e), (b, h, L, e), (b, h, L, e))
        return (lambda *a: nn_attention.scaled_dot_product_attention(*a, is_causal=causal),
                lambda *a: torch.nn.functional.scaled_dot_product_attention(*a, is_causal=causal),
                ours, theirs, f"B{b} H{h} L{L} E{e}{' causal' if causal else ''}")
    if name == "embedding":
        n, v, d = size
        idx = rng.integers(0, v, size=(n,))
        (w,), (pw,) = pair((v, d))
        ti, pi = tt.tensor(idx, device=device), torch.from_numpy(idx).to(device)
        return (lambda x: nn_embedding.embedding(ti, x), lambda x: torch.nn.functional.embedding(pi, x),
                [w], [pw], f"N{n} V{v} D{d}")
    if name == "bias_gelu":
        n, c = size
        ours, theirs = pair((n, c), (c,))
        return (nn_fused.bias_gelu, lambda x, b: torch.nn.functional.gelu(x + b), ours, theirs, f"{n}x{c}")
    n, c = size
    ours, theirs = pair((n, c), (n, c))
    return (nn_fused.swiglu, lambda g, u: torch.nn.functional.silu(g) * u, ours, theirs, f"{n}x{c}")


def _fwd_bwd(fn, leaves, backend):
    grads = [x.requires_grad_(True) for x in leaves]

    def run():
        for x in grads:
            x.grad = None
        out = fn(*grads)
        out.sum().backward() if backend == "torch" else out.sum().backward()
    return run


def run(device, quick, dtype):
    rng = np.random.default_rng(0)
    rows = []
    sync_t = torch.cuda.synchronize if device == "cuda" else None
    sync_o = (lambda: _cuda.synchronize()) if device == "cuda" and hasattr(_cuda, "synchronize") else None
    number = 1 if quick else 3
    for name, size in _cases(quick, device):
        ours_fn, torch_fn, ours, theirs, label = _make(name, size, device, dtype, rng)
        t_o = bench(lambda: ours_fn(*ours), number, sync=sync_o)
        t_t = bench(lambda: torch_fn(*theirs), number, sync=sync_t)
        tb_o = bench(_fwd_bwd(ours_fn, [x.detach() for x in ours], "tt"), number, sync=sync_o)
        tb_t = bench(_fwd_bwd(torch_fn, [x.detach().clone() for x in theirs], "torch"), number, sync=sync_t)
        rows.append([name, label, device, dtype, f"{t_o * 1e3:.2f}", f"{t_t * 1e3:.2f}", f"{t_o / t_t:.2f}",
                     f"{tb_o * 1e3:.2f}", f"{tb_t * 1e3:.2f}", f"{tb_o / tb_t:.2f}"])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if torch is None:
        print("PyTorch is not installed: nothing to compare with")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run("cpu", args.quick, "float32")
    if not _cuda.INTERPRET and torch.cuda.is_available():
        rows += run("cuda", args.quick, "float16")
    else:
        print("(no GPU: cuda rows skipped)")
    head = ["op", "size", "device", "dtype", "fwd ms", "torch fwd ms", "ratio", "fwd+bwd ms", "torch fwd+bwd ms",
            "ratio"]
    print(tabulate(rows, headers=head) if tabulate else "\n".join(map(str, [head] + rows)))


if __name__ == "__main__":
    main()
