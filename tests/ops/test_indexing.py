"""Indexing ops beyond the generated registry tests: PyTorch's errors, advanced indexing in __getitem__ /
__setitem__ (checked against PyTorch), views and version counters, in-place methods, duplicate indices,
and launches split over rank > 4."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import assert_values_close as assert_close, devices, to_numpy

DEVICES = devices()


def T(a, device, dtype=None):
    """A tensor holding `a` on `device` (0-d arrays become real 0-d tensors on every device)."""
    a = np.asarray(a)
    if dtype is None and a.dtype == np.float64:
        dtype = tt.float32  # like torch.tensor([1.0])
    if a.ndim == 0:
        return tt.tensor(a.reshape(1), dtype=dtype, device=device)[0]
    return tt.tensor(a, dtype=dtype, device=device)


def arange(shape, device, dtype=tt.float32):
    return T(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape), device, dtype)


def npy(t):
    return to_numpy(t)


# ------------------------------------------------------------------------------------------ error messages

@pytest.mark.parametrize("device", DEVICES)
def test_gather_errors(device):
    x = arange((5,), device)
    with pytest.raises(RuntimeError, match=r"^index 7 is out of bounds for dimension 0 with size 5$"):
        tt.gather(x, 0, T([1, 7], device))
    with pytest.raises(RuntimeError, match=r"^index -1 is out of bounds for dimension 0 with size 5$"):
        tt.gather(x, 0, T([-1], device))
    with pytest.raises(RuntimeError, match=r"gather\(\): Expected dtype int32/int64 for index"):
        tt.gather(x, 0, T([1.0], device))
    x2 = arange((3, 4), device)
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as input tensor"):
        tt.gather(x2, 0, T([1], device))
    with pytest.raises(RuntimeError, match=r"Size does not match at dimension 1 expected index \[1, 5\] to be no "
                                           r"larger than self \[3, 4\] apart from dimension 0"):
        tt.gather(x2, 0, T([[1, 1, 1, 1, 1]], device))
    with pytest.raises(IndexError, match="Dimension out of range"):
        tt.gather(x2, 2, T([[1]], device))


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_errors(device):
    x = arange((5,), device)
    with pytest.raises(RuntimeError, match=r"^index 7 is out of bounds for dimension 0 with size 5$"):
        tt.scatter(x, 0, T([7], device), T([1.0], device))
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype to be equal to src.dtype"):
        tt.scatter(x, 0, T([1], device), T([1.0], device, tt.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply."):
        tt.scatter(x, 0, T([1], device), T([1.0], device), reduce="max")
    with pytest.raises(RuntimeError, match=r"Expected index \[2\] to be no larger than self \[5\] apart from "
                                           r"dimension 0 and to be no larger size than src \[1\]"):
        tt.scatter(x, 0, T([1, 2], device), T([1.0], device))
    with pytest.raises(RuntimeError, match=r"^index 9 is out of bounds for dimension 0 with size 5$"):
        tt.scatter_add(x, 0, T([1, 9], device), T([2.0, 3.0], device))
    before = npy(x).copy()
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.scatter_(0, T([0, 5], device), T([9.0, 9.0], device))
    np.testing.assert_array_equal(npy(x), before)  # checked before the kernel: nothing was written


@pytest.mark.parametrize("device", DEVICES)
def test_index_select_index_add_take_errors(device):
    x = arange((5,), device)
    with pytest.raises(IndexError, match=r"^index out of range in self$"):
        tt.index_select(x, 0, T([7], device))
    with pytest.raises(IndexError, match=r"^index out of range in self$"):
        tt.index_select(x, 0, T([-1], device))
    with pytest.raises(IndexError, match=r"index_select\(\): Index is supposed to be a vector"):
        tt.index_select(x, 0, T([[1]], device))
    with pytest.raises(RuntimeError, match=r"index_select\(\): Expected dtype int32 or int64 for index"):
        tt.index_select(x, 0, T([1.0], device))
    with pytest.raises(IndexError, match=r"^index out of range in self$"):
        tt.index_add(x, 0, T([1, 9], device), T([2.0, 3.0], device))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): self \(Float\) and source \(Double\) must have the "
                                           r"same scalar type"):
        tt.index_add(x, 0, T([1, 1], device), T([2.0, 3.0], device, tt.float64))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): Number of indices \(2\) should be equal to "
                                           r"source.size\(dim\): \(3\), for dim: 0"):
        tt.index_add(x, 0, T([1, 1], device), T([2.0, 3.0, 4.0], device))
    with pytest.raises(RuntimeError, match=r"source tensor shape must match self tensor shape, excluding the "
                                           r"specified dimension. Got self.shape = \[3, 4\] source.shape = \[2, 3\]"):
        tt.index_add(arange((3, 4), device), 0, T([1, 1], device), arange((2, 3), device))
    with pytest.raises(IndexError, match=r"^out of range: tried to access index 12 on a tensor of 12 elements.$"):
        tt.take(arange((3, 4), device), T([[12]], device))
    with pytest.raises(IndexError, match=r"tried to access index -13"):
        tt.take(arange((3, 4), device), T([-13], device))
    with pytest.raises(RuntimeError, match=r"take\(\): Expected a long tensor for index, but got Int"):
        tt.take(x, T([1], device, tt.int32))


@pytest.mark.parametrize("device", DEVICES)
def test_masked_errors(device):
    x = arange((5,), device)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got mask with dtype "
                                           "long int"):
        tt.masked_fill(x, T([1, 0, 1, 0, 1], device), 2.0)
    with pytest.raises(RuntimeError, match=r"masked_fill_ only supports a 0-dimensional value tensor, but got "
                                           r"tensor with 1 dimension\(s\)."):
        tt.masked_fill(x, T([True] * 5, device), T([2.0], device))
    with pytest.raises(RuntimeError, match=r"output with shape \[5\] doesn't match the broadcast shape \[2, 5\]"):
        x.masked_fill_(T([[True], [False]], device), 2.0)
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        tt.masked_select(x, T([1, 0, 1, 0, 1], device))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of tensor b \(5\)"):
        tt.masked_select(x, T([True, False], device))


@pytest.mark.parametrize("device", DEVICES)
def test_getitem_errors(device):
    x = arange((5,), device)
    x2 = arange((3, 4), device)
    with pytest.raises(IndexError, match=r"^index 7 is out of bounds for dimension 0 with size 5$"):
        x[7]
    with pytest.raises(IndexError, match=r"^index 7 is out of bounds for dimension 0 with size 5$"):
        x[T([7], device)]
    with pytest.raises(IndexError, match=r"^index -6 is out of bounds for dimension 0 with size 5$"):
        x[[-6]]
    # the dimension PyTorch names is the position among the index tensors
    with pytest.raises(IndexError, match=r"^index 7 is out of bounds for dimension 0 with size 4$"):
        x2[:, T([7], device)]
    with pytest.raises(IndexError, match=r"^index 7 is out of bounds for dimension 1 with size 4$"):
        x2[T([0, 1], device), T([7, 1], device)]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 1"):
        x[[0, 1], 0]
    with pytest.raises(IndexError, match=r"shape mismatch: indexing tensors could not be broadcast together with "
                                         r"shapes \[2\], \[3\]"):
        x2[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x2[T([0.5], device)]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x2[T([0, 1], device, tt.int16)]
    with pytest.raises(IndexError, match=r"The shape of the mask \[2\] at index 0 does not match the shape of the "
                                         r"indexed tensor \[3, 4\] at index 0"):
        x2[T([True, False], device)]
    with pytest.raises(IndexError, match=r"only integers, slices"):
        x2[1.5]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x2[::-1]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        x[0][0]


@pytest.mark.parametrize("device", DEVICES)
def test_setitem_errors(device):
    x = arange((5,), device)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to "
                                           r"indexing result of shape \[2\]"):
        x[T([1, 2], device)] = T([2.0, 3.0, 4.0], device)
    with pytest.raises(IndexError, match=r"^index 5 is out of bounds for dimension 0 with size 5$"):
        x[[0, 5]] = 1.0
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got Float "
                                           "for the destination and Double for the source."):
        tt.index_put(x, (T([1], device),), T([2.0], device, tt.float64))
    np.testing.assert_array_equal(npy(x), np.arange(5.0))


# ------------------------------------------------------------------------------ advanced indexing vs PyTorch

def _cases(torch):
    """(name, tensor shape, index builder(lib, device)) — lib is tritorch or torch, so both see one index."""
    def t(lib, dev, v, dtype=None):
        if lib is torch:
            return torch.tensor(v, dtype=getattr(torch, dtype) if dtype else None)
        return T(v, dev, getattr(tt, dtype) if dtype else None)

    return [
        ("list", (5, 3), lambda lib, d: [4, 0, -1, 0]),
        ("tensor-2d", (5, 3), lambda lib, d: t(lib, d, [[1, 2], [4, -5]])),
        ("int32", (5, 3), lambda lib, d: t(lib, d, [1, 2], "int32")),
        ("numpy", (5, 3), lambda lib, d: np.array([3, 1])),
        ("second-dim", (3, 4, 5), lambda lib, d: (slice(None), [0, 3, 3])),
        ("int-then-advanced", (3, 4, 5), lambda lib, d: (0, slice(None), [0, 1])),
        ("advanced-int-advanced", (3, 4, 5, 6), lambda lib, d: (slice(None), [0, 1], 0, [0, 1])),
        ("separated", (3, 4, 5), lambda lib, d: ([0, 2], slice(1, 3), [1, 4])),
        ("adjacent-broadcast", (3, 4, 5), lambda lib, d: (slice(None), t(lib, d, [[0], [3]]), t(lib, d, [1, 2, 4]))),
        ("none-and-advanced", (3, 4, 5), lambda lib, d: (None, [0, 1], None, [1, 2])),
        ("ellipsis", (3, 4, 5), lambda lib, d: ([[0, 1]], Ellipsis, [1])),
        ("mask", (3, 4), lambda lib, d: t(lib, d, [[True, False, True, True], [False] * 4, [True] * 4])),
        ("mask-rows", (3, 4), lambda lib, d: t(lib, d, [True, False, True])),
        ("mask-dim1", (3, 4, 2), lambda lib, d: (slice(None), t(lib, d, [False, True, True, False]))),
        ("mask-and-int-tensor", (3, 4), lambda lib, d: (t(lib, d, [True, False, True]), t(lib, d, [3, 0]))),
        ("bool-list", (3, 4), lambda lib, d: [True, False, True]),
        ("uint8-mask", (3, 4), lambda lib, d: t(lib, d, [1, 0, 1], "uint8")),
        ("python-true", (3, 4), lambda lib, d: True),
        ("python-false", (3, 4), lambda lib, d: False),
        ("0d-bool", (3, 4), lambda lib, d: (0, t(lib, d, True))),
        ("0d-int-tensor", (3, 4), lambda lib, d: t(lib, d, 1)),
        ("list-of-lists-is-tuple", (3, 4), lambda lib, d: [[0, 1], [1, 2]]),
        ("empty-list", (3, 4), lambda lib, d: ([], slice(None))),
        ("empty-tensor", (3, 4), lambda lib, d: t(lib, d, np.zeros(0, np.int64))),
        ("empty-dim", (0, 4), lambda lib, d: ([], slice(None))),
        ("slice-step", (7, 3), lambda lib, d: (slice(1, None, 2), [2, 0])),
        ("0d-tensor-none", (), lambda lib, d: None),
        ("0d-ellipsis", (), lambda lib, d: Ellipsis),
        ("rank5", (2, 3, 2, 3, 2), lambda lib, d: (slice(None), [0, 2], slice(None), [1, 0], slice(None))),
    ]


def _torch():
    import torch
    return torch


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8")
@pytest.mark.parametrize("device", DEVICES)
def test_getitem_matches_torch(device):
    torch = _torch()
    for name, shape, build in _cases(torch):
        data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        expected = torch.from_numpy(data.copy())[build(torch, device)]
        got = T(data, device)[build(tt, device)]
        assert tuple(got.shape) == tuple(expected.shape), name
        np.testing.assert_array_equal(npy(got), expected.numpy(), err_msg=name)
        assert got.device == as_device(device)


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("device", DEVICES)
def test_setitem_matches_torch(device):
    torch = _torch()
    for name, shape, build in _cases(torch):
        if name == "uint8-mask":
            continue  # PyTorch's x[uint8 mask] = v fails (a deprecated index type there)
        data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
        expected = torch.from_numpy(data.copy())
        got = T(data, device)
        # a value broadcast over the indexed result (torch writes duplicates with equal values deterministically)
        expected[build(torch, device)] = -7.0
        got[build(tt, device)] = -7.0
        np.testing.assert_array_equal(npy(got), expected.numpy(), err_msg=name)
        result_shape = tuple(torch.from_numpy(data)[build(torch, device)].shape)
        if 0 not in result_shape:
            values = np.asarray(np.arange(int(np.prod(result_shape)), dtype=np.float32).reshape(result_shape) + 100)
            expected = torch.from_numpy(data.copy())
            got = T(data, device)
            idx_t, idx_tt = build(torch, device), build(tt, device)
            expected[idx_t] = torch.from_numpy(values)
            got[idx_tt] = T(values, device)
            if name in ("list", "tensor-2d", "list-of-lists-is-tuple"):  # those write duplicates
                continue
            if name == "second-dim" and device != "cpu":
                # a position written twice keeps either write on a GPU (unspecified there, as in PyTorch's
                # index_put_): exact everywhere else, and one of the written values there
                count = np.zeros(shape)
                np.add.at(count, (slice(None), [0, 3, 3]), 1)  # second-dim's index, as NumPy counts writes
                twice = count > 1
                np.testing.assert_array_equal(npy(got)[~twice], expected.numpy()[~twice], err_msg=name)
                assert np.isin(npy(got)[twice], values).all(), name
                continue
            np.testing.assert_array_equal(npy(got), expected.numpy(), err_msg=name)


def test_integer_tensor_getitem_shortcut_matches_torch():
    # x[int tensor] on the cpu without autograd takes np.take; with autograd, or out of range, the general path
    torch = _torch()
    data = np.arange(60, dtype=np.float32).reshape(5, 3, 4)
    for idx in ([4, -1, 0, 0], [[1, 2], [-5, 3]], np.zeros((0,), np.int64), np.array([2, 1], np.int32)):
        i = np.asarray(idx, dtype=np.int64 if not hasattr(idx, "dtype") else idx.dtype)
        got, want = tt.tensor(data)[tt.tensor(i)], torch.from_numpy(data)[torch.from_numpy(i)]
        assert tuple(got.shape) == tuple(want.shape) and got.dtype is tt.float32
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    x = tt.tensor(data)
    y = x[tt.tensor([1, 1])]
    y[0] = -1.0
    assert npy(x)[1, 0, 0] == 12.0   # a copy
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 5"):
        x[tt.tensor([0, 5])]
    xg = tt.tensor(data, requires_grad=True)
    xg[tt.tensor([0, 0, 4])].sum().backward()
    assert npy(xg.grad)[0].min() == 2.0 and npy(xg.grad)[4].min() == 1.0 and npy(xg.grad)[1:4].max() == 0.0


# ------------------------------------------------------------------------------------- views and versions

@pytest.mark.parametrize("device", DEVICES)
def test_basic_getitem_is_a_view(device):
    x = arange((4, 5), device)
    v = x[1:3, ::2]
    assert tuple(v.shape) == (2, 3)
    v2 = x[None, 2, ..., 1]
    assert tuple(v2.shape) == (1,)
    v[0, 0] = -1.0  # writes through both views into x
    assert npy(x)[1, 0] == -1.0
    x[2, 1] = 50.0
    assert npy(v2)[0] == 50.0
    assert x[T(1, device)]._base is x  # a 0-d integer tensor selects like an int (a view)


@pytest.mark.parametrize("device", DEVICES)
def test_advanced_getitem_copies(device):
    x = arange((4, 5), device)
    c = x[[1, 2]]
    c[0, 0] = -1.0
    assert npy(x)[1, 0] == 5.0


@pytest.mark.parametrize("device", DEVICES)
def test_setitem_bumps_version(device):
    x = arange((4, 5), device)
    v = x[1]
    start = x._version_count
    x[0] = 1.0
    assert x._version_count == start + 1
    x[[0, 3], 1:] = T([2.0, 3.0, 4.0, 5.0], device)
    assert x._version_count == start + 2
    x[T(npy(x) > 10.0, device)] = 0.0
    assert x._version_count == start + 3
    assert v._version_count == x._version_count  # views share the counter
    expected = np.arange(20.0).reshape(4, 5)
    expected[0] = 1.0
    expected[[0, 3], 1:] = [2.0, 3.0, 4.0, 5.0]
    expected[expected > 10.0] = 0.0
    np.testing.assert_array_equal(npy(x), expected)


@pytest.mark.parametrize("device", DEVICES)
def test_setitem_values(device):
    x = T(np.zeros((3, 4), np.int64), device)
    x[1] = 2.7  # truncates like PyTorch
    x[:, [0, 3]] = T([5, 6], device)
    x[T([[True, False, False, True]] * 3, device)] = T(9, "cpu")  # a 0-d cpu value joins a cuda tensor
    x[0, 1:3] = T([7.0, 8.0], device)  # cast on write
    np.testing.assert_array_equal(npy(x), [[9, 7, 8, 9], [9, 2, 2, 9], [9, 0, 0, 9]])
    y = arange((3,), device)
    y[T([0, 2], "cpu")] = 1.0  # cpu index tensors may index a cuda tensor
    np.testing.assert_array_equal(npy(y), [1.0, 1.0, 1.0])


# --------------------------------------------------------------------------------- in-place and methods

@pytest.mark.parametrize("device", DEVICES)
def test_in_place_methods(device):
    x = arange((3, 4), device)
    idx = T([[0, 1, 2, 0]], device)
    assert x.scatter_(0, idx, -1.0) is x
    exp = np.arange(12.0).reshape(3, 4)
    exp[[0, 1, 2, 0], [0, 1, 2, 3]] = -1.0
    np.testing.assert_array_equal(npy(x), exp)
    assert x.scatter_add_(1, T([[3, 3]], device), T([[1.0, 2.0]], device)) is x
    exp[0, 3] += 3.0
    assert x.index_add_(0, T([2, 2], device), T(np.ones((2, 4)), device, tt.float32), alpha=2) is x
    exp[2] += 4.0
    assert x.masked_fill_(T([True, False, False, False], device), 0.5) is x
    exp[:, 0] = 0.5
    assert x.index_put_((T([1], device), T([1], device)), T(8.0, device)) is x
    exp[1, 1] = 8.0
    np.testing.assert_array_equal(npy(x), exp)
    v = x._version_count
    x.scatter_(0, idx, T(np.zeros((1, 4)), device, tt.float32), reduce="add")
    assert x._version_count == v + 1


@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_functions(device):
    x = arange((3, 4), device)
    big = T(np.arange(12).reshape(3, 4) > 8.5, device)
    i = T([[2, 0, 1, 1]], device)
    np.testing.assert_array_equal(npy(x.gather(0, i)), [[8, 1, 6, 7]])
    np.testing.assert_array_equal(npy(x.index_select(1, T([3, 0], device))), [[3, 0], [7, 4], [11, 8]])
    np.testing.assert_array_equal(npy(x.take(T([11, -12], device))), [11, 0])
    np.testing.assert_array_equal(npy(x.masked_select(big)), [9, 10, 11])
    np.testing.assert_array_equal(npy(big.nonzero()), [[2, 1], [2, 2], [2, 3]])
    rows, cols = big.nonzero(as_tuple=True)
    np.testing.assert_array_equal(npy(rows), [2, 2, 2])
    np.testing.assert_array_equal(npy(cols), [1, 2, 3])
    np.testing.assert_array_equal(npy(tt.argwhere(big)), [[2, 1], [2, 2], [2, 3]])
    np.testing.assert_array_equal(npy(x.scatter(1, T([[1], [0], [3]], device), 0.0)),
                                  [[0, 0, 2, 3], [0, 5, 6, 7], [8, 9, 10, 0]])
    np.testing.assert_array_equal(npy(x.index_put((T([0], device),), T(1.0, device), accumulate=True))[0],
                                  [1, 2, 3, 4])
    np.testing.assert_array_equal(npy(x.masked_fill(T([True, False, False, True], device), -1.0))[0],
                                  [-1, 1, 2, -1])
    for name in ("gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "index_select", "index_add",
                 "index_add_", "index_put", "index_put_", "masked_fill", "masked_fill_", "masked_select", "nonzero",
                 "argwhere", "take"):
        assert hasattr(tt.Tensor, name), name
    for name in ("gather", "scatter", "scatter_add", "index_select", "index_add", "index_put", "masked_fill",
                 "masked_select", "nonzero", "argwhere", "take"):
        assert name in tt.ops.indexing.__all__ and hasattr(tt, name), name


@pytest.mark.parametrize("device", DEVICES)
def test_nonzero_0d_and_empty(device):
    assert tuple(tt.nonzero(T(1.0, device)).shape) == (1, 0)
    assert tuple(tt.nonzero(T(0.0, device)).shape) == (0, 0)
    (only,) = tt.nonzero(T(3, device), as_tuple=True)
    np.testing.assert_array_equal(npy(only), [0])
    assert tuple(tt.nonzero(T(np.zeros((2, 0)), device)).shape) == (0, 2)
    # NaN is nonzero, -0.0 is zero
    np.testing.assert_array_equal(npy(tt.nonzero(T([np.nan, 0.0, -0.0, 1.0], device))), [[0], [3]])


# ----------------------------------------------------------------------------------- duplicates, atomics

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float16, tt.int8, tt.bool, tt.float64, tt.int64])
def test_scatter_add_many_duplicates(device, dtype):
    rng = np.random.default_rng(0)
    n = 3000
    idx = rng.integers(0, 3, size=n)
    if dtype is tt.bool:
        src = rng.random(n) < 0.01
    elif dtype.is_floating_point:
        src = rng.uniform(-1, 1, n)
    else:
        src = rng.integers(-3, 4, n)
    base = np.zeros(3)
    got = tt.scatter_add(T(base, device, dtype), 0, T(idx, device), T(src, device, dtype))
    if dtype is tt.bool:
        expected = np.zeros(3, bool)
        np.logical_or.at(expected, idx, src)
        np.testing.assert_array_equal(npy(got), expected)
    elif dtype is tt.int8:
        expected = np.bincount(idx, src.astype(np.int64), 3).astype(np.int64).astype(np.int8)
        np.testing.assert_array_equal(npy(got), expected)
    elif dtype.is_floating_point:
        # cuda adds duplicates with atomics in no fixed order: within 1e-3 relative of the exact sum
        exact = np.bincount(idx, src.astype(np.float64), 3)
        assert_close(got, exact.astype(np.float64), rtol=1e-3 if dtype is not tt.float16 else 2e-3, atol=0.05)
    else:
        np.testing.assert_array_equal(npy(got), np.bincount(idx, src, 3).astype(np.int64))
    # index_add and index_put(accumulate=True) share the path
    got2 = tt.index_add(T(base, device, dtype), 0, T(idx, device), T(src, device, dtype))
    got3 = tt.index_put(T(base, device, dtype), (T(idx, device),), T(src, device, dtype), accumulate=True)
    for g in (got2, got3):
        if dtype.is_floating_point:
            assert_close(g, npy(got).astype(np.float64), rtol=1e-3, atol=0.05)
        else:
            np.testing.assert_array_equal(npy(g), npy(got))


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_duplicates_write_one_of_the_values(device):
    # PyTorch leaves unspecified which duplicate lands; each slot must hold one of its candidates
    idx = np.array([0, 1, 0, 2, 1, 0])
    src = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    got = npy(tt.scatter(T(np.zeros(3), device, tt.float32), 0, T(idx, device), T(src, device, tt.float32)))
    for slot in range(3):
        assert got[slot] in src[idx == slot]


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_multiply_is_sequential(device):
    idx = np.array([[0, 1], [0, 0], [1, 1], [0, 1]])
    src = np.array([[2.0, 3.0], [5.0, 7.0], [11.0, 13.0], [17.0, 19.0]])
    got = tt.scatter(T(np.ones((2, 2)), device, tt.float32), 0, T(idx, device), T(src, device, tt.float32),
                     reduce="multiply")
    np.testing.assert_array_equal(npy(got), [[2 * 5 * 17, 7], [11, 3 * 13 * 19]])


# ------------------------------------------------------------------------------ launches over rank > 4

@pytest.mark.parametrize("device", DEVICES)
def test_rank6_noncontiguous(device):
    rng = np.random.default_rng(1)
    base = rng.uniform(-1, 1, (2, 3, 2, 3, 2, 6)).astype(np.float32)
    x = T(base, device)[..., ::2]  # rank 6, non-contiguous: no collapse to rank 4
    xn = base[..., ::2]
    mask = xn > 0
    np.testing.assert_array_equal(npy(tt.masked_select(x, T(mask, device))), xn[mask])
    np.testing.assert_array_equal(npy(tt.nonzero(T(mask, device)[..., :])), np.argwhere(mask))
    idx = rng.integers(0, 3, size=xn.shape)
    np.testing.assert_array_equal(npy(tt.gather(x, 5, T(idx, device))), np.take_along_axis(xn, idx, 5))
    np.testing.assert_array_equal(npy(x[:, [1, 0]]), xn[:, [1, 0]])
    y = T(base, device)[..., ::2]
    y[mask] = 0.0
    expected = xn.copy()
    expected[mask] = 0.0
    np.testing.assert_array_equal(npy(y), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.float16])
@pytest.mark.parametrize("shape, dim", [((6, 2048), 0), ((3, 5, 700), 1), ((4, 300), 0), ((2, 3, 40), 2)])
def test_index_add_cpu_row_paths_match_add_at(dtype, shape, dim):
    """index_add on cpu adds long rows one by one and sums short ones with a stable sort + reduceat: both give
    np.add.at's result (to rounding of the per-target sums), with duplicate and unordered indices."""
    rng = np.random.default_rng(1)
    base = (rng.standard_normal(shape) * 4).astype(dtype)
    n = 9
    idx = rng.integers(0, shape[dim], n)
    src_shape = list(shape)
    src_shape[dim] = n
    src = (rng.standard_normal(src_shape) * 4).astype(dtype)
    expected = base.astype(np.float64)
    np.add.at(expected, (slice(None),) * dim + (idx,), src.astype(np.float64))
    out = tt.index_add(tt.tensor(base), dim, tt.tensor(idx), tt.tensor(src)).numpy()
    tol = {np.float16: 1e-2, np.float32: 1e-5}.get(dtype, 1e-12)
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_index_add_along_the_last_dim_by_selection_gemm(dtype):
    """index_add along the last dim of many long rows (interpolate's backward) sums through a one-hot selection
    GEMM on the cpu: equal to np.add.at's sums, duplicate indices included, and to the row-by-row path."""
    from tritorch.ops import indexing
    rng = np.random.default_rng(4)
    base = rng.standard_normal((6, 7, 9, 20)).astype(dtype)
    idx = np.concatenate([np.arange(20), rng.integers(0, 20, 23)])
    src = rng.standard_normal((6, 7, 9, idx.size)).astype(dtype)
    want = base.copy()
    np.add.at(want, (Ellipsis, idx), src)
    got = tt.tensor(base).index_add(-1, tt.tensor(idx), tt.tensor(src)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype is np.float32 else 1e-13, atol=1e-6)
    assert idx.size * 20 <= indexing._SELECTION_GEMM_MAX and 6 * 7 * 9 >= indexing._ROW_BY_ROW_MIN


