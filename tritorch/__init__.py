"""tritorch: a PyTorch-shaped deep learning framework whose every op pairs a Triton kernel with a NumPy fallback.

    import tritorch as tt
    x = tt.randn(4, 3, device="cuda")      # a GPU, or Triton's interpreter with TRITON_INTERPRET=1
    y = (x @ x.T).relu().sum(dim=1)
"""
from __future__ import annotations

from math import e, inf, nan, pi  # noqa: F401  (torch.e, torch.inf, torch.nan, torch.pi)

from .version import __version__  # noqa: F401  (a TorchVersion: compares as a version number)
from . import torch_version, version  # noqa: F401
newaxis = None   # torch.newaxis, as NumPy's: x[:, tritorch.newaxis]

from . import dtypes as _dtypes
from .device import device
from .dtypes import (bfloat16, bool_ as bool, cdouble, cfloat, complex64, complex128, double, dtype,  # noqa: A004
                     finfo, float, float16, float32, float64, get_default_dtype, half, iinfo, int, int8, int16,
                     int32, int64, long, set_default_dtype, short, uint8)
from .dtypes import (float4_e2m1fn_x2, float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz,  # noqa: F401
                     float8_e8m0fnu, uint16, uint32, uint64)
from .tensor import Size, Tensor
# the classes print under the package's name (<class 'tritorch.Tensor'>, as PyTorch's <class 'torch.Tensor'>);
# the torch alias renames them torch
Tensor.__module__ = Size.__module__ = dtype.__module__ = device.__module__ = __name__
from ._memory_format import *  # noqa: E402,F401,F403  (strided, channels_last, preserve_format, ...)

from . import ops  # noqa: E402,F401  (registers every op and binds Tensor methods)
from .ops import registry as _registry  # noqa: E402
from .ops.copy import contiguous, to  # noqa: E402,F401
from .ops.creation import *  # noqa: E402,F401,F403
from .ops.creation import range_ as range  # noqa: E402,A001
from .ops.unary import *  # noqa: E402,F401,F403
from .ops.gamma import *  # noqa: E402,F401,F403
from .ops.erfc import *  # noqa: E402,F401,F403
from .ops.bessel import *  # noqa: E402,F401,F403
from .ops.gcd import *  # noqa: E402,F401,F403
from .ops.float_bits import *  # noqa: E402,F401,F403
from .ops.addr import *  # noqa: E402,F401,F403
from .ops.index_reduce import *  # noqa: E402,F401,F403
from .ops.histogramdd import *  # noqa: E402,F401,F403
from .ops.igamma import *  # noqa: E402,F401,F403
from .ops.binary import *  # noqa: E402,F401,F403
from .ops.ternary import *  # noqa: E402,F401,F403
from .ops.reduce import *  # noqa: E402,F401,F403
from .ops.cumulative import *  # noqa: E402,F401,F403
from .ops.matmul import *  # noqa: E402,F401,F403
from .ops.movement import *  # noqa: E402,F401,F403
from .ops.indexing import *  # noqa: E402,F401,F403
from .ops.sort import *  # noqa: E402,F401,F403
from .ops.random import *  # noqa: E402,F401,F403
from .ops.linalg import *  # noqa: E402,F401,F403
from .ops.compare import *  # noqa: E402,F401,F403
from .ops.composite import *  # noqa: E402,F401,F403
from .ops.composite_numeric import *  # noqa: E402,F401,F403
from .ops.tensor_extras import *  # noqa: E402,F401,F403
from .ops.complex import *  # noqa: E402,F401,F403,A004  (view_as_real, view_as_complex, complex, polar)
from .ops.stft import *  # noqa: E402,F401,F403  (stft, istft)
from .ops.inplace_forms import *  # noqa: E402,F401,F403
from .ops.view_copies import *  # noqa: E402,F401,F403
from .ops.legacy_types import *  # noqa: E402,F401,F403
from .ops.linalg_solve import cholesky_inverse, cholesky_solve, det, logdet, lu_unpack, slogdet  # noqa: E402,F401
from .ops.linalg_solve import inv as inverse, torch_cholesky as cholesky, torch_pinverse as pinverse  # noqa: E402,F401
from .ops.linalg_solve import matrix_exp, torch_qr as qr, torch_svd as svd  # noqa: E402,F401
from .ops.linalg_legacy import *  # noqa: E402,F401,F403
from .ops.linalg_householder import *  # noqa: E402,F401,F403
from .ops.linalg_lowrank import *  # noqa: E402,F401,F403
from .ops.angle import *  # noqa: E402,F401,F403
from .ops import legacy_resize as _legacy_resize  # noqa: E402,F401  (Tensor.resize, Tensor.resize_as)
from . import backends, cuda  # noqa: E402,F401
from . import autograd  # noqa: E402,F401
from . import nn, optim, utils  # noqa: E402,F401
from . import amp, distributions, fft, func, linalg, random, special  # noqa: E402,F401
from . import distributed, jit, multiprocessing, testing, types  # noqa: E402,F401
from . import profiler  # noqa: E402,F401
from . import _C, _dynamo, _inductor, accelerator, ao, compiler, cpu, fx  # noqa: E402,F401
from ._C import PyTorchFileReader  # noqa: E402,F401
from . import futures, hub, mps, onnx, return_types, signal  # noqa: E402,F401
from . import library  # noqa: E402,F401  (torch.library: custom ops as registered ops)
from . import sparse  # noqa: E402,F401  (sparse COO tensors)
from . import overrides  # noqa: E402,F401  (torch.overrides: the __torch_function__ helpers)
from .sparse import sparse_coo, sparse_coo_tensor, spmm  # noqa: E402,F401
from .jit import ScriptFunction, ScriptModule, fork, wait  # noqa: E402,F401  (torch.fork, torch.ScriptModule, ...)
from ._rnn_forms import *  # noqa: E402,F401,F403  (torch.lstm_cell, ..., torch.lstm, gru, rnn_tanh, rnn_relu)
from ._streams import Event, Stream  # noqa: E402,F401  (device-generic; tritorch.cuda's are subclasses)
from . import _absent_devices  # noqa: E402
xpu = _absent_devices.make("xpu", "Intel GPUs")
mtia = _absent_devices.make("mtia", "Meta's training and inference accelerators")
# what this build has: LAPACK (NumPy's, for linalg on the cpu); no MKL, OpenMP, FFT or Vulkan
has_lapack, has_mkl, has_openmp, has_spectral = True, False, False, False


