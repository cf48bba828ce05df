"""tritorch.library: PyTorch's custom-op API (torch.library) over tritorch's op registry.

`custom_op("mylib::f", mutates_args=())` turns a Python function into a registered op (`registry.OpDef` named
"mylib::f"), so the profiler, FlopCounterMode's hooks, forward AD, the meta device and autograd see it like any
built-in op. The function's annotations (or `schema=`) give PyTorch's schema; calls bind to it, and every argument
that is not keyword-only reaches the OpDef positionally, so autograd sees each tensor argument (lists too).

- infer picks the device (PyTorch's mixed-device error) and refuses a device with no kernel before anything runs;
  the kernel runs below autograd (grad mode off; its tensors detached, so `x.numpy()` works as in PyTorch) and
  its output's shapes and dtypes become the call's Meta (no fake impl runs on a real device: the hot path is one
  bind, infer and the user's kernel).
- the meta device runs the fake impl (`register_fake`) on the meta tensors; without one it raises PyTorch's error.
- `register_autograd(backward, setup_context=...)`: setup_context runs in the forward of a call that records
  (grad mode on, an input requires grad) on a FunctionCtx kept in the call's Meta (`aux`), which the OpNode keeps;
  the op's vjp hands it to `backward`. Saved outputs are kept without their grad_fn (no reference cycle) and come
  back attached to the node, so double backward works when backward is written in differentiable tritorch ops.
- `triton_op` + `wrap_triton`: the function is the kernel on every device and its own fake impl; wrap_triton
  launches a @triton.jit kernel on the tensors' storage (cuda: the CudaArray tritorch's own launchers pass; cpu
  under TRITON_INTERPRET=1: the host memory, as the interpreter runs PyTorch's cpu tensors; meta: no launch).
- ops are reachable as `tritorch.ops.<namespace>.<name>` (also `.default`), as torch.ops.
"""
from __future__ import annotations

import collections.abc
import contextlib
import inspect
import sys
import threading
import types
import typing

import numpy as np

from . import dtypes as _dt
from ._state import GRAD as _GRAD
from .autograd import saved_hooks as _saved_hooks
from .autograd.function import FunctionCtx
from .autograd.graph import SavedTensor
from .backends import cuda as _cuda
from .backends.meta import ValueDependentShape
from .device import CPU, device as _device
from .ops import registry as _registry
from .tensor import Tensor, _make

__all__ = ["custom_op", "triton_op", "wrap_triton", "register_fake", "register_kernel", "register_autograd",
           "register_vmap", "opcheck", "infer_schema", "get_ctx", "define", "impl", "Library", "CustomOpDef",
           "OpCheckError"]

_OPS: dict[str, "CustomOpDef"] = {}   # qualname -> op
_NO_DEFAULT = inspect.Parameter.empty
_NONE_TYPE = type(None)


# ------------------------------------------------------------------------------------------------- schemas

class _Arg:
    """One schema argument: its name, schema type ("Tensor", "Tensor?[]", "float", ...), default, whether it is
    keyword-only or mutated, and what it holds for autograd (0 no tensors, 1 a tensor or None, 2 a tensor list)."""

    __slots__ = ("name", "type", "default", "kwonly", "mutable", "kind", "index")

    def __init__(self, name, type_, default=_NO_DEFAULT, kwonly=False, mutable=False, index=0):
        self.name, self.type, self.default, self.kwonly, self.mutable = name, type_, default, kwonly, mutable
        self.kind = (2 if "[]" in type_ else 1) if type_.startswith("Tensor") else 0
        self.index = index   # the position in the signature, which names the alias set of a mutated tensor

    def __str__(self):
        t = f"Tensor(a{self.index}!){self.type[6:]}" if self.mutable else self.type
        if self.default is _NO_DEFAULT:
            return f"{t} {self.name}"
        d = self.default
        d = f'"{d}"' if isinstance(d, (str, _device)) else d.name if isinstance(d, _dt.dtype) else d
        return f"{t} {self.name}={d}"


class _Schema:
    """What the op's calls bind to: args (positional-or-keyword first, then keyword-only) and return types."""

    def __init__(self, args: list, returns: list, returns_tuple: bool):
        self.args = args
        self.positional = [a for a in args if not a.kwonly]
        self.kwonly = [a for a in args if a.kwonly]
        self.returns = returns               # schema types; [] for None
        self.returns_tuple = returns_tuple   # "(Tensor, Tensor)" rather than "Tensor"

    @property
    def is_mutable(self) -> bool:
        return any(a.mutable for a in self.args)

    def __str__(self):
        parts = [str(a) for a in self.positional]
        if self.kwonly:
            parts += ["*"] + [str(a) for a in self.kwonly]
        if self.returns_tuple or not self.returns:   # (a 1-tuple is "((Tensor))", as PyTorch writes it)
            ret = f"({', '.join(self.returns)})" if len(self.returns) != 1 else f"(({self.returns[0]}))"
        else:
            ret = self.returns[0]
        return f"({', '.join(parts)}) -> {ret}"


def _base_types():
    from .types import Number
    return {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str", Number: "Scalar",
            _dt.dtype: "ScalarType", _device: "Device"}


_LIST_ELEMENTS = ("Tensor", "Tensor?", "SymInt", "float", "bool", "Scalar")


def _param_type(ann, fail) -> str:
    """PyTorch's schema type for a parameter annotation (infer_schema's table)."""
    base = _base_types()
    if ann in base:
        return base[ann]
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Union or origin is types.UnionType:
        rest = tuple(a for a in args if a is not _NONE_TYPE)
        inner = _param_type(rest[0], fail) if len(rest) == 1 else base.get(typing.Union[rest])  # (Number)
        if inner is not None and len(rest) == len(args):
            return inner
        if inner is not None and not inner.endswith("?"):
            return inner + "?"
    elif origin in (list, collections.abc.Sequence) and len(args) == 1:
        elem = _param_type(args[0], fail)
        if elem in _LIST_ELEMENTS:
            return elem + "[]"
    elif origin is tuple:
        fail(f"Parameter has unsupported type {ann}. We do not support Tuple inputs in schema. As a workaround, "
             "please try to use List instead.")
    fail(f"Parameter has unsupported type {ann}. The valid types are: Tensor, int, float, bool, str, Number, "
         "dtype, device, Optional of those, and lists of Tensor, int, float, bool or Number.")


