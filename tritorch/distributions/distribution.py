"""The Distribution base class (torch.distributions' interface) and the helpers its subclasses share."""
from __future__ import annotations

import math

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


class Distribution:
    """A parameterised probability distribution: batch_shape independent draws of events of event_shape.

    Subclasses define sample or rsample (reparameterised, differentiable in the parameters), log_prob and the
    moments they have. validate_args (default on, as in PyTorch) checks the parameters at construction."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: dict = {}

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args

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

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return self.entropy().exp()

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for k in names:
            v = self.__dict__[k]
            parts.append(f"{k}: {v.item() if v.numel() == 1 else v.size()}")
        return f"{type(self).__name__}({', '.join(parts)})"


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
