"""torch.version: what this build of tritorch is. `cuda` is the CUDA version of the installed cuda-python bindings
(tritorch's GPU runtime; read on first access, None without them), where torch reports the toolkit it was built
with. hip, rocm and xpu are None: tritorch runs on NVIDIA GPUs and the cpu only."""
from __future__ import annotations

from .torch_version import TorchVersion

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]

__version__ = TorchVersion("0.1.0")
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
