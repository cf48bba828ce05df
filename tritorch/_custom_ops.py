"""torch._custom_ops: PyTorch's earlier custom-op functions (torch.library's register_fake and register_kernel
replaced them), kept for code that still imports or calls them."""
from __future__ import annotations

from . import library as _library
from .library import get_ctx

__all__ = ["custom_op", "impl", "impl_abstract", "get_ctx"]


def custom_op(qualname: str, manual_schema: str | None = None):
    """@custom_op("ns::name") on a typed stub (or with manual_schema): defines the op, with no kernel yet."""
    def inner(func):
        ns, name = _library._split_name(qualname)
        schema = (_library._parse_schema(manual_schema) if manual_schema is not None
                  else _library._schema_from_function(func, ()))
        return _library.CustomOpDef(ns, name, schema)
    return inner


def impl(qualname: str, *, device_types=("cpu", "cuda"), func=None):
    """The op's kernel for device_types; decorator or direct call."""
    def inner(func):
        _library._lookup(qualname).register_kernel(device_types, func)
        return func
    return inner if func is None else inner(func)


def impl_abstract(qualname: str, *, func=None):
    """The op's fake impl (torch.library.register_fake's earlier name); decorator or direct call."""
    def inner(func):
        return _library._lookup(qualname).register_fake(func)
    return inner if func is None else inner(func)
