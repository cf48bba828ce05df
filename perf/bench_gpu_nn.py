"""The NN-kernels issue's GPU targets, measured on one card against torch eager on the same card, in one run:

    python perf/bench_gpu_nn.py [--json PATH] [--time-limit S]

- softmax, layer_norm, rms_norm: forward and forward+backward, fp32, 2**24 elements per tensor, rows of 256 to
  16K (target: ratio <= 1.0, i.e. tritorch no slower than torch);
- cross_entropy (4096 x 32000 fp32 logits, class indices): forward+backward time and the peak memory each
  framework's allocator reports above the logits already resident (target: time ratio <= 0.5, memory <= 1/4);
- scaled_dot_product_attention, fp16, batch 2, 16 heads, sequence 4096, head dim 128, causal: forward and
  backward (backward = forward+backward minus forward; targets: torch / tritorch >= 0.8 and >= 0.9);
- linear_cross_entropy, an LM head (8192 tokens, 1024 features, 32000 classes, bf16): the composition and the
  chunked path (LinearCrossEntropyOptions()), forward+backward time and peak memory against torch's same two
  paths (no target in the issue; the chunked path should hold far less than the (N, C) logits);
- conv2d 3x3 (padding 1) fp32 for a small CNN's layers: forward and forward+backward (target: torch / tritorch
  >= 0.8; torch's cuDNN runs with its defaults, which allow TF32, as Triton's fp32 dot does);
- flex_attention with a document-causal mask_mod (no score_mod: tritorch's fused path), fp16, against
  torch.compile(flex_attention) (no target in the issue; last in the default list, its compile is the slowest).

Timing: each call is followed by the device's synchronize, wall clock around `number` calls, interleaved with the
peer, the fastest of `repeat` rounds. ratio = tritorch time / torch time (lower is better). Beside that figure,
*_gpu_ms and *_host_ms split one call into the GPU's time between CUDA events around it (on each framework's own
stream, the L2 flushed and the GPU kept busy while the host queues) and the host's time to queue it
(tritorch.bench.timer.Timer): a call is host-bound where host > gpu. Cases are skipped, not
started, once --time-limit seconds have passed, so the script fits a short lease; each row prints as it finishes.
Needs a GPU and torch with cuda; prints why and exits 0 without them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
import tritorch.nn.functional as F  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from bench_nn_norm import bench_pair  # noqa: E402  (perf/ is this script's directory: the same interleaved timer)

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the peer is optional
    torch = None


def timed_pair(ours, theirs, number=5, repeat=5):
    """Seconds per call of `ours` and `theirs`, each synchronised, interleaved, fastest of `repeat` rounds."""
    return bench_pair(ours, theirs, number, repeat, sync=_cuda.synchronize, tsync=torch.cuda.synchronize)


def fwd_and_fwd_bwd(fo, ft, xs, txs, g, tg):
    """((ours, torch) forward calls, (ours, torch) forward+backward calls) of one case."""
    return ((_fwd(fo, xs, tt.no_grad), _fwd(ft, txs, torch.no_grad)),
            (_fwd_bwd(fo, xs, g, tt), _fwd_bwd(ft, txs, tg, torch)))


def split_pair(ours, theirs, budget=0.05):
    """(our gpu s, torch gpu s, our host s, torch host s) per call: medians of tritorch.bench.timer.Timer."""
    from tritorch.bench.timer import Timer
    mine = Timer("cuda", budget=budget).measure(ours)
    peer = Timer("cuda", budget=budget, stream=torch.cuda.current_stream().cuda_stream).measure(theirs)
    return mine.kernel.median, peer.kernel.median, mine.host.median, peer.host.median


def _split_row(prefix, ours, theirs):
    try:
        g_o, g_t, h_o, h_t = split_pair(ours, theirs)
    except Exception as e:  # the split is extra detail: its failure must not lose the row's main figures
        return {f"{prefix}_split_error": f"{type(e).__name__}: {e}"[:200]}
    return {f"{prefix}_gpu_ms": g_o * 1e3, f"torch_{prefix}_gpu_ms": g_t * 1e3, f"{prefix}_gpu_ratio": g_o / g_t,
            f"{prefix}_host_ms": h_o * 1e3, f"torch_{prefix}_host_ms": h_t * 1e3}


def _leaves(shapes, rng, dtype="float32", scale=1.0):
    arrs = [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]
    ours = [tt.tensor(a, device="cuda", dtype=getattr(tt, dtype)).requires_grad_(True) for a in arrs]
    theirs = [torch.tensor(a, device="cuda", dtype=getattr(torch, dtype)).requires_grad_(True) for a in arrs]
    return ours, theirs


def _fwd(fn, xs, grad_mode):
    def run():
        with grad_mode():
            fn(*xs)
    return run


def _fwd_bwd(fn, xs, grad, lib):
    def run():
        lib.autograd.grad(fn(*xs), xs, grad)
    return run


def norm_cases(rng):
    for name in ("softmax", "layer_norm", "rms_norm"):
        for n in (256, 1024, 4096, 16384):
            m = (1 << 24) // n
            if name == "softmax":
                (x,), (tx,) = _leaves([(m, n)], rng)
                fo, ft, xs, txs = (lambda a: F.softmax(a, -1)), (lambda a: TF.softmax(a, -1)), [x], [tx]
            elif name == "layer_norm":
                xs, txs = _leaves([(m, n), (n,), (n,)], rng)
                fo, ft = (lambda a, w, b: F.layer_norm(a, (n,), w, b)), (lambda a, w, b: TF.layer_norm(a, (n,), w, b))
            else:
                xs, txs = _leaves([(m, n), (n,)], rng)
                fo, ft = (lambda a, w: F.rms_norm(a, (n,), w, 1e-6)), (lambda a, w: TF.rms_norm(a, (n,), w, 1e-6))
            yield name, f"{m}x{n} fp32", fo, ft, xs, txs


def run_norms(rng, rows, deadline):
    for name, label, fo, ft, xs, txs in norm_cases(rng):
        if time.monotonic() > deadline:
            rows.append(dict(op=name, size=label, skipped="time limit"))
            continue
        g = tt.ones(*xs[0].shape, device="cuda")
        tg = torch.ones(*xs[0].shape, device="cuda")
        fwd, fwd_bwd = fwd_and_fwd_bwd(fo, ft, xs, txs, g, tg)
        f_o, f_t = timed_pair(*fwd)
        b_o, b_t = timed_pair(*fwd_bwd)
        emit(rows, dict(op=name, size=label, fwd_ms=f_o * 1e3, torch_fwd_ms=f_t * 1e3, fwd_ratio=f_o / f_t,
                        fwd_bwd_ms=b_o * 1e3, torch_fwd_bwd_ms=b_t * 1e3, fwd_bwd_ratio=b_o / b_t,
                        **_split_row("fwd", *fwd), **_split_row("fwd_bwd", *fwd_bwd), target="ratio <= 1.0"))


def _peak_bytes(cuda, call):
    """Peak bytes one call allocates above what is resident before it (`cuda`: tt.cuda or torch.cuda)."""
    cuda.synchronize()
    base = cuda.memory_allocated()
    cuda.reset_peak_memory_stats()
    call()
    cuda.synchronize()
    return cuda.max_memory_allocated() - base


def run_cross_entropy(rng, rows):
    n, c = 4096, 32000
    (x,), (tx,) = _leaves([(n, c)], rng)
    y = rng.integers(0, c, n)
    ty, tty = tt.tensor(y, device="cuda"), torch.tensor(y, device="cuda")
    ours = _fwd_bwd(lambda a: F.cross_entropy(a, ty), [x], None, tt)
    theirs = _fwd_bwd(lambda a: TF.cross_entropy(a, tty), [tx], None, torch)
    t_o, t_t = timed_pair(ours, theirs)
    split = _split_row("fwd_bwd", ours, theirs)
    peak_o, peak_t = _peak_bytes(tt.cuda, ours), _peak_bytes(torch.cuda, theirs)
    emit(rows, dict(op="cross_entropy fwd+bwd", size=f"{n}x{c} fp32", fwd_bwd_ms=t_o * 1e3, torch_fwd_bwd_ms=t_t * 1e3,
                    fwd_bwd_ratio=t_o / t_t, peak_mib=peak_o / 2**20, torch_peak_mib=peak_t / 2**20,
                    memory_ratio=peak_o / max(peak_t, 1), **split, target="ratio <= 0.5, memory_ratio <= 0.25"))


def run_linear_cross_entropy(rng, rows):
    n, d, c = 8192, 1024, 32000
    xs, txs = _leaves([(n, d), (c, d)], rng, "bfloat16", scale=0.05)
    y = rng.integers(0, c, n)
    ty, tty = tt.tensor(y, device="cuda"), torch.tensor(y, device="cuda")
    for label, chunked in (("linear_cross_entropy fwd+bwd", False), ("linear_cross_entropy chunked fwd+bwd", True)):
        opts = tt.nn.LinearCrossEntropyOptions() if chunked else None
        topts = torch.nn.LinearCrossEntropyOptions() if chunked else None
        ours = _fwd_bwd(lambda a, w: F.linear_cross_entropy(a, w, ty, options=opts), xs, None, tt)
        theirs = _fwd_bwd(lambda a, w: TF.linear_cross_entropy(a, w, tty, options=topts), txs, None, torch)
        t_o, t_t = timed_pair(ours, theirs, number=3, repeat=3)
        peak_o, peak_t = _peak_bytes(tt.cuda, ours), _peak_bytes(torch.cuda, theirs)
        emit(rows, dict(op=label, size=f"{n}x{d} -> {c} bf16", fwd_bwd_ms=t_o * 1e3, torch_fwd_bwd_ms=t_t * 1e3,
                        fwd_bwd_ratio=t_o / t_t, peak_mib=peak_o / 2**20, torch_peak_mib=peak_t / 2**20,
                        peak_over_logits=peak_o / (n * c * 2), torch_peak_over_logits=peak_t / (n * c * 2)))


def run_attention(rng, rows):
    b, h, s, d = 2, 16, 4096, 128
    xs, txs = _leaves([(b, h, s, d)] * 3, rng, dtype="float16")
    fo = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    ft = lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    g = tt.ones(b, h, s, d, device="cuda", dtype=tt.float16)
    tg = torch.ones(b, h, s, d, device="cuda", dtype=torch.float16)
    fwd, fwd_bwd = fwd_and_fwd_bwd(fo, ft, xs, txs, g, tg)
    f_o, f_t = timed_pair(*fwd)
    fb_o, fb_t = timed_pair(*fwd_bwd)
    bw_o, bw_t = fb_o - f_o, fb_t - f_t
    emit(rows, dict(op="sdpa causal", size=f"B{b} H{h} S{s} D{d} fp16", fwd_ms=f_o * 1e3, torch_fwd_ms=f_t * 1e3,
                    fwd_ratio=f_o / f_t, bwd_ms=bw_o * 1e3, torch_bwd_ms=bw_t * 1e3, bwd_ratio=bw_o / bw_t,
                    **_split_row("fwd", *fwd), **_split_row("fwd_bwd", *fwd_bwd), target="torch/ours: fwd >= 0.8 (ratio <= 1.25), bwd >= 0.9 (ratio <= 1.11)"))


def run_flex_attention(rng, rows):
    """flex_attention with a document mask (mask_mod only: our fused path), fp16, B2 H16 S4096 D128, against
    torch.compile(flex_attention) (its fused kernel; compiled by a warm-up call outside the timing)."""
    from tritorch.nn.attention import flex_attention as ofa
    from torch.nn.attention import flex_attention as tfa
    b, h, s, d = 2, 16, 4096, 128
    xs, txs = _leaves([(b, h, s, d)] * 3, rng, dtype="float16")
    docs, tdocs = tt.arange(s, device="cuda") // 1000, torch.arange(s, device="cuda") // 1000

    def doc_causal(lib_docs):
        return lambda b_, h_, q, kv: (lib_docs[q] == lib_docs[kv]) & (q >= kv)
    obm = ofa.create_block_mask(doc_causal(docs), None, None, s, s, device="cuda")
    tbm = tfa.create_block_mask(doc_causal(tdocs), None, None, s, s, device="cuda")
    compiled = torch.compile(tfa.flex_attention)
    fo = lambda q, k, v: ofa.flex_attention(q, k, v, block_mask=obm)  # noqa: E731
    ft = lambda q, k, v: compiled(q, k, v, block_mask=tbm)  # noqa: E731
    g = tt.ones(b, h, s, d, device="cuda", dtype=tt.float16)
    tg = torch.ones(b, h, s, d, device="cuda", dtype=torch.float16)
    fwd, fwd_bwd = fwd_and_fwd_bwd(fo, ft, xs, txs, g, tg)
    fwd[1]()
    fwd_bwd[1]()            # torch's compilations (forward, backward) before any timing
    f_o, f_t = timed_pair(*fwd)
    fb_o, fb_t = timed_pair(*fwd_bwd)
    emit(rows, dict(op="flex_attention doc-causal mask", size=f"B{b} H{h} S{s} D{d} fp16", fwd_ms=f_o * 1e3,
                    torch_fwd_ms=f_t * 1e3, fwd_ratio=f_o / f_t, fwd_bwd_ms=fb_o * 1e3, torch_fwd_bwd_ms=fb_t * 1e3,
                    fwd_bwd_ratio=fb_o / fb_t, target="none in the issue (torch: torch.compile(flex_attention))"))


def run_conv(rng, rows, deadline):
    for (nb, cin, hw, cout) in ((32, 3, 32, 32), (32, 32, 32, 64), (32, 64, 56, 64), (32, 128, 28, 128)):
        if time.monotonic() > deadline:
            rows.append(dict(op="conv2d", size=f"{nb}x{cin}x{hw}x{hw}->{cout}", skipped="time limit"))
            continue
        xs, txs = _leaves([(nb, cin, hw, hw), (cout, cin, 3, 3), (cout,)], rng, scale=0.1)
        fo = lambda x, w, b_: F.conv2d(x, w, b_, padding=1)  # noqa: E731
        ft = lambda x, w, b_: TF.conv2d(x, w, b_, padding=1)  # noqa: E731
        g = tt.ones(nb, cout, hw, hw, device="cuda")
        tg = torch.ones(nb, cout, hw, hw, device="cuda")
        fwd, fwd_bwd = fwd_and_fwd_bwd(fo, ft, xs, txs, g, tg)
        f_o, f_t = timed_pair(*fwd)
        b_o, b_t = timed_pair(*fwd_bwd)
        emit(rows, dict(op="conv2d 3x3 pad 1", size=f"{nb}x{cin}x{hw}x{hw}->{cout} fp32", fwd_ms=f_o * 1e3,
                        torch_fwd_ms=f_t * 1e3, fwd_ratio=f_o / f_t, fwd_bwd_ms=b_o * 1e3,
                        torch_fwd_bwd_ms=b_t * 1e3, fwd_bwd_ratio=b_o / b_t, **_split_row("fwd", *fwd),
                        **_split_row("fwd_bwd", *fwd_bwd), target="torch/ours >= 0.8 (ratio <= 1.25)"))


def emit(rows, row):
    rows.append(row)
    print(" | ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--time-limit", type=float, default=150.0)
    ap.add_argument("--only", default="norms,cross_entropy,attention,conv,linear_cross_entropy,flex_attention")
    args = ap.parse_args()
    if _cuda.INTERPRET or not _cuda.is_available() or torch is None or not torch.cuda.is_available():
        print("needs a GPU and torch with cuda: nothing measured")
        return
    deadline = time.monotonic() + args.time_limit
    rng = np.random.default_rng(0)
    rows = []
    print(f"card: {tt.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
    steps = {"norms": lambda: run_norms(rng, rows, deadline), "cross_entropy": lambda: run_cross_entropy(rng, rows),
             "attention": lambda: run_attention(rng, rows), "conv": lambda: run_conv(rng, rows, deadline),
             "linear_cross_entropy": lambda: run_linear_cross_entropy(rng, rows),
             "flex_attention": lambda: run_flex_attention(rng, rows)}
    for name in args.only.split(","):
        if time.monotonic() > deadline:
            rows.append(dict(op=name, skipped="time limit"))
            continue
        try:
            steps[name]()
        except Exception as e:  # one family failing must not hide the others' figures
            emit(rows, dict(op=name, error=f"{type(e).__name__}: {e}"[:400]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"card": tt.cuda.get_device_name(), "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