def is_vulkan_available() -> bool:
    return False


def as_strided_(input, size, stride, storage_offset=None):
    """torch.as_strided_: input takes the strided view's geometry (in place; same storage)."""
    return input.as_strided_(size, stride, storage_offset)
from .storage import TypedStorage, UntypedStorage  # noqa: E402,F401
from ._runtime_names import *  # noqa: E402,F401,F403
from ._checks import *  # noqa: E402,F401,F403  (torch._assert, torch._check, ...)
from .autograd import profiler as _autograd_profiler  # noqa: E402,F401  (tritorch.autograd.profiler)
from .amp import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled  # noqa: E402,F401
from ._settings import *  # noqa: E402,F401,F403
from ._switches import *  # noqa: E402,F401,F403
from ._control_flow import *  # noqa: E402,F401,F403
# torch.* forms of nn ops whose signature matches torch.nn.functional's (those with ATen's own argument orders,
# torch.embedding, torch.batch_norm, ..., are in _nn_forms)
from .ops.nn_softmax import log_softmax, softmax  # noqa: E402,F401
from .ops.nn_dropout import dropout  # noqa: E402,F401
from .ops.nn_norm import group_norm, layer_norm, rms_norm  # noqa: E402,F401
from .ops.nn_conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d  # noqa: E402,F401
from .ops.nn_conv_transpose3d import conv_transpose3d  # noqa: E402,F401
from .ops.composite_pdist import pdist  # noqa: E402,F401
from .ops.nn_pool import max_pool2d  # noqa: E402,F401
from ._nn_forms import *  # noqa: E402,F401,F403
from .ops.nn_rrelu import rrelu_, torch_rrelu as rrelu  # noqa: E402,F401
from .serialization import *  # noqa: E402,F401,F403
from ._torch_alias import alias_torch  # noqa: E402,F401  (import torch -> tritorch; python -m tritorch SCRIPT)
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402,F401

def can_cast(from_, to) -> bool:
    """torch.can_cast(from_, to): whether a value of dtype from_ may be written into a tensor of dtype `to`."""
    return _registry.can_cast(from_, to)


def promote_types(type1, type2):
    """torch.promote_types(type1, type2): the smallest dtype both promote to."""
    return _dtypes.promote_types(type1, type2)


def result_type(tensor, other):
    """torch.result_type(tensor, other): the dtype an arithmetic op of the two gives (tensors or numbers)."""
    return _dtypes.result_type(tensor, other)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return t.dtype.is_floating_point


def numel(t: Tensor) -> int:
    return t.numel()


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing memory with any object that implements the DLPack protocol (host memory); copy=True
    copies, device= moves the result there."""
    import numpy as _np
    from .tensor import from_array
    t = ext_tensor if isinstance(ext_tensor, Tensor) else from_array(_np.from_dlpack(ext_tensor))
    if copy:
        t = t.clone()
    return t if device is None else t.to(device)


import sys as _sys  # noqa: E402

from . import _numpy_kwargs as _nk  # noqa: E402

_nk.install(_sys.modules[__name__], Tensor)   # axis= / keepdims= as PyTorch's aliases of dim= / keepdim=
torch = _sys.modules[__name__]   # as PyTorch's (torch.torch is torch): transformers writes torch.torch.Tensor
del _nk, _sys


from . import _collector  # noqa: E402  (last: the objects import made stay out of the collector's walks)
from .profiler import _hooks as _profiler_hooks  # noqa: E402
_collector.freeze_import_objects(before=_profiler_hooks.remember_frozen_cells)
