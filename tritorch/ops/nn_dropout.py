"""dropout on the Philox counter-based generator: the same seed gives the same mask on cpu and cuda.

Element j (row-major order of the logical shape) of a call at generator offset `offset` takes lane j % 4 of
Philox4x32-10(seed, offset / 4 + j // 4) - exactly the stream `tt.rand` draws (tritorch/ops/random.py) - turns it
into a float u in [0, 1) with Triton's fp32 conversion (tl.uint_to_uniform_float; the NumPy fallback runs the
same rounds and the same conversion), and is kept when u >= p, compared in fp32 (p rounded to fp32 once, on both
devices). Kept elements are scaled by 1 / (1 - p). So the mask is a pure function of (seed, offset, index) and
is bitwise the same on both devices.

Backward: the gradient is grad * mask / (1 - p), i.e. dropout applied to the gradient with the same (seed,
offset): the rule calls the same op again. On cuda the mask is recomputed rather than saved: nothing is kept for
the backward but two integers, where a saved mask would hold one byte (or a float) per element for the whole life
of the graph - the activation memory dropout sits in the middle of - while regenerating it costs ~25 integer ops
per element in a kernel that is memory-bound anyway. NumPy's Philox costs ~10 ns an element, so the cpu forward
under autograd keeps its mask bit-packed (1 bit an element) until the backward's identical call takes it (_KEPT).
The rule is linear in its input, so double backward works too.
"""
from __future__ import annotations

import functools
import math
import threading

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray
from ..device import CUDA
from ..tensor import Tensor, _make
from . import launch
from . import pointwise as pw
from . import random as _random
from .launch import f64_bits as _f64_bits
from .registry import _GRAD, BenchSpec, Meta, OpDef, Sample, _type_name, register
from .ternary import np_masked_bits
from .samples import make_tensor, rng_for

FAMILY = "nn_dropout"
_FLAGS = _state.FLAGS

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# Philox counters per program (four elements each); the interpreter prefers fewer, larger programs.
_BLOCK_C = 1024 if _cuda.INTERPRET else 256


# ============================================================================================ Triton kernel

@triton.jit
def _dropout_kernel(
    x_ptr,                       # input, contiguous, n elements
    out_ptr,                     # output, contiguous, n elements (may be x itself: in place)
    n,                           # number of elements
    seed,                        # Philox key
    counter,                     # Philox counter of element 0 (generator offset // 4)
    p,                           # drop probability (compared in fp32)
    scale_bits,                  # 1 / (1 - p) as float64 bits
    COMPUTE: tl.constexpr,       # fp32, or fp64 for fp64 data
    BLOCK_C: tl.constexpr,       # Philox counters per program
):
    # bytes: reads n elements, writes n elements; ~25 integer ops per element for the Philox rounds
    c = tl.program_id(0).to(tl.int64) * BLOCK_C + tl.arange(0, BLOCK_C)
    r0, r1, r2, r3 = tl.randint4x(seed, counter + c)
    lane = tl.arange(0, 4)[None, :]
    idx = c[:, None] * 4 + lane
    r = tl.where(lane == 0, r0[:, None], tl.where(lane == 1, r1[:, None], tl.where(lane == 2, r2[:, None], r3[:, None])))
    u = tl.uint_to_uniform_float(r)
    keep = u >= tl.cast(p, tl.float32)
    mask = idx < n
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(COMPUTE)
    scale = tl.cast(scale_bits, tl.int64).to(tl.float64, bitcast=True).to(COMPUTE)
    y = tl.where(keep, x * scale, 0.0)
    tl.store(out_ptr + idx, y.to(out_ptr.dtype.element_ty), mask=mask)


# ================================================================================================ NumPy side

def keep_mask_np(seed: int, offset: int, n: int, p: float, for_backward: bool = False) -> np.ndarray:
    """The keep mask (bool, n elements in row-major order) the kernel computes for (seed, offset): uniform(r) >= p,
    decided on the draws' integers (see _keep_threshold: three integer passes instead of a float conversion).
    for_backward: also keep it, bit-packed, for the one identical call the backward makes (see _KEPT)."""
    threshold = _keep_threshold(float(p))
    key = (seed, offset, n, threshold)
    with _KEPT_LOCK:
        bits = _KEPT.pop(key, None)
        if bits is not None:
            _KEPT_BYTES[0] -= bits.nbytes
    if bits is not None:
        return np.unpackbits(bits, count=n).view(bool)
    if threshold > _INT32_MAX:
        return np.zeros(n, bool)
    x = _random._draws_np(seed, offset, n, False)[:n].view(np.int32)
    # tl.uint_to_uniform_float scales x for x >= 0 and ~x = -x - 1 for x < 0: ~x >= t is x < -t (two compares
    # into bool arrays: cheaper than forming ~x in an int32 temporary)
    keep = x >= threshold
    keep |= x < -threshold
    if for_backward:
        _keep(key, np.packbits(keep))
    return keep


