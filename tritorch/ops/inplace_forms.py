"""In-place forms that are thin wrappers over what exists: no kernels of their own.

- Tensor methods of composite ops (deg2rad_, rad2deg_, log10_, sgn_, sinc_, heaviside_, renorm_, conj_physical_):
  the composite computed out of place, then written into the tensor with copy_ (which bumps the version and gives
  the tensor the result's history, as the registry does for `out=self`).
- torch.<name>_(input, ...) for every in-place Tensor method PyTorch also offers as a function (torch.abs_,
  torch.clamp_, torch.index_put_, ...), generated from one list.
"""
from __future__ import annotations

from .. import _state
from .. import dtypes as _dt
from .._state import GRAD
from ..tensor import Tensor
from . import _bind, composite, composite_numeric
from .registry import broadcast_shapes

# torch.* in-place functions that are Tensor methods of the same name and arguments (gcd_, lcm_, ldexp_ belong to
# their families; resize_as_sparse_ has no dense meaning).
_METHOD_FORMS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_ "
    "clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ cosh_ deg2rad_ detach_ erf_ erfc_ exp2_ exp_ expm1_ "
    "fill_ fix_ floor_ frac_ i0_ index_put_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ "
    "reciprocal_ relu_ resize_as_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ "
    "zero_").split()

__all__ = list(_METHOD_FORMS)


def _needs_history(t: Tensor) -> bool:
    return ((not _state.FLAGS.grad_off or GRAD.enabled)
            and (t._requires_grad or (t._base is not None and t._base._requires_grad)))


def _composite_inplace(fn, name: str, float_result: bool):
    """Tensor.<name>(self, *args) = fn(self, *args) written into self. PyTorch's checks come first (no in-place
    write into a leaf that requires grad; a float result cannot go into an integer tensor); when autograd records,
    fn reads a clone, so the ops it records save the value before the write."""

    def method(self, *args, **kwargs):
        if float_result and self.dtype.kind != _dt.FLOAT:
            result = _dt.promote_types(self.dtype, _dt.get_default_dtype())
            raise RuntimeError(f"result type {_type_name(result)} can't be cast to the desired output type "
                               f"{_type_name(self.dtype)}")
        source = self
        if _needs_history(self):
            _state.check_inplace(self)
            source = self.clone()
        args = tuple(source if a is self else a for a in args)
        value = fn(source, *args, **kwargs)
        if tuple(value.shape) != tuple(self.shape):
            shape = broadcast_shapes(tuple(self.shape), tuple(value.shape))
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(shape)}")
        return self.copy_(value)

    method.__name__ = method.__qualname__ = name
    return method


def _type_name(d) -> str:
    from .registry import _type_name as name
    return name(d)


def _heaviside_checked(input: Tensor, values) -> Tensor:
    """heaviside with the broadcast checked before any kernel runs (the result must keep input's shape)."""
    if isinstance(values, Tensor):
        shape = broadcast_shapes(tuple(input.shape), tuple(values.shape))
        if shape != tuple(input.shape):
            raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape "
                               f"{list(shape)}")
    return composite.heaviside(input, values)


def _conj_physical_(self: Tensor) -> Tensor:
    """The conjugate of a real tensor is itself: nothing is written (PyTorch returns self unchanged too)."""
    return self


_bind.methods(
    deg2rad_=_composite_inplace(composite.deg2rad, "deg2rad_", True),
    rad2deg_=_composite_inplace(composite.rad2deg, "rad2deg_", True),
    log10_=_composite_inplace(composite.log10, "log10_", True),
    sinc_=_composite_inplace(composite.sinc, "sinc_", True),
    sgn_=_composite_inplace(composite.sgn, "sgn_", False),
    heaviside_=_composite_inplace(_heaviside_checked, "heaviside_", False),
    renorm_=_composite_inplace(composite_numeric.renorm, "renorm_", False),
    conj_physical_=_conj_physical_,
)


def _function_form(name: str):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(Tensor, name)(input, *args, **kwargs)  # looked up per call: some are bound after this file

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): the same as input.{name}(...)."
    return fn


globals().update({name: _function_form(name) for name in _METHOD_FORMS})
