"""torch.backends.cudnn's flags, accepted for compatibility (tritorch's convolutions are its own kernels)."""
import contextlib
import sys

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    """cuDNN's version: None, as PyTorch's without cuDNN."""
    return None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True,
          fp32_precision="none", depthwise_kernel="auto"):
    """Set enabled/benchmark/deterministic/allow_tf32 inside the block and restore them after (transformers' CTC
    loss runs under flags(enabled=False)); nothing in tritorch reads them."""
    module = sys.modules[__name__]
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {n: getattr(module, n) for n in names}
    for n, v in zip(names, (enabled, benchmark, deterministic, allow_tf32)):
        setattr(module, n, v)
    try:
        yield
    finally:
        for n, v in saved.items():
            setattr(module, n, v)