def _return_types(ann, fail) -> tuple[list, bool]:
    """(schema return types, returns a tuple) for a return annotation. tritorch's ops return tensors, so scalar
    returns (int, float, bool), which PyTorch also allows, are refused here with a clear error."""
    if ann is None or ann is _NONE_TYPE:
        return [], False
    if ann is _NO_DEFAULT:
        fail("No return type annotation was provided. Please add one.")
    if ann is Tensor:
        return ["Tensor"], False
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (list, collections.abc.Sequence) and args == (Tensor,):
        return ["Tensor[]"], False
    if origin is tuple and args and all(a is Tensor for a in args):
        return ["Tensor"] * len(args), True
    fail(f"Return has unsupported type {ann}. The valid types in tritorch are Tensor, tuple[Tensor, ...], "
         "list[Tensor] and None (an op's outputs are tensors in tritorch's registry; return a 0-dim tensor in "
         "place of a Python number).")


def _annotations_namespace(fn) -> dict:
    """Names string annotations may use (from __future__ import annotations), as infer_schema resolves them."""
    from . import types as _types
    ns = {"Tensor": Tensor, "Optional": typing.Optional, "List": typing.List, "Sequence": typing.Sequence,
          "Union": typing.Union, "Tuple": typing.Tuple, "device": _device, "dtype": _dt.dtype, "types": _types}
    ns.update(getattr(fn, "__globals__", {}))
    return ns


