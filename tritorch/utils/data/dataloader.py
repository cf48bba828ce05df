"""DataLoader: batches of a dataset, in sampler order, merged by a collate function.

num_workers=0 loads in the calling process. num_workers > 0 starts that many worker processes (_worker.py), with
PyTorch's prefetch_factor, persistent_workers, timeout, worker_init_fn, multiprocessing_context and per-worker
seeding. Host memory is not pinned (tritorch copies to the GPU with cuMemcpyHtoDAsync from ordinary memory);
batches on cuda are the user's `.to("cuda")`, as in PyTorch.

Batching a TensorDataset with the default collate_fn takes a fast path: each batch is one `index_select` per
tensor (a single gather) instead of slicing every row and stacking them; the result is the same.
"""
from __future__ import annotations

import dataclasses
from typing import Generic, TypeVar

import numpy as np

from ...ops.creation import tensor as _tensor
from ...ops.indexing import index_select
from ...ops.random import _gen, randint
from ...tensor import _make
from . import _collate
from ._fetch import fetcher_for
from ._worker import MultiProcessIter, _BaseDataLoaderIter
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """torch.utils.data.get_worker_info()'s record: which worker this is, how many there are, its seed and the
    dataset it reads."""
    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, which worker it is (id, num_workers, seed, its copy of the dataset); None
    in the main process."""
    return _worker_info


class _InfiniteConstantSampler(Sampler):
    """The 'sampler' of an IterableDataset: None forever (the dataset's own iterator decides)."""

    def __iter__(self):
        while True:
            yield None


T_co = TypeVar("T_co", covariant=True)


class DataLoader(Generic[T_co]):
    """torch.utils.data.DataLoader (generic in its batches' type, as PyTorch's): PyTorch's arguments, defaults and argument checks; loading in-process, or in
    num_workers worker processes."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if generator is not None:
            _gen(generator)  # a TypeError now rather than at the first epoch

        if isinstance(dataset, IterableDataset):
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")

        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = _collate.default_collate if self._auto_collation else _collate.default_convert
        self.collate_fn = collate_fn
        self._iterator = None   # the persistent workers' iterator, reused every pass
        self._initialized = True

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __setattr__(self, name, value) -> None:
        if getattr(self, "_initialized", False) and name in self._FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            if self.pin_memory:
                _pin_memory_warnings(self)
            return _LoaderIter(self)
        if self.persistent_workers and self._iterator is not None:
            self._iterator._reset()
            return self._iterator
        if self.pin_memory:
            _pin_memory_warnings(self)
        it = MultiProcessIter(self, _base_seed(self))
        if self.persistent_workers:
            self._iterator = it
        return it

    def check_worker_number_rationality(self) -> None:
        """PyTorch's warning when num_workers exceeds the CPUs this process may use."""
        import os
        import warnings
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if cpus and self.num_workers > cpus:
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in total. Our suggested "
                          f"max number of worker in current system is {cpus}, which is smaller than what this "
                          "DataLoader is going to create. Please be aware that excessive worker creation might get "
                          "DataLoader running slow or even freeze, lower the worker number to avoid potential "
                          "slowness/freeze if necessary.", UserWarning, stacklevel=2)


def _pin_memory_warnings(loader: DataLoader) -> None:
    """PyTorch's warnings when a pass starts with pin_memory set: pin_memory_device is deprecated (the current
    accelerator is the device), and with no accelerator nothing is pinned."""
    import warnings
    from ... import accelerator
    if loader.pin_memory_device:
        warnings.warn("pin_memory_device is deprecated, the current accelerator will be used as the device,"
                      f"ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
    if not accelerator.is_available():
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned memory "
                      "won't be used.", stacklevel=3)


def _base_seed(loader: DataLoader) -> int:
    """A pass's base seed, drawn from the loader's generator (or the default one) when the pass starts, as
    PyTorch's iterator does (so the random stream after it does not depend on num_workers)."""
    return int(randint(0, 2 ** 63 - 1, (), generator=_gen(loader.generator)).item())


def _uses_tensor_fast_path(loader: DataLoader) -> bool:
    """A TensorDataset batched by a BatchSampler with the default collate: one gather per tensor per batch.
    (Exact types only: a subclass may override __getitem__ or __iter__.)"""
    return (type(loader.dataset) is TensorDataset and type(loader.batch_sampler) is BatchSampler
            and loader.collate_fn is _collate.default_collate)


class _LoaderIter(_BaseDataLoaderIter):
    """One pass over the loader in the calling process."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._dataset = loader.dataset
        _base_seed(loader)   # drawn as a pass with workers draws it, so the stream after it is the same
        if _uses_tensor_fast_path(loader):
            self._batches = loader.batch_sampler._index_batches()
            self._index_on = {}  # device -> the batch's index tensor on that device
            self._fetch = self._fetch_tensor_batch
        else:
            fetcher = fetcher_for(loader.dataset, loader._auto_collation, loader.collate_fn, loader.batch_size,
                                  loader.drop_last)
            if isinstance(self._dataset, IterableDataset):
                self._fetch = fetcher.fetch
            else:
                batches = iter(loader._index_sampler)
                self._fetch = lambda: fetcher.fetch(next(batches))

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self):
        return self._fetch()

    # ---- the TensorDataset fast path: one batch each call; StopIteration at the end
    def _fetch_tensor_batch(self):
        idx = next(self._batches)
        self._index_on.clear()
        return [self._gather(t, idx) for t in self._dataset.tensors]

    def _gather(self, t, idx: np.ndarray):
        """Rows `idx` of t: NumPy's take on cpu (the registry's index_select adds a range check that costs as much
        as the copy; take raises IndexError itself and, like t[i], accepts negative indices); on cuda, or when
        autograd tracks t, the index_select op."""
        if t.device.type == "cpu" and not t.requires_grad:
            return _make(np.take(t._data, idx, axis=0), t.dtype, t.device)
        return index_select(t, 0, self._index(idx, t.device))

    def _index(self, idx: np.ndarray, device):
        # One index tensor per device per batch, shared by every tensor of the dataset on that device.
        t = self._index_on.get(device)
        if t is None:
            t = self._index_on[device] = _tensor(idx, device=device)
        return t


# PyTorch's names of the two iterators (isinstance checks name them)
_SingleProcessDataLoaderIter = _LoaderIter
_MultiProcessingDataLoaderIter = MultiProcessIter
