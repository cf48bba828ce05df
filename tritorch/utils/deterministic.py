"""torch.utils.deterministic: `fill_uninitialized_memory` (default True): while use_deterministic_algorithms is on,
empty(), empty_like, new_empty and the new elements of resize_ are filled with NaN (floating dtypes), the largest
value (integers) or True (bool), so a result that reads memory nobody wrote is the same on every run."""
import sys
import types

from .. import _settings


class _DeterministicModule(types.ModuleType):
    @property
    def fill_uninitialized_memory(self) -> bool:
        return _settings._deterministic["fill"]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"expected a bool, but got {type(value).__name__}")
        _settings._deterministic["fill"] = value


sys.modules[__name__].__class__ = _DeterministicModule