def _schema_from_function(fn, mutates_args) -> _Schema:
    sig = inspect.signature(fn)

    def fail(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    if isinstance(mutates_args, str):
        if mutates_args != "unknown":
            raise ValueError("mutates_args must either be a sequence of the names of the arguments that are mutated "
                             "or the string 'unknown'. ")
    else:
        mutates_args = tuple(mutates_args)
    ns = _annotations_namespace(fn)

    def resolve(ann):
        if isinstance(ann, str):
            try:
                return eval(ann, ns)  # noqa: S307 - an annotation of the user's own function, as PyTorch does
            except Exception as e:
                fail(f"Unsupported type annotation {ann}. It is not a type. ({type(e).__name__}: {e})")
        return ann

    args = []
    for index, (name, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            fail("We do not support positional-only args, varargs, or varkwargs.")
        if p.annotation is _NO_DEFAULT:
            fail(f"Parameter {name} must have a type annotation.")
        try:
            t = _param_type(resolve(p.annotation), fail)
        except ValueError as e:
            raise ValueError(str(e).replace("Parameter has", f"Parameter {name} has", 1)) from None
        mutable = t.startswith("Tensor") and (mutates_args == "unknown" or name in mutates_args)
        if name in mutates_args and not t.startswith("Tensor"):
            fail(f"Parameter {name} is in mutable_args but only Tensors or collections of Tensors can be mutated")
        args.append(_Arg(name, t, p.default, p.kind == p.KEYWORD_ONLY, mutable, index))
    if mutates_args != "unknown":
        missing = set(mutates_args) - {a.name for a in args}
        if missing:
            fail(f"{missing} in mutates_args were not found in the custom op's signature. mutates_args should "
                 "contain the names of all args that the custom op mutates, or just the string 'unknown' if you "
                 "don't know.")
    returns, is_tuple = _return_types(resolve(sig.return_annotation), fail)
    return _Schema(args, returns, is_tuple)


def infer_schema(prototype_function, /, *, mutates_args, op_name: str | None = None) -> str:
    """torch.library.infer_schema: the schema string PyTorch infers from the function's type annotations."""
    s = str(_schema_from_function(prototype_function, mutates_args))
    return s if op_name is None else op_name + s


def _split_top(text: str) -> list:
    """Split at commas outside parentheses and brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _parse_default(text: str):
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    if text[:1] in "\"'":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    dt = getattr(_dt, text, None)
    if isinstance(dt, _dt.dtype):
        return dt
    if text.startswith("[") and text.endswith("]"):
        return [_parse_default(t) for t in _split_top(text[1:-1])]
    raise ValueError(f"unsupported default value {text!r} in schema")


def _parse_type(text: str) -> tuple[str, bool]:
    """(type without its alias annotation, mutated): "Tensor(a0!)[]" -> ("Tensor[]", True)."""
    if "(" in text:
        head, rest = text.split("(", 1)
        alias, tail = rest.split(")", 1)
        return head + tail, alias.endswith("!")
    return text, False


def _parse_schema(schema: str) -> _Schema:
    """A schema string, "(Tensor x, int y=2, *, float z) -> (Tensor, Tensor)" (an op name before it allowed)."""
    s = schema.strip()
    try:
        head, ret = s.rsplit("->", 1)
        head = head.strip()
        args_text = head[head.index("(") + 1: head.rindex(")")]
    except ValueError:
        raise ValueError(f"could not parse the schema {schema!r}: expected '(args) -> returns'") from None
    args, kwonly = [], False
    for index, part in enumerate(_split_top(args_text)):
        if part == "*":
            kwonly = True
            continue
        decl, _, default = part.partition("=")
        type_text, _, name = decl.strip().rpartition(" ")
        t, mutable = _parse_type(type_text.strip())
        args.append(_Arg(name, t, _parse_default(default.strip()) if default else _NO_DEFAULT, kwonly, mutable,
                         index))
    ret = ret.strip()
    is_tuple = ret.startswith("(")
    inner = ret[1:-1].strip() if is_tuple else ret
    if inner.startswith("(") and inner.endswith(")"):   # PyTorch's "((Tensor))": a 1-tuple
        inner = inner[1:-1]
    rets = _split_top(inner) if is_tuple else [ret]
    rets = [_parse_type(r.split(" ")[0])[0] for r in rets if r]
    return _Schema(args, rets, is_tuple and len(rets) != 0)


# ----------------------------------------------------------------------------------------------- custom ops

class _LibraryOp(_registry.OpDef):
    """The registry entry of a custom op: profiles as "mylib::f", as PyTorch's profiler names it."""

    @property
    def profile_name(self):
        return self.name

    @profile_name.setter
    def profile_name(self, _value):   # the profiler names every op "aten::<name>" when it starts
        pass


def _tensors_in(args, kinds):
    """The tensor arguments (list arguments flattened), for the device rule."""
    out = []
    for a, k in zip(args, kinds):
        if k == 1 and a is not None:
            out.append(a)
        elif k == 2 and a is not None:
            out.extend(x for x in a if isinstance(x, Tensor))
    return out


def _storage_root(t: Tensor):
    """The memory a tensor lives in (a cpu array's base chain root, a cuda/meta array's block/storage)."""
    d = t._data
    if d.__class__ is np.ndarray:
        while d.base is not None and isinstance(d.base, np.ndarray):
            d = d.base
        return id(d)
    return id(d.block)


def _detached(a):
    """The tensor a kernel sees: without autograd history (PyTorch runs kernels below autograd), the same storage
    and version counter."""
    if a.__class__ is Tensor and a._requires_grad:
        return _make(a._data, a.dtype, a.device, version=a._version)
    if isinstance(a, (list, tuple)):
        return type(a)(_detached(x) for x in a)
    return a


class CustomOpDef:
    """A custom op (torch.library.custom_op's result): call it like the function it wraps; register kernels per
    device, a fake (meta) impl, an autograd formula and a vmap rule on it."""

    def __init__(self, namespace: str, name: str, schema: _Schema, fn=None):
        self._namespace, self._name, self._schema = namespace, name, schema
        self._init_fn = fn
        self._backend_fns: dict = {}   # device type (None: every device) -> kernel
        self._abstract_fn = None
        self._setup_context_fn = None
        self._backward_fn = None
        self._vmap_fn = None
        self._disabled_kernel: set = set()
        pos = schema.positional
        self._npos = len(pos)
        self._kinds = tuple(a.kind for a in pos)
        self._tensor_args = any(self._kinds)
        self._device_arg = next((i for i, a in enumerate(pos) if a.type.startswith("Device")), None)
        self._kw_defaults = {a.name: a.default for a in schema.kwonly if a.default is not _NO_DEFAULT}
        self._kw_complete = len(self._kw_defaults) == len(schema.kwonly)
        self._mutated = tuple(i for i, a in enumerate(pos) if a.mutable)
        self._n_out = len(schema.returns)
        self._returns_list = schema.returns == ["Tensor[]"]
        if any(a.kind for a in schema.kwonly):
            raise NotImplementedError(f"custom_op with kwarg-only Tensor args. Please make your tensors not "
                                      f"kwarg-only. Got: {name}{schema}")
        self._opdef = _LibraryOp(
            name=self._qualname, family="library", infer=self._infer,
            impl={"cpu": self._kernel_runner("cpu"), "cuda": self._kernel_runner("cuda"), "meta": self._run_fake},
            dtypes=_dt.ALL + (_dt.complex64, _dt.complex128), vjp=self._vjp, save="none",
            differentiable=self._n_out > 0, list_input=2 in self._kinds,
            n_outputs=1 if self._n_out == 1 and not schema.returns_tuple and not self._returns_list else
            (0 if self._n_out == 0 else 2),
            extra={"custom_op": self}, doc=f"{self._qualname}{schema}")
        self._opdef.backward_name = f"GeneratedBackwardFor_{namespace}_{name}_defaultBackward"
        old = _OPS.get(self._qualname)
        if old is not None:   # PyTorch lets a later definition of the same name replace the earlier one
            old._destroy()
        _registry.register(self._opdef)
        _OPS[self._qualname] = self
        _attach_to_namespace(namespace, name, self)
        pending = _PENDING_FAKES.pop(self._qualname, None)
        if pending is not None:
            self.register_fake(pending)

    @property
    def _qualname(self) -> str:
        return f"{self._namespace}::{self._name}"

    def _destroy(self) -> None:
        """Remove the op: from the registry, the custom ops and its tritorch.ops namespace."""
        if _OPS.get(self._qualname) is self:
            del _OPS[self._qualname]
            _registry.unregister(self._qualname)
            from . import ops as _ops_pkg
            holder = getattr(_ops_pkg, self._namespace, None)
            if getattr(holder, self._name, None) is self:
                delattr(holder, self._name)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    @property
    def default(self) -> "CustomOpDef":
        """torch.ops.ns.name.default (the op's only overload)."""
        return self

    @property
    def _schema_str(self) -> str:
        return f"{self._qualname}{self._schema}"

    # --- calls
    def __call__(self, *args, **kwargs):
        if not kwargs and len(args) == self._npos and self._kw_complete:
            r = self._opdef(*args, **self._kw_defaults)
        else:
            pos, kw = self._bind(args, kwargs)
            r = self._opdef(*pos, **kw)
        if self._n_out == 0:
            return None
        if r.__class__ is tuple:
            first = next((o for o in r if o.grad_fn is not None), None)
            if first is not None:
                self._after_record(first.grad_fn, r)
            return list(r) if self._returns_list else r
        if r.grad_fn is not None:
            self._after_record(r.grad_fn, (r,))
        return r

    def _bind(self, args, kwargs):
        """(positional args, keyword-only args) of a call, defaults filled, with the dispatcher's errors."""
        pos_params = self._schema.positional
        if len(args) > len(pos_params):
            if self._schema.kwonly:
                raise RuntimeError(f"{self._qualname}() takes {len(pos_params)} positional argument(s) but "
                                   f"{len(args)} was/were given.  Declaration: {self._schema_str}")
            raise RuntimeError(f"{self._qualname}() expected at most {len(pos_params)} argument(s) but received "
                               f"{len(args) + len(kwargs)} argument(s). Declaration: {self._schema_str}")
        kwargs = dict(kwargs)
        pos = list(args)
        for p in pos_params[:len(args)]:
            if p.name in kwargs:
                raise RuntimeError(f"{self._qualname}() got multiple values for argument '{p.name}'. "
                                   f"Declaration: {self._schema_str}")
        for p in pos_params[len(args):]:
            if p.name in kwargs:
                pos.append(kwargs.pop(p.name))
            elif p.default is not _NO_DEFAULT:
                pos.append(p.default)
            else:
                raise RuntimeError(f"{self._qualname}() is missing value for argument '{p.name}'. "
                                   f"Declaration: {self._schema_str}")
        kw = {}
        for p in self._schema.kwonly:
            if p.name in kwargs:
                kw[p.name] = kwargs.pop(p.name)
            elif p.default is not _NO_DEFAULT:
                kw[p.name] = p.default
            else:
                raise RuntimeError(f"{self._qualname}() is missing value for argument '{p.name}'. "
                                   f"Declaration: {self._schema_str}")
        if kwargs:
            raise RuntimeError(f"{self._qualname}() got an unexpected keyword argument '{next(iter(kwargs))}'. "
                               f"Declaration: {self._schema_str}")
        return pos, kw

    def _infer(self, *args, **kwargs):
        """The call's device (and PyTorch's errors for mixed devices or a device without a kernel)."""
        if self._tensor_args:
            dev = _registry.device_of(*_tensors_in(args, self._kinds))
        elif self._device_arg is not None and args[self._device_arg] is not None:
            dev = _device(args[self._device_arg])
        else:
            dev = CPU
        kind = dev.type
        if kind == "meta":
            if self._abstract_fn is None and not self._trivial_fake:
                raise RuntimeError(f"There was no fake impl registered for {self}. This is necessary for "
                                   "torch.compile/export/fx tracing to work. Please use "
                                   f"`{self._fn_name}.register_fake` to add an fake impl.")
        elif kind not in self._backend_fns and None not in self._backend_fns:
            have = [k.upper() if k != "meta" else "Meta" for k in self._backend_fns]
            if self._abstract_fn is not None:
                have.append("Meta")
            raise NotImplementedError(f"Could not run '{self._qualname}' with arguments from the '{kind.upper()}' "
                                      f"backend: it has kernels only for these backends: [{', '.join(have)}]. "
                                      f"Please use register_kernel to add one for {kind!r}.")
        return _registry.Meta(None, None, dev)

    @property
    def _trivial_fake(self) -> bool:
        # PyTorch generates the fake impl of an op that mutates and returns nothing: it returns nothing
        return self._n_out == 0 and self._schema.is_mutable

    @property
    def _fn_name(self) -> str:
        return getattr(self._init_fn, "__name__", self._name)

    def _kernel_runner(self, kind: str):
        def run(meta, *args, **kwargs):
            fn = self._backend_fns.get(kind) or self._backend_fns[None]
            return self._run(fn, meta, args, kwargs)
        run.__name__ = f"{self._name}_{kind}"
        return run

    def _run_fake(self, meta, *args, **kwargs):
        fn = self._abstract_fn or (lambda *a, **k: None)
        prev = _FAKE.active
        _FAKE.active = True
        try:
            return self._run(fn, meta, args, kwargs)
        finally:
            _FAKE.active = prev

    def _run(self, fn, meta, args, kwargs):
        """Run a kernel (or the fake impl), check its result against the schema, fill the call's Meta from it,
        bump the mutated arguments' versions and, when the call records, run setup_context. With an input that
        requires grad, the kernel runs below autograd as PyTorch's do: grad mode off, its tensors detached (so it
        records nothing and `x.numpy()` works); otherwise nothing it does can record, and toggling grad mode (a
        locked counter) would cost more than the rest of the call."""
        tensors = _tensors_in(args, self._kinds) if self._tensor_args else ()
        grad = False
        for t in tensors:
            if t._requires_grad:
                grad = True
                break
        if grad:
            prev = _GRAD.enabled
            _GRAD.enabled = False
            try:
                out = fn(*[_detached(a) for a in args], **kwargs)
            finally:
                _GRAD.enabled = prev
            grad = prev and self._backward_fn is not None   # now: whether the registry records the call
        else:
            out = fn(*args, **kwargs)
        outs = self._check_outputs(out, tensors)
        for i in self._mutated:   # PyTorch's ADInplaceOrView kernel bumps each mutated argument once
            a = args[i]
            for t in (a if isinstance(a, (list, tuple)) else (a,)):
                if isinstance(t, Tensor):
                    t._version[0] += 1
        if self._opdef.n_outputs == 1:
            o = outs[0]
            meta.device, meta.shape, meta.dtype = o.device, o._data.shape, o.dtype
            if grad:
                meta.aux = self._setup(args, kwargs, out, outs)
            return o._data
        if outs:
            meta.device = outs[0].device
        meta.shape = tuple(o._data.shape for o in outs)
        meta.dtype = tuple(o.dtype for o in outs)
        if grad:
            meta.aux = self._setup(args, kwargs, out, outs)
        return tuple(o._data for o in outs)

    def _check_outputs(self, out, tensors) -> tuple:
        """The kernel's outputs as a tuple, checked against the schema's returns and for aliasing."""
        if self._opdef.n_outputs == 1:
            if out.__class__ is not Tensor and not isinstance(out, Tensor):
                raise RuntimeError(f"{self._qualname}: expected the implementation to return a Tensor (schema "
                                   f"{self._schema}), got {type(out).__name__}")
            outs = (out,)
        elif self._n_out == 0:
            if out is not None:
                raise RuntimeError(f"{self._qualname}: the op's schema returns nothing, but its implementation "
                                   f"returned {type(out).__name__}")
            return ()
        else:
            if not isinstance(out, (list, tuple)) or (not self._returns_list and len(out) != self._n_out):
                raise RuntimeError(f"{self._qualname}: expected the implementation to return "
                                   f"{'a list of' if self._returns_list else self._n_out} Tensors "
                                   f"(schema {self._schema}), got {type(out).__name__}")
            outs = tuple(out)
            for o in outs:
                if not isinstance(o, Tensor):
                    raise RuntimeError(f"{self._qualname}: expected the implementation to return Tensors (schema "
                                       f"{self._schema}), got {type(o).__name__}")
            if any(o.device is not outs[0].device for o in outs):
                raise RuntimeError(f"{self._qualname}: the implementation returned tensors on several devices "
                                   f"({', '.join(str(o.device) for o in outs)}); an op's outputs share one device")
        roots = [_storage_root(t) for t in tensors]
        for o in outs:
            r = _storage_root(o)
            if r in roots:
                raise RuntimeError(
                    f"{self._name} (with implementation in {inspect.getmodule(self._init_fn)}): The output of this "
                    "custom operator (1) must not also be an input to this custom operator and (2) may not alias "
                    "any inputs to this custom operator or other returns. The most common way to trigger this "
                    "error is if we have y = custom_op(x) and y and x are the same Tensor. Please instead return a "
                    "clone of the offending output tensor(s) (e.g. return x.clone()) or refactor the custom "
                    "operator to not return y.")
            roots.append(r)
        return outs

    # --- autograd
    def _setup(self, args, kwargs, out, outs) -> FunctionCtx:
        """The call's ctx: needs_input_grad per input, and setup_context's saved tensors (outputs kept as data)."""
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(
            (a is not None and a._requires_grad) if k == 1 else
            ([isinstance(x, Tensor) and x._requires_grad for x in a] if k == 2 and a is not None else False)
            for a, k in zip(args, self._kinds))
        setup = self._setup_context_fn
        if setup is not None:
            prev = _GRAD.enabled
            _GRAD.enabled = False
            try:
                if self._schema.kwonly:
                    setup(ctx=ctx, inputs=tuple(args), keyword_only_inputs=dict(kwargs), output=out)
                else:
                    setup(ctx=ctx, inputs=tuple(args), output=out)
            finally:
                _GRAD.enabled = prev
        ids = {id(o): i for i, o in enumerate(outs)}
        ctx._saved = tuple(SavedTensor(t, is_output=id(t) in ids, out_index=ids.get(id(t), 0))
                           if isinstance(t, Tensor) else t for t in getattr(ctx, "_to_save", ()))
        return ctx

    def _after_record(self, node, result: tuple) -> None:
        """Point saved outputs at the returned tensors' version counters (the kernel's tensors were the registry's
        raw storage), and pack the saved tensors under saved_tensors_hooks, as Function.apply does."""
        if node.op is not self._opdef:
            return
        ctx = node.meta.aux
        if ctx is None or not ctx._saved:
            return
        for s in ctx._saved:
            if s.__class__ is SavedTensor and s.is_output:
                o = result[s.out_index]
                s.counter, s.version = o._version, o._version[0]
        hooks = _saved_hooks.current_hooks()
        if hooks is not None:
            _saved_hooks.pack_saved(ctx._saved, node, hooks)
            ctx._packed = True

    def _vjp(self, node, *grads):
        if self._backward_fn is None:
            raise RuntimeError(f"Trying to backward through {self._namespace}.{self._name}.default but no autograd "
                               "formula was registered. Please use register_autograd to add one.")
        ctx = node.meta.aux
        if ctx is None:   # recorded before register_autograd was called: nothing was set up for this call
            raise RuntimeError(f"{self._qualname}: this call was recorded before its autograd formula was "
                               "registered; run the forward again")
        if ctx._materialize:
            from .ops.creation import zeros
            grads = tuple(zeros(*m.shape, dtype=m.dtype, device=m.device) if g is None else g
                          for g, m in zip(grads, node.out_meta))
        if self._returns_list:
            grads = (list(grads),)
        ctx._node = node   # (only while backward runs: a ctx -> node reference would make a cycle)
        try:
            result = self._backward_fn(ctx, *grads)
        finally:
            ctx._node = None
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self._npos:
            raise RuntimeError(f"function {self._opdef.backward_name} returned an incorrect number of gradients "
                               f"(expected {self._npos}, got {len(result)})")
        flat = []
        for i, (g, k, a) in enumerate(zip(result, self._kinds, node.args)):
            if k == 1 and a is not None:
                flat.append(g)
            elif k == 2 and a is not None:
                flat.extend(g if g is not None else (None,) * len(a))
            elif g is not None and k == 0:
                raise RuntimeError(f"function {self._opdef.backward_name} returned a gradient different than None "
                                   f"at position {i + 1}, but the corresponding forward input was not a Variable")
        return tuple(flat)

    # --- registrations
    def register_kernel(self, device_types, fn=None, /):
        """Use `fn` as the kernel for `device_types` ("cpu", "cuda", a sequence of them, or None: every device)."""
        if device_types is not None and not self._tensor_args and self._device_arg is None:
            raise ValueError("Functions without tensor inputs are required to have a `device: torch.device` "
                             "argument")

        def inner(fn):
            kinds = [device_types] if device_types is None or isinstance(device_types, str) else list(device_types)
            for kind in kinds:
                if kind not in (None, "cpu", "cuda"):
                    raise ValueError(f"{self._qualname}: tritorch runs kernels on 'cpu' and 'cuda' (the meta device "
                                     f"uses register_fake); got device type {kind!r}")
                self._backend_fns[kind] = self._switchable(kind, fn)
            return fn

        return inner if fn is None else inner(fn)

    def _switchable(self, kind, fn):
        if self._init_fn is None or fn is self._init_fn:
            return fn

        def kernel(*args, **kwargs):   # set_kernel_enabled(kind, False) falls back to the function itself
            return self._init_fn(*args, **kwargs) if kind in self._disabled_kernel else fn(*args, **kwargs)
        return kernel

    def register_fake(self, fn, /):
        """The fake impl: given meta tensors, return meta tensors of the outputs' shapes and dtypes."""
        self._abstract_fn = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None) -> None:
        """backward(ctx, *grads) -> one gradient per input (None for non-tensors); setup_context(ctx, inputs,
        output) (or (ctx, inputs, keyword_only_inputs, output)) saves what backward needs."""
        if self._schema.is_mutable:
            raise RuntimeError(f"Cannot register autograd formula for non-functional operator {self} with schema "
                               f"{self._schema_str}. Please create a functional operator and register an autograd "
                               "formula for that.")
        self._backward_fn = backward
        self._setup_context_fn = setup_context

    def register_vmap(self, func=None, /):
        """Accepted and kept: tritorch's vmap calls the op once per index of the mapped dims and stacks the
        results, so the op is already correct under vmap without a batching rule."""
        def inner(func):
            if not callable(func):
                raise TypeError(f"register_vmap expects a function, got {type(func).__name__}")
            self._vmap_fn = func
            return func
        return inner if func is None else inner(func)

    @contextlib.contextmanager
    def set_kernel_enabled(self, device_type: str, enabled: bool = True):
        """Within the block, the kernel registered for `device_type` is off (the original function runs)."""
        was = device_type in self._disabled_kernel
        if enabled:
            self._disabled_kernel.discard(device_type)
        else:
            self._disabled_kernel.add(device_type)
        try:
            yield
        finally:
            if was:
                self._disabled_kernel.add(device_type)
            else:
                self._disabled_kernel.discard(device_type)


def _split_name(name: str) -> tuple[str, str]:
    ns, sep, op = name.partition("::")
    if not sep or not ns or not op or "::" in op:
        raise ValueError(f"expected the op's name as 'namespace::name' (e.g. 'mylib::my_op'), got {name!r}")
    return ns, op


def custom_op(name: str, fn=None, /, *, mutates_args, device_types=None, schema: str | None = None):
    """torch.library.custom_op: `fn` (typed) becomes the registered op `name` ("namespace::name"); decorator or
    direct call. mutates_args names the tensor arguments it writes (or "unknown"); device_types limits its kernel
    to those devices; schema overrides the one inferred from the annotations."""
    def inner(fn):
        namespace, opname = _split_name(name)
        if schema is None:
            parsed = _schema_from_function(fn, mutates_args)
        else:
            parsed = _parse_schema(schema)
            written = {a.name for a in parsed.args if a.mutable}
            if written != set(mutates_args):
                raise ValueError(f"Attempted to create a custom op with `mutates_args={mutates_args}` and "
                                 f"`schema={schema}. The schema suggests that the op mutates {written}which is "
                                 "different from what was provided to us in `mutates_args`. Please make these "
                                 "consistent.")
        op = CustomOpDef(namespace, opname, parsed, fn)
        op.register_kernel(device_types)(fn)
        return op

    return inner if fn is None else inner(fn)


def triton_op(name: str, fn=None, /, *, mutates_args, schema: str | None = None):
    """torch.library.triton_op: a custom op whose function launches Triton kernels through wrap_triton. The
    function is its kernel on every device and its own fake impl (on meta tensors wrap_triton launches nothing),
    so the op needs no register_fake."""
    def inner(fn):
        op = custom_op(name, fn, mutates_args=mutates_args, schema=schema)
        op.register_fake(fn)
        return op

    return inner if fn is None else inner(fn)


def _lookup(op) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str):
        found = _OPS.get(op)
        if found is not None:
            return found
        raise RuntimeError(f"no custom op named {op!r} (define it with torch.library.custom_op first)")
    raise TypeError(f"expected a custom op or its 'namespace::name', got {type(op).__name__}")


