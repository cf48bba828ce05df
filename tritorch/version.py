"""torch.version: what this build of tritorch is. `__version__` is the PyTorch release whose Python API tritorch
follows (its tests compare signatures and results with that release), with tritorch's own release as the local
label, as PyTorch's builds carry theirs ("2.13.0+cpu"): libraries gate features on `torch.__version__ >= "2.0"`,
and tritorch's own number there sent them down their pre-2.0 branches. `cuda` is the CUDA version of the
installed cuda-python bindings (tritorch's GPU runtime; read on first access, None without them), where torch
reports the toolkit it was built with. hip, rocm and xpu are None: tritorch runs on NVIDIA GPUs and the cpu only."""
from __future__ import annotations

from .torch_version import TorchVersion

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]

TRITORCH = "0.1.0"      # this package's own release (pyproject.toml)
TORCH_API = "2.13.0"    # the PyTorch release whose Python API it follows
__version__ = TorchVersion(f"{TORCH_API}+tritorch.{TRITORCH}")
debug = False
git_version = "Unknown"   # torch's value for a build made outside a git checkout
hip = None
rocm = None
xpu = None


def _cuda_version():
    from importlib import metadata
    for dist in ("cuda-bindings", "cuda-python"):
        try:
            release = metadata.version(dist).split(".")
        except metadata.PackageNotFoundError:
            continue
        return ".".join(release[:2])
    return None


def __getattr__(name):
    if name == "cuda":
        globals()["cuda"] = value = _cuda_version()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
