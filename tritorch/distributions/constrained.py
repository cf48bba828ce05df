"""What the newer families share (torch.distributions' pattern): arg_constraints as Constraint objects checked at
construction (PyTorch's error message), and expand() by expanding each parameter to the new batch shape."""
from __future__ import annotations

from .distribution import Distribution


class ConstrainedParams:
    """Mixin for a Distribution whose arg_constraints maps parameter names to Constraint objects (checked by
    Distribution._validate_params)."""

    def _expanded(self, batch_shape, params: dict, _instance=None, **extra):
        """A new instance of this class with batch_shape and the given (already expanded) attributes; extra
        attributes are copied as they are."""
        new = _instance if _instance is not None else type(self).__new__(type(self))
        for name, value in {**params, **extra}.items():
            setattr(new, name, value)
        Distribution.__init__(new, tuple(batch_shape), self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _expand_each(self, batch_shape, names, _instance=None, **extra):
        """expand() for parameters that all have the batch shape followed by the event shape."""
        shape = tuple(batch_shape) + self._event_shape
        return self._expanded(batch_shape, {n: getattr(self, n).expand(shape) for n in names}, _instance, **extra)
