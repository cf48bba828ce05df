"""default_collate / default_convert: PyTorch's rules for turning a list of samples into a batch.

Tensors are stacked (tritorch.stack), NumPy arrays and NumPy scalars become tensors of their dtype, Python
floats a float64 tensor, ints an int64 tensor, bools a bool tensor, strings stay a list; dicts, namedtuples and
sequences are collated field by field (tuples come back as lists, as in PyTorch).

In a DataLoader worker, stacked cpu tensors and arrays are written straight into shared memory (as PyTorch's
workers do), so the batch crosses the result queue as a file descriptor the main process maps rather than as a
pickled copy of its bytes (multiprocessing/reductions.py): 3x224x224 float32 images in batches of 64 went from
99 to 20 ms a batch with two workers on a 2-core machine, PyTorch's taking 16 (perf/bench_dataloader.py --image
224).
"""
from __future__ import annotations

import collections.abc
import copy
import re

import numpy as np

from ... import _shared_memory as _shm
from ... import dtypes as _dt
from ...device import CPU
from ...ops.creation import from_numpy, tensor
from ...ops.movement import stack
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

# NumPy dtypes that cannot become tensors: bytes, strings, objects.
_NP_STR_OBJ = re.compile(r"[SaUO]")

_COLLATE_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")
_CONVERT_ERR = ("default_convert: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _np_to_tensor(arr) -> Tensor:
    """torch.as_tensor of a NumPy array or NumPy scalar: its own dtype (shares memory for arrays)."""
    if isinstance(arr, np.ndarray):
        return from_numpy(arr)
    return from_numpy(np.asarray(arr))


def _in_worker() -> bool:
    from . import dataloader
    return dataloader._worker_info is not None


def _shared_array(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array in shared memory (_shared_memory.py)."""
    count = int(np.prod(shape))
    buf = _shm.new_buffer(count * dtype.itemsize)
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape)


def _stack_tensors(batch: list) -> Tensor:
    elem = batch[0]
    if (not _in_worker() or elem.device is not CPU
            or any(t.__class__ is not elem.__class__ or t.dtype is not elem.dtype for t in batch)):
        return stack(batch, 0)
    out = from_numpy(_shared_array((len(batch),) + tuple(elem.shape), elem._data.dtype))
    return stack(batch, 0, out=out)


def _stack_arrays(batch: list) -> Tensor:
    shape = batch[0].shape
    for i, a in enumerate(batch):
        if a.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(a.shape)} at entry {i}")
    if not _in_worker():
        return from_numpy(np.stack(batch))
    dtype = np.result_type(*batch)
    return from_numpy(np.stack(batch, out=_shared_array((len(batch),) + shape, dtype)))


def _same_mapping_type(elem, values: dict):
    """A mapping of the sample's own type holding `values`, or a plain dict when that type can't be rebuilt."""
    if isinstance(elem, collections.abc.MutableMapping):
        try:
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        except TypeError:
            return values
    try:
        return type(elem)(values)
    except TypeError:
        return values


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray) and not isinstance(elem, (np.str_, np.bytes_)):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return _stack_arrays(batch)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return from_numpy(np.asarray(batch, dtype=elem.dtype))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dt.float64)
    if isinstance(elem, int):  # bool is an int too; tensor() keeps it bool
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _same_mapping_type(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [list(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]  # PyTorch returns lists for tuples
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = default_collate(samples)
                return clone
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data):
    """What a DataLoader without batching (batch_size=None) does to each sample: NumPy arrays and scalars become
    tensors, containers are converted element by element, anything else is returned as is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return _np_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping_type(data, {key: default_convert(data[key]) for key in data})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
