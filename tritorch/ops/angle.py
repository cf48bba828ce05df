"""torch.angle / Tensor.angle. A complex tensor's goes to ops/complex.py's complex_angle; a real tensor's is composed
here from registered ops (no kernel of its own; both devices).

The argument of a real number: 0 for x >= 0 (+0, -0 and +inf included), pi for x < 0, NaN kept. Integer and bool
inputs give the default float dtype, as PyTorch. The gradient is zero everywhere (PyTorch's angle_backward for real
inputs): the result is a constant chosen by the sign, NaN where x is NaN, plus `finite(x) * 0`, which keeps the
result attached to x's history with a zero gradient (the finite part so that inf * 0 raises no NumPy warning).
"""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _bind
from .registry import write_out as _write_out

__all__ = ["angle"]


def angle(input, *, out=None) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"angle(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dtype.kind == _dt.COMPLEX:
        from .complex import complex_angle_op
        return complex_angle_op(input, out=out)
    import tritorch as tt
    x = input if input.dtype.is_floating_point else input.to(_dt.get_default_dtype())
    negative = (x < 0).to(x.dtype) * math.pi
    finite = tt.where(tt.isfinite(x), x, tt.zeros_like(x))
    result = tt.where(tt.isnan(x), x.detach(), negative) + finite * 0
    if out is not None:
        return _write_out(out, result)
    return result


_bind.methods(angle=angle)