def test_range_indexes_as_a_sequence():
    # PyTorch takes a range as the list of its indices (pytorch/examples' mnist_forward_forward writes
    # y[range(n)] = ...): read, write, several dims, empty
    x = tt.arange(10.0)
    np.testing.assert_array_equal(x[range(2, 5)].numpy(), [2.0, 3.0, 4.0])
    m = tt.zeros(3, 3)
    m[range(3), range(3)] = 1.0
    np.testing.assert_array_equal(m.numpy(), np.eye(3))
    assert x[range(0)].shape == (0,)


@pytest.mark.parametrize("device", DEVICES)
def test_setitem_drops_the_values_leading_ones(device):
    # as PyTorch's __setitem__: x[i] = v with v of shape (1, n) fills the row (seq2seq tutorial:
    # decoder_attentions[di] = attn_weights of shape (1, max_length)); the value's grad keeps its own shape
    x = tt.zeros(3, 4, device=device)
    x[0] = tt.ones(1, 4, device=device)
    x[1:3] = tt.full((1, 2, 4), 2.0, device=device)
    x[0, 1] = tt.full((1, 1), 5.0, device=device)
    assert to_numpy(x).tolist() == [[1, 5, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]]
    x[[0, 2]] = tt.full((1, 2, 4), 3.0, device=device)
    x[...] = x + tt.zeros(1, 1, 3, 4, device=device)
    assert to_numpy(x).sum() == 32
    v = tt.ones(1, 4, device=device, requires_grad=True)
    y = tt.zeros(3, 4, device=device)
    y[2] = v * 2
    y.sum().backward()
    assert v.grad.shape == (1, 4) and to_numpy(v.grad).tolist() == [[2, 2, 2, 2]]
    with pytest.raises(RuntimeError, match=r"FloatTensor\{\[2, 4\]\}, size=\[4\]\): the number of sizes provided"):
        x[0] = tt.ones(2, 4, device=device)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the existing size \(3\)"):
        x[0] = tt.ones(1, 3, device=device)
