"""The op registry: one declaration per op holds everything about it.

An `OpDef` carries
  name, family       how the op is known, and the file that declares it
  infer(*args, **kw) the shape/dtype/device rule: validates the call with PyTorch's errors and returns a `Meta`
                     (output shape(s), dtype(s), device, plus any op-specific decisions the impls share). It runs
                     before any kernel, on every device.
  impl["cpu"]        the NumPy fallback:   impl(meta, *args, out=None, **kw) -> np.ndarray (or a tuple)
  impl["cuda"]       the Triton launcher:  impl(meta, *args, out=None, **kw) -> CudaArray (or a tuple); it
                     launches Triton kernels only: no NumPy and no host round trip inside it.
  impl["meta"]       made by the registry (`meta_impl`): storage-less MetaArrays of the shapes `infer` decided
                     (a view op's cuda impl builds its views' strides); where infer leaves a size to the values
                     (None), it raises ValueDependentShape.
                     impls get the call's own arguments (Tensors stay Tensors) and return raw storage; `out`,
                     when the op supports it, is the raw storage to write into.
  vjp                the backward rule, written in registered ops on Tensors (filled by the autograd layer)
  ref(*arrays, **kw) a plain float64 NumPy formula, independent of the fallback where possible
  samples(device, dtype) -> iterable of `Sample`: OpInfo-style inputs the generated tests and benchmarks use
  bench              a `BenchSpec`: sizes, bytes moved and flops per call
  dtypes             the dtypes the op accepts (the generated tests run each); complex tensors reach only ops
                     that list a complex dtype here: the registry refuses them for the others before infer
  view               True when the result shares storage with input 0 (views share its version counter)

Dispatch is one `infer` call and one dict lookup by device type; no per-call reflection.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .. import _state
from ..backends.cuda import CudaArray
from ..backends.meta import MetaArray, ValueDependentShape
from .. import dtypes as _dt
from ..device import CPU, device
from ..tensor import Tensor, _make, _seen_writes

_REGISTRY: dict[str, "OpDef"] = {}
_GRAD = _state.GRAD
_FLAGS = _state.FLAGS


class Meta:
    """What `infer` decided: output shape(s) and dtype(s), the device, and op-specific extras (`aux`)."""

    __slots__ = ("shape", "dtype", "device", "aux")

    def __init__(self, shape, dtype, device, aux=None):
        self.shape = shape
        self.dtype = dtype
        self.device = device
        self.aux = aux

    def __repr__(self) -> str:
        return f"Meta(shape={self.shape}, dtype={self.dtype}, device={self.device}, aux={self.aux})"


@dataclass
class Sample:
    """One sample call: positional args (Tensors or Python values), keyword args, and a label for test ids."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    # Elements summed into each output element (scales atol for reductions and matmul).
    reduction_size: int = 1
    # Skip the comparison against the float64 reference (for ops whose result is not a function of the inputs
    # alone, such as random ops) - the test still checks shape, dtype and device.
    compare_ref: bool = True
    # False where the op's backward refuses this call by design (linalg.qr with mode='r'): the generated gradient
    # tests leave the sample out, and the op's own tests check the error.
    differentiable: bool = True


@dataclass
class BenchSpec:
    """How the perf suite times an op: make(size, device, dtype) -> (args, kwargs); bytes and flops per call."""

    sizes: tuple
    make: Callable
    bytes: Callable | None = None      # bytes(size, dtype) -> bytes read + written
    flops: Callable | None = None      # flops(size) -> floating-point operations
    dtypes: tuple = ()
    # Also time forward+backward where the op is differentiable. False for a backward op, whose own backward is a
    # double backward: the forward op's fwd+bwd row already times it on the training path.
    backward: bool = True


