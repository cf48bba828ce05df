"""Transforms (torch.distributions.transforms): invertible maps with the log |det Jacobian| that
TransformedDistribution needs (a tanh-squashed Normal policy is TransformedDistribution(Normal(mu, std),
[TanhTransform(cache_size=1)])). Built from tritorch ops, so they run on both devices and differentiate.

A transform with cache_size=1 remembers its last (x, y) pair: inverting a y it produced returns that x exactly,
which keeps log_prob of a sample finite where atanh(tanh(x)) would round to +-inf.
"""
from __future__ import annotations

import math
import weakref

from . import constraints
from .distribution import _tt

__all__ = ["Transform", "ComposeTransform", "IndependentTransform", "ReshapeTransform", "ExpTransform",
           "PowerTransform", "SigmoidTransform", "TanhTransform", "SoftplusTransform", "AbsTransform",
           "AffineTransform", "SoftmaxTransform", "identity_transform"]


def _sum_rightmost(value, dims: int):
    return value.reshape(tuple(value.shape[:value.dim() - dims]) + (-1,)).sum(-1) if dims > 0 else value


class Transform:
    """An invertible (where `bijective`) map from `domain` to `codomain`. Subclasses define _call, _inverse and
    log_abs_det_jacobian(x, y); `inv` is the inverse as a Transform."""

    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached_x_y = None, None
        self._inv = None

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> "Transform":
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):
        """+1 or -1 for a monotone transform of one variable (per element for a tensor parameter)."""
        raise NotImplementedError(f"{type(self).__name__} is not monotone: it has no sign")  # (PyTorch: the same)

    def with_cache(self, cache_size: int = 1) -> "Transform":
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    def __eq__(self, other) -> bool:
        return self is other

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __call__(self, x):
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y):
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define its forward map (_call)")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} does not define its inverse (_inverse)")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__} does not define log_abs_det_jacobian")

    def forward_shape(self, shape) -> tuple:
        return tuple(shape)

    def inverse_shape(self, shape) -> tuple:
        return tuple(shape)

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform: calls its _inv_call, negates its log |det J| (sharing its cache)."""

    def __init__(self, transform: Transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv_ref = transform

    domain = property(lambda self: self._inv_ref.codomain)
    codomain = property(lambda self: self._inv_ref.domain)
    bijective = property(lambda self: self._inv_ref.bijective)
    sign = property(lambda self: self._inv_ref.sign)

    @property
    def inv(self) -> Transform:
        return self._inv_ref

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv_ref.with_cache(cache_size).inv

    def __eq__(self, other) -> bool:
        return isinstance(other, _InverseTransform) and self._inv_ref == other._inv_ref

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._inv_ref._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv_ref.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape) -> tuple:
        return self._inv_ref.inverse_shape(shape)

    def inverse_shape(self, shape) -> tuple:
        return self._inv_ref.forward_shape(shape)

    def __repr__(self) -> str:
        return f"_InverseTransform({self._inv_ref!r})"


class ComposeTransform(Transform):
    """parts[-1](...parts[0](x)): the log |det J| terms summed over the event dims each part sees."""

    def __init__(self, parts, cache_size: int = 0):
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def __eq__(self, other) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return constraints.independent(domain, event_dim - domain.event_dim) if event_dim > domain.event_dim \
            else domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        return constraints.independent(codomain, event_dim - codomain.event_dim) \
            if event_dim > codomain.event_dim else codomain

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self) -> Transform:
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return _tt().zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total = 0
        event_dim = self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:]):
            total = total + _sum_rightmost(part.log_abs_det_jacobian(a, b), event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape) -> tuple:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape) -> tuple:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return tuple(shape)

    def __repr__(self) -> str:
        return "ComposeTransform(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """`base_transform` with `reinterpreted_batch_ndims` more rightmost dims in each event (its log |det J|
    summed over them)."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else \
            IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    domain = property(lambda self: constraints.independent(self.base_transform.domain,
                                                           self.reinterpreted_batch_ndims))
    codomain = property(lambda self: constraints.independent(self.base_transform.codomain,
                                                             self.reinterpreted_batch_ndims))
    bijective = property(lambda self: self.base_transform.bijective)
    sign = property(lambda self: self.base_transform.sign)

    def _call(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape) -> tuple:
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape) -> tuple:
        return self.base_transform.inverse_shape(shape)

    def __repr__(self) -> str:
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


