"""searchsorted (ops/searchsorted.py) beyond the generated tests: PyTorch's binary search exactly, NaNs in the
values and in the sequences included, on both devices; the public function's promotion, scalars, side, sorter,
out_int32; bucketize and isin on top of it."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import searchsorted as ss
from tritorch.testing import devices

torch = pytest.importorskip("torch")
DEVICES = devices()


@pytest.mark.parametrize("device", DEVICES)
def test_random_sequences_with_nans_match_torch(device):
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 12))
        seq = np.sort(rng.integers(-3, 4, n).astype(np.float64))
        if rng.random() < 0.5:
            seq[rng.integers(0, n)] = np.nan
        v = rng.integers(-4, 5, 7).astype(np.float64)
        v[rng.integers(0, 7)] = np.nan
        for right in (False, True):
            want = torch.searchsorted(torch.tensor(seq), torch.tensor(v), right=right).numpy()
            got = tt.searchsorted(tt.tensor(seq, device=device), tt.tensor(v, device=device), right=right)
            assert np.array_equal(got.cpu().numpy(), want)
            assert np.array_equal(ss._ref(seq, v, right), want)
            rows = tt.searchsorted(tt.tensor(np.stack([seq, seq]), device=device),
                                   tt.tensor(np.stack([v, v[::-1]]), device=device), right=right)
            want_rows = torch.searchsorted(torch.tensor(np.stack([seq, seq])),
                                           torch.tensor(np.stack([v, v[::-1]])), right=right)
            assert np.array_equal(rows.cpu().numpy(), want_rows.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_public_forms(device):
    seq = tt.tensor([1.0, 2.0, 2.0, 3.0], device=device)
    tseq = torch.tensor([1.0, 2.0, 2.0, 3.0])
    assert tt.searchsorted(seq, 2).item() == torch.searchsorted(tseq, 2).item()
    assert tt.searchsorted(seq, tt.tensor([2, 5], device=device)).tolist() == [1, 4]          # promoted
    assert tt.searchsorted(tt.tensor([1, 2, 3], device=device), tt.tensor([1.5], device=device)).tolist() == [1]
    r = tt.searchsorted(seq, tt.tensor([2.0], device=device), side="right", out_int32=True)
    assert r.dtype is tt.int32 and r.tolist() == [3]
    unsorted = tt.tensor([3.0, 1.0, 2.0], device=device)
    assert tt.searchsorted(unsorted, tt.tensor([2.5], device=device), sorter=tt.tensor([1, 2, 0], device=device)
                           ).tolist() == [2]
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        tt.searchsorted(seq, 2.0, right=True, side="left")
    with pytest.raises(RuntimeError, match="boundaries tensor should be 1 dimension or the first N-1"):
        tt.searchsorted(tt.ones(2, 3, device=device), tt.ones(3, 2, device=device))
    b = tt.tensor([0.0, 1.0, 2.0], device=device)
    assert tt.bucketize(tt.tensor([-1.0, 0.5, 1.0, 9.0], device=device), b, right=True).tolist() == [0, 1, 2, 3]
    assert tt.isin(tt.tensor([1.0, float("nan"), 2.5], device=device),
                   tt.tensor([2.5, float("nan")], device=device)).tolist() == [False, False, True]


def test_large_search_does_not_compare_every_pair():
    """2M values into 1024 boundaries: a binary search (the old composite built a 2G-element mask)."""
    rng = np.random.default_rng(1)
    seq = np.sort(rng.standard_normal(1024)).astype(np.float32)
    vals = rng.standard_normal(1 << 21).astype(np.float32)
    got = tt.searchsorted(tt.tensor(seq), tt.tensor(vals)).numpy()
    assert np.array_equal(got, np.searchsorted(seq, vals))
