"""The cpu backend: storage is a NumPy ndarray; NumPy's views give PyTorch's view semantics."""
import os

import numpy as np


def get_num_threads() -> int:
    try:
        from threadpoolctl import threadpool_info
        return max((i.get("num_threads", 1) for i in threadpool_info()), default=os.cpu_count() or 1)
    except Exception:
        return os.cpu_count() or 1


def empty(shape, np_dtype) -> np.ndarray:
    return np.empty(shape, np_dtype)


def get_cpu_capability() -> str:
    """The widest SIMD level NumPy's kernels dispatch to on this cpu, in PyTorch's names: "AVX512", "AVX2" or
    "DEFAULT" (x86), or NumPy's own name of the best feature elsewhere."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:   # NumPy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as found
        except ImportError:
            return "DEFAULT"
    if found.get("AVX512F") and found.get("AVX512BW") and found.get("AVX512VL") and found.get("AVX512DQ"):
        return "AVX512"
    if found.get("AVX2") and found.get("FMA3"):
        return "AVX2"
    for name in ("SVE", "ASIMD", "VSX3", "VSX2"):
        if found.get(name):
            return name
    return "DEFAULT"