# Masks a cpu forward drew under autograd, bit-packed (n / 8 bytes), by (seed, offset, n, threshold): the mask is
# a pure function of that key, so the backward's call for the same key takes the bits instead of running Philox
# again (NumPy's Philox costs ~10 ns an element here, most of a dropout's time; unpacking ~0.3). Taken out on use;
# the oldest go first past _KEPT_MAX_BYTES (a forward whose backward never runs). GPU kernels regenerate instead:
# there Philox is free beside the memory traffic, and nothing is kept.
_KEPT: dict = {}
_KEPT_BYTES = [0]
_KEPT_MAX_BYTES = 64 << 20
_KEPT_LOCK = threading.Lock()


def _keep(key, bits: np.ndarray) -> None:
    with _KEPT_LOCK:
        old = _KEPT.pop(key, None)
        _KEPT_BYTES[0] += bits.nbytes - (0 if old is None else old.nbytes)
        _KEPT[key] = bits
        while _KEPT_BYTES[0] > _KEPT_MAX_BYTES and _KEPT:
            _KEPT_BYTES[0] -= _KEPT.pop(next(iter(_KEPT))).nbytes


_INT32_MAX = (1 << 31) - 1


@functools.lru_cache(maxsize=64)
def _keep_threshold(p: float) -> int:
    """The least integer t in [0, 2**31] whose uniform float fl32(fl32(t) * 2**-31) is >= fl32(p) (2**31: none
    is). The kernel compares that float with p; the float is a non-decreasing function of t (rounding and a
    positive scale keep order), so comparing the integer with t gives the same mask bit for bit."""
    target = np.float32(p)

    def uniform(t: int) -> np.float32:
        return np.float32(t) * np.float32(4.6566127342e-10)   # _random._uniform_np's fp32 steps, on one value

    lo, hi = 0, 1 << 31
    while lo < hi:
        mid = (lo + hi) // 2
        if uniform(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _scale(p: float) -> float:
    return 1.0 / (1.0 - p) if p < 1.0 else 0.0


# ==================================================================================================== op

def _dropout_infer(input, p, *, seed, offset):
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"dropout" not implemented for \'{_type_name(input.dtype)}\'')
    _random._check_offset(seed, offset)
    return Meta(tuple(input._data.shape), input.dtype, input.device, p)


def _dropout_cpu(meta, input, p, *, seed, offset, out=None):
    n = math.prod(meta.shape)
    x = input._data
    compute = np.float64 if meta.dtype is _dt.float64 else np.float32
    keep = keep_mask_np(int(seed), int(offset), n, meta.aux,
                        input._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled)).reshape(meta.shape)
    scaled = x.astype(compute, copy=False) * compute(_scale(meta.aux))
    r = np_masked_bits(keep, scaled)   # +0 where dropped (NaN too), as the kernel: np.where is 5x slower here
    if out is not None:
        np.copyto(out, r, casting="unsafe")
        return out
    return r.astype(meta.dtype.np, copy=False)