class ReshapeTransform(Transform):
    """Reshapes the rightmost dims from in_shape to out_shape (the same number of elements); log |det J| = 0."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    domain = property(lambda self: constraints.independent(constraints.real, len(self.in_shape)))
    codomain = property(lambda self: constraints.independent(constraints.real, len(self.out_shape)))

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else \
            ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        return x.reshape(tuple(x.shape[:x.dim() - len(self.in_shape)]) + self.out_shape)

    def _inverse(self, y):
        return y.reshape(tuple(y.shape[:y.dim() - len(self.out_shape)]) + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(tuple(x.shape[:x.dim() - len(self.in_shape)]))

    def _reshaped(self, shape, src, dst) -> tuple:
        shape = tuple(shape)
        if len(shape) < len(src) or shape[len(shape) - len(src):] != src:
            raise ValueError(f"Shape mismatch: expected {shape[len(shape) - len(src):]} but got {src}")
        return shape[:len(shape) - len(src)] + dst

    def forward_shape(self, shape) -> tuple:
        return self._reshaped(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape) -> tuple:
        return self._reshaped(shape, self.out_shape, self.in_shape)


class _ParameterFree(Transform):
    """A transform with no parameters: any two of its class are equal (as PyTorch's compare)."""

    def __eq__(self, other) -> bool:
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class ExpTransform(_ParameterFree):
    """y = exp(x)."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """y = x ** exponent on x > 0."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        (self.exponent,) = _tensors(exponent)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else PowerTransform(self.exponent, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return isinstance(other, PowerTransform) and _same_value(self.exponent, other.exponent)

    __hash__ = object.__hash__

    @property
    def sign(self):
        return self.exponent.sign()

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape) -> tuple:
        return tuple(_tt().broadcast_shapes(tuple(shape), tuple(self.exponent.shape)))

    inverse_shape = forward_shape


class SigmoidTransform(_ParameterFree):
    """y = sigmoid(x), kept inside (tiny, 1 - eps) so that the inverse stays finite."""

    codomain = constraints.unit_interval
    bijective = True
    sign = 1

    def _call(self, x):
        fi = _tt().finfo(x.dtype)
        return x.sigmoid().clamp(fi.tiny, 1 - fi.eps)

    def _inverse(self, y):
        fi = _tt().finfo(y.dtype)
        y = y.clamp(fi.tiny, 1 - fi.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        softplus = _tt().nn.functional.softplus
        return -softplus(-x) - softplus(x)


class TanhTransform(_ParameterFree):
    """y = tanh(x), with log |det J| = 2 (log 2 - x - softplus(-2x)) (stable for large |x|). Use cache_size=1 when
    inverting samples: atanh of a y that rounded to +-1 is infinite."""

    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * (y.log1p() - (-y).log1p())

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - _tt().nn.functional.softplus(-2.0 * x))


class SoftplusTransform(_ParameterFree):
    """y = log(1 + exp(x))."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x):
        return _tt().nn.functional.softplus(x)

    def _inverse(self, y):
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):
        return -_tt().nn.functional.softplus(-x)


class AbsTransform(_ParameterFree):
    """y = |x| (not bijective: the inverse gives the non-negative preimage)."""

    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """y = loc + scale * x, over `event_dim` rightmost dims per event (log |det J| = sum log |scale| over them)."""

    bijective = True

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real,
                                                                                     self._event_dim)

    codomain = domain

    @property
    def event_dim(self) -> int:
        return self._event_dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else \
            AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return (isinstance(other, AffineTransform) and self._event_dim == other._event_dim
                and _same_value(self.loc, other.loc) and _same_value(self.scale, other.scale))

    __hash__ = object.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, (int, float)):
            return 1 if self.scale > 0 else -1 if self.scale < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        tt = _tt()
        shape = tuple(x.shape)
        if isinstance(self.scale, (int, float)):
            result = tt.full_like(x, math.log(abs(self.scale)))
        else:
            result = self.scale.abs().log()
        if self._event_dim:
            result = _sum_rightmost(result, self._event_dim) if result.dim() >= self._event_dim else result
            shape = shape[:len(shape) - self._event_dim]
        return result.expand(shape)

    def forward_shape(self, shape) -> tuple:
        shapes = [tuple(shape)] + [tuple(v.shape) for v in (self.loc, self.scale) if hasattr(v, "shape")]
        return tuple(_tt().broadcast_shapes(*shapes))

    inverse_shape = forward_shape


class SoftmaxTransform(_ParameterFree):
    """y = softmax(x) over the last dim (not bijective: the inverse is log y, one preimage)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        return x.softmax(-1)

    def _inverse(self, y):
        return y.log()


def _same_value(a, b) -> bool:
    """Transform parameters compare by value (numbers or tensors), as PyTorch's transforms do."""
    tt = _tt()
    if isinstance(a, tt.Tensor) or isinstance(b, tt.Tensor):
        a = a if isinstance(a, tt.Tensor) else tt.tensor(float(a))
        b = b if isinstance(b, tt.Tensor) else tt.tensor(float(b))
        return tuple(a.shape) == tuple(b.shape) and a.device == b.device and bool((a == b).all())
    return a == b


def _tensors(*values):
    tt = _tt()
    return [v if isinstance(v, tt.Tensor) else tt.tensor(float(v)) for v in values]


from .transforms_more import *  # noqa: E402,F401,F403
from .transforms_more import __all__ as _more  # noqa: E402

__all__ += _more
