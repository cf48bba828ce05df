"""Fetching one batch from a dataset: the same code in the main process (num_workers=0) and in a worker."""
from __future__ import annotations


class MapFetcher:
    """A map-style dataset: the samples at the sampler's indices, merged by the collate function (or, without
    auto-collation, one sample converted)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)


class IterableFetcher:
    """An iterable dataset: the next batch_size samples of its stream (StopIteration when it ends, or when
    drop_last drops a short last batch)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, batch_size, drop_last: bool):
        self.stream = iter(dataset)
        self.auto_collation, self.collate_fn = auto_collation, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last

    def fetch(self, _indices=None):
        if not self.auto_collation:
            return self.collate_fn(next(self.stream))
        samples = []
        for _ in range(self.batch_size):
            try:
                samples.append(next(self.stream))
            except StopIteration:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self.collate_fn(samples)


def fetcher_for(dataset, auto_collation: bool, collate_fn, batch_size, drop_last: bool):
    from .dataset import IterableDataset
    if isinstance(dataset, IterableDataset):
        return IterableFetcher(dataset, auto_collation, collate_fn, batch_size, drop_last)
    return MapFetcher(dataset, auto_collation, collate_fn)
