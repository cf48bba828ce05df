"""Views share storage on cpu and cuda: PyTorch's geometry (shape, stride, storage_offset) for each view, writes
through a view reach the base, the version counter is shared, and the view ops' PyTorch error messages."""
import re

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import movement
from tritorch.testing import devices

DEVICES = devices()

# (expression on x = arange(12.).reshape(3, 4), shape, stride, storage_offset) as PyTorch 2.13 reports them.
GEOMETRY = [
    ("x.view(4, 3)", (4, 3), (3, 1), 0),
    ("x.view(-1)", (12,), (1,), 0),
    ("x.view(2, 1, 6)", (2, 1, 6), (6, 6, 1), 0),
    ("x.t()", (4, 3), (1, 4), 0),
    ("x.T", (4, 3), (1, 4), 0),
    ("x.mT", (4, 3), (1, 4), 0),
    ("x.t().reshape(4, 1, 3)", (4, 1, 3), (1, 12, 4), 0),
    ("x.permute(1, 0)", (4, 3), (1, 4), 0),
    ("x.transpose(0, 1).unsqueeze(1)", (4, 1, 3), (1, 12, 4), 0),
    ("x.unsqueeze(0)", (1, 3, 4), (12, 4, 1), 0),
    ("x.unsqueeze(2)", (3, 4, 1), (4, 1, 1), 0),
    ("x[:, :2].unsqueeze(1)", (3, 1, 2), (4, 2, 1), 0),
    ("x.unsqueeze(1).squeeze()", (3, 4), (4, 1), 0),
    ("x.narrow(1, 1, 2)", (3, 2), (4, 1), 1),
    ("x.select(1, 2)", (3,), (4,), 2),
    ("x[1]", (4,), (1,), 4),
    ("x[-1, 1:]", (3,), (1,), 9),
    ("x[..., ::2]", (3, 2), (4, 2), 0),
    ("x[None, 1:, None, ::3]", (1, 2, 1, 2), (12, 4, 4, 3), 4),
    ("x[5:]", (0, 4), (4, 1), 12),
    ("x[:, 4:]", (3, 0), (4, 1), 4),
    ("x.diagonal()", (3,), (5,), 0),
    ("x.diagonal(1)", (3,), (5,), 1),
    ("x.diagonal(-1)", (2,), (5,), 4),
    ("x[:1].expand(5, 4)", (5, 4), (0, 1), 0),
    ("x.unsqueeze(1).expand(3, 2, 4)", (3, 2, 4), (4, 0, 1), 0),
    ("x.flatten()", (12,), (1,), 0),
    ("x.unflatten(1, (2, 2))", (3, 2, 2), (4, 2, 1), 0),
    ("x.movedim(0, 1)", (4, 3), (1, 4), 0),
    ("x.as_strided((2, 2), (1, 4), 1)", (2, 2), (1, 4), 1),
    ("x[1:].as_strided((2,), (5,))", (2,), (5,), 4),
    ("x.split(2, 1)[1]", (3, 2), (4, 1), 2),
    ("x.chunk(2, 0)[1]", (1, 4), (4, 1), 8),
    ("x.unbind(1)[3]", (3,), (4,), 3),
    ("x[1:, 1:].t().view(3, 2)", (3, 2), (1, 4), 5),
    ("x.view(3, 2, 2).permute(2, 0, 1)[1]", (3, 2), (4, 2), 1),
    ("x[:, None]", (3, 1, 4), (4, 4, 1), 0),
    ("x[1, ..., None]", (4, 1), (1, 1), 4),
]


def base(device):
    return tt.arange(12.0, device=device).reshape(3, 4)


def shares_storage(view, x) -> bool:
    if view.device.type == "cpu":
        return np.shares_memory(view._data, x._data) or view.numel() == 0
    return view._data.block is x._data.block


def storage_positions(shape, stride, offset):
    """The storage indices a view with this geometry covers, one per element."""
    pos = np.full(shape, offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, stride)):
        idx = np.arange(n).reshape([n if i == d else 1 for i in range(len(shape))])
        pos = pos + idx * s
    return pos


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr,shape,stride,offset", GEOMETRY, ids=[g[0] for g in GEOMETRY])
def test_view_geometry_values_and_storage(device, expr, shape, stride, offset):
    x = base(device)
    v = eval(expr, {"x": x})
    assert tuple(v.shape) == shape
    if v.numel():
        assert v.stride() == stride
        assert v.storage_offset() == offset
    assert shares_storage(v, x)
    assert v._version is x._version
    expected = np.arange(12.0)[storage_positions(shape, stride, offset)] if v.numel() else np.zeros(shape)
    np.testing.assert_array_equal(v._host(), expected)


