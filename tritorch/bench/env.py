"""The environment stamp written into every results file: what ran, on what, from which commit."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args) -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        r = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def _gpu() -> dict:
    """GPU name, capability and driver from cuda-python (only on a real GPU; never initialises one otherwise)."""
    from ..backends import cuda as _cuda
    if _cuda.INTERPRET:
        return {"gpu": "Triton interpreter (CPU)", "interpreter": True}
    try:
        drv = _cuda.DRIVER.init()
        version = _cuda._check(drv.cu.cuDriverGetVersion())
        return {"gpu": drv.name, "capability": list(drv.capability), "sm_count": drv.sm_count,
                "gpu_memory_bytes": int(drv.total_memory),
                "cuda_driver": f"{version // 1000}.{version % 1000 // 10}", "nvidia_driver": _nvidia_driver(),
                "interpreter": False}
    except Exception as e:  # noqa: BLE001 - the stamp records why, the run goes on
        return {"gpu": None, "gpu_error": str(e).split("\n")[0][:200], "interpreter": False}


def _nvidia_driver() -> str | None:
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20)
        return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def stamp(device: str = "cpu", torch=None) -> dict:
    import numpy
    import triton

    import tritorch
    from .timer import cpu_threads
    env = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": cpu_threads(),
        "numpy": numpy.__version__,
        "triton": triton.__version__,
        "tritorch": tritorch.__version__,
        "torch": getattr(torch, "__version__", None),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        import cuda.bindings
        env["cuda_bindings"] = cuda.bindings.__version__
    except Exception:  # noqa: BLE001 - optional
        env["cuda_bindings"] = None
    if str(device).startswith("cuda"):
        env.update(_gpu())
    return env
