"""Diagnostics for a lent GPU, run by perf/gpu_check.sh when PROBE_TIMEOUT is set (the figures steer the next
changes; they are not targets):

    python perf/gpu_probe.py [--only host,launch,reduce,attention,conv] [--time-limit S]

- host:      host microseconds per call of small ops (GPU time negligible), tritorch vs torch, then cProfile's top
             functions by own time for a few of ours: where a call's host time goes.
- reduce:    sum's wall time per synchronised call by the length a split reduction needs (one launch or two).
- launch:    the cost of Triton's own launch path for a one-line kernel: `kernel[grid](...)`, and the compiled
             kernel's launcher called directly (which argument form Triton's launcher takes is printed).
- attention: GPU time (CUDA events, L2 flushed) of each forward / dQ / dK-dV tile config for causal fp16 attention
             at B2 H16 S4096 D128, next to torch's scaled_dot_product_attention on the same card.
- conv:      GPU time of each forward tile config for the small-CNN conv2d layers of perf/bench_gpu_nn.py, then
             of each gradient op alone per tile config (the weight grad also per split-K target) on the two largest.
Each section prints as it goes; a failing case prints its error and the rest go on.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

import tritorch as tt  # noqa: E402
import tritorch.nn.functional as F  # noqa: E402
from tritorch.backends import cuda as _cuda  # noqa: E402
from tritorch.bench.timer import Timer  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

DEADLINE = [float("inf")]


def late() -> bool:
    return time.monotonic() > DEADLINE[0]


def gpu_ms(fn, peer=False, budget=0.08) -> float:
    stream = torch.cuda.current_stream().cuda_stream if peer else None
    return Timer("cuda", budget=budget, stream=stream).measure(fn).kernel.median * 1e3


def host_us(fn, sync, n=300) -> float:
    for _ in range(20):
        fn()
    sync()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
        sync()
    return best / n * 1e6


def _pair(shape, dtype="float32", grad=False, scale=1.0):
    a = (np.random.default_rng(len(shape)).standard_normal(shape) * scale).astype(np.float32)
    ours = tt.tensor(a, device="cuda", dtype=getattr(tt, dtype)).requires_grad_(grad)
    theirs = torch.tensor(a, device="cuda", dtype=getattr(torch, dtype)).requires_grad_(grad) if torch else None
    return ours, theirs


# ------------------------------------------------------------------------------------------------ host

def host_cases():
    x, tx = _pair((64, 1024))
    y, ty = _pair((64, 1024))
    w, tw = _pair((1024,))
    b, tb = _pair((1024,))
    xg, txg = _pair((64, 1024), grad=True)
    q, tq = _pair((1, 4, 128, 64), "float16")
    ci, tci = _pair((8, 16, 16, 16), scale=0.1)
    cw, tcw = _pair((16, 16, 3, 3), scale=0.1)
    lg, tlg = _pair((64, 1000), grad=True)
    lab = np.random.default_rng(1).integers(0, 1000, 64)
    yl, tyl = tt.tensor(lab, device="cuda"), torch.tensor(lab, device="cuda")
    return [
        ("add 64x1024", lambda: x + y, lambda: tx + ty, tt.no_grad),
        ("softmax 64x1024", lambda: F.softmax(x, -1), lambda: TF.softmax(tx, -1), tt.no_grad),
        ("layer_norm 64x1024", lambda: F.layer_norm(x, (1024,), w, b), lambda: TF.layer_norm(tx, (1024,), tw, tb),
         tt.no_grad),
        ("rms_norm 64x1024", lambda: F.rms_norm(x, (1024,), w, 1e-6), lambda: TF.rms_norm(tx, (1024,), tw, 1e-6),
         tt.no_grad),
        ("sum 64x1024", lambda: x.sum(), lambda: tx.sum(), tt.no_grad),
        ("matmul 64x1024 @ 1024x64", lambda: x @ y.T, lambda: tx @ ty.T, tt.no_grad),
        ("softmax fwd+bwd 64x1024", lambda: tt.autograd.grad(F.softmax(xg, -1).sum(), [xg]),
         lambda: torch.autograd.grad(TF.softmax(txg, -1).sum(), [txg]), tt.enable_grad),
        ("cross_entropy fwd+bwd 64x1000", lambda: tt.autograd.grad(F.cross_entropy(lg, yl), [lg]),
         lambda: torch.autograd.grad(TF.cross_entropy(tlg, tyl), [tlg]), tt.enable_grad),
        ("sdpa causal 1x4x128x64 fp16", lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True),
         lambda: TF.scaled_dot_product_attention(tq, tq, tq, is_causal=True), tt.no_grad),
        ("conv2d 8x16x16x16 3x3", lambda: F.conv2d(ci, cw, padding=1), lambda: TF.conv2d(tci, tcw, padding=1),
         tt.no_grad),
    ]


def run_host():
    print("== host microseconds per call (small sizes: the GPU waits on the host)")
    cases = host_cases()
    for name, ours, theirs, mode in cases:
        if late():
            print(name, "skipped: time limit")
            continue
        try:
            with mode():
                o = host_us(ours, _cuda.synchronize)
            t = host_us(theirs, torch.cuda.synchronize)
            print(f"{name:34s} tritorch {o:7.1f} us   torch {t:6.1f} us   ratio {o / t:5.2f}", flush=True)
        except Exception as e:
            print(f"{name}: {type(e).__name__}: {e}"[:300], flush=True)
    print("-- launches per call: fast path (remembered kernel) / Triton's path (JITFunction.run + Autotuner.run calls)")
    for name, ours, _, mode in cases:
        with mode():
            fast, slow = _launch_census(ours)
        print(f"{name:34s} fast {fast:4.1f}   Triton's path {slow:4.1f}", flush=True)
    for name, ours, _, mode in cases:
        if late() or name.startswith("rms"):
            continue
        prof = cProfile.Profile()
        with mode():
            for _ in range(20):
                ours()
            _cuda.synchronize()
            prof.enable()
            for _ in range(200):
                ours()
            prof.disable()
            _cuda.synchronize()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(18)
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(14)
        lines = [ln for ln in s.getvalue().splitlines() if ln.strip()]
        print(f"-- cProfile, 200 calls of {name} (tottime order, then cumulative)")
        print("\n".join(ln.replace(os.getcwd() + "/", "") for ln in lines[3:]), flush=True)


def _launch_census(fn, calls=50) -> tuple:
    """Kernel launches per call of `fn` that took the fast path, and those that went through Triton's own."""
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction
    from tritorch.ops import fast_launch
    counts = [0, 0]
    saved = fast_launch._Entry.launch, JITFunction.run, Autotuner.run

    def fast(self, *a, **k):
        counts[0] += 1
        return saved[0](self, *a, **k)

    def slow_jit(self, *a, **k):
        counts[1] += 1
        return saved[1](self, *a, **k)

    def slow_tuner(self, *a, **k):
        counts[1] += 1
        return saved[2](self, *a, **k)
    fn()
    fast_launch._Entry.launch, JITFunction.run, Autotuner.run = fast, slow_jit, slow_tuner
    try:
        for _ in range(calls):
            fn()
    finally:
        fast_launch._Entry.launch, JITFunction.run, Autotuner.run = saved
    _cuda.synchronize()
    return counts[0] / calls, counts[1] / calls