def _dropout_cuda(meta, input, p, *, seed, offset, out=None):
    n = math.prod(meta.shape)
    x = input._data
    if not x.is_contiguous():
        from .nn_softmax import contiguous_copy
        x = contiguous_copy(x)
    direct = out is None or out.is_contiguous()
    dst = (out if out is not None else CudaArray.empty(meta.shape, meta.dtype.np)) if direct else \
        CudaArray.empty(meta.shape, meta.dtype.np)
    if n:
        compute = tl.float64 if meta.dtype is _dt.float64 else tl.float32
        _dropout_kernel[(launch.num_programs(-(-n // 4), _BLOCK_C),)](
            x, dst, n, int(seed), int(offset) // 4, meta.aux, _f64_bits(_scale(meta.aux)),
            COMPUTE=compute, BLOCK_C=_BLOCK_C)
    if not direct:
        from .nn_softmax import _same
        pw.launch_pointwise(_same, [_make(dst, meta.dtype, CUDA)], meta.shape, meta.dtype, meta.dtype, out)
        return out
    return dst


def _dropout_ref(input, p, *, seed, offset):
    x = np.asarray(input, np.float64)
    n = x.size
    draws = _random._ref_draws(seed, offset, n, False)[:n]
    keep = np.array([np.float32(_random._ref_uniform(r, 0)) >= np.float32(p) for r in draws], bool).reshape(x.shape)
    return np.where(keep, x * _scale(p), 0.0)


def _dropout_samples(device, dtype):
    rng = rng_for("dropout", dtype.name)

    def X(shape, **kw):
        return make_tensor(shape, dtype, device, rng=rng, **kw)

    yield Sample((X(()), 0.5), {"seed": 1, "offset": 0}, name="()")
    yield Sample((X((1,)), 0.3), {"seed": 2, "offset": 4}, name="(1,)")
    yield Sample((X((0,)), 0.5), {"seed": 3, "offset": 0}, name="(0,)")
    yield Sample((X((2 ** 6 + 17,)), 0.5), {"seed": 4, "offset": 8}, name="(81,)")
    yield Sample((X((3, 5)), 0.2), {"seed": 5, "offset": 12}, name="(3,5)")
    yield Sample((X((4, 6), noncontiguous=True), 0.5), {"seed": 6, "offset": 0}, name="noncontig")
    yield Sample((X((3, 4)), 0.0), {"seed": 7, "offset": 0}, name="p=0")
    yield Sample((X((3, 4)), 1.0), {"seed": 8, "offset": 0}, name="p=1")


def _torch_dropout(torch, input, p, *, seed, offset):
    # PyTorch's dropout with tritorch's mask (PyTorch's own generator draws other bits): input * mask / (1 - p)
    keep = torch.from_numpy(keep_mask_np(seed, offset, input.numel(), p).reshape(tuple(input.shape)))
    return torch.where(keep, input * _scale(p), torch.zeros((), dtype=input.dtype))


_BENCH_N = 1 << 24

dropout_op = register(OpDef(
    name="dropout", family=FAMILY, infer=_dropout_infer, impl={"cpu": _dropout_cpu, "cuda": _dropout_cuda},
    ref=_dropout_ref, samples=_dropout_samples, dtypes=_dt.FLOATS, supports_out=True, save="none",
    extra={"torch": _torch_dropout},
    bench=BenchSpec(sizes=(1 << 20, _BENCH_N),
                    make=lambda size, device, dtype: ((make_tensor((size,), dtype, device), 0.5),
                                                      {"seed": 1, "offset": 0}),
                    bytes=lambda size, dtype: 2 * size * dtype.itemsize, flops=lambda size: size),
    doc="dropout(input, p, *, seed, offset): input * mask / (1 - p), the mask from Philox(seed, offset)"))


def _dropout_vjp(ctx, grad):
    # grad * mask / (1 - p): the same op with the same (seed, offset) applied to the gradient
    return (dropout_op(grad, ctx.meta.aux, seed=ctx.kwargs["seed"], offset=ctx.kwargs["offset"]),)


dropout_op.vjp = _dropout_vjp


# ============================================================================================== public API

def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> Tensor:
    """torch.nn.functional.dropout: zero each element with probability p and scale the rest by 1 / (1 - p).

    The mask comes from `generator` (the default generator otherwise) and advances it by one value per element,
    so tt.manual_seed makes it repeatable, and the same state gives the same mask on cpu and cuda."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    gen = _random._gen(generator)
    n = input.numel()
    out = input if inplace else None
    r = dropout_op(input, float(p), seed=gen._seed, offset=gen._offset, out=out)
    if input.device.type != "meta":   # (nothing is drawn there)
        gen._advance(n)
    return r


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, channel_dims: int) -> Tensor:
    """Channel-wise dropout: one draw per (sample, channel) over the first `channel_dims` dims, applied to the
    whole feature map. The mask is dropout itself on a ones tensor of shape (N, C, 1, ...), so it is Philox's
    (the same on cpu and cuda for the same generator state) and already scaled by 1 / (1 - p)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from .creation import ones
    shape = tuple(input.shape[:channel_dims]) + (1,) * (input.dim() - channel_dims)
    mask = dropout(ones(shape, dtype=input.dtype, device=input.device), p)
    return input.mul_(mask) if inplace else input * mask


def _warn_dims(fn: str, dims: int, spatial: int) -> None:
    """PyTorch's deprecation warning for a channel dropout given neither (C, *spatial) nor (N, C, *spatial)."""
    if dims not in (spatial + 1, spatial + 2):
        import warnings
        warnings.warn(f"{fn}: Received a {dims}-D input to {fn}, which is deprecated and will result in an error in "
                      f"a future release. To retain the behavior and silence this warning, please use dropout "
                      f"instead. Note that {fn} exists to provide channel-wise dropout on inputs with {spatial} "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch.nn.functional.dropout1d: zero whole channels of (N, C, L) or (C, L) with probability p."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, input.dim() - 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch.nn.functional.dropout2d: zero whole channels of (N, C, H, W) or (C, H, W) with probability p (a 3-D
    input is taken as (N, C, L), with PyTorch's warning)."""
    import warnings
    dims = input.dim()
    _warn_dims("dropout2d", dims, 2)
    if dims == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, min(2, dims))


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch.nn.functional.dropout3d: zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability p."""
    dims = input.dim()
    _warn_dims("dropout3d", dims, 3)
    return _feature_dropout(input, p, training, inplace, 1 if dims == 4 else min(2, dims))


_SELU_ALPHA = 1.7580993408473766  # -scale * alpha of SELU: the value a dropped unit takes


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape: tuple) -> Tensor:
    """PyTorch's alpha dropout: dropped units set to SELU's negative saturation, then an affine map that keeps
    the mean and variance of a SELU network's activations: out = input * (a * keep) + a * alpha * (p - 1 + keep)
    with a = 1 / sqrt((alpha^2 p + 1)(1 - p)); the mask is a Bernoulli(1 - p) draw of the default generator."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    from .creation import empty
    keep = _random._bernoulli_(empty(mask_shape, dtype=input.dtype, device=input.device), 1.0 - p)
    a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1) * (1 - p))
    scale = keep * a
    shift = (keep - 1.0) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """torch.nn.functional.alpha_dropout (for SELU networks): note training defaults to False, as in PyTorch."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (one draw per (N, C))."""
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha_dropout(input, p, training, inplace, shape)
