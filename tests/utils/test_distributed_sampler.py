"""utils.data.DistributedSampler vs PyTorch's: with the same permutation source (torch.randperm patched to return
tritorch's permutation for the generator's seed) the index sequences of every rank are torch's, for shuffle,
seed, drop_last and set_epoch; lengths, defaults (one replica of rank 0) and errors."""
import pytest

import tritorch as tt
from tritorch.utils.data import DataLoader, DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")
TDS = torch.utils.data.distributed.DistributedSampler


@pytest.fixture
def shared_permutations(monkeypatch):
    """torch.randperm(n, generator=g) returns tritorch's randperm for a generator seeded like g."""
    original = torch.randperm

    def randperm(n, *args, generator=None, **kwargs):
        if generator is None:
            return original(n, *args, **kwargs)
        g = tt.Generator().manual_seed(generator.initial_seed())
        return torch.tensor(tt.randperm(n, generator=g).numpy())
    monkeypatch.setattr(torch, "randperm", randperm)


@pytest.mark.parametrize("n", [10, 11, 3])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("shuffle,drop_last,seed", [(True, False, 0), (True, True, 7), (False, False, 0),
                                                    (False, True, 0)])
def test_index_sequences_match_torch(shared_permutations, n, replicas, shuffle, drop_last, seed):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        theirs = TDS(data, replicas, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        assert len(ours) == len(theirs)
        for epoch in (0, 3):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)


def test_epochs_differ_and_replicas_partition():
    data = list(range(12))
    s = DistributedSampler(data, 3, 1, seed=5)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    parts = [list(DistributedSampler(data, 3, r)) for r in range(3)]
    assert sorted(sum(parts, [])) == data


def test_defaults_and_loader():
    s = DistributedSampler(list(range(5)), shuffle=False)
    assert (s.num_replicas, s.rank, len(s), list(s)) == (1, 0, 5, [0, 1, 2, 3, 4])
    ds = TensorDataset(tt.arange(8))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7]]


@pytest.mark.parametrize("replicas,rank", [(2, 2), (2, -1)])
def test_errors(replicas, rank):
    with pytest.raises(ValueError) as theirs:
        TDS(list(range(4)), replicas, rank)
    with pytest.raises(ValueError) as ours:
        DistributedSampler(list(range(4)), replicas, rank)
    assert str(ours.value) == str(theirs.value)