# ------------------------------------------------------------------------------------------------ reduce

def synced_us(fn, sync, n=200) -> float:
    """Median wall microseconds of a call that waits for its result: host and GPU time in series."""
    for _ in range(10):
        fn()
        sync()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6


def run_reduce():
    """Where splitting a long reduction over programs (two launches) starts to pay against one program per row
    (one launch): reduce.SPLIT['min_len'] is the shortest piece a split may make."""
    from tritorch.ops import reduce as R
    lens = (8192, 1 << 16, 1 << 18, 1 << 30)
    print("== sum, wall us per synchronised call, by SPLIT['min_len'] (1<<30: never split); torch last")
    saved = dict(R.SPLIT)
    try:
        for rows in (1, 16):
            for n in (1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22):
                if late():
                    print("reduce: time limit")
                    return
                x, tx = _pair((rows, n // rows))
                ours = (lambda: x.sum()) if rows == 1 else (lambda: x.sum(1))
                theirs = (lambda: tx.sum()) if rows == 1 else (lambda: tx.sum(1))
                cells = []
                for ml in lens:
                    R.SPLIT["min_len"] = ml
                    cells.append(f"{synced_us(ours, _cuda.synchronize):7.1f}")
                cells.append(f"{synced_us(theirs, torch.cuda.synchronize):7.1f}")
                print(f"{rows:3d} x {n // rows:8d}  " + " ".join(cells), flush=True)
    finally:
        R.SPLIT.update(saved)


# ------------------------------------------------------------------------------------------------ launch

@triton.jit
def _probe_kernel(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1.0, mask=offs < n)


def run_launch():
    print("== Triton launch path, one-line kernel (host us per launch)")
    x = tt.zeros(1024, device="cuda")
    arr = x._data  # the CudaArray a Triton kernel takes
    ck = _probe_kernel[(1,)](arr, 1024, BLOCK=1024)
    _cuda.synchronize()
    print("run() returned:", type(ck).__name__, "triton", triton.__version__)
    print(f"kernel[grid](arr, n, BLOCK=)   {host_us(lambda: _probe_kernel[(1,)](arr, 1024, BLOCK=1024), _cuda.synchronize):6.1f} us")
    ptr = arr.data_ptr()
    try:
        print(f"kernel[grid](int ptr ...)      "
              f"{host_us(lambda: _probe_kernel[(1,)](ptr, 1024, BLOCK=1024), _cuda.synchronize):6.1f} us (ptr as int)")
    except Exception as e:
        print("int ptr via jit:", type(e).__name__, str(e)[:200])
    from triton.runtime.driver import driver
    stream = driver.active.get_current_stream(0)
    for label, args in (("compiled.run(..., arr, n, BLOCK)", (arr, 1024, 1024)),
                        ("compiled.run(..., arr, n)", (arr, 1024)),
                        ("compiled.run(..., ptr, n, BLOCK)", (ptr, 1024, 1024)),
                        ("compiled.run(..., ptr, n)", (ptr, 1024))):
        try:
            fn, pm = ck.function, ck.packed_metadata

            def call(args=args, fn=fn, pm=pm):
                ck.run(1, 1, 1, stream, fn, pm, None, None, None, *args)
            call()
            _cuda.synchronize()
            before = x.cpu().numpy()[0]
            call()
            _cuda.synchronize()
            after = x.cpu().numpy()[0]
            print(f"{label:34s} {host_us(call, _cuda.synchronize):6.1f} us  (wrote: {after - before:+.0f})")
        except Exception as e:
            print(f"{label}: {type(e).__name__}: {e}"[:300])
    try:
        e = tt.empty(1024, device="cuda")
        del e
        print(f"tt.empty(1024, device='cuda')   {host_us(lambda: tt.empty(1024, device='cuda'), _cuda.synchronize):6.1f} us")
    except Exception as e:
        print("empty:", e)


# ------------------------------------------------------------------------------------------------ attention

def _one(kernel, cfg, key):
    return triton.autotune(configs=[cfg], key=key)(kernel)


def run_attention():
    from tritorch.ops import nn_attention as A
    print("== attention tile configs, causal fp16 B2 H16 S4096 D128 (GPU ms, CUDA events)")
    b, h, s, d = 2, 16, 4096, 128
    (q, tq), (k, tk), (v, tv) = _pair((b, h, s, d), "float16", True), _pair((b, h, s, d), "float16", True), \
        _pair((b, h, s, d), "float16", True)
    g = tt.ones(b, h, s, d, device="cuda", dtype=tt.float16)
    tg = torch.ones(b, h, s, d, device="cuda", dtype=torch.float16)

    def fwd():
        with tt.no_grad():
            F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def fb():
        tt.autograd.grad(F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v], g)

    def tfwd():
        with torch.no_grad():
            TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True)

    def tfb():
        torch.autograd.grad(TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True), [tq, tk, tv], tg)

    print(f"torch: fwd {gpu_ms(tfwd, True):.3f} ms, fwd+bwd {gpu_ms(tfb, True):.3f} ms", flush=True)
    print(f"tritorch autotuned: fwd {gpu_ms(fwd):.3f} ms, fwd+bwd {gpu_ms(fb):.3f} ms", flush=True)
    c = A._cfg
    saved = A._fwd_tuned, A._dq_tuned, A._dkdv_tuned

    def sweep(label, attr, kernel, key, configs, call, what):
        """Time `call` with the tuner `attr` replaced by one config at a time."""
        for cfg in configs:
            if late():
                break
            setattr(A, attr, _one(kernel, cfg, key))
            try:
                print(f"{label} {cfg}: {what}{gpu_ms(call):.3f} ms", flush=True)
            except Exception as e:
                print(f"{label} {cfg}: {type(e).__name__}: {str(e)[:160]}", flush=True)
        setattr(A, attr, saved[("_fwd_tuned", "_dq_tuned", "_dkdv_tuned").index(attr)])

    try:
        sweep("fwd ", "_fwd_tuned", A._attn_fwd_kernel, A._TUNE_KEY,
              [c(128, 128, 8, 2), c(128, 128, 8, 3), c(128, 64, 8, 3), c(128, 64, 8, 4), c(128, 64, 4, 3),
               c(128, 128, 4, 2), c(64, 128, 4, 2), c(64, 64, 4, 4), c(128, 32, 4, 4), c(256, 64, 8, 2),
               c(256, 128, 16, 2), c(128, 64, 8, 2)], fwd, "")
        sweep("dq  ", "_dq_tuned", A._attn_bwd_dq_kernel, A._TUNE_KEY,
              [c(128, 64, 8, 2), c(128, 128, 8, 2), c(128, 64, 8, 3), c(64, 64, 4, 3), c(128, 32, 4, 3),
               c(64, 128, 8, 2), c(128, 64, 4, 2), c(64, 64, 4, 2)], fb, "fwd+bwd ")
        sweep("dkdv", "_dkdv_tuned", A._attn_bwd_dkdv_kernel, A._TUNE_KEY + ["DO_DK", "DO_DV"],
              [c(64, 128, 8, 2), c(64, 128, 8, 3), c(32, 128, 8, 3), c(64, 64, 4, 3), c(128, 128, 8, 2),
               c(32, 128, 4, 3), c(64, 128, 4, 2), c(128, 64, 8, 2)], fb, "fwd+bwd ")
    finally:
        A._fwd_tuned, A._dq_tuned, A._dkdv_tuned = saved


