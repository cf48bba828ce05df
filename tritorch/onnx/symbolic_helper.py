"""torch.onnx.symbolic_helper as far as packages use it at import: the parse_args decorator on their symbolic
functions. It converts a symbolic function's graph arguments during an export; tritorch never exports, so the
decorated function is returned as it is."""
from __future__ import annotations

__all__ = ["parse_args"]


def parse_args(*arg_descriptors):
    """Decorator: how to read each graph argument of a symbolic function ("v" value, "i" int, "f" float, ...),
    applied by an exporter; here the function itself."""
    def decorator(fn):
        fn._onnx_arg_descriptors = arg_descriptors
        return fn
    return decorator