@dataclass(eq=False)
class OpDef:
    name: str
    infer: Callable
    impl: dict
    family: str = ""
    ref: Callable | None = None
    samples: Callable | None = None
    bench: BenchSpec | None = None
    dtypes: tuple = _dt.ALL
    vjp: Callable | None = None
    differentiable: bool = True
    double_backward: bool = True
    view: bool = False
    supports_out: bool = False
    n_outputs: int = 1
    # Per-dtype tolerance overrides {dtype: (rtol, atol)} for ops whose float error exceeds the defaults.
    tolerances: dict = field(default_factory=dict)
    # cuda vs cpu comparisons may differ by this much (fp32 TF32 matmul, different summation orders).
    cross_device_rtol: float = 1e-3
    doc: str = ""
    # Samples that the interpreter cannot run (e.g. bf16 arithmetic) are marked by the op's samples instead.
    extra: dict = field(default_factory=dict)
    # An optional shortcut fast(*args, **kw) -> Tensor | None for the commonest call shapes (same-dtype cpu
    # operands, no out=; for layer_norm/rms_norm also cuda calls of a signature infer has validated). It must
    # give exactly what infer + impl give, or None to take the full path (which also raises the errors).
    # Dispatch cost of small ops is dominated by Python work, so it pays.
    fast: Callable | None = None
    # What the vjp needs saved: "inputs" (default), "output" (e.g. exp, sigmoid), "both", or "none".
    save: str = "inputs"
    # Positional arguments may be lists of tensors (cat, stack): autograd scans inside them.
    list_input: bool = False
    # What an autocast region does to the op's floating tensor arguments: "lower" (float32 ones to the region's
    # dtype: matmuls, convolutions, attention), "fp32" (float16/bfloat16 ones to float32: reductions, norms,
    # losses, exp/log...), "promote" (all to the widest), or None (run as given); or a dict of those by device
    # type ({"cuda": "lower"}: run as given elsewhere). tritorch.amp sets the built-in ops' policies from
    # PyTorch's lists; a custom op may declare its own.
    autocast: "str | dict | None" = None
    # The op that takes this op's calls with a complex operand (ops/complex.py sets add's, mul's, sum's, ...);
    # None: such calls are refused (unless `dtypes` lists a complex dtype: then the op takes them itself).
    complex_op: "OpDef | None" = None

    def __post_init__(self):
        self.takes_complex = any(d.kind == _dt.COMPLEX for d in self.dtypes)
        if "meta" not in self.impl:
            self.impl["meta"] = meta_impl(self)
        self._impls = self.impl  # the dispatch table (one dict lookup by device type)
        bind = getattr(self.fast, "bind", None)
        if bind is not None:  # a shortcut that records under autograd needs its op
            bind(self)

    def __call__(self, *args, out=None, **kwargs):
        if _FLAGS.sparse:     # False until a program makes a sparse tensor (tritorch.sparse sets SPARSE_CALL then)
            r = SPARSE_CALL[0](self, args, kwargs, out)
            if r is not NotImplemented:
                return r
        if _FLAGS.subclass:   # False until a program subclasses Tensor or enters a TorchFunctionMode
            if not _TORCH_FUNCTION_STATE.depth or TORCH_FUNCTION_MODES:
                r = _subclass_call(self, args, kwargs, out)
                if r is not NotImplemented:
                    return r
            args, kwargs = plain_tensors(args), {k: plain_tensors((v,))[0] for k, v in kwargs.items()}
        if _FLAGS.complex and not self.takes_complex:   # False until a program names a complex dtype
            alt = complex_variant(self, args, kwargs, out)
            if alt is not None:
                return alt(*args, out=out, **kwargs)
        if _FLAGS.autocast and self.autocast is not None:
            args, kwargs = _state.autocast_args(self.autocast, args, kwargs)
        if self.fast is not None and out is None:
            r = self.fast(*args, **kwargs)
            if r is not None:
                return r
        try:
            meta = self.infer(*args, **kwargs)
        except _dt.ComplexOperand:   # a Python complex met before the program named a complex dtype: now it has
            return self(*args, out=out, **kwargs)
        if out is None:
            raw = self._impls[meta.device.type](meta, *args, **kwargs)
            if self.n_outputs == 1:
                if raw.__class__ is not np.ndarray and raw.__class__ not in _STORAGE:
                    raw = np.asarray(raw, meta.dtype.np)  # NumPy gives scalars for 0-dim results
                r = _make(raw, meta.dtype, meta.device)
                if self.view:
                    base = args[0]
                    r._version = base._version
                    r._base = root = base if base._base is None else base._base
                    if root._extra is not None:
                        _seen_writes(r, root)
            else:
                r = tuple(_make(a if a.__class__ in _STORAGE else np.asarray(a, d.np), d, meta.device)
                          for a, d in zip(raw, meta.dtype))
                if self.view:  # split/unbind: every piece is a view of input 0
                    base = args[0]
                    root = base if base._base is None else base._base
                    for t in r:
                        t._version = base._version
                        t._base = root
                        if root._extra is not None:
                            _seen_writes(t, root)
            if (not _FLAGS.grad_off or _GRAD.enabled) and self.differentiable:
                if self.list_input:
                    _state.recorder(self, args, kwargs, r, meta)
                else:
                    for a in args:
                        if a.__class__ is Tensor and a._requires_grad:
                            _state.recorder(self, args, kwargs, r, meta)
                            break
                if kwargs:
                    _check_keyword_tensors(self, kwargs)
            return r
        return _call_out(self, meta, args, kwargs, out)