# ------------------------------------------------------------------------------------------------ conv

_CONV_KEY = ["M_KEY", "N_KEY", "K_KEY", "KH", "KW", "TAP_MAJOR", "PRECISION"]   # nn_conv's autotuner key


def _conv_sweep(C, attr: str, kernel, cfgs, call) -> list:
    """'BMxBNxBK/sSwW ms' for `call` with nn_conv's tuner `attr` replaced by each config in turn (left replaced:
    the caller restores it)."""
    line = []
    for cfg in cfgs:
        setattr(C, attr, _one(kernel, cfg, _CONV_KEY))
        try:
            line.append(f"{cfg.kwargs['BLOCK_M']}x{cfg.kwargs['BLOCK_N']}x{cfg.kwargs['BLOCK_K']}"
                        f"/s{cfg.num_stages}w{cfg.num_warps} {gpu_ms(call):.3f}")
        except Exception as e:
            line.append(f"{cfg}: {type(e).__name__}")
    return line


def run_conv():
    from tritorch.ops import nn_conv as C
    print("== conv2d forward tile configs, 3x3 pad 1 fp32 (TF32), GPU ms")
    saved = C._conv_fwd_tuned
    cfgs = [C._config(128, 128, 32, 3, 8), C._config(128, 64, 32, 4, 4), C._config(64, 128, 32, 4, 4),
            C._config(64, 64, 32, 4, 4), C._config(128, 64, 64, 3, 4), C._config(128, 128, 64, 2, 8),
            C._config(256, 64, 32, 3, 8), C._config(128, 32, 32, 4, 4), C._config(64, 32, 32, 5, 2)]
    try:
        for (nb, cin, hw, cout) in ((32, 3, 32, 32), (32, 32, 32, 64), (32, 64, 56, 64), (32, 128, 28, 128)):
            if late():
                break
            x, tx = _pair((nb, cin, hw, hw), scale=0.1)
            w, tw = _pair((cout, cin, 3, 3), scale=0.1)

            def ours():
                with tt.no_grad():
                    F.conv2d(x, w, padding=1)

            def theirs():
                with torch.no_grad():
                    TF.conv2d(tx, tw, padding=1)
            C._conv_fwd_tuned = saved
            line = [f"{nb}x{cin}x{hw}x{hw}->{cout}: torch {gpu_ms(theirs, True):.3f}, autotuned {gpu_ms(ours):.3f}"]
            line += _conv_sweep(C, "_conv_fwd_tuned", C._conv_fwd_kernel, cfgs, ours)
            print(" | ".join(line), flush=True)
    finally:
        C._conv_fwd_tuned = saved
    run_conv_grads()


