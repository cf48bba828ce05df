"""Peers timed in the same run at the same sizes: raw NumPy (cpu) and PyTorch (cpu, and cuda on a GPU).

NumPy peer of an op, first found of:
  1. op.extra["numpy"] = lambda *arrays, **kw: ...   (an op's own declaration; a custom op may give one)
  2. NUMPY_PEERS below                               (ops whose NumPy spelling differs from PyTorch's)
  3. numpy.<op name> with dim -> axis, keepdim -> keepdims
A candidate is kept only if its result has the op's output shape on the bench inputs.
PyTorch peer: op.extra["torch"] = lambda torch, *args, **kw: ... (declared by every family).
"""
from __future__ import annotations

import importlib.util

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor


def _axis_kw(kw: dict) -> dict:
    out = dict(kw)
    if "dim" in out:
        out["axis"] = out.pop("dim")
    if "keepdim" in out:
        out["keepdims"] = out.pop("keepdim")
    return out


def _reduce(fn):
    return lambda x, *a, **kw: fn(x, *a, **_axis_kw(kw))


NUMPY_PEERS = {
    "mm": np.matmul, "bmm": np.matmul, "matmul": np.matmul,
    "addmm": lambda bias, a, b, **kw: bias + a @ b,
    "linear": lambda x, w, b=None, **kw: x @ w.T + (0 if b is None else b),
    "div": np.true_divide, "true_divide": np.true_divide, "mul": np.multiply, "sub": np.subtract,
    "pow": np.power, "neg": np.negative, "rsqrt": lambda x: 1 / np.sqrt(x),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
    "clamp": lambda x, min=None, max=None: np.clip(x, min, max),
    "sum": _reduce(np.sum), "mean": _reduce(np.mean), "prod": _reduce(np.prod), "amax": _reduce(np.amax),
    "amin": _reduce(np.amin), "cumsum": _reduce(np.cumsum), "cumprod": _reduce(np.cumprod),
    "argmax": _reduce(np.argmax), "argmin": _reduce(np.argmin), "std": _reduce(np.std), "var": _reduce(np.var),
    "logsumexp": lambda x, dim=None, keepdim=False: np.log(np.sum(np.exp(x), axis=dim, keepdims=keepdim)),
    "sort": lambda x, dim=-1, **kw: np.sort(x, axis=dim), "argsort": lambda x, dim=-1, **kw: np.argsort(x, axis=dim),
    "contiguous": np.ascontiguousarray, "t": np.transpose, "transpose": np.swapaxes,
    "where": np.where, "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "dot": np.dot,
}


def _to_numpy(x):
    if isinstance(x, Tensor):
        return np.array(x._host())
    if isinstance(x, (list, tuple)):
        return type(x)(_to_numpy(v) for v in x)
    if isinstance(x, _dt.dtype):
        return x.np
    return x


def _outputs(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


def _shape(r):
    return tuple(getattr(r, "shape", np.shape(r)))


def numpy_peer(op, args, kwargs, expected_shape):
    """A zero-argument callable running the op's NumPy peer on copies of the inputs, or None."""
    np_args = [_to_numpy(a) for a in args]
    np_kw = {k: _to_numpy(v) for k, v in kwargs.items() if k not in ("device", "out")}
    candidates = []
    if op.extra.get("numpy") is not None:
        candidates.append(op.extra["numpy"])
    if op.name in NUMPY_PEERS:
        candidates.append(NUMPY_PEERS[op.name])
    generic = getattr(np, op.name, None)
    if callable(generic):
        candidates.append(lambda *a, **kw: generic(*a, **_axis_kw(kw)))
    for fn in candidates:
        try:
            with np.errstate(all="ignore"):
                r = fn(*np_args, **np_kw)
        except Exception:  # noqa: BLE001 - a candidate that does not fit the call is not a peer
            continue
        if _shape(_outputs(r)[0]) == tuple(expected_shape):
            def run(fn=fn):
                with np.errstate(all="ignore"):
                    return fn(*np_args, **np_kw)
            return run
    return None


def import_torch():
    """PyTorch when installed (a peer only; tritorch itself never imports it)."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch  # noqa: PLC0415
    except Exception:  # noqa: BLE001 - a broken install is no peer
        return None
    return torch


def torch_device(device: str, torch) -> str | None:
    """The torch device that peers `device`, or None (no cuda torch, or cuda under the interpreter)."""
    if not str(device).startswith("cuda"):
        return "cpu"
    from .timer import uses_gpu_events
    if uses_gpu_events(device) and torch.cuda.is_available():
        return "cuda"
    return None


def to_torch(torch, x, device: str, requires_grad: bool = False):
    if isinstance(x, Tensor):
        a = np.array(x._host())
        if x.dtype is _dt.bfloat16:
            t = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
        else:
            t = torch.from_numpy(a)
        t = t.to(device)
        if requires_grad and x.dtype.kind == _dt.FLOAT:
            t.requires_grad_(True)
        return t
    if isinstance(x, _dt.dtype):
        return getattr(torch, x.name)
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch(torch, v, device, requires_grad) for v in x)
    return x


def torch_peer(op, args, kwargs, device: str, torch, backward: bool = False, expected_shape=None):
    """(callable, its stream handle or None) running op.extra['torch'] on torch copies of the inputs, or None."""
    fn = op.extra.get("torch")
    tdev = torch_device(device, torch) if torch is not None else None
    if fn is None or tdev is None:
        return None
    grad_inputs = op.extra.get("grad_inputs")   # (inputs without a derivative stay constants, as ours do)
    t_args = [to_torch(torch, a, tdev, backward and (grad_inputs is None or i in grad_inputs))
              for i, a in enumerate(args)]
    t_kw = {k: (tdev if k == "device" else to_torch(torch, v, tdev)) for k, v in kwargs.items() if k != "out"}
    try:
        r = _outputs(fn(torch, *t_args, **t_kw))[0]
    except Exception:  # noqa: BLE001 - torch does not take this call (dtype not implemented on cpu, ...)
        return None
    if expected_shape is not None and tuple(r.shape) != tuple(expected_shape):
        return None
    if not backward:
        def run():
            return fn(torch, *t_args, **t_kw)
    else:
        leaves = [t for t in _flat(t_args) if getattr(t, "requires_grad", False)]
        if not leaves or not r.dtype.is_floating_point:
            return None
        ones = torch.ones_like(r)

        def run():
            for t in leaves:
                t.grad = None
            _outputs(fn(torch, *t_args, **t_kw))[0].backward(ones)
    stream = torch.cuda.current_stream().cuda_stream if tdev == "cuda" else None
    return run, stream


def _flat(xs):
    for x in xs:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x