# Fake impls registered by name for ops not defined (yet): name -> fn, attached when the op is defined.
_PENDING_FAKES: dict = {}


def _caller_package(depth: int) -> str:
    name = sys._getframe(depth + 1).f_globals.get("__name__") or ""
    return name.partition(".")[0]


def register_fake(op, func=None, /, *, lib=None, _stacklevel: int = 1, allow_override: bool = True):
    """torch.library.register_fake(op_or_name, fn): decorator or direct call.

    An op that does not exist is PyTorch's RuntimeError, except for a package whose compiled operator library
    failed to load (torch.ops.load_library; tritorch runs no C++ operators): its fake impls for the ops that library
    would have defined (torchvision::nms, ... registered at import) are kept and attached if the op is defined
    later, so the package imports and its other parts work."""
    def inner(func, depth):
        if isinstance(op, str) and op not in _OPS:
            _split_name(op)
            from .ops import UNLOADED_PACKAGES
            if _caller_package(depth) not in UNLOADED_PACKAGES:
                raise RuntimeError(f"operator {op} does not exist")
            _PENDING_FAKES[op] = func
            return func
        return _lookup(op).register_fake(func)
    return (lambda func: inner(func, 2)) if func is None else inner(func, 2)


def register_kernel(op, device_types, func=None, /, *, lib=None):
    """torch.library.register_kernel(op_or_name, device_types, fn): decorator or direct call."""
    return _lookup(op).register_kernel(device_types, func)


