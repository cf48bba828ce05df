"""The Distribution base class (torch.distributions' interface) and the helpers its subclasses share."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor

__all__ = ["Distribution"]


def _tt():
    import tritorch
    return tritorch


def broadcast_all(*values):
    """The values as tensors of one broadcast shape (Python numbers become tensors of the others' dtype and
    device, or of the default dtype)."""
    tt = _tt()
    tensors = [v for v in values if isinstance(v, Tensor)]
    like = tensors[0] if tensors else None
    out = [v if isinstance(v, Tensor) else tt.tensor(float(v), dtype=like.dtype if like is not None else None,
                                                      device=like.device if like is not None else None)
           for v in values]
    return tt.broadcast_tensors(*out)


def clamp_probs(probs: Tensor) -> Tensor:
    eps = _tt().finfo(probs.dtype).eps
    return probs.clamp(eps, 1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def _holds(constraint, value) -> bool:
    """Whether every element of `value` satisfies `constraint`. A cpu tensor is checked on its NumPy array where the
    constraint's check is plain operators (interval, integer, boolean, real ...): one NumPy call each instead of an
    op each (a policy's log_prob spent a third of its time checking its one action); other checks run as ops."""
    if value.__class__ is Tensor and value.device.type == "cpu":
        try:
            ok = constraint.check(value._data)
        except (AttributeError, TypeError):
            ok = None
        if isinstance(ok, (np.ndarray, np.bool_, bool)):
            return bool(np.all(ok))
    return bool(constraint.check(value).all().item())


class Distribution:
    """A parameterised probability distribution: batch_shape independent draws of events of event_shape.

    Subclasses define sample or rsample (reparameterised, differentiable in the parameters), log_prob and the
    moments they have. validate_args (default on, as in PyTorch) checks the parameters at construction."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init_subclass__(cls, **kwargs):
        # every log_prob and cdf checks its value first where validation is on (PyTorch's classes each call
        # _validate_sample there); wrapping once here keeps that out of each family's formula
        super().__init_subclass__(**kwargs)
        for method in ("log_prob", "cdf"):
            fn = getattr(cls, method, None)
            if fn is not None and not getattr(fn, "_validates_sample", False):
                setattr(cls, method, _validating(fn))

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._validate_params()

    def _param_value(self, name: str):
        """The parameter `name` to validate, or None where it is not set: a lazily derived one (probs of a
        distribution given logits, kept as `_probs` = None until first use; a matrix a __getattr__ computes on
        first use) or one this class lacks. (PyTorch skips its lazy_property parameters alike.)"""
        if name not in self.__dict__:
            if self.__dict__.get("_" + name, 0) is None or not hasattr(type(self), name):
                return None
        try:
            value = getattr(self, name)
        except AttributeError:
            return None
        return value if isinstance(value, Tensor) else None

    def _validate_params(self) -> None:
        """PyTorch's check of each parameter against its arg_constraints entry (dependent ones skipped)."""
        from .constraints import is_dependent
        checks = []
        for name, constraint in self.arg_constraints.items():
            if is_dependent(constraint):
                continue
            value = self._param_value(name)   # (outside no_grad: it may compute and keep a derived parameter)
            if value is not None:
                checks.append((name, value, constraint))
        with _tt().no_grad():   # true/false answers: recording their sums and comparisons was most of the cost
            for name, value, constraint in checks:
                if self._validate_args and not _holds(constraint, value):
                    self._check(name, value, constraint.check(value), repr(constraint))

    def _validate_sample(self, value) -> None:
        """PyTorch's checks of a log_prob argument: a tensor, of a shape that ends in event_shape and broadcasts
        with batch_shape + event_shape, within the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        size = value.size()
        event_start = len(size) - len(self._event_shape)
        if tuple(size)[event_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {size} vs "
                             f"{self.event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(tuple(size)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {size} vs "
                                 f"{_tt().Size(expected)}.")
        try:
            support = self.support
        except (AttributeError, NotImplementedError):
            return          # no support declared: nothing to check against (PyTorch warns)
        if not _holds(support, value):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({support!r}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value}")

    def expand(self, batch_shape, _instance=None):
        """A distribution of batch_shape whose parameters are this one's expanded (views, no copies): PyTorch's
        per-class expand, done once here. Tensors named in arg_constraints (or their lazily filled `_name`
        slots, and `_param`, the one given) gain the new batch dims in front of their event dims; inner
        distributions whose batch shape starts with this one's are expanded alike; the rest is shared."""
        return self._expand_attributes(batch_shape, _instance)

    def _expand_attributes(self, batch_shape, _instance=None, skip=()):
        """expand()'s work, leaving the attributes named in `skip` to the caller."""
        batch_shape = tuple(batch_shape)
        new = _instance if _instance is not None else type(self).__new__(type(self))
        old = self._batch_shape
        params = set(self.arg_constraints)
        for cls in type(self).__mro__:   # and the parents' (Chi2's concentration and rate, Gamma's parameters)
            declared = cls.__dict__.get("arg_constraints")
            params |= set(declared) if isinstance(declared, dict) else set()
        names = {"_param"} | params | {"_" + n for n in params}
        done = {}   # id of a tensor -> its expansion, so aliases (_param is _probs) stay one tensor
        for key, value in self.__dict__.items():
            if key in skip:
                pass
            elif isinstance(value, Tensor) and key in names:
                if id(value) not in done:
                    done[id(value)] = value.expand(batch_shape + tuple(value.shape[len(old):]))
                value = done[id(value)]
            elif isinstance(value, Distribution) and tuple(value.batch_shape)[:len(old)] == old:
                value = value.expand(batch_shape + tuple(value.batch_shape)[len(old):])
            new.__dict__[key] = value
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def batch_shape(self):
        return _tt().Size(self._batch_shape)

    @property
    def event_shape(self):
        return _tt().Size(self._event_shape)

    def _extended_shape(self, sample_shape=()) -> tuple:
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _check(self, name: str, value: Tensor, ok: Tensor, constraint: str) -> None:
        """PyTorch's parameter validation error when `ok` is not all true."""
        if self._validate_args and not bool(ok.all().item()):
            raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                             f"distribution {self!r} to satisfy the constraint {constraint}, but found invalid "
                             f"values:\n{value}")

    def sample(self, sample_shape=()):
        """A sample (no gradient), of shape sample_shape + batch_shape + event_shape."""
        with _tt().no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (rsample); use sample()")

    def sample_n(self, n: int):
        return self.sample((n,))

    # What a family does not define raises NotImplementedError, as PyTorch's base class does (code that falls
    # back, e.g. to a sampled entropy, catches that error)
    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def _unimplemented(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement this method")

    _unimplemented._validates_sample = True   # (not wrapped by __init_subclass__'s validation)
    log_prob = cdf = icdf = _unimplemented

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return self.entropy().exp()

    def __repr__(self) -> str:
        """PyTorch's: each parameter set so far (a lazily derived probs / logits once computed), its value when it
        has one element, else its size."""
        parts = []
        for k in self.arg_constraints:
            v = self.__dict__.get(k, self.__dict__.get("_" + k))
            if isinstance(v, Tensor):
                parts.append(f"{k}: {(v.item() if v.dim() == 0 else v) if v.numel() == 1 else v.size()}")
        return f"{type(self).__name__}({', '.join(parts)})"


def validated_elsewhere(method):
    """Marks a log_prob or cdf that leaves value validation to the distributions it calls (PyTorch's Independent
    and MixtureSameFamily.cdf): __init_subclass__ then leaves it unwrapped."""
    method._validates_sample = True
    return method


def _validating(log_prob):
    @functools.wraps(log_prob)
    def checked_log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return log_prob(self, value)
    checked_log_prob._validates_sample = True
    return checked_log_prob


_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
_FLOAT = _dt.FLOAT


def _tril_flat_index(n: int, diag: int, device):
    """Flat (row * n + col) indices of the entries of an n x n matrix on or below diagonal `diag`, row-major."""
    tt = _tt()
    rows, cols = tt.tril_indices(n, n, offset=diag, device=device)
    return rows * n + cols


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of mat (..., n, n) on or below diagonal `diag`, row by row (torch.distributions.utils')."""
    n = mat.shape[-1]
    return mat.flatten(-2).index_select(-1, _tril_flat_index(n, diag, mat.device))


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of tril_matrix_to_vec: a (..., n, n) matrix, zero above diagonal `diag`."""
    tt = _tt()
    m = vec.shape[-1]
    # n solves m = n (n + 1) / 2 + diag n  ... for the triangle on and below `diag`
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(n) - n) > 1e-9:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the lower triangular "
                         f"part of a square D x D matrix.")
    n = round(n)
    flat = tt.zeros(tuple(vec.shape[:-1]) + (n * n,), dtype=vec.dtype, device=vec.device)
    index = _tril_flat_index(n, diag, vec.device).expand(tuple(vec.shape[:-1]) + (m,))
    return flat.scatter(-1, index, vec).reshape(tuple(vec.shape[:-1]) + (n, n))
