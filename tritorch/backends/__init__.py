"""Device backends: `cpu` keeps NumPy arrays; `cuda` keeps strided device arrays (backends/cuda.py)."""
from . import cpu, cuda, cudnn, mkldnn, mps, opt_einsum  # noqa: F401
