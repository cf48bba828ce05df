"""tritorch.types: the type aliases torch.types offers for annotations, over tritorch's own classes.

torch.types also names the symbolic SymInt/SymFloat/SymBool; tritorch has no symbolic shapes, so those names are
left out rather than pointed at something that is not them. Storage covers tritorch's two storage classes."""
import os
from collections.abc import Sequence
from typing import IO, Union

from ._memory_format import layout as _layout
from .device import device as _device
from .dtypes import dtype as _dtype
from .storage import TypedStorage, UntypedStorage
from .tensor import Size, Tensor

__all__ = ["Device", "FileLike", "Number", "Storage"]

_int = int
_float = float
_bool = bool
_complex = complex
_str = str
_bytes = bytes
_size = Union[Size, list[int], tuple[int, ...]]  # noqa: UP007 - a runtime alias, as torch.types spells it
_symsize = _size
_dispatchkey = str
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]  # noqa: UP007
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]], None]  # noqa: UP007
_Number = (int, float, bool)  # for isinstance checks

Number = Union[int, float, bool]  # noqa: UP007
Device = Union[_device, str, int, None]  # noqa: UP007
Storage = Union[UntypedStorage, TypedStorage]  # noqa: UP007
FileLike = Union[str, os.PathLike, IO[bytes]]  # noqa: UP007
IntLikeType = int
FloatLikeType = float
BoolLikeType = bool