def register_autograd(op, backward, /, *, setup_context=None, lib=None) -> None:
    """torch.library.register_autograd(op_or_name, backward, setup_context=...)."""
    _lookup(op).register_autograd(backward, setup_context=setup_context)


def register_vmap(op, func=None, /, *, lib=None):
    """torch.library.register_vmap(op_or_name, fn): see CustomOpDef.register_vmap."""
    return _lookup(op).register_vmap(func)


# ------------------------------------------------------------------------- define / impl / Library

# dispatch keys of torch.library.impl / Library.impl -> a tritorch device type (None: every device)
_DISPATCH_KEYS = {"cpu": "cpu", "CPU": "cpu", "cuda": "cuda", "CUDA": "cuda", "default": None,
                  "CompositeExplicitAutograd": None, "": None}


def define(qualname: str, schema: str, *, lib=None, tags=()) -> None:
    """torch.library.define("mylib::f", "(Tensor x) -> Tensor"): an op with that schema and no kernel yet."""
    namespace, name = _split_name(qualname)
    CustomOpDef(namespace, name, _parse_schema(schema))


def _impl(op: CustomOpDef, key, fn) -> None:
    if key in ("Meta", "meta"):
        op.register_fake(fn)
    elif key in _DISPATCH_KEYS:
        op.register_kernel(_DISPATCH_KEYS[key], fn)
    else:
        raise ValueError(f"{op._qualname}: tritorch.library takes kernels for the dispatch keys "
                         f"{sorted(k for k in _DISPATCH_KEYS if k)} and Meta; got {key!r} (autograd formulas go "
                         "through register_autograd)")