# Views whose elements are distinct memory (writable without overlap).
WRITABLE = [g for g in GEOMETRY if 0 not in g[2] and "as_strided((2, 2), (1, 4), 1)" not in g[0]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr,shape,stride,offset", WRITABLE, ids=[g[0] for g in WRITABLE])
def test_write_through_view_reaches_base(device, expr, shape, stride, offset):
    x = base(device)
    v = eval(expr, {"x": x})
    before = x._version_count
    v.copy_(tt.full(tuple(v.shape), -1.0, device=device))
    expected = np.arange(12.0)
    expected[storage_positions(shape, stride, offset).reshape(-1)] = -1.0
    np.testing.assert_array_equal(x._host().reshape(-1), expected)
    assert x._version_count == before + 1 and v._version_count == x._version_count


@pytest.mark.parametrize("device", DEVICES)
def test_base_writes_show_in_views_and_versions_are_shared(device):
    x = base(device)
    views = [x.view(12), x.t(), x[1:, ::2], x.expand(2, 3, 4), x.diagonal(), *x.unbind(0), *x.split(1, 1),
             *x.chunk(3, 1), x.as_strided((3,), (4,), 1), x.narrow(0, 1, 1), x.permute(1, 0).unsqueeze(0)]
    x.copy_(tt.full((3, 4), 7.0, device=device))
    for v in views:
        assert v._version is x._version and v._version_count == 1
        assert v._base is x._base
        assert (v._host() == 7.0).all()


@pytest.mark.parametrize("device", DEVICES)
def test_view_of_view_keeps_the_storage_offset(device):
    x = base(device)
    v = x[1:][1:, 2:].view(2)[1:]
    assert v.storage_offset() == 11 and v.item() == 11.0
    v.copy_(tt.full((1,), 0.5, device=device))
    assert x[2, 3].item() == 0.5


def test_cpu_views_are_numpy_views():
    x = base("cpu")
    for v in (x.view(2, 6), x.t(), x[:, 1], x.reshape(4, 3), x.flatten(), x.unsqueeze(0), x.expand(2, 3, 4)):
        assert isinstance(v._data, np.ndarray) and v._data.base is not None
        assert np.shares_memory(v._data, x._data)


@pytest.mark.parametrize("device", DEVICES)
def test_reshape_copies_only_when_no_view_exists(device):
    x = base(device)
    assert shares_storage(x.reshape(2, 6), x)
    y = x.t().reshape(12)
    assert not shares_storage(y, x) and y._version is not x._version
    np.testing.assert_array_equal(y._host(), np.arange(12.0).reshape(3, 4).T.reshape(-1))
    assert y.is_contiguous()


@pytest.mark.parametrize("device", DEVICES)
def test_view_dtype_shares_bytes(device):
    x = tt.zeros(2, 4, dtype=tt.int32, device=device)
    f = x.view(tt.float32)
    f.copy_(tt.full((2, 4), 1.0, device=device))
    assert (x._host() == np.float32(1.0).view(np.int32)).all()
    b = x.view(tt.uint8)
    assert tuple(b.shape) == (2, 16) and b.stride() == (16, 1)
    w = tt.zeros(2, 8, dtype=tt.int16, device=device).view(tt.int64)
    assert tuple(w.shape) == (2, 2)
    # a view with an offset keeps its first byte
    y = tt.arange(8, dtype=tt.int32, device=device)[3:]
    same_bits = y.view(tt.float32)
    assert same_bits.storage_offset() == 3
    np.testing.assert_array_equal(same_bits._host().view(np.int32), np.arange(3, 8))
    z = tt.arange(8, dtype=tt.int32, device=device)[4:].view(tt.int64)
    assert z.storage_offset() == 2
    np.testing.assert_array_equal(z._host().view(np.int32), np.arange(4, 8))
    q = tt.arange(4, dtype=tt.int32, device=device)[1:].view(tt.uint8)
    assert q.storage_offset() == 4 and tuple(q.shape) == (12,)


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_view_methods_keep_storage(device):
    x = base(device)
    y = x.view(3, 4)
    y.unsqueeze_(0)
    assert tuple(y.shape) == (1, 3, 4) and shares_storage(y, x)
    y.squeeze_()
    y.t_()
    assert tuple(y.shape) == (4, 3) and y.stride() == (1, 4)
    y.transpose_(0, 1)
    assert y.stride() == (4, 1)


@pytest.mark.parametrize("device", DEVICES)
def test_iteration_and_unbind_are_views(device):
    x = base(device)
    rows = list(x)
    assert len(rows) == 3 and all(shares_storage(r, x) and r._version is x._version for r in rows)
    np.testing.assert_array_equal(rows[2]._host(), [8.0, 9.0, 10.0, 11.0])


def test_basic_index_is_exposed_for_the_indexing_family():
    x = base("cpu")
    v = movement.basic_index(x, (slice(None), 1))
    assert v.stride() == (4,) and v.storage_offset() == 1 and shares_storage(v, x)
    assert movement.is_basic_index((0, slice(None), None, Ellipsis, np.int64(2)))
    assert not movement.is_basic_index(([0, 1],))
    assert not movement.is_basic_index((x,))
    assert not movement.is_basic_index((True,))  # bools are advanced indices in PyTorch (a copy)


# ------------------------------------------------------------------------------------------------- errors

# Indexing errors are checked on movement.basic_index (x[...] itself belongs to the indexing family).
ERRORS = [
    ("x.t().view(12)", RuntimeError, "view size is not compatible with input tensor's size and stride (at least one "
     "dimension spans across two contiguous subspaces). Use .reshape(...) instead."),
    ("x.view(5, -1)", RuntimeError, "shape '[5, -1]' is invalid for input of size 12"),
    ("x.view(-1, -1)", RuntimeError, "only one dimension can be inferred"),
    ("x.view(-2, 6)", RuntimeError, "invalid shape dimension -2 at index 0 of shape [-2, 6]"),
    ("x[:0].view(0, -1)", RuntimeError, "cannot reshape tensor of 0 elements into shape [0, -1] because the "
     "unspecified dimension size -1 can be any value and is ambiguous"),
    ("x.reshape(5, 3)", RuntimeError, "shape '[5, 3]' is invalid for input of size 12"),
    ("bi(x, 5)", IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("bi(x, (slice(None), -5))", IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    ("bi(x, slice(None, None, -1))", ValueError, "step must be greater than zero"),
    ("bi(x, slice(None, None, 0))", ValueError, "slice step cannot be zero"),
    ("bi(x, (0, 0, 0))", IndexError, "too many indices for tensor of dimension 2"),
    ("bi(x, (..., ...))", IndexError, "an index can only have a single ellipsis ('...')"),
    ("bi(x, 1.5)", IndexError, "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
     "valid indices (got float)"),
    ("bi(s, 0)", IndexError, "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
     "C++ to convert a 0-dim tensor to a number"),
    ("bi(s, slice(None))", IndexError, "slice() cannot be applied to a 0-dim tensor."),
    ("x.unsqueeze(0).unsqueeze(0).t()", RuntimeError, "t() expects a tensor with <= 2 dimensions, but self is 4D"),
    ("x[0].mT", RuntimeError, "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."),
    ("x.permute(0, 1, 2)", RuntimeError, "permute(sparse_coo): number of dimensions in the tensor input does not "
     "match the length of the desired ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 3"),
    ("x.permute(0, 0)", RuntimeError, "permute(): duplicate dims are not allowed."),
    ("x.transpose(0, 2)", IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    ("x.expand(4)", RuntimeError, "the number of sizes provided (1) must be greater or equal to the number of "
     "dimensions in the tensor (2)"),
    ("x.expand(2, 3, 5)", RuntimeError, "The expanded size of the tensor (5) must match the existing size (4) at "
     "non-singleton dimension 2.  Target sizes: [2, 3, 5].  Tensor sizes: [3, 4]"),
    ("x.expand(-1, 3, 4)", RuntimeError, "The expanded size of the tensor (-1) isn't allowed in a leading, "
     "non-existing dimension 0"),
    ("x.narrow(0, 4, 1)", IndexError, "start out of range (expected to be in range of [-3, 3], but got 4)"),
    ("x.narrow(1, 2, 3)", RuntimeError, "start (2) + length (3) exceeds dimension size (4)."),
    ("x.narrow(0, 0, -1)", RuntimeError, "narrow(): length must be non-negative."),
    ("s.narrow(0, 0, 1)", RuntimeError, "narrow() cannot be applied to a 0-dim tensor."),
    ("x.select(0, 5)", IndexError, "select(): index 5 out of range for tensor of size [3, 4] at dimension 0"),
    ("s.select(0, 0)", IndexError, "select() cannot be applied to a 0-dim tensor."),
    ("s.unbind(0)", IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    ("x.as_strided((2, 2), (1,))", RuntimeError, "mismatch in length of strides and shape"),
    ("x.as_strided((2,), (-1,))", RuntimeError, "as_strided: Negative strides are not supported at the moment, got "
     "strides: [-1]"),
    ("x.movedim((0, 1), (0,))", RuntimeError, "movedim: Invalid source or destination dims: source ([0, 1] dims) "
     "should contain the same number of dims as destination ([0] dims)"),
    ("x.movedim((0, 0), (0, 1))", RuntimeError, "movedim: repeated dim in `source` ([0, 0])"),
    ("x.movedim((0, 1), (1, 1))", RuntimeError, "movedim: repeated dim in `destination` ([1, 1])"),
    ("x.unsqueeze(0).flatten(2, 1)", RuntimeError, "flatten() has invalid args: start_dim cannot come after end_dim"),
    ("x.unflatten(1, (3, 2))", RuntimeError, "unflatten: Provided sizes [3, 2] don't multiply up to the size of dim 1 "
     "(4) in the input tensor"),
    ("x.unflatten(1, ())", RuntimeError, "unflatten: sizes must be non-empty"),
    ("x.diagonal(0, 0, 0)", RuntimeError, "diagonal dimensions cannot be identical 0, 0"),
    ("x.squeeze((0, 0))", RuntimeError, "dim 0 appears multiple times in the list of dims"),
    ("x.unsqueeze(4)", IndexError, "Dimension out of range (expected to be in range of [-3, 2], but got 4)"),
    ("x.split(-1)", RuntimeError, "split expects split_size be non-negative, but got split_size=-1"),
    ("x.split(0)", RuntimeError, "split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    ("x.split([1, 1])", RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size "
     "at dimension 0), but got split_sizes=[1, 1]"),
    ("x.split([4, -1])", RuntimeError, "split_with_sizes expects split_sizes have only non-negative entries, but got "
     "split_sizes=[4, -1]"),
    ("s.split(1)", RuntimeError, "split expects at least a 1-dimensional tensor"),
    ("x.chunk(0)", RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    ("s.chunk(1)", RuntimeError, "chunk expects at least a 1-dimensional tensor"),
    ("x.t().view(tt.float16)", RuntimeError, "self.stride(-1) must be 1 to view Float as Half (different element "
     "sizes), but got 4"),
    ("s.view(tt.float16)", RuntimeError, "self.dim() cannot be 0 to view Float as Half (different element sizes)"),
    ("x[:, :3].view(tt.float64)", RuntimeError, "self.size(-1) must be divisible by 2 to view Float as Double "
     "(different element sizes), but got 3"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr,exc,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_view_errors(device, expr, exc, message):
    x = tt.arange(12.0, dtype=tt.float32, device=device).reshape(3, 4)
    s = tt.zeros((), device=device)
    with pytest.raises(exc, match=re.escape(message)):
        eval(expr, {"x": x, "s": s, "tt": tt, "bi": movement.basic_index})


@pytest.mark.parametrize("device", DEVICES)
def test_as_strided_out_of_storage(device):
    # 64 float32 = 256 bytes: a size the GPU allocator does not round up (it rounds blocks to 256 bytes, so a
    # smaller storage is checked against its rounded allocation there)
    x = tt.arange(64.0, device=device)
    assert tuple(x.as_strided((8, 8), (8, 1)).shape) == (8, 8)
    with pytest.raises(RuntimeError, match=re.escape(
            "setStorage: sizes [65], strides [1], storage offset 0, and itemsize 4 requiring a storage size of 260 "
            "are out of bounds for storage of size 256")):
        x.as_strided((65,), (1,))
    with pytest.raises(RuntimeError, match=re.escape("requiring a storage size of 260")):
        x[4:].as_strided((61,), (1,), 4)
