"""Samplers: the order in which a DataLoader visits a map-style dataset's indices.

Random samplers draw from tritorch's Philox generators (tritorch.Generator), so a seeded generator, or
tritorch.manual_seed when none is given, replays the same order. The built-in samplers also expose their epoch
as NumPy int64 arrays drawn a chunk at a time (`_index_chunks()`; `_indices()` joins them), which BatchSampler
slices into batches without a Python loop over items; iterating them yields the same indices as plain ints. The
chunks are drawn as the epoch is consumed, so num_samples may be huge (minGPT's "infinite" sampler asks for 1e10
with replacement); their sizes are whole Philox counters, so the stream equals one call's.
"""
from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from ... import dtypes as _dt
from ...ops.random import Generator, _gen, rand, randint, randperm
from ...tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: subclasses define __iter__ (yielding indices) and, when they know it, __len__. Generic in what
    it yields, as PyTorch's (Sampler[int], Sampler[list[int]])."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self):
        raise NotImplementedError


def _fresh_generator(generator) -> Generator:
    """`generator` itself, or (None) a new generator seeded from the default one, as PyTorch's RandomSampler
    does: each epoch then differs, and tritorch.manual_seed fixes the whole sequence of epochs."""
    if generator is not None:
        return _gen(generator)
    seed = int(randint(0, 2 ** 63 - 1, ()).item())
    return Generator().manual_seed(seed)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def _indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def _index_chunks(self):
        n = len(self.data_source)
        for start in range(0, n, _CHUNK):
            yield np.arange(start, min(n, start + _CHUNK), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices each epoch (replacement=False), or `num_samples` indices drawn
    uniformly with replacement."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self):
        n = len(self.data_source)
        g = _fresh_generator(self.generator)
        total = self.num_samples
        if self.replacement:
            for start in range(0, total, _CHUNK):
                yield randint(0, n, (min(_CHUNK, total - start),), dtype=_dt.int64, generator=g).numpy()
            return
        # Whole permutations while num_samples exceeds n, then the head of one more (PyTorch's order). That one is
        # drawn even when num_samples % n is 0, as PyTorch does: a generator passed in then stands where PyTorch's
        # would after an epoch (two permutations on, not one), so the next epoch's order is PyTorch's next one.
        for _ in range(total // n):
            yield randperm(n, generator=g).numpy()
        yield randperm(n, generator=g).numpy()[:total % n]

    def _indices(self) -> np.ndarray:
        return _joined(self._index_chunks())

    def __iter__(self):
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        # The indices as given (any type a dataset accepts), in a random order.
        for i in randperm(len(self.indices), generator=_gen(self.generator)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights` (torch.multinomial's rule: with
    replacement, inverse-CDF of uniforms; without, the largest log(u) / w keys, Efraimidis-Spirakis)."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights._host() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0, or a negative, inf or "
                               "nan weight)")
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_chunks(self):
        w = self.weights
        g = _gen(self.generator)
        if self.replacement:
            cdf = np.cumsum(w / w.sum())
            for start in range(0, self.num_samples, _CHUNK):
                u = rand(min(_CHUNK, self.num_samples - start), dtype=_dt.float64, generator=g).numpy()
                yield np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1).astype(np.int64)
            return
        u = rand(len(w), dtype=_dt.float64, generator=g).numpy()
        with np.errstate(divide="ignore"):
            keys = np.where(w > 0, np.log1p(-u) / w, -np.inf)  # log(1 - u) / w: larger is likelier
        yield np.argsort(-keys, kind="stable")[:self.num_samples].astype(np.int64)

    def _indices(self) -> np.ndarray:
        return _joined(self._index_chunks())

    def __iter__(self):
        for chunk in self._index_chunks():
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size` (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self):
        """The batches as NumPy int64 arrays (the same indices __iter__ gives). Built-in samplers give their epoch
        as one array, sliced here; any other sampler is read item by item."""
        bs = self.batch_size
        if _has_index_array(self.sampler):
            carry = np.empty(0, np.int64)   # the start of a batch that runs into the next chunk
            for chunk in self.sampler._index_chunks():
                idx = np.concatenate([carry, chunk]) if carry.size else chunk
                stop = len(idx) - len(idx) % bs
                for start in range(0, stop, bs):
                    yield idx[start:start + bs]
                carry = idx[stop:]
            if carry.size and not self.drop_last:
                yield carry
            return
        it = iter(self.sampler)
        while True:
            batch = list(_take(it, bs))
            if not batch or (self.drop_last and len(batch) < bs):
                return
            yield np.asarray(batch, dtype=np.int64)

    def __iter__(self):
        if _has_index_array(self.sampler):
            for b in self._index_batches():
                yield b.tolist()
            return
        # A user's sampler may yield any index type (keys, tuples): keep them as they come.
        it = iter(self.sampler)
        while True:
            batch = list(_take(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


# Indices drawn per chunk: whole Philox counters (4 int32 or 2 float64 draws each), so chunked draws give the
# stream one call would.
_CHUNK = 1 << 16


def _joined(chunks) -> np.ndarray:
    parts = list(chunks)
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _has_index_array(sampler) -> bool:
    """A built-in sampler (not a subclass, which may override __iter__) that can give its epoch as one array."""
    return type(sampler) in (SequentialSampler, RandomSampler, WeightedRandomSampler)


def _take(it, n: int):
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return