def run_conv_grads():
    """GPU time of each gradient op alone (input grad; weight grad with its split-K target) per tile config, for
    the two largest small-CNN layers: which of the two backward GEMMs costs, and whether the tuner picks well."""
    from tritorch.ops import nn_conv as C
    print("== conv2d gradient ops alone, 3x3 pad 1 fp32 (TF32), GPU ms", flush=True)
    cfgs = [C._config(256, 64, 32, 3, 8), C._config(128, 128, 32, 3, 8), C._config(128, 64, 32, 4, 4),
            C._config(64, 128, 32, 4, 4), C._config(64, 64, 32, 4, 4), C._config(128, 128, 64, 2, 8)]
    saved = C._conv_input_grad_tuned, C._conv_weight_grad_tuned, C._SPLIT_PROGRAMS
    try:
        for (nb, cin, hw, cout) in ((32, 64, 56, 64), (32, 128, 28, 128)):
            if late():
                break
            x, tx = _pair((nb, cin, hw, hw), scale=0.1)
            w, tw = _pair((cout, cin, 3, 3), scale=0.1)
            go, tgo = _pair((nb, cout, hw, hw), scale=0.1)

            def igrad():
                C.conv2d_input_grad_op(go, w, input_size=(nb, cin, hw, hw), padding=1)

            def wgrad():
                C.conv2d_weight_grad_op(x, go, weight_size=(cout, cin, 3, 3), padding=1)

            def tigrad():
                torch.nn.grad.conv2d_input(tx.shape, tw, tgo, padding=1)

            def twgrad():
                torch.nn.grad.conv2d_weight(tx, tw.shape, tgo, padding=1)
            C._conv_input_grad_tuned, C._conv_weight_grad_tuned, C._SPLIT_PROGRAMS = saved
            print(f"{nb}x{cin}x{hw}x{hw}->{cout}: torch input grad {gpu_ms(tigrad, True):.3f}, weight grad "
                  f"{gpu_ms(twgrad, True):.3f}; ours autotuned {gpu_ms(igrad):.3f}, {gpu_ms(wgrad):.3f}", flush=True)
            line = ["input grad"] + _conv_sweep(C, "_conv_input_grad_tuned", C._conv_input_grad_kernel, cfgs, igrad)
            print(" | ".join(line), flush=True)
            C._conv_input_grad_tuned = saved[0]
            for programs in (132, 264, 528, 1056):
                if late():
                    break
                C._SPLIT_PROGRAMS = programs
                line = [f"weight grad, split-K for {programs} programs"]
                line += _conv_sweep(C, "_conv_weight_grad_tuned", C._conv_weight_grad_kernel, cfgs, wgrad)
                print(" | ".join(line), flush=True)
    finally:
        C._conv_input_grad_tuned, C._conv_weight_grad_tuned, C._SPLIT_PROGRAMS = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="host,launch,reduce,attention,conv")
    ap.add_argument("--time-limit", type=float, default=200.0)
    args = ap.parse_args()
    if _cuda.INTERPRET or not _cuda.is_available() or torch is None or not torch.cuda.is_available():
        print("needs a GPU and torch with cuda: nothing measured")
        return
    DEADLINE[0] = time.monotonic() + args.time_limit
    print(f"card: {tt.cuda.get_device_name()}; triton {triton.__version__}; torch {torch.__version__}", flush=True)
    steps = dict(host=run_host, launch=run_launch, reduce=run_reduce, attention=run_attention, conv=run_conv)
    for name in args.only.split(","):
        if late():
            print(name, "skipped: time limit")
            continue
        try:
            steps[name]()
        except Exception as e:
            import traceback
            print(f"{name}: {type(e).__name__}: {e}"[:400])
            traceback.print_exc(limit=4)


if __name__ == "__main__":
    main()
