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