_STORAGE = (np.ndarray, CudaArray, MetaArray)


# tritorch.sparse's rules for calls with a sparse operand (registry_call), bound when that module loads: the
# registry cannot import it (it imports the registry)
SPARSE_CALL = [None]


# ---------------------------------------------------------------------------------- __torch_function__

class _TorchFunctionState(threading.local):
    # depth > 0 while Tensor.__torch_function__'s default runs an op in this thread: the calls inside take
    # subclass instances as plain tensors instead of dispatching to __torch_function__ again
    depth = 0


_TORCH_FUNCTION_STATE = _TorchFunctionState()


def _subclass_types(values, found: list) -> list:
    for v in values:
        c = v.__class__
        if c is list or c is tuple:
            _subclass_types(v, found)
        elif c is not Tensor and isinstance(v, Tensor) and c not in found:
            found.append(c)
    return found


class _TorchFunction:
    """The op as the `func` a __torch_function__ override receives: callable like the torch function."""
    __slots__ = ("op", "__name__")

    def __init__(self, op):
        self.op, self.__name__ = op, op.name

    def __call__(self, *args, **kwargs):
        return self.op(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<tritorch op {self.__name__}>"


# The active TorchFunctionModes (tritorch.overrides), innermost last: while one is active FLAGS.subclass is set,
# so every op call comes through _subclass_call, which hands it to the innermost mode first.
TORCH_FUNCTION_MODES: list = []


def _subclass_call(op: OpDef, args, kwargs, out):
    """PyTorch's __torch_function__ protocol: the innermost TorchFunctionMode, if any, gets the call (itself
    removed from the stack meanwhile, so that the ops it runs go on to the next); then for calls with Tensor
    subclass operands the subclass's override (or Tensor's default: the op on plain tensors, results as the
    subclass) decides the result. NotImplemented when neither applies."""
    if TORCH_FUNCTION_MODES:
        mode = TORCH_FUNCTION_MODES.pop()
        try:
            if out is not None:
                kwargs = dict(kwargs, out=out)
            types = tuple(_subclass_types(args, _subclass_types(kwargs.values(), [])))
            return mode.__torch_function__(_TorchFunction(op), types, args, kwargs)
        finally:
            TORCH_FUNCTION_MODES.append(mode)
    types = _subclass_types(args, [])
    if kwargs:
        _subclass_types(kwargs.values(), types)
    if not types:
        return NotImplemented
    if out is not None:
        kwargs = dict(kwargs, out=out)
    cls = types[0]
    return cls.__torch_function__(_TorchFunction(op), tuple(types), args, kwargs)


def torch_function_default(cls, func, args, kwargs):
    """Tensor.__torch_function__: func on the operands as plain tensors; tensors it returns become instances of
    cls (a fresh result changes class; an operand returned as it is stays what it was), in tuples and lists too."""
    _TORCH_FUNCTION_STATE.depth += 1
    try:
        result = func(*args, **kwargs)
    finally:
        _TORCH_FUNCTION_STATE.depth -= 1
    given = {id(a) for a in args if isinstance(a, Tensor)} | {id(v) for v in kwargs.values() if isinstance(v, Tensor)}
    return _as_cls(result, cls, given)


def _as_cls(value, cls, given: set):
    if value.__class__ is Tensor:
        if id(value) not in given:
            value.__class__ = cls
        return value
    if value.__class__ in (tuple, list):
        return value.__class__(_as_cls(v, cls, given) for v in value)
    return value


def plain_tensors(values) -> tuple:
    """values with each instance of a Tensor subclass (in a list or tuple too) replaced by a plain Tensor that is
    the same tensor to autograd: the same data, version counter, base, grad_fn and leaf edge (made first, from
    the instance, so gradients accumulate into it). The recording code identifies tensors by their exact class
    (the hot path), which would otherwise take a subclass instance for a constant and drop its gradient. Results
    are then made instances of the subclass by Tensor.__torch_function__ (torch_function_default)."""
    out = []
    for v in values:
        c = v.__class__
        if c is not Tensor and isinstance(v, Tensor):
            v = _plain_alias(v)
        elif c is list or c is tuple:
            v = c(plain_tensors(v))
        out.append(v)
    return tuple(out)


def _plain_alias(t: Tensor) -> Tensor:
    from ..autograd.graph import accumulate_node
    if t._requires_grad and t.grad_fn is None:
        accumulate_node(t)
    p = object.__new__(Tensor)
    for name in ("_data", "dtype", "device", "_requires_grad", "grad_fn", "_grad", "_version", "_base", "_extra"):
        object.__setattr__(p, name, getattr(t, name))
    return p


def complex_variant(op: OpDef, args, kwargs, out=None) -> "OpDef | None":
    """For an op that does not take complex numbers itself: None when no operand is complex, else the op's complex
    form (`op.complex_op`), else PyTorch's error for a kernel without a complex dtype. Complex operands: complex
    tensors (in a list operand, a keyword or `out` too), Python complex numbers, and a complex `dtype` argument.
    Checked before infer, so no op meets a dtype its rules and kernels do not know. (Runs on every call once a
    program uses complex numbers: the common operands, real tensors and plain numbers, are passed over first.)"""
    found = _scan(args)
    if found is None and kwargs:
        found = _scan(kwargs.values())
    if found is None and out is not None:
        found = _scan((out,))
    if found is None:
        return None
    if op.complex_op is None:
        raise RuntimeError(f'"{op.name}" not implemented for \'{_type_name(found)}\'')
    return op.complex_op


_COMPLEX = _dt.COMPLEX
_PLAIN = frozenset((int, float, bool, str, type(None)))


def _scan(values):
    """The complex dtype of the first complex operand among `values` (lists and tuples searched), or None; the
    common operands (real tensors, plain numbers, None) are passed over first."""
    for a in values:
        c = a.__class__
        if c is Tensor:
            if a.dtype.kind == _COMPLEX:
                return a.dtype
        elif c in _PLAIN:
            continue
        elif c is tuple or c is list:
            d = _scan(a)
            if d is not None:
                return d
        elif c is _dt.dtype:
            if a.kind == _COMPLEX:
                return a
        elif isinstance(a, complex):
            return _dt.get_default_dtype().to_complex()
        elif isinstance(a, Tensor):   # a Tensor subclass (Parameter)
            if a.dtype.kind == _COMPLEX:
                return a.dtype
        elif isinstance(a, (list, tuple)):
            d = _scan(a)
            if d is not None:
                return d
    return None


def meta_impl(op: OpDef) -> Callable:
    """The meta device's impl of `op`: a view op's cuda impl (views are stride arithmetic on the array's
    `view_as`, which a MetaArray has too), else fresh MetaArrays of the shapes and dtypes `infer` decided; an
    out=/in-place call has nothing to write."""
    if op.view:
        return op.impl["cuda"]
    name = op.name

    def meta_fresh(meta, *args, out=None, **kwargs):
        if out is not None:
            return out
        shapes = output_shapes(meta)
        for s in shapes:
            if None in s:
                raise ValueDependentShape(f"{name}: the shape of its output depends on its input's values, which "
                                          "a meta tensor does not have")
        if op.n_outputs == 1:
            return MetaArray.empty(shapes[0], meta.dtype.np)
        return tuple(MetaArray.empty(s, d.np) for s, d in zip(shapes, meta.dtype))
    return meta_fresh


def output_shapes(meta: Meta) -> tuple:
    """Each output's shape from an infer's Meta: one shape, or (several outputs) one each or one shared."""
    shapes = meta.shape
    if meta.dtype.__class__ is not tuple:
        return (shapes,)
    if shapes and shapes[0].__class__ is tuple:
        return shapes
    return (shapes,) * len(meta.dtype)


def _check_keyword_tensors(op: OpDef, kwargs) -> None:
    """Autograd records the Tensor operands an op gets positionally; one passed by keyword that requires grad
    would get no gradient, so it is an error (for op authors: pass tensor operands positionally)."""
    for k, v in kwargs.items():
        if v.__class__ is Tensor and v._requires_grad:
            raise RuntimeError(f"{op.name}: the tensor argument '{k}' requires grad but was passed by keyword; "
                               "autograd records the tensor operands an op gets positionally")


def _call_out(op: OpDef, meta: Meta, args, kwargs, out):
    if not op.supports_out:
        raise TypeError(f"{op.name}() got an unexpected keyword argument 'out'")
    check_out(op.name, meta, out, resize=not any(a is out for a in args))
    if _state.BEFORE_WRITE:
        for f in _state.BEFORE_WRITE:
            f(out)
    if (not _FLAGS.grad_off or _GRAD.enabled) and _needs_history(op, args, out):
        return _call_out_recorded(op, args, kwargs, out)
    op.impl[meta.device.type](meta, *args, out=out._data, **kwargs)
    out._version[0] += 1
    return out


def _needs_history(op: OpDef, args, out) -> bool:
    """Whether an out=/in-place call must go through autograd: an operand or the written tensor (or its base)
    requires grad."""
    if out._requires_grad or (out._base is not None and out._base._requires_grad):
        return True
    for a in args:
        if a.__class__ is Tensor:
            if a._requires_grad:
                return True
        elif op.list_input and isinstance(a, (list, tuple)):
            if any(x.__class__ is Tensor and x._requires_grad for x in a):
                return True
    return False


def _call_out_recorded(op: OpDef, args, kwargs, out):
    """An in-place/out= call under autograd: compute out of place (recording the op), write the result into
    `out`, and give `out` (and its base, when `out` is a view) the result's history (autograd/inplace.py). An
    operand that is `out` itself is first cloned, so the recorded op saves the value before the write."""
    _state.check_inplace(out)
    from .copy import clone_op

    def keep(a):
        if a is out:
            return clone_op(a)
        if op.list_input and isinstance(a, (list, tuple)):
            return type(a)(clone_op(x) if x is out else x for x in a)
        return a

    r = op(*(keep(a) for a in args), **kwargs)
    write_recorded(out, r)
    return out


def write_recorded(out: Tensor, value: Tensor) -> None:
    """Write `value` (already recorded by autograd) into `out` and rebase out's history onto it."""
    from .copy import copy_
    with _no_record():
        copy_(out, value)
    _state.rebase(out, value)


class _no_record:
    def __enter__(self):
        self.prev = _GRAD.enabled
        _GRAD.enabled = False

    def __exit__(self, *exc):
        _GRAD.enabled = self.prev


def check_out(name: str, meta: Meta, out: Tensor, resize: bool = False) -> None:
    """PyTorch's checks for `out=` and in-place writes: same device, a dtype the result can be cast to, the
    result's shape. resize (an out= tensor that is not also an operand): one of another shape is resized to the
    result's, as PyTorch resizes it (with its deprecation warning when it had elements: `torch.add(a, b,
    out=torch.empty(0))` is the idiom); an in-place write of another shape is an error."""
    if out.device is not meta.device:
        raise RuntimeError(f"Expected out tensor to be on {meta.device} but got {out.device} for {name}")
    if not can_cast(meta.dtype, out.dtype):
        raise RuntimeError(f"result type {_type_name(meta.dtype)} can't be cast to the desired output type "
                           f"{_type_name(out.dtype)}")
    shape = tuple(meta.shape)
    if tuple(out._data.shape) != shape:
        if not resize or out._base is not None or out._requires_grad:
            raise RuntimeError(f"output with shape {list(out._data.shape)} doesn't match the broadcast shape "
                               f"{list(shape)}")
        resize_out(out, shape)


def write_out(out, value: Tensor):
    """out.copy_(value) for the out= of a function composed of ops, returning out: an empty out (PyTorch's idiom,
    `out=torch.empty(0)`) takes the value's shape first, as PyTorch resizes it. Unlike check_out's, one with
    elements is not resized: these functions' out may be the operand of an in-place form, where another shape is
    an error (copy_ raises it)."""
    if (out.__class__ is Tensor and out._data.shape != value._data.shape and not out.numel() and out._base is None
            and not out._requires_grad):
        resize_out(out, tuple(value.shape))
    return out.copy_(value)


def resize_out(out: Tensor, shape: tuple) -> None:
    """out= of the wrong shape: new storage of `shape` (its values are about to be written), as PyTorch's
    resize_output, which warns when the tensor had elements."""
    if out.numel():
        import os
        import sys
        import warnings
        # attributed to the first caller outside tritorch (the call with out=), at whatever depth it called from
        package, frame, level = os.path.dirname(os.path.dirname(__file__)), sys._getframe(), 1
        while frame is not None and frame.f_code.co_filename.startswith(package):
            frame, level = frame.f_back, level + 1
        warnings.warn(f"An output with one or more elements was resized since it had shape {list(out._data.shape)}, "
                      f"which does not match the required output shape {list(shape)}. This behavior is deprecated, "
                      f"and in a future PyTorch release outputs will not be resized unless they have zero elements. "
                      f"You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                      f"t.resize_(0).", UserWarning, stacklevel=level)
    from .creation import empty_storage, fill_uninitialized, fills_uninitialized
    out._data = empty_storage(shape, out.dtype.np, out.device)
    if fills_uninitialized():
        fill_uninitialized(out)


def can_cast(src: _dt.dtype, dst: _dt.dtype) -> bool:
    """torch.can_cast: no complex -> real, no float -> integer, no non-bool -> bool."""
    if src.kind > dst.kind and src.kind >= _dt.FLOAT:
        return False
    if src.kind != _dt.BOOL and dst.kind == _dt.BOOL:
        return False
    return True


_TYPE_NAMES = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half", _dt.bfloat16: "BFloat16",
               _dt.int64: "Long", _dt.int32: "Int", _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte",
               _dt.bool_: "Bool", _dt.complex64: "ComplexFloat", _dt.complex128: "ComplexDouble",
               _dt.uint16: "UInt16", _dt.uint32: "UInt32", _dt.uint64: "UInt64"}


def _type_name(d: _dt.dtype) -> str:
    return _TYPE_NAMES[d]


# The autocast policies of the built-in ops (OpDef.autocast), after PyTorch's autocast op lists: "lower" for the
# matmuls, convolutions and attention; "fp32" where float16 would lose range or precision; "promote" where the
# inputs must agree. Set at registration, so the public wrappers that call an op's shortcut directly know
# whether autocast can concern them.
AUTOCAST_POLICIES = {
    **dict.fromkeys(("addmm", "bmm", "conv1d", "conv2d", "conv_transpose2d", "linear", "matmul", "mm",
                     "scaled_dot_product_attention"), "lower"),
    **dict.fromkeys(("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log2", "log1p", "reciprocal", "rsqrt",
                     "sinh", "tan", "pow", "softplus", "layer_norm", "group_norm", "rms_norm", "norm", "nll_loss",
                     "cross_entropy", "softmax", "log_softmax", "cumsum", "cumprod", "sum", "prod", "logsumexp"),
                    "fp32"),
    **dict.fromkeys(("addcdiv", "addcmul", "atan2", "dot", "index_put", "scatter_add", "cat", "stack"), "promote"),
}


def register(op: OpDef) -> OpDef:
    """Add an op to the registry (a user's custom op takes the same path). Names are unique."""
    if op.autocast is None:
        op.autocast = AUTOCAST_POLICIES.get(op.name)
    if op.name in _REGISTRY:
        raise ValueError(f"an op named {op.name!r} is already registered")
    missing = {"cpu", "cuda"} - set(op.impl)
    if missing:
        raise ValueError(f"op {op.name!r} needs both a NumPy fallback and a Triton implementation; missing: "
                         f"{sorted(missing)}")
    _REGISTRY[op.name] = op
    return op


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def get(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is registered") from None


def ops(family: str | None = None) -> list[OpDef]:
    return [op for op in _REGISTRY.values() if family is None or op.family == family]


# ------------------------------------------------------------------------------------ helpers for infer rules

def device_of(*tensors) -> device:
    """The common device of the tensor arguments, with PyTorch's mixed-device error.

    As in PyTorch, a 0-dim cpu tensor may join tensors on another device (it acts as a scalar)."""
    dev = None
    for t in tensors:
        if isinstance(t, Tensor):
            d = t.device
            if dev is None:
                dev = d
            elif d is not dev:
                return _mixed_device(tensors)
    return CPU if dev is None else dev


def _mixed_device(tensors) -> device:
    ts = [t for t in tensors if isinstance(t, Tensor)]
    others = {t.device for t in ts if t.device is not CPU}
    if len(others) == 1 and all(not t._data.shape for t in ts if t.device is CPU):
        return others.pop()
    first = next((t.device for t in ts if t.device is not CPU), ts[0].device)  # PyTorch names cuda first
    second = next(t.device for t in ts if t.device is not first)
    raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                       f"{first} and {second}!")


def broadcast_shapes(*shapes) -> tuple:
    """NumPy/PyTorch broadcasting with PyTorch's error message."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        off = ndim - len(s)
        for i, n in enumerate(s):
            j = off + i
            m = out[j]
            if m == n or n == 1:
                continue
            if m == 1:
                out[j] = n
                continue
            # name the first mismatching pair as PyTorch does (tensor a is the earlier operand)
            raise RuntimeError(f"The size of tensor a ({m}) must match the size of tensor b ({n}) at non-singleton "
                               f"dimension {j}")
    return tuple(out)


_BCAST_CACHE: dict = {}


def broadcast_pair(sa: tuple, sb: tuple) -> tuple:
    """Cached broadcast of two shapes (the hot path of every binary op)."""
    if sa == sb:
        return sa
    key = (sa, sb)
    r = _BCAST_CACHE.get(key)
    if r is None:
        r = broadcast_shapes(sa, sb)
        if len(_BCAST_CACHE) > 4096:
            _BCAST_CACHE.clear()
        _BCAST_CACHE[key] = r
    return r


def wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def wrap_dims(dim, ndim: int) -> tuple:
    """Normalise `dim` (None, an int, or a sequence) to a sorted tuple of non-negative dims; None means all."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (wrap_dim(dim, ndim),)
    dims = tuple(wrap_dim(d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(dims)) if dims else tuple(range(ndim))


def check_dtype(name: str, t: Tensor, allowed: Iterable) -> None:
    if t.dtype not in allowed:
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(t.dtype)}\'')


Any_ = Any