def impl(qualname: str, types, func=None, *, lib=None):
    """torch.library.impl("mylib::f", "cpu" | "cuda" | a sequence | "CompositeExplicitAutograd", fn)."""
    def inner(func):
        op = _lookup(qualname)
        for key in [types] if isinstance(types, str) else list(types):
            _impl(op, key, func)
        return func
    return inner if func is None else inner(func)


class Library:
    """torch.library.Library(ns, "DEF" | "FRAGMENT" | "IMPL"): define ops in a namespace and give them kernels."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = ""):
        if kind not in ("DEF", "FRAGMENT", "IMPL"):
            raise ValueError(f"Unsupported kind: {kind}")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._defined: list = []   # the ops this library defined (_destroy removes them)

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        if self.kind == "IMPL":
            raise RuntimeError("define() is not allowed on a Library of kind IMPL")
        name = schema[:schema.index("(")].strip()
        define(f"{self.ns}::{name}", schema[schema.index("("):])
        self._defined.append(_OPS[f"{self.ns}::{name}"])
        return name

    def impl(self, op_name, fn, dispatch_key: str = "", *, with_keyset: bool = False, allow_override: bool = True):
        if with_keyset:
            raise ValueError("tritorch.library: kernels take the op's own arguments (no dispatch key set)")
        name = op_name if isinstance(op_name, str) else op_name._qualname
        qualname = name if "::" in name else f"{self.ns}::{name}"
        _impl(_lookup(qualname), dispatch_key or self.dispatch_key, fn)

    def _destroy(self) -> None:
        for op in self._defined:
            op._destroy()
        self._defined = []

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"


# ----------------------------------------------------------------------------------- fake impl context

class _FakeState(threading.local):
    active = False


_FAKE = _FakeState()


class _FakeImplCtx:
    """What get_ctx() returns inside a fake impl. A size that depends on the input's values cannot be represented
    on tritorch's meta device (no symbolic sizes), so new_dynamic_size raises ValueDependentShape (a
    NotImplementedError, as PyTorch's meta kernels raise for such ops)."""

    def new_dynamic_size(self, *, min: int = 0, max: int | None = None):  # noqa: A002 - PyTorch's names
        raise ValueDependentShape("the shape of this op's output depends on its input's values, which a meta "
                                  "tensor does not have")

    create_unbacked_symint = new_dynamic_size


