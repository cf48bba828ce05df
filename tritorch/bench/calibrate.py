"""Device ceilings measured once per run: copy bandwidth (GB/s, bytes read + written) and matmul rate (TFLOP/s).

Every op row is then placed against them (roofline): the time the op's bytes need at the copy bandwidth and its
flops at the matmul rate, over the time it took.

cpu: NumPy's copy of a 64 MiB array and a float32 BLAS matmul (what tritorch's cpu backend runs on).
cuda (GPU): a device-to-device copy through the driver and the best of tritorch's and (when installed) PyTorch's
matmul per float dtype, timed with CUDA events. Under Triton's interpreter the numbers are placeholders from tiny
sizes (the dry run only checks that every step works).
"""
from __future__ import annotations

import numpy as np

from .timer import Timer, uses_gpu_events

CPU_COPY_TIERS = (1 << 15, 1 << 19, 1 << 24)  # float32 elements: 128 KiB (L2), 2 MiB (L3), 64 MiB (memory)
CPU_MATMUL = 1024
GPU_COPY_BYTES = 1 << 30
GPU_MATMUL = 4096


def calibrate(device: str = "cpu", budget: float = 0.3, torch=None) -> dict:
    if not str(device).startswith("cuda"):
        return _cpu(budget)
    if uses_gpu_events(device):
        return _gpu(budget, torch)
    return _interpreter(budget)


def _cpu(budget: float) -> dict:
    # caches: an op whose operands fit in cache is held to the bandwidth of a copy of that many bytes
    by_bytes = {}
    for n in CPU_COPY_TIERS:
        src = np.random.default_rng(0).random(n, dtype=np.float32)
        dst = np.empty_like(src)
        t = Timer("cpu", budget=budget / len(CPU_COPY_TIERS), min_repeats=5).measure(
            lambda: np.copyto(dst, src)).time.median
        by_bytes[str(2 * src.nbytes)] = 2 * src.nbytes / t / 1e9
    a = np.random.default_rng(1).random((CPU_MATMUL, CPU_MATMUL), dtype=np.float32)
    b = np.random.default_rng(2).random((CPU_MATMUL, CPU_MATMUL), dtype=np.float32)
    m = Timer("cpu", budget=budget, min_repeats=3).measure(lambda: a @ b).time.median
    rate = 2 * CPU_MATMUL ** 3 / m / 1e12
    # the ceiling of any size is at least the memory bandwidth (a noisy small tier must not sit below it)
    dram = by_bytes[str(2 * 4 * CPU_COPY_TIERS[-1])]
    by_bytes = {k: max(v, dram) for k, v in by_bytes.items()}
    return {"device": "cpu", "copy_GBps": dram, "copy_GBps_by_bytes": by_bytes, "matmul_TFLOPs": {"float32": rate},
            "method": f"numpy copyto of {', '.join(str(n * 4 >> 10) + ' KiB' for n in CPU_COPY_TIERS)}; "
                      f"float32 matmul {CPU_MATMUL}^3"}


def _interpreter(budget: float) -> dict:
    import tritorch as tt
    x = tt.rand(1 << 16, device="cuda")
    t = Timer("cuda", budget=budget, min_repeats=3).measure(lambda: x.clone()).time.median
    p = tt.rand(64, 64, device="cuda")
    m = Timer("cuda", budget=budget, min_repeats=3).measure(lambda: p @ p).time.median
    return {"device": "cuda", "copy_GBps": 2 * x.nbytes / t / 1e9, "matmul_TFLOPs": {"float32": 2 * 64 ** 3 / m / 1e12},
            "method": "Triton interpreter: tiny clone and matmul (placeholders, not ceilings)"}


def _gpu(budget: float, torch=None) -> dict:
    import tritorch as tt
    from ..backends import cuda as _cuda
    drv = _cuda.DRIVER.init()
    cu = drv.cu
    half = GPU_COPY_BYTES // 2
    base = _cuda._check(cu.cuMemAlloc(GPU_COPY_BYTES))
    src, dst = int(base), int(base) + half
    timer = Timer("cuda", budget=budget, min_repeats=5, flush_l2=False)
    copy = timer.measure(lambda: _cuda._check(cu.cuMemcpyDtoDAsync(dst, src, half, drv.stream))).kernel.median
    cu.cuMemFree(base)
    rates = {}
    n = GPU_MATMUL
    for name in ("float16", "bfloat16", "float32"):
        best = 0.0
        try:
            p = tt.randn(n, n, device="cuda").to(getattr(tt, name))
            best = 2 * n ** 3 / timer.measure(lambda: p @ p).kernel.median / 1e12
        except Exception:  # noqa: BLE001 - a dtype tritorch cannot multiply has no tritorch rate
            pass
        if torch is not None:
            q = torch.randn(n, n, device="cuda", dtype=getattr(torch, name))
            tt_timer = Timer("cuda", budget=budget, min_repeats=5, flush_l2=False,
                             stream=torch.cuda.current_stream().cuda_stream)
            best = max(best, 2 * n ** 3 / tt_timer.measure(lambda: q @ q).kernel.median / 1e12)
            tt_timer.close()
        rates[name] = best
    timer.close()
    tt.cuda.empty_cache()
    return {"device": "cuda", "copy_GBps": half * 2 / copy / 1e9, "matmul_TFLOPs": rates,
            "method": f"cuMemcpyDtoDAsync {half >> 20} MiB; best of tritorch/torch matmul {n}^3 per dtype "
                      f"(fp32 without TF32)"}


def ceiling_rate(calibration: dict | None, dtype_name: str) -> float | None:
    """Matmul TFLOP/s ceiling for a dtype: its own calibrated rate, else float32's."""
    if not calibration:
        return None
    rates = calibration.get("matmul_TFLOPs") or {}
    return rates.get(dtype_name) or rates.get("float32")


def copy_bandwidth(calibration: dict, nbytes: int) -> float:
    """GB/s ceiling for an op moving `nbytes`: the copy bandwidth of the smallest calibrated tier at least that
    large (operands that fit in a cache move at its speed), else the memory bandwidth."""
    tiers = sorted((int(k), v) for k, v in (calibration.get("copy_GBps_by_bytes") or {}).items())
    for size, gbps in tiers:
        if nbytes <= size:
            return gbps
    return calibration["copy_GBps"]


def roofline(calibration: dict | None, seconds: float, nbytes, flops, dtype_name: str) -> dict:
    """Achieved GB/s and TFLOP/s, and the fraction of the roofline: (time the bytes and flops need at the
    ceilings) / (time taken). `bound` names the ceiling that limits the op."""
    out = {"GBps": None, "TFLOPs": None, "roofline": None, "bound": None}
    if not seconds or seconds <= 0:
        return out
    if nbytes:
        out["GBps"] = nbytes / seconds / 1e9
    if flops:
        out["TFLOPs"] = flops / seconds / 1e12
    if not calibration:
        return out
    t_mem = nbytes / (copy_bandwidth(calibration, nbytes) * 1e9) if nbytes else 0.0
    rate = ceiling_rate(calibration, dtype_name)
    t_math = flops / (rate * 1e12) if flops and rate else 0.0
    if t_mem or t_math:
        out["roofline"] = max(t_mem, t_math) / seconds
        out["bound"] = "memory" if t_mem >= t_math else "compute"
    return out
