"""Device backends: `cpu` keeps NumPy arrays; `cuda` keeps strided device arrays (backends/cuda.py)."""
from . import cpu, cuda, cudnn  # noqa: F401
