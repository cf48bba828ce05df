"""tritorch.types: torch.types' public aliases over tritorch's classes."""
import typing

import pytest

import tritorch as tt


def test_aliases_name_tritorchs_classes():
    assert tt.types.Number == typing.Union[int, float, bool]  # noqa: UP007
    assert set(typing.get_args(tt.types.Device)) == {tt.device, str, int, type(None)}
    assert tt.Tensor in typing.get_args(tt.types._TensorOrTensors)
    assert tt.Size in typing.get_args(tt.types._size) and tt.types._dtype is tt.dtype
    assert isinstance(3.5, tt.types._Number)


def test_public_names_are_torchs():
    torch = pytest.importorskip("torch")
    assert set(tt.types.__all__) == set(torch.types.__all__)
    assert typing.get_args(tt.types.Number) == typing.get_args(torch.types.Number)
