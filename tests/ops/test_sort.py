"""Sort family beyond the generated registry tests: PyTorch's order for NaN, -0.0 and ties, the long-row merge
path (forced with a small SORT_BLOCK), layouts that need a contiguous copy, result types, methods and errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import sort as sort_mod
from tritorch.testing import devices, to_numpy

DEVICES = devices()
NAN, INF = float("nan"), float("inf")


def T(a, device, dtype=None):
    a = np.asarray(a)
    if dtype is None and a.dtype == np.float64:
        dtype = tt.float32  # like torch.tensor([1.0])
    if a.ndim == 0:
        return tt.tensor(a.reshape(1), dtype=dtype, device=device)[0]
    return tt.tensor(a, dtype=dtype, device=device)


def np_stable(a, axis, descending):
    """NumPy's stable order; descending keeps ties in order and puts NaN first (PyTorch's stable sort)."""
    a = np.asarray(a, dtype=np.float64) if a.dtype.kind == "f" else a
    if not descending:
        idx = np.argsort(a, axis=axis, kind="stable")
    else:
        rev = np.flip(a, axis=axis)
        idx = np.flip(a.shape[axis] - 1 - np.argsort(rev, axis=axis, kind="stable"), axis=axis)
    return np.take_along_axis(a, idx, axis=axis), idx


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64, tt.float16, tt.bfloat16])
def test_nan_and_signed_zero_order(device, dtype):
    x = T(np.array([3.0, NAN, 1.0, -0.0, 0.0, 3.0, -INF, NAN]), device, dtype)
    v, i = tt.sort(x, stable=True)
    np.testing.assert_array_equal(to_numpy(i), [6, 3, 4, 2, 0, 5, 1, 7])  # PyTorch's result
    got = to_numpy(v).astype(np.float64)
    np.testing.assert_array_equal(got, [-INF, -0.0, 0.0, 1.0, 3.0, 3.0, NAN, NAN])
    assert np.signbit(got[1]) and not np.signbit(got[2])
    v, i = tt.sort(x, descending=True, stable=True)
    np.testing.assert_array_equal(to_numpy(i), [1, 7, 0, 5, 2, 3, 4, 6])
    v, i = tt.topk(x, 3)
    np.testing.assert_array_equal(to_numpy(i), [1, 7, 0])  # ties go to the earlier position
    np.testing.assert_array_equal(to_numpy(tt.argsort(x)), [6, 3, 4, 2, 0, 5, 1, 7])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.int64, tt.int32, tt.uint8, tt.bool, tt.float32, tt.float64])
@pytest.mark.parametrize("descending", [False, True])
def test_ties_match_numpy_stable(device, dtype, descending):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, size=(3, 37, 5))
    if dtype is tt.bool:
        a = a > 1
    x = T(a, device, dtype)
    for dim in (1, -1, 0):
        v, i = x.sort(dim, descending)
        ev, ei = np_stable(to_numpy(x), dim, descending)
        np.testing.assert_array_equal(to_numpy(i), ei)
        np.testing.assert_array_equal(to_numpy(v), ev.astype(to_numpy(v).dtype))


@pytest.fixture
def small_sort_block(monkeypatch):
    monkeypatch.setattr(sort_mod, "SORT_BLOCK", 16)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.int64, tt.float64, tt.int16])
def test_long_rows_merge_path(device, dtype, small_sort_block):
    # rows of 100 with SORT_BLOCK 16: 7 chunks, then merges of width 16, 32 and 64 (a run without a partner too)
    rng = np.random.default_rng(4)
    a = rng.integers(-20, 20, size=(3, 100)).astype(np.float64)
    if dtype.is_floating_point:
        a[0, ::7] = NAN
        a[1, ::5] = -0.0
    x = T(a, device, dtype)
    for descending in (False, True):
        v, i = tt.sort(x, -1, descending)
        ev, ei = np_stable(to_numpy(x), -1, descending)
        np.testing.assert_array_equal(to_numpy(i), ei)
        np.testing.assert_array_equal(to_numpy(v).astype(np.float64), ev.astype(np.float64))
    v, i = tt.topk(x, 9, largest=False)
    ev, ei = np_stable(to_numpy(x), -1, False)
    np.testing.assert_array_equal(to_numpy(i), ei[:, :9])
    # sorting along dim 0 of the transpose reads strided rows
    i = tt.argsort(x.t(), 0, True)
    np.testing.assert_array_equal(to_numpy(i), np_stable(to_numpy(x), -1, True)[1].T)


@pytest.mark.parametrize("device", DEVICES)
def test_uncollapsible_layout(device):
    # a permuted 4-D tensor whose outer dims do not collapse to two: sorted through a contiguous copy
    rng = np.random.default_rng(5)
    a = rng.integers(0, 9, size=(2, 3, 4, 5)).astype(np.float32)
    x = T(a, device).permute(2, 0, 3, 1)
    an = a.transpose(2, 0, 3, 1)
    v, i = tt.sort(x, 1)
    ev, ei = np_stable(an, 1, False)
    np.testing.assert_array_equal(to_numpy(i), ei)
    np.testing.assert_array_equal(to_numpy(v), ev)
    v, i = tt.topk(x, 2, dim=3)
    ev, ei = np_stable(an, 3, True)
    np.testing.assert_array_equal(to_numpy(i), ei[..., :2])


@pytest.mark.parametrize("device", DEVICES)
def test_result_types_and_methods(device):
    x = T([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], device)
    r = tt.sort(x)
    values, indices = r
    assert isinstance(r, tuple) and r.values is values and r.indices is indices
    assert type(r).__name__ == "sort"
    assert indices.dtype is tt.int64 and values.dtype is tt.float32
    r = x.topk(2)
    assert type(r).__name__ == "topk"
    np.testing.assert_array_equal(to_numpy(r.values), [[3, 2], [5, 4]])
    np.testing.assert_array_equal(to_numpy(r.indices), [[0, 2], [1, 2]])
    np.testing.assert_array_equal(to_numpy(x.argsort(dim=0, descending=True)), [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(to_numpy(x.msort()), [[0, 1, 2], [3, 5, 4]])
    np.testing.assert_array_equal(to_numpy(tt.msort(x)), [[0, 1, 2], [3, 5, 4]])
    np.testing.assert_array_equal(to_numpy(x.sort(descending=True).values), [[3, 2, 1], [5, 4, 0]])
    for name in ("sort", "argsort", "msort", "topk"):
        assert name in sort_mod.__all__ and hasattr(tt, name) and hasattr(tt.Tensor, name)


@pytest.mark.parametrize("device", DEVICES)
def test_0d_and_empty(device):
    s = T(3.0, device)
    v, i = tt.sort(s)
    assert tuple(v.shape) == () and tuple(i.shape) == () and v.item() == 3.0 and i.item() == 0
    v, i = tt.topk(s, 0)  # PyTorch returns the element for k=0 on a 0-d tensor
    assert tuple(v.shape) == () and v.item() == 3.0
    v, i = tt.topk(T(np.zeros(0), device), 0)
    assert tuple(v.shape) == (0,) and i.dtype is tt.int64
    v, i = tt.sort(T(np.zeros((3, 0)), device), 0)
    assert tuple(v.shape) == (3, 0)


@pytest.mark.parametrize("device", DEVICES)
def test_errors(device):
    x = T([1.0, 2.0, 3.0], device)
    with pytest.raises(RuntimeError, match="^selected index k out of range$"):
        tt.topk(x, 4)
    with pytest.raises(RuntimeError, match="^selected index k out of range$"):
        tt.topk(x, -1)
    with pytest.raises(RuntimeError, match="topk does not support bool dtypes"):
        tt.topk(T([True, False], device), 1)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 2\)"):
        tt.sort(x, dim=2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tt.argsort(T(1.0, device), dim=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int8, np.uint8])
@pytest.mark.parametrize("values", ["ties", "distinct"])
def test_cpu_topk_of_few_elements_equals_the_full_sort(dtype, values):
    """topk with k <= n / 4 on the cpu partitions instead of sorting: the same values and indices as the full
    sort's first k (PyTorch's order: ties by position), both when every row's k-th value is unique and when ties
    at it must be cut; a NaN anywhere sends the call to the full sort."""
    rng = np.random.default_rng(7)
    for shape, dim in [((64, 100), 1), ((100, 64), 0), ((3, 40, 7), 1), ((400,), 0)]:
        a = rng.integers(-3, 4, shape) if values == "ties" else rng.standard_normal(shape) * 100
        a = (np.abs(a) if dtype is np.uint8 else a).astype(dtype)
        for k in (1, 3, a.shape[dim] // 4):
            for largest in (True, False):
                got = sort_mod._np_topk_partition(a, dim, k, largest)
                assert got is not None
                v, i = sort_mod._np_sort(a, dim, largest)
                assert np.array_equal(got[0], np.take(v, np.arange(k), axis=dim))
                assert np.array_equal(got[1], np.take(i, np.arange(k), axis=dim))
                r = tt.tensor(a).topk(k, dim, largest=largest)
                assert np.array_equal(r.values.numpy(), got[0]) and np.array_equal(r.indices.numpy(), got[1])
    nan_row = np.array([[1.0, np.nan, 3.0, 2.0, 0.5, 7.0, -1.0, 4.0]], np.float32)
    assert sort_mod._np_topk_partition(nan_row, 1, 2, True) is None
    assert tt.tensor(nan_row).topk(2).indices.tolist() == [[1, 5]]