def get_ctx() -> _FakeImplCtx:
    """torch.library.get_ctx: the fake impl's context (only inside a fake impl)."""
    if not _FAKE.active:
        raise RuntimeError("torch.library.get_ctx() was called outside of a fake impl")
    return _FakeImplCtx()


# ------------------------------------------------------------------------------------------- wrap_triton

class _HostMemory:
    """A cpu tensor's memory as the Triton interpreter's storage protocol sees it (it reads host addresses)."""

    __slots__ = ("host", "ptr", "nbytes")

    def __init__(self, arr: np.ndarray):
        self.host, self.ptr, self.nbytes = arr, arr.ctypes.data, arr.nbytes

    def data_ptr(self) -> int:
        return self.ptr

    def cpu(self):
        return self

    def copy_(self, other):
        return self


def _kernel_arg(a, i: int):
    """A launch argument: a tensor becomes the array tritorch's launchers pass (bool storage as uint8)."""
    if isinstance(a, Tensor):
        d = a._data
        if a.device.type == "cuda":
            return d.reinterpret(np.uint8) if d.dtype == np.bool_ else d
        if not _cuda.INTERPRET:
            raise ValueError(f"Pointer argument (at {i}) cannot be accessed from Triton (cpu tensor?)")
        isz = d.dtype.itemsize
        d = d.view(np.uint8) if d.dtype == np.bool_ else d
        return _cuda.CudaArray(_HostMemory(d), d.shape, tuple(s // isz for s in d.strides), 0, d.dtype)
    if isinstance(a, tuple):
        return tuple(_kernel_arg(x, i) for x in a)
    return a


def _has_meta(values) -> bool:
    return any((isinstance(v, Tensor) and v.device.type == "meta") or (isinstance(v, tuple) and _has_meta(v))
               for v in values)


class _WrappedTriton:
    """wrap_triton(kernel): kernel[grid](...) on tritorch tensors."""

    def __init__(self, kernel):
        self.kernel = kernel

    def __getitem__(self, grid):
        kernel = self.kernel

        def launch(*args, **kwargs):
            if _has_meta(args) or _has_meta(kwargs.values()):
                return None   # a fake impl's launch: the outputs were made by the function itself
            return kernel[grid](*[_kernel_arg(a, i) for i, a in enumerate(args)],
                                **{k: _kernel_arg(v, k) for k, v in kwargs.items()})
        return launch

    def run(self, *args, grid, **kwargs):
        return self[grid](*args, **kwargs)

    def __repr__(self) -> str:
        return f"wrap_triton({self.kernel!r})"


def wrap_triton(triton_kernel, /):
    """torch.library.wrap_triton: `wrap_triton(kernel)[grid](x, y, out, n, BLOCK=...)` launches a @triton.jit (or
    @triton.autotune) kernel on tritorch tensors."""
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import KernelInterface
    if not isinstance(triton_kernel, (KernelInterface, Autotuner)):
        raise RuntimeError("wrap_triton only works on functions annotated with triton.jit or triton.autotune")
    return _WrappedTriton(triton_kernel)


# ------------------------------------------------------------------------------------------ torch.ops

class _OpNamespace:
    """tritorch.ops.<namespace>: the custom ops defined in it, as attributes."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, op_name):
        if op_name.startswith("__"):
            raise AttributeError(op_name)
        raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute '{op_name}'")

    def __repr__(self) -> str:
        return f"tritorch.ops.{self._name}"


def _attach_to_namespace(namespace: str, name: str, op: CustomOpDef) -> None:
    """Make the op `tritorch.ops.<namespace>.<name>`. A namespace named like one of tritorch.ops' own modules
    (fft, linalg, ...) is that module: the op becomes its attribute unless the name is taken there."""
    from . import ops as _ops_pkg
    holder = getattr(_ops_pkg, namespace, None)
    if holder is None:
        holder = _OpNamespace(namespace)
        setattr(_ops_pkg, namespace, holder)
    current = getattr(holder, name, None) if not isinstance(holder, _OpNamespace) else holder.__dict__.get(name)
    if current is not None and not isinstance(current, CustomOpDef):
        raise ValueError(f"tritorch.ops.{namespace}.{name} is already taken by tritorch; choose another namespace "
                         "or name for the custom op")
    setattr(holder, name, op)


# ------------------------------------------------------------------------------------------------ opcheck

DEFAULT_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic")
_ALL_TEST_UTILS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_static",
                   "test_aot_dispatch_dynamic")


class OpCheckError(Exception):
    """opcheck's failure (PyTorch's OpCheckError)."""


def _clone_args(values, requires_grad: bool = True):
    from .ops.copy import clone_op

    def conv(a):
        if isinstance(a, Tensor):
            c = clone_op(a.detach())
            if requires_grad and a.requires_grad:
                c.requires_grad_(True)
            return c
        if isinstance(a, (list, tuple)):
            return type(a)(conv(x) for x in a)
        return a
    return [conv(a) for a in values]


def _flat_outputs(r) -> list:
    if r is None:
        return []
    return list(r) if isinstance(r, (list, tuple)) else [r]


def _check_schema(op: CustomOpDef, args, kwargs) -> None:
    """Arguments the schema does not mark as mutated keep their values; the op's own checks catch aliasing."""
    from .autograd.grad_mode import no_grad
    call = _clone_args(args, requires_grad=False)
    before = _clone_args(call, requires_grad=False)
    with no_grad():
        op(*call, **kwargs)
    names = [p.name for p in op._schema.positional]
    mutable = {p.name for p in op._schema.positional if p.mutable}
    for name, a, b in zip(names, call, before):
        if name in mutable:
            continue
        pairs = zip(a, b) if isinstance(a, (list, tuple)) else ((a, b),)
        for x, y in pairs:
            if isinstance(x, Tensor) and x.device.type != "meta" and not np.array_equal(
                    x._host(), y._host(), equal_nan=x.dtype.kind >= _dt.FLOAT):
                raise RuntimeError(f"Argument {name} is not defined as mutable but was mutated")


def _check_autograd_registration(op: CustomOpDef, args, kwargs) -> None:
    """A call whose inputs require grad records the op (its floating outputs get the op's grad_fn)."""
    call = _clone_args(args)
    if not any(t.requires_grad for t in _tensors_in(call, op._kinds)):
        return
    for o in _flat_outputs(op(*call, **kwargs)):
        if o.dtype.kind >= _dt.FLOAT and (o.grad_fn is None or o.grad_fn.op is not op._opdef):
            raise RuntimeError(f"{op._qualname}: an output does not require grad although an input does; "
                               "autograd did not record the op")


def _check_fake(op: CustomOpDef, args, kwargs) -> None:
    """The fake impl on meta tensors gives the real outputs' shapes and dtypes."""
    from .autograd.grad_mode import no_grad
    from .testing import to_meta_arg
    with no_grad():
        real = _flat_outputs(op(*_clone_args(args, False), **kwargs))
        fake = _flat_outputs(op(*to_meta_arg(_clone_args(args, False)), **to_meta_arg(kwargs)))
    if len(real) != len(fake):
        raise RuntimeError(f"When comparing the output of {op._namespace}.{op._name}.default on meta and concrete "
                           f"Tensors, found {len(fake)} fake outputs and {len(real)} real ones")
    for r, f in zip(real, fake):
        for what, a, b in (("Shapes", r.shape, f.shape), ("Dtypes", r.dtype, f.dtype)):
            if a != b:
                raise RuntimeError(f"When comparing the output of {op._namespace}.{op._name}.default on meta and "
                                   f"concrete Tensors, found mismatched tensor metadata: {what} {b} and {a} are "
                                   "not equal!")


_FD = {_dt.float64: (1e-6, 1e-5, 1e-3), _dt.float32: (1e-3, 1e-2, 1e-2)}


def _check_gradients(op: CustomOpDef, args, kwargs, atol, rtol) -> None:
    """The fake impl runs (as PyTorch's AOT dispatch needs it), then, where float inputs require grad, the
    backward formula against central finite differences along a random direction per input:
    d/de <w, f(x + e v)> at 0 equals <grad_x <w, f>, v>."""
    from .autograd.grad_mode import no_grad
    from .autograd.tensor_methods import grad as autograd_grad
    from .ops.creation import tensor as make
    _check_fake(op, args, kwargs)
    call = _clone_args(args)
    leaves = [t for t in _tensors_in(call, op._kinds) if t.requires_grad and t.dtype.kind == _dt.FLOAT]
    if not leaves:
        return
    outs = [o for o in _flat_outputs(op(*call, **kwargs)) if o.dtype.kind == _dt.FLOAT]
    rng = np.random.default_rng(0)
    weights = [make(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]
    grads = autograd_grad([o for o in outs if o.requires_grad], leaves,
                          [w for o, w in zip(outs, weights) if o.requires_grad], allow_unused=True)

    def objective() -> float:
        with no_grad():
            res = [o for o in _flat_outputs(op(*call, **kwargs)) if o.dtype.kind == _dt.FLOAT]
        return sum(float((r._host().astype(np.float64) * w._host().astype(np.float64)).sum())
                   for r, w in zip(res, weights))

    for leaf, g in zip(leaves, grads):
        eps, a_tol, r_tol = _FD.get(leaf.dtype, (1e-2, 1e-1, 1e-1))
        a_tol, r_tol = atol if atol is not None else a_tol, rtol if rtol is not None else r_tol
        v = rng.standard_normal(leaf.shape)
        analytic = 0.0 if g is None else float((g._host().astype(np.float64) * v).sum())
        x0 = leaf._host().astype(np.float64)
        with no_grad():
            leaf.copy_(make(x0 + eps * v, dtype=leaf.dtype))
            up = objective()
            leaf.copy_(make(x0 - eps * v, dtype=leaf.dtype))
            down = objective()
            leaf.copy_(make(x0, dtype=leaf.dtype))
        numeric = (up - down) / (2 * eps)
        if abs(analytic - numeric) > a_tol + r_tol * abs(numeric):
            raise RuntimeError(f"{op._qualname}: the gradient of an input of shape {list(leaf.shape)} does not match "
                               f"finite differences: directional derivative {analytic:.6g} from backward, "
                               f"{numeric:.6g} numerically")


def opcheck(op, args, kwargs=None, *, test_utils=DEFAULT_TEST_UTILS, raise_exception: bool = True, atol=None,
            rtol=None) -> dict:
    """torch.library.opcheck: run the checks `test_utils` names on op(*args, **kwargs) (on copies of the args).
    test_schema: arguments not marked mutable keep their values; outputs do not alias inputs.
    test_autograd_registration: a call with inputs that require grad is recorded.
    test_faketensor: the fake impl on the meta device gives the real outputs' shapes and dtypes.
    test_aot_dispatch_static/dynamic: the fake impl runs, and the backward formula matches finite differences.
    Returns {test: "SUCCESS" or the exception}; raises OpCheckError on the first failure if raise_exception."""
    op = _lookup(op)
    kwargs = kwargs or {}
    names = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    if not set(names) <= set(_ALL_TEST_UTILS):
        raise ValueError(f"opcheck(op, ..., test_utils={names}), expected test_utils to be subset of "
                         f"{_ALL_TEST_UTILS} but it was not")
    checks = {"test_schema": lambda: _check_schema(op, args, kwargs),
              "test_autograd_registration": lambda: _check_autograd_registration(op, args, kwargs),
              "test_faketensor": lambda: _check_fake(op, args, kwargs),
              "test_aot_dispatch_static": lambda: _check_gradients(op, args, kwargs, atol, rtol),
              "test_aot_dispatch_dynamic": lambda: _check_gradients(op, args, kwargs, atol, rtol)}
    results = {}
    for name in names:
        try:
            checks[name]()
            results[name] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e} (scroll up for stack trace)") from e
            results[name] = e
    return results
