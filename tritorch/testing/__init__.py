"""tritorch.testing: the checks every registered op gets, public so that a user's custom op gets them too.

    from tritorch.testing import check_op
    check_op("my_op")              # every device x declared dtype x sample: vs the float64 reference,
                                   # cuda vs cpu, result dtype/shape vs PyTorch's where torch is installed,
                                   # and on the meta device the shapes/dtypes (views: strides) the cpu gave

`assert_values_close` (the project's own tests' comparison) takes a Tensor against a NumPy array or a list too,
with PyTorch's default tolerances per dtype (fp32 rtol 1.3e-6 / atol 1e-5, fp16 1e-3, bf16 1.6e-2, integers and
bools exact), atol scaled by the sample's reduction length.

PyTorch's public functions are here as in torch.testing: `assert_close` (its signature, defaults, pairing rules
and messages), `make_tensor`, and the deprecated `assert_allclose`.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np

from .. import dtypes as _dt
from ..backends import cuda as _cuda
from ..backends.meta import MetaArray, MetaStorage, ValueDependentShape
from ..device import CPU, META, as_device
from ..ops import registry
from ..tensor import Tensor, _make
from ._comparison import assert_allclose, assert_close  # noqa: F401  (torch.testing's public functions)
from ._creation import make_tensor  # noqa: F401

TOLERANCES = {
    _dt.float64: (1e-7, 1e-7),
    _dt.float32: (1.3e-6, 1e-5),
    _dt.float16: (1e-3, 1e-5),
    _dt.bfloat16: (1.6e-2, 1e-5),
}


def default_tolerance(dtype: _dt.dtype, reduction_size: int = 1) -> tuple[float, float]:
    """(rtol, atol) for results of `dtype` (a complex dtype: its parts'); atol grows with the number of terms summed
    into each element."""
    dtype = dtype.to_real()
    if dtype.kind != _dt.FLOAT:
        return 0.0, 0.0
    rtol, atol = TOLERANCES[dtype]
    scale = max(1.0, math.sqrt(reduction_size)) if reduction_size > 1 else 1.0
    if dtype in (_dt.float16, _dt.bfloat16):
        # a half-precision result is rounded once to its own precision: absolute error up to rtol near zero
        atol = max(atol, rtol)
    return rtol, atol * scale


def to_numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._host()
    return np.asarray(x)


def assert_values_close(actual, expected, *, rtol=None, atol=None, equal_nan=True, check_dtype=False,
                        msg="") -> None:
    """Raise AssertionError naming the worst element when |actual - expected| > atol + rtol*|expected|."""
    a_dtype = actual.dtype if isinstance(actual, Tensor) else None
    a = to_numpy(actual)
    e = to_numpy(expected)
    if check_dtype and isinstance(expected, Tensor) and a_dtype is not expected.dtype:
        raise AssertionError(f"{msg} dtype mismatch: {a_dtype} vs {expected.dtype}")
    if a.shape != e.shape:
        raise AssertionError(f"{msg} shape mismatch: {a.shape} vs {e.shape}")
    if rtol is None or atol is None:
        r, t = default_tolerance(a_dtype or _dt.from_numpy_dtype(a.dtype) if a.dtype.kind != "O" else _dt.float64)
        rtol = r if rtol is None else rtol
        atol = t if atol is None else atol
    if a.size == 0:
        return
    if a.dtype.kind in "biu" and e.dtype.kind in "biu" and rtol == 0 and atol == 0:
        bad = a != e
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise AssertionError(f"{msg} values differ at {idx}: {a[idx]!r} vs {e[idx]!r} "
                                 f"({int(bad.sum())} of {a.size} elements)")
        return
    if a.dtype.kind == "c" or e.dtype.kind == "c":   # complex: each part within the tolerance
        a_parts, e_parts = np.asarray(a, np.complex128), np.asarray(e, np.complex128)
        for name, pa, pe in (("real", a_parts.real, e_parts.real), ("imag", a_parts.imag, e_parts.imag)):
            assert_values_close(pa, pe, rtol=rtol, atol=atol, equal_nan=equal_nan, msg=f"{msg} ({name} parts)")
        return
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    both_nan = np.isnan(a64) & np.isnan(e64) if equal_nan else np.zeros(a.shape, bool)
    same_inf = np.isinf(a64) & (a64 == e64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a64 - e64)
        bad = ~(diff <= atol + rtol * np.abs(e64)) & ~both_nan & ~same_inf
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        worst = np.nanmax(np.where(bad, diff, 0))
        raise AssertionError(f"{msg} values not close at {idx}: {a64[idx]!r} vs {e64[idx]!r} "
                             f"(rtol={rtol}, atol={atol}; {int(bad.sum())} of {a.size} elements differ, "
                             f"largest difference {worst:.3g})")


# ----------------------------------------------------------------------------------------- the op checks

def devices() -> list[str]:
    """The devices tests run on: cpu, and cuda when a GPU or the interpreter is available."""
    return ["cpu", "cuda"] if _cuda.is_available() else ["cpu"]


def _ref_arg(x, native=False):
    """A reference's view of an argument: float tensors as float64 arrays, complex ones as complex128, or
    (`native`, for an op whose reference needs the bits, such as view_dtype: op.extra["ref_native_inputs"]) every
    tensor in its own dtype."""
    if isinstance(x, Tensor):
        a = x._host()
        if native:
            return np.array(a)
        if x.dtype.kind == _dt.COMPLEX:
            return a.astype(np.complex128)
        return a.astype(np.float64) if x.dtype.kind == _dt.FLOAT else np.array(a)
    if isinstance(x, (list, tuple)):
        return type(x)(_ref_arg(v, native) for v in x)
    return x


def _to_cpu_arg(x):
    if isinstance(x, Tensor):
        from ..ops.copy import to_device
        return to_device(x, CPU)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_cpu_arg(v) for v in x)
    return x


def _kw_cpu(kwargs):
    return {k: (CPU if k == "device" else _to_cpu_arg(v)) for k, v in kwargs.items()}


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _torch():
    if importlib.util.find_spec("torch") is None:
        return None
    import torch  # noqa: PLC0415 - the oracle is optional and imported only by tests
    return torch


def _torch_arg(torch, x):
    if isinstance(x, Tensor):
        a = x._host()
        if x.dtype is _dt.bfloat16:
            return torch.from_numpy(np.array(a.astype(np.float32))).to(torch.bfloat16)
        return torch.from_numpy(np.array(a))
    if isinstance(x, _dt.dtype):
        return getattr(torch, x.name)
    if isinstance(x, (list, tuple)):
        return type(x)(_torch_arg(torch, v) for v in x)
    return x


def check_torch_meta(op, sample, result) -> None:
    """Result dtype and shape as PyTorch gives them (skipped when torch is not installed or the op names no
    torch counterpart in op.extra['torch'])."""
    torch_fn = op.extra.get("torch")
    torch = _torch() if torch_fn is not None else None
    if torch is None:
        return
    args = [_torch_arg(torch, a) for a in sample.args]
    kwargs = {k: _torch_arg(torch, v) for k, v in sample.kwargs.items() if k != "device"}
    if "device" in sample.kwargs:
        kwargs["device"] = "cpu"
    expected = torch_fn(torch, *args, **kwargs)
    for r, e in zip(_outputs(result), _outputs(expected)):
        assert tuple(r.shape) == tuple(e.shape), f"{op.name}[{sample.name}]: shape {tuple(r.shape)}, torch {tuple(e.shape)}"
        assert r.dtype.name == str(e.dtype).removeprefix("torch."), \
            f"{op.name}[{sample.name}]: dtype {r.dtype.name}, torch {e.dtype}"


def check_sample(op, sample, device, dtype) -> None:
    """One sample on one device: the result against the float64 reference, and (cuda) against cpu."""
    label = f"{op.name}[{device}, {dtype.name}, {sample.name}]"
    result = op(*sample.args, **sample.kwargs)
    outs = _outputs(result)
    for o in outs:
        assert isinstance(o, Tensor), f"{label}: result is {type(o).__name__}, not a Tensor"
        assert o.device == as_device(device), f"{label}: result on {o.device}, expected {device}"
    if op.ref is not None and sample.compare_ref:
        native = op.extra.get("ref_native_inputs", False)
        refs = op.ref(*[_ref_arg(a, native) for a in sample.args],
                      **{k: _ref_arg(v, native) for k, v in sample.kwargs.items()})
        for i, (o, r) in enumerate(zip(outs, _outputs(refs))):
            r = np.asarray(r)
            rtol, atol = op.tolerances.get(o.dtype, default_tolerance(o.dtype, sample.reduction_size))
            if o.dtype.kind == _dt.FLOAT:
                r = r.astype(np.float64)
            elif o.dtype.kind == _dt.COMPLEX:
                r = r.astype(np.complex128)
            elif o.dtype is _dt.bool_:
                r = r.astype(np.bool_)
            else:
                r = r.astype(o.dtype.np) if r.dtype.kind in "biu" else np.trunc(r).astype(o.dtype.np)
            assert_values_close(o, r, rtol=rtol, atol=atol, msg=f"{label} output {i} vs float64 reference:")
    if device != "cpu":
        expected = op(*_to_cpu_arg(sample.args), **_kw_cpu(sample.kwargs))
        for i, (o, e) in enumerate(zip(outs, _outputs(expected))):
            assert o.dtype is e.dtype, f"{label} output {i}: cuda dtype {o.dtype}, cpu dtype {e.dtype}"
            if o.dtype.kind >= _dt.FLOAT:
                rtol = max(op.cross_device_rtol, default_tolerance(o.dtype)[0])
                _, atol = default_tolerance(o.dtype, sample.reduction_size)
                assert_values_close(o, e, rtol=rtol, atol=max(atol, rtol * 1e-2),
                             msg=f"{label} output {i}, cuda vs cpu:")
            else:
                assert_values_close(o, e, rtol=0, atol=0, msg=f"{label} output {i}, cuda vs cpu:")
    check_torch_meta(op, sample, result)
    if device == "cpu":
        check_meta_device(op, sample, result)


def to_meta_arg(x):
    """A cpu sample argument on the meta device, laid out as it is (shape, strides, offset); containers too."""
    if isinstance(x, Tensor):
        from ..ops.movement import _storage_elements
        storage = MetaStorage(_storage_elements(x) * x.dtype.itemsize)
        return _make(MetaArray(storage, tuple(x.shape), tuple(x.stride()), x.storage_offset(), x.dtype.np), x.dtype,
                     META)
    if isinstance(x, (list, tuple)):
        return type(x)(to_meta_arg(v) for v in x)
    return x


def check_meta_device(op, sample, result) -> None:
    """The op on the meta device gives the shapes and dtypes its cpu `result` has (views: the same strides and
    offset too), or, where infer leaves a size to the values (None), refuses with NotImplementedError."""
    args = to_meta_arg(sample.args)
    kwargs = {k: (META if k == "device" else to_meta_arg(v)) for k, v in sample.kwargs.items()}
    label = f"{op.name}[meta, {sample.name}]"
    try:
        meta_result = op(*args, **kwargs)
    except ValueDependentShape:   # raised only where an infer left a size to the values (nonzero, boolean masks)
        return
    outs, expected = _outputs(meta_result), _outputs(result)
    assert len(outs) == len(expected), f"{label}: {len(outs)} outputs, cpu gave {len(expected)}"
    for i, (m, e) in enumerate(zip(outs, expected)):
        assert isinstance(m, Tensor) and m.device is META, f"{label} output {i}: {m!r} is not a meta tensor"
        assert tuple(m.shape) == tuple(e.shape), f"{label} output {i}: shape {tuple(m.shape)}, cpu {tuple(e.shape)}"
        assert m.dtype is e.dtype, f"{label} output {i}: dtype {m.dtype}, cpu {e.dtype}"
        if op.view and e.numel() > 1:
            assert (m.stride(), m.storage_offset()) == (e.stride(), e.storage_offset()), \
                f"{label} output {i}: strides/offset {m.stride()}/{m.storage_offset()}, cpu {e.stride()}/" \
                f"{e.storage_offset()}"


def check_op(op, devices_=None, dtypes=None) -> int:
    """Run every check on every device, declared dtype and sample of `op` (an OpDef or a registered name).
    Returns the number of samples checked; raises AssertionError on the first failure."""
    op = registry.get(op) if isinstance(op, str) else op
    count = 0
    for device in devices_ or devices():
        for dtype in dtypes or op.dtypes:
            for sample in op.samples(device, dtype):
                check_sample(op, sample, device, dtype)
                count += 1
    return count


# ------------------------------------------------------------------------------------------ gradient checks

GRADCHECK_MAX_ELEMENTS = 40  # gradcheck costs one backward per output element and two forwards per input element


def _float_tensor_args(sample):
    out = []
    for a in sample.args:
        if isinstance(a, Tensor) and a.dtype.kind == _dt.FLOAT:
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, Tensor) and x.dtype.kind == _dt.FLOAT)
    return out


def grad_positions(op, args) -> list:
    """Positions of the args the generated gradient tests differentiate in: every float tensor (or list of them),
    or only those an op declares in `extra["grad_inputs"]` (igamma: x; PyTorch has no derivative in a)."""
    declared = op.extra.get("grad_inputs")
    return [i for i, a in enumerate(args) if declared is None or i in declared]


def _leafify(args, requires=True, positions=None):
    """Fresh leaf copies of the float tensor args (requires_grad: those at `positions`, default all), other args
    as given."""
    from ..ops.copy import clone_op

    def conv(a, grad):
        if isinstance(a, Tensor):
            c = clone_op(a.detach()) if hasattr(a, "detach") else clone_op(a)
            if a.dtype.kind == _dt.FLOAT and requires and grad:
                c.requires_grad_(True)
            return c
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            return type(a)(conv(x, grad) for x in a)
        return a

    return [conv(a, positions is None or i in positions) for i, a in enumerate(args)]


def _flat_leaves(args):
    leaves = []
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            leaves.append(a)
        elif isinstance(a, (list, tuple)):
            leaves.extend(x for x in a if isinstance(x, Tensor) and x.requires_grad)
    return leaves


def gradcheck_sample(op, sample, double: bool) -> bool:
    """gradcheck (and gradgradcheck when `double`) of one float64 cpu sample; False when the sample is too big."""
    from ..autograd.gradcheck import gradcheck, gradgradcheck
    floats = _float_tensor_args(sample)
    if not sample.differentiable or not floats or sum(t.numel() for t in floats) > GRADCHECK_MAX_ELEMENTS:
        return False
    args = _leafify(sample.args, positions=grad_positions(op, sample.args))
    kwargs = sample.kwargs
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    list_pos = [i for i, a in enumerate(args) if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor)]
    wrap = op.extra.get("grad_input_wrapper")

    def fn(*leaves):
        call = list(args)
        it = iter(leaves)
        for i in positions:
            call[i] = next(it)
        for i in list_pos:
            call[i] = type(args[i])(next(it) for _ in args[i])
        if wrap is not None:  # ops that read part of an input (one triangle) see it through the op's own map
            call = list(wrap(tuple(call)))
        outs = op(*call, **kwargs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return tuple(o for o in outs if o.dtype.kind == _dt.FLOAT)

    leaves = [args[i] for i in positions] + [x for i in list_pos for x in args[i]]
    gradcheck(fn, leaves)
    if double:
        gradgradcheck(fn, leaves)
    return True


def grads_on(op, sample, device_args=None):
    """Gradients of sum(outputs * fixed weights) w.r.t. the float tensor args of a sample."""
    from ..autograd.tensor_methods import grad as autograd_grad
    if not sample.differentiable:
        return None
    args = sample.args if device_args is None else device_args
    args = _leafify(args, positions=grad_positions(op, args))
    outs = op(*args, **sample.kwargs)
    outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.dtype.kind == _dt.FLOAT and o.requires_grad]
    leaves = _flat_leaves(args)
    if not outs or not leaves:
        return None
    weights = []
    for k, o in enumerate(outs):
        w = np.cos(np.arange(o.numel(), dtype=np.float64) + k).reshape(o.shape).astype(o.dtype.np)
        from ..ops.creation import tensor
        weights.append(tensor(w, dtype=o.dtype, device=o.device))
    return autograd_grad(outs, leaves, weights, allow_unused=True), leaves
