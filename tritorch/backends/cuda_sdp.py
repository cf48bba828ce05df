"""torch.backends.cuda's scaled-dot-product-attention switches (enable_flash_sdp, flash_sdp_enabled, ...) and
sdp_kernel: views of tritorch.nn.attention's backend selection, so a flag set here shows in enabled_backends() and
an sdpa_kernel block shows in the flags. As the selection itself, they never change which kernel runs (tritorch
has one per device: the flash-style Triton kernel on cuda, the NumPy fallback on the cpu)."""
from __future__ import annotations

import contextlib
import importlib.util

__all__ = ["is_built", "enable_flash_sdp", "flash_sdp_enabled", "enable_mem_efficient_sdp",
           "mem_efficient_sdp_enabled", "enable_math_sdp", "math_sdp_enabled", "enable_cudnn_sdp",
           "cudnn_sdp_enabled", "allow_fp16_bf16_reduction_math_sdp", "fp16_bf16_reduction_math_sdp_allowed",
           "is_flash_attention_available", "sdp_kernel"]

_FP16_BF16_REDUCTION_MATH = [False]


def is_built() -> bool:
    """Whether tritorch can drive an NVIDIA GPU here: Triton is there and NVIDIA's cuda-python is installed."""
    return importlib.util.find_spec("cuda") is not None and importlib.util.find_spec("cuda.bindings") is not None


def _attention():
    from ..nn import attention
    return attention


def _set(backend_name: str, enabled: bool) -> None:
    att = _attention()
    backend = att.SDPBackend[backend_name]
    current = att.enabled_backends()
    if enabled and backend not in current:
        att._set_enabled([b for b in att._ALL if b in current or b is backend])
    elif not enabled and backend in current:
        att._set_enabled([b for b in current if b is not backend])


def _is(backend_name: str) -> bool:
    att = _attention()
    return att.SDPBackend[backend_name] in att.enabled_backends()


def enable_flash_sdp(enabled: bool) -> None:
    _set("FLASH_ATTENTION", enabled)


def flash_sdp_enabled() -> bool:
    return _is("FLASH_ATTENTION")


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _set("EFFICIENT_ATTENTION", enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _is("EFFICIENT_ATTENTION")


def enable_math_sdp(enabled: bool) -> None:
    _set("MATH", enabled)


def math_sdp_enabled() -> bool:
    return _is("MATH")


def enable_cudnn_sdp(enabled: bool) -> None:
    _set("CUDNN_ATTENTION", enabled)


def cudnn_sdp_enabled() -> bool:
    return _is("CUDNN_ATTENTION")


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    _FP16_BF16_REDUCTION_MATH[0] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    return _FP16_BF16_REDUCTION_MATH[0]


def is_flash_attention_available() -> bool:
    """Whether a flash-attention kernel can run: tritorch's own Triton one needs a GPU."""
    from . import cuda
    return cuda.is_available()


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """The deprecated flag form of tritorch.nn.attention.sdpa_kernel (PyTorch warns; so does this)."""
    import warnings
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated "
                  "signature.", FutureWarning, stacklevel=3)
    att = _attention()
    chosen = [b for b, on in ((att.SDPBackend.CUDNN_ATTENTION, enable_cudnn),
                              (att.SDPBackend.FLASH_ATTENTION, enable_flash),
                              (att.SDPBackend.EFFICIENT_ATTENTION, enable_mem_efficient),
                              (att.SDPBackend.MATH, enable_math)) if on]
    with att.sdpa_kernel(chosen):
        yield {}
