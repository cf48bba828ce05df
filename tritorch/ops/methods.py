"""Operators and methods that span families (bound last)."""
from . import _bind, copy
from .binary import add_op, div_op, mul_op, sub_op

_bind.methods(to=copy.to, contiguous=copy.contiguous, clone=lambda x, memory_format=None: copy.clone_op(x),
              __add__=lambda a, b: add_op(a, b), __mul__=lambda a, b: mul_op(a, b))
