"""tritorch.utils.data: DataLoader determinism and batching, collation rules, samplers, datasets, random_split."""
import collections
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                 RandomSampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                                 TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                                 get_worker_info, random_split)

try:
    import torch
except ImportError:  # PyTorch is an optional oracle
    torch = None


def _dataset(n=23, device="cpu"):
    x = tt.arange(n * 3, dtype=tt.float32, device=device).reshape(n, 3)
    y = tt.arange(n, device=device) * 10
    return TensorDataset(x, y)


def _labels(loader) -> list:
    return [yb.tolist() for _, yb in loader]


class _ListDataset(Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


class _Stream(IterableDataset):
    def __init__(self, n, with_len=True):
        self.n, self.with_len = n, with_len

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.with_len:
            raise TypeError("no length")
        return self.n


# ------------------------------------------------------------------------------------------- determinism

def test_same_generator_seed_gives_same_batches_and_different_seed_differs():
    ds = _dataset()
    a = _labels(DataLoader(ds, batch_size=5, shuffle=True, generator=tt.Generator().manual_seed(7)))
    b = _labels(DataLoader(ds, batch_size=5, shuffle=True, generator=tt.Generator().manual_seed(7)))
    c = _labels(DataLoader(ds, batch_size=5, shuffle=True, generator=tt.Generator().manual_seed(8)))
    assert a == b
    assert a != c
    flat = sorted(v for batch in a for v in batch)
    assert flat == [10 * i for i in range(23)]  # a permutation: every sample once


def test_epochs_differ_and_replay_from_the_same_seed():
    ds = _dataset()
    g = tt.Generator().manual_seed(3)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
    e1, e2 = _labels(loader), _labels(loader)
    assert e1 != e2
    g.manual_seed(3)
    assert _labels(loader) == e1 and _labels(loader) == e2


def test_shuffle_without_generator_follows_manual_seed():
    ds = _dataset()
    tt.manual_seed(11)
    a = _labels(DataLoader(ds, batch_size=6, shuffle=True))
    tt.manual_seed(11)
    b = _labels(DataLoader(ds, batch_size=6, shuffle=True))
    tt.manual_seed(12)
    c = _labels(DataLoader(ds, batch_size=6, shuffle=True))
    assert a == b and a != c


def test_no_shuffle_is_sequential():
    ds = _dataset(10)
    assert _labels(DataLoader(ds, batch_size=4)) == [[0, 10, 20, 30], [40, 50, 60, 70], [80, 90]]


# --------------------------------------------------------------------------------------------- drop_last

@pytest.mark.parametrize("drop_last", [False, True])
def test_drop_last_and_len(drop_last):
    ds = _dataset(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True, drop_last=drop_last, generator=tt.Generator().manual_seed(0))
    sizes = [len(yb) for yb in _labels(loader)]
    assert sizes == ([5, 5, 5, 5] if drop_last else [5, 5, 5, 5, 3])
    assert len(loader) == len(sizes)
    exact = DataLoader(_dataset(20), batch_size=5, drop_last=drop_last)
    assert len(exact) == 4 and len(list(exact)) == 4


def test_drop_last_on_the_item_path_and_iterable_dataset():
    ds = _ListDataset(list(range(7)))
    assert [b.tolist() for b in DataLoader(ds, batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert [b.tolist() for b in DataLoader(ds, batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    stream = DataLoader(_Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in stream] == [[0, 1, 2], [3, 4, 5]] and len(stream) == 2
    assert len(DataLoader(_Stream(7), batch_size=3)) == 3
    with pytest.raises(TypeError):
        len(DataLoader(_Stream(7, with_len=False), batch_size=3))


# ---------------------------------------------------------------------------------- TensorDataset fast path

@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_tensor_dataset_fast_path_equals_item_path(device):
    n = 9 if device == "cuda" else 37  # (few batches on cuda: Triton's interpreter is slow)
    x = tt.randn(n, 2, 3, generator=tt.Generator().manual_seed(1), device=device)
    y = tt.arange(n, device=device)
    m = tt.arange(n, device=device) % 2 == 0
    ds = TensorDataset(x, y, m)
    for kwargs in (dict(batch_size=4, shuffle=True), dict(batch_size=5, drop_last=True), dict(batch_size=n + 3))[
            :2 if device == "cuda" else 3]:
        fast = DataLoader(ds, generator=tt.Generator().manual_seed(5), **kwargs)
        slow = DataLoader(ds, generator=tt.Generator().manual_seed(5), collate_fn=lambda b: default_collate(b),
                          **kwargs)
        fast_batches, slow_batches = list(fast), list(slow)
        assert len(fast_batches) == len(slow_batches) == len(fast)
        for fb, sb in zip(fast_batches, slow_batches):
            assert isinstance(fb, list) and len(fb) == 3
            for f, s in zip(fb, sb):
                assert f.dtype is s.dtype and f.device is s.device and f.shape == s.shape
                np.testing.assert_array_equal(f.detach().cpu().numpy(), s.detach().cpu().numpy())


def test_tensor_dataset_fast_path_with_a_user_sampler():
    ds = _dataset(9)
    order = [8, 1, 4, 4, 0]
    loader = DataLoader(ds, batch_size=2, sampler=order)
    assert _labels(loader) == [[80, 10], [40, 40], [0]]

    class Reversed(SequentialSampler):  # a subclass's own __iter__ is honoured
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    assert _labels(DataLoader(ds, batch_size=4, sampler=Reversed(ds))) == [[80, 70, 60, 50], [40, 30, 20, 10], [0]]


# --------------------------------------------------------------------------------------------- collation

def test_collate_tensors_numpy_and_numbers():
    t = default_collate([tt.tensor([1.0, 2.0]), tt.tensor([3.0, 4.0])])
    assert t.dtype is tt.float32 and t.tolist() == [[1, 2], [3, 4]]
    a = default_collate([np.array([1, 2], np.int16), np.array([3, 4], np.int16)])
    assert a.dtype is tt.int16 and a.tolist() == [[1, 2], [3, 4]]
    s = default_collate([np.float32(1.5), np.float32(2.5)])
    assert s.dtype is tt.float32 and s.shape == (2,)
    f = default_collate([1.5, 2.0])
    assert f.dtype is tt.float64 and f.tolist() == [1.5, 2.0]
    i = default_collate([1, 2, 3])
    assert i.dtype is tt.int64 and i.tolist() == [1, 2, 3]
    b = default_collate([True, False])
    assert b.dtype is tt.bool and b.tolist() == [True, False]
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_collate_containers():
    Point = collections.namedtuple("Point", "x y")
    batch = [{"img": np.zeros((2, 2), np.float32), "label": 1, "meta": ("a", 0.5), "pt": Point(1, 2.0)},
             {"img": np.ones((2, 2), np.float32), "label": 0, "meta": ("b", 1.5), "pt": Point(3, 4.0)}]
    out = default_collate(batch)
    assert isinstance(out, dict) and list(out) == ["img", "label", "meta", "pt"]
    assert out["img"].shape == (2, 2, 2) and out["img"].dtype is tt.float32
    assert out["label"].tolist() == [1, 0]
    assert isinstance(out["meta"], list) and out["meta"][0] == ["a", "b"] and out["meta"][1].dtype is tt.float64
    assert isinstance(out["pt"], Point) and out["pt"].x.tolist() == [1, 3] and out["pt"].y.dtype is tt.float64
    lists = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(lists, list) and lists[0].tolist() == [1, 3] and lists[1].tolist() == [2.0, 4.0]
    od = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert isinstance(od, collections.OrderedDict) and od["a"].tolist() == [1, 2]


def test_collate_errors():
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.zeros(2), np.zeros(3)])


def test_default_convert_and_batch_size_none():
    out = default_convert({"a": np.arange(3), "b": (np.float32(1), "s"), "c": 2})
    assert out["a"].dtype is tt.int64 and isinstance(out["b"], list) and out["b"][0].dtype is tt.float32
    assert out["b"][1] == "s" and out["c"] == 2
    loader = DataLoader(_ListDataset([np.arange(2), np.arange(2) + 2]), batch_size=None)
    items = list(loader)
    assert len(loader) == 2 and [i.tolist() for i in items] == [[0, 1], [2, 3]]


@pytest.mark.skipif(torch is None, reason="needs PyTorch as an oracle")
def test_collate_matches_pytorch():
    from torch.utils.data import default_collate as torch_collate
    Pair = collections.namedtuple("Pair", "a b")
    batches = [[1, 2], [1.0, 2.5], [True, False], [np.int32(1), np.int32(2)], [np.arange(3.0), np.ones(3)],
               [{"k": (1, 2.0)}, {"k": (3, 4.0)}], [Pair(1, [1.0]), Pair(2, [2.0])]]

    def same(a, b):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, tt.Tensor) and str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            assert tuple(a.shape) == tuple(b.shape) and a.tolist() == b.tolist()
        elif isinstance(b, dict):
            assert type(a) is type(b) and list(a) == list(b)
            for k in b:
                same(a[k], b[k])
        elif isinstance(b, (list, tuple)):
            assert type(a) is type(b) and len(a) == len(b)
            for x, y in zip(a, b):
                same(x, y)
        else:
            assert a == b

    for batch in batches:
        same(default_collate(batch), torch_collate(batch))


# --------------------------------------------------------------------------------------------- samplers

def test_samplers():
    ds = list(range(10))
    assert list(SequentialSampler(ds)) == ds
    perm = list(RandomSampler(ds, generator=tt.Generator().manual_seed(0)))
    assert sorted(perm) == ds and perm == list(RandomSampler(ds, generator=tt.Generator().manual_seed(0)))
    more = list(RandomSampler(ds, num_samples=25, generator=tt.Generator().manual_seed(0)))
    assert len(more) == 25 and sorted(more[:10]) == ds and sorted(more[10:20]) == ds
    rep = RandomSampler(ds, replacement=True, num_samples=50, generator=tt.Generator().manual_seed(0))
    draws = list(rep)
    assert len(rep) == 50 and len(draws) == 50 and all(0 <= d < 10 for d in draws) and len(set(draws)) < 50
    sub = list(SubsetRandomSampler([3, 5, 7], generator=tt.Generator().manual_seed(2)))
    assert sorted(sub) == [3, 5, 7]
    assert list(BatchSampler(SequentialSampler(ds), 4, False)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(BatchSampler(SequentialSampler(ds), 4, True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert list(BatchSampler(["a", "b", "c"], 2, False)) == [["a", "b"], ["c"]]
    assert len(BatchSampler(ds, 4, False)) == 3 and len(BatchSampler(ds, 4, True)) == 2


def test_random_sampler_draws_the_trailing_permutation_as_pytorch():
    # PyTorch's RandomSampler draws one more permutation after the whole ones (its head num_samples % n long)
    # even when that head is empty: a generator passed in is two permutations on after an epoch of n samples.
    ds = list(range(10))
    sampler = RandomSampler(ds, generator=tt.Generator().manual_seed(3))
    first, second = list(sampler), list(sampler)
    g = tt.Generator().manual_seed(3)
    perms = [tt.randperm(10, generator=g).tolist() for _ in range(4)]
    assert first == perms[0] and second == perms[2]
    more = RandomSampler(ds, num_samples=20, generator=tt.Generator().manual_seed(3))
    assert list(more) == perms[0] + perms[1] and list(more) == perms[3] + tt.randperm(10, generator=g).tolist()


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0]
    draws = list(WeightedRandomSampler(w, 4000, generator=tt.Generator().manual_seed(0)))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and abs(counts[2] / counts[1] - 3.0) < 0.4
    no_rep = list(WeightedRandomSampler([1.0, 1.0, 5.0, 0.0], 3, replacement=False,
                                        generator=tt.Generator().manual_seed(1)))
    assert sorted(no_rep) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler([], generator=None)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler([1], replacement=1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler([1], 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler([1], 1, None)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 1)


# --------------------------------------------------------------------------------------------- DataLoader

def test_pin_memory_warnings_as_pytorch(monkeypatch):
    # PyTorch warns when a pass starts with pin_memory set and no accelerator (nothing is pinned), and that
    # pin_memory_device is deprecated; a persistent workers' iterator reused is no new pass.
    ds = _dataset(4)
    monkeypatch.setattr(tt.accelerator, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        assert len(list(DataLoader(ds, batch_size=2, pin_memory=True))) == 2
    loader = DataLoader(ds, batch_size=2, pin_memory=True, num_workers=1, persistent_workers=True)
    with pytest.warns(UserWarning, match="no accelerator is found"):
        assert _labels(loader) == [[0, 10], [20, 30]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _labels(loader) == [[0, 10], [20, 30]]
        assert len(list(DataLoader(ds, batch_size=2))) == 2
    monkeypatch.setattr(tt.accelerator, "is_available", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(DataLoader(ds, batch_size=2, pin_memory=True))
        list(DataLoader(ds, batch_size=2, pin_memory=True, pin_memory_device="cuda"))
    assert [str(w.message) for w in caught] == [
        "pin_memory_device is deprecated, the current accelerator will be used as the device,"
        "ignore pin_memory_device='cuda'."]


def test_dataloader_argument_errors():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(_Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(TypeError, match="tritorch.Generator"):
        DataLoader(ds, shuffle=True, generator=123)
    loader = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3


class _WhoLoads(Dataset):
    """Each sample says which worker process loaded it and what its generators drew there."""

    def __init__(self, n=10, delay=0.0):
        self.n, self.delay = n, delay

    def __getitem__(self, i):
        import os
        import random
        import time
        time.sleep(self.delay)
        info = get_worker_info()
        return {"i": i, "worker": -1 if info is None else info.id, "pid": os.getpid(),
                "seed": -1 if info is None else info.seed, "tt": int(tt.randint(0, 10 ** 6, ()).item()),
                "py": random.randrange(10 ** 6), "np": int(np.random.randint(10 ** 6)),
                "threads": tt.get_num_threads(), "init": _INIT_MARK[0]}

    def __len__(self):
        return self.n


_INIT_MARK = [""]


def _mark_init(worker_id):
    _INIT_MARK[0] = f"init {worker_id}"


def test_worker_processes_load_in_parallel_in_sampler_order():
    import os
    tt.manual_seed(0)
    single = list(DataLoader(_WhoLoads(), batch_size=2, shuffle=True))
    tt.manual_seed(0)
    loader = DataLoader(_WhoLoads(), batch_size=2, shuffle=True, num_workers=3, worker_init_fn=_mark_init)
    batches = list(loader)
    assert [b["i"].tolist() for b in batches] == [b["i"].tolist() for b in single]   # same order as in-process
    workers = [b["worker"].tolist() for b in batches]
    assert workers == [[k % 3] * 2 for k in range(5)]                                 # round robin, as PyTorch
    pids = {p for b in batches for p in b["pid"].tolist()}
    assert len(pids) == 3 and os.getpid() not in pids
    base = batches[0]["seed"][0].item()
    assert all(b["seed"].tolist() == [base + k % 3] * 2 for k, b in enumerate(batches))
    assert all(b["init"] == [f"init {k % 3}"] * 2 for k, b in enumerate(batches))
    assert all(b["threads"].tolist() == [1, 1] for b in batches) and get_worker_info() is None
    first = {k % 3: (b["tt"][0].item(), b["py"][0], b["np"][0].item()) for k, b in enumerate(batches[:3])}
    assert len({v[0] for v in first.values()}) == 3 and len({v[2] for v in first.values()}) == 3
    tt.manual_seed(0)
    again = list(DataLoader(_WhoLoads(), batch_size=2, shuffle=True, num_workers=3))
    assert [(b["i"].tolist(), b["tt"].tolist(), b["py"].tolist(), b["np"].tolist()) for b in again] == \
           [(b["i"].tolist(), b["tt"].tolist(), b["py"].tolist(), b["np"].tolist()) for b in batches]   # seeded


def test_worker_pids_persist_only_with_persistent_workers():
    def pids(loader):
        return [{p for b in loader for p in b["pid"].tolist()} for _ in range(2)]
    fresh = pids(DataLoader(_WhoLoads(4), batch_size=2, num_workers=2))
    assert fresh[0].isdisjoint(fresh[1])
    loader = DataLoader(_WhoLoads(4), batch_size=2, num_workers=2, persistent_workers=True, prefetch_factor=1)
    kept = pids(loader)
    assert kept[0] == kept[1] and len(kept[0]) == 2
    loader._iterator.shutdown()


def test_in_order_false_hands_out_batches_as_they_arrive():
    class SlowFirst(Dataset):
        def __getitem__(self, i):
            import time
            time.sleep(0.6 if i == 0 else 0.0)
            return i

        def __len__(self):
            return 6

    got = [b.tolist() for b in DataLoader(SlowFirst(), batch_size=1, num_workers=2, in_order=False)]
    assert sorted(got) == [[i] for i in range(6)] and got[0] == [1]   # worker 1's first batch did not wait
    assert [b.tolist() for b in DataLoader(SlowFirst(), batch_size=1, num_workers=2)] == [[i] for i in range(6)]


def test_iterable_dataset_in_workers_is_sharded_by_the_dataset():
    class Shards(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            return iter(range(info.id, 11, info.num_workers))

    for persistent in (False, True):
        loader = DataLoader(Shards(), batch_size=3, num_workers=2, persistent_workers=persistent)
        for _ in range(2):   # a second pass restarts every worker's stream
            assert [b.tolist() for b in loader] == [[0, 2, 4], [1, 3, 5], [6, 8, 10], [7, 9]]


def test_worker_errors_reach_the_main_process():
    class Bad(Dataset):
        def __getitem__(self, i):
            if i == 3:
                raise ValueError("sample 3 is corrupt")
            return i

        def __len__(self):
            return 6

    loader = DataLoader(Bad(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    with pytest.raises(ValueError, match="(?s)Caught ValueError in DataLoader worker process 1.*sample 3 is corrupt"):
        next(it)
    it.shutdown()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        list(DataLoader(_WhoLoads(2, delay=1.0), num_workers=1, timeout=0.2))


class _Unpicklable(Dataset):
    # sample 2 carries a lock, which cannot cross to the main process
    def __getitem__(self, i):
        import threading
        return {"x": i, "lock": threading.Lock() if i == 2 else None}

    def __len__(self):
        return 4


@pytest.mark.parametrize("context", [None, "spawn"])
def test_a_batch_that_cannot_be_pickled_is_an_error_in_the_main_process(context):
    # a Queue's feeder thread drops what fails to pickle: the main process waited for that batch forever (here, for
    # the timeout); the pickling error now comes in its place, when the batch is due, and the batches before it
    loader = DataLoader(_Unpicklable(), batch_size=None, num_workers=1, timeout=60, multiprocessing_context=context)
    it = iter(loader)
    assert [next(it)["x"], next(it)["x"]] == [0, 1]
    with pytest.raises(TypeError, match="(?s)Caught TypeError in DataLoader worker process while sending a batch.*"
                                        "cannot pickle '_thread.lock' object"):
        next(it)
    it.shutdown()


def test_a_dead_worker_is_reported():
    class Dies(Dataset):
        def __getitem__(self, i):
            import os
            os._exit(3)

        def __len__(self):
            return 2

    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Dies(), num_workers=1))


def test_tensors_cross_process_queues_by_copy():
    import multiprocessing
    import pickle
    q = multiprocessing.get_context("spawn").Queue()
    x = tt.arange(6.0).reshape(2, 3).t().requires_grad_()
    w = tt.nn.Parameter(tt.ones(2, dtype=tt.bfloat16))
    q.put((x, w, tt.empty(4, 5, device="meta")))
    x2, w2, m2 = q.get(timeout=30)
    assert x2.tolist() == x.tolist() and x2.requires_grad and x2.is_leaf and x2.dtype is tt.float32
    assert isinstance(w2, tt.nn.Parameter) and w2.dtype is tt.bfloat16 and m2.is_meta and m2.shape == (4, 5)
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        multiprocessing.reduction.ForkingPickler.dumps(x * 2)
    with pytest.raises(TypeError):
        pickle.dumps(x)   # plain pickle still refuses: files are tt.save's


class _Images(Dataset):
    """Samples of several kinds: a tensor, a bfloat16 tensor, a NumPy array, a number, a tensor whose dtype
    varies between samples (float32 for even indices, float64 for odd: stacked without shared memory)."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        mixed = tt.full((2,), i, dtype=tt.float32 if i % 2 == 0 else tt.float64)
        return (tt.full((3, 4, 4), i, dtype=tt.float32), tt.full((2,), i, dtype=tt.bfloat16),
                np.full((2, 3), i, np.int16), i, mixed)


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_worker_batches_arrive_in_shared_memory(context):
    """As in PyTorch, a worker collates tensors and arrays into shared memory, which the main process maps (no
    copy through the queue); values, dtypes and shapes are those of the batch collated in the main process."""
    loader = DataLoader(_Images(), batch_size=3, num_workers=2, multiprocessing_context=context)
    for start, (img, half, arr, num, mixed) in zip((0, 3), loader):
        want = default_collate([_Images()[i] for i in range(start, start + 3)])
        for got, ref in zip((img, half, arr, num, mixed), want):
            assert got.dtype is ref.dtype and got.shape == ref.shape and got.tolist() == ref.tolist()
        assert img.is_shared() and half.is_shared() and arr.is_shared()
        assert not img.requires_grad and img.is_contiguous()
    assert not default_collate([tt.ones(2), tt.ones(2)]).is_shared()   # (in the main process: plain memory)


def test_spawned_workers_get_the_dataset_by_pickle():
    ds = TensorDataset(tt.arange(10.0), tt.arange(10) * 2)
    loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="spawn")
    assert [[x.tolist() for x in b] for b in loader] == [[[0.0, 1.0, 2.0, 3.0], [0, 2, 4, 6]],
                                                         [[4.0, 5.0, 6.0, 7.0], [8, 10, 12, 14]],
                                                         [[8.0, 9.0], [16, 18]]]


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")
def test_workers_match_pytorch_order_and_assignment():
    class Ids(Dataset):
        def __init__(self, lib):
            self.lib = lib

        def __getitem__(self, i):
            return i * 10 + self.lib.utils.data.get_worker_info().id

        def __len__(self):
            return 11

    def values(loader):
        return [b if isinstance(b, int) else b.tolist() for b in loader]

    for kw in ({"batch_size": 2}, {"batch_size": None}, {"batch_size": 3, "drop_last": True}):
        ours = values(DataLoader(Ids(tt), num_workers=3, **kw))
        theirs = values(torch.utils.data.DataLoader(Ids(torch), num_workers=3, **kw))
        assert ours == theirs


def test_custom_batch_sampler_and_collate_fn():
    ds = _ListDataset([{"v": i} for i in range(6)])
    loader = DataLoader(ds, batch_sampler=[[5, 0], [2]], collate_fn=lambda b: [d["v"] for d in b])
    assert list(loader) == [[5, 0], [2]] and len(loader) == 2


# --------------------------------------------------------------------------------------------- datasets

def test_datasets():
    x = tt.arange(6)
    td = TensorDataset(x, x * 2)
    assert len(td) == 6 and [v.item() for v in td[4]] == [4, 8]
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(tt.zeros(3), tt.zeros(4))
    sub = Subset(td, [5, 1])
    assert len(sub) == 2 and sub[0][1].item() == 10
    cat = ConcatDataset([_ListDataset([0, 1]), _ListDataset([2, 3, 4])])
    assert len(cat) == 5 and [cat[i] for i in range(5)] == [0, 1, 2, 3, 4] and cat[-1] == 4
    added = _ListDataset([0]) + _ListDataset([1])
    assert isinstance(added, ConcatDataset) and len(added) == 2
    chain = _Stream(2) + _Stream(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2]
    stacked = StackDataset(a=_ListDataset([1, 2]), b=_ListDataset([3, 4]))
    assert stacked[1] == {"a": 2, "b": 4}
    (xb, yb), = list(DataLoader(sub, batch_size=2))
    assert xb.tolist() == [5, 1] and yb.tolist() == [10, 2]


def test_random_split_lengths_and_fractions():
    ds = _ListDataset(list(range(10)))
    a, b = random_split(ds, [3, 7], generator=tt.Generator().manual_seed(4))
    assert len(a) == 3 and len(b) == 7 and sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [3, 7], generator=tt.Generator().manual_seed(4))
    assert a2.indices == a.indices
    a3, _ = random_split(ds, [3, 7], generator=tt.Generator().manual_seed(5))
    assert a3.indices != a.indices
    parts = random_split(ds, [0.33, 0.33, 0.34], generator=tt.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [4, 3, 3]  # floor each, remainder round-robin from the first (PyTorch)
    assert sorted(sum((p.indices for p in parts), [])) == list(range(10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = random_split(_ListDataset([0, 1]), [0.9, 0.1])
    assert [len(p) for p in parts] == [2, 0] and any("Length of split at index 1 is 0" in str(w.message)
                                                    for w in caught)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(ds, [0.5, 1.5, -1.0])


def test_random_samplers_draw_their_epoch_a_chunk_at_a_time():
    """num_samples may be huge (minGPT's 'infinite' RandomSampler(replacement=True, num_samples=int(1e10))): the
    indices are drawn as the epoch is consumed, in chunks whose stream equals one call's."""
    from tritorch.utils.data import BatchSampler, RandomSampler, WeightedRandomSampler
    from tritorch.utils.data.sampler import _CHUNK
    s = RandomSampler(range(10), replacement=True, num_samples=int(1e10))
    it = iter(BatchSampler(s, 7, False))
    assert [len(next(it)) for _ in range(3)] == [7, 7, 7]
    n = 2 * _CHUNK + 3
    def sampler():
        return RandomSampler(range(1000), replacement=True, num_samples=n, generator=tt.Generator().manual_seed(3))
    want = tt.randint(0, 1000, (n,), generator=tt.Generator().manual_seed(3)).numpy()
    assert np.array_equal(sampler()._indices(), want) and list(sampler()) == want.tolist()
    batches = list(BatchSampler(sampler(), 1000, False)._index_batches())
    assert [len(b) for b in batches] == [1000] * (n // 1000) + [n % 1000]   # batches across chunk boundaries
    assert np.array_equal(np.concatenate(batches), want)
    w = WeightedRandomSampler([1.0, 2.0, 3.0], n, generator=tt.Generator().manual_seed(4))._indices()
    u = tt.rand(n, dtype=tt.float64, generator=tt.Generator().manual_seed(4)).numpy()
    assert np.array_equal(w, np.minimum(np.searchsorted(np.cumsum([1 / 6, 2 / 6, 3 / 6]), u, side="right"), 2))
