"""Hand-written tests of the movement family: method and function forms, kwargs, dtype promotion, out= and
in-place forms, PyTorch's errors, and launch paths the samples do not reach (host-walked leading dims, the
non-contiguous flattened roll). Values over many shapes and dtypes are covered by the generated tests in
test_registry_ops.py; storage sharing of the views by tests/test_views.py."""
import re

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

DEVICES = devices()


def arange(*shape, dtype=tt.float32, device="cpu"):
    n = int(np.prod(shape)) if shape else 1
    return tt.arange(n, dtype=dtype, device=device).reshape(*shape) if shape else tt.full((), 0, dtype=dtype,
                                                                                             device=device)


def np_arange(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


def host(x):
    return x._host()


def same(x, expected):
    np.testing.assert_array_equal(host(x), np.asarray(expected))


# ------------------------------------------------------------------------------------------ view functions

@pytest.mark.parametrize("device", DEVICES)
def test_shape_argument_forms(device):
    x = arange(3, 4, device=device)
    for y in (x.view(2, 6), x.view((2, 6)), x.view([2, 6]), x.view(tt.Size([2, 6])), x.reshape(2, -1),
              x.reshape((2, 6)), tt.reshape(x, (-1, 6)), x.view_as(tt.zeros(2, 6)), x.reshape_as(tt.zeros(2, 6))):
        assert tuple(y.shape) == (2, 6)
    assert tuple(x.permute(1, 0).shape) == tuple(x.permute((1, 0)).shape) == tuple(tt.permute(x, [1, 0]).shape)
    assert tuple(x.expand(2, 3, 4).shape) == tuple(x.expand((2, 3, 4)).shape) == (2, 3, 4)
    assert tuple(x[:1].expand(-1, 4).shape) == (1, 4)
    assert tuple(x.expand_as(tt.zeros(5, 3, 4)).shape) == (5, 3, 4)
    assert tuple(tt.broadcast_to(x[:, :1], (3, 7)).shape) == (3, 7)


@pytest.mark.parametrize("device", DEVICES)
def test_flatten_unflatten_ravel(device):
    x = arange(2, 3, 4, device=device)
    assert tuple(x.flatten().shape) == (24,)
    assert tuple(x.flatten(1).shape) == (2, 12)
    assert tuple(tt.flatten(x, 0, 1).shape) == (6, 4)
    assert x.flatten(1, 1) is x
    assert tuple(tt.zeros((), device=device).flatten().shape) == (1,)
    assert tuple(x.unflatten(-1, (2, -1)).shape) == (2, 3, 2, 2)
    assert tuple(tt.unflatten(x, 1, (3, 1)).shape) == (2, 3, 1, 4)
    same(x.permute(2, 0, 1).ravel(), np_arange(2, 3, 4).transpose(2, 0, 1).reshape(-1))
    same(x.transpose(0, 2).flatten(), np_arange(2, 3, 4).transpose(2, 1, 0).reshape(-1))


@pytest.mark.parametrize("device", DEVICES)
def test_transposes_and_movedim(device):
    x = arange(2, 3, 4, device=device)
    ref = np_arange(2, 3, 4)
    same(x.T, ref.transpose(2, 1, 0))
    same(x.mT, ref.swapaxes(-1, -2))
    same(x.mH, ref.swapaxes(-1, -2))
    same(x.adjoint(), ref.swapaxes(-1, -2))
    same(x[0].H, ref[0].T)
    same(tt.swapaxes(x, 0, 2), ref.swapaxes(0, 2))
    same(x.swapdims(0, 1), ref.swapaxes(0, 1))
    same(tt.movedim(x, (0, 1), (2, 0)), np.moveaxis(ref, (0, 1), (2, 0)))
    same(x.moveaxis(-1, 0), np.moveaxis(ref, -1, 0))
    same(tt.t(x[0]), ref[0].T)
    v = arange(5, device=device)
    assert v.t() is not v and tuple(v.t().shape) == (5,) and tuple(v.T.shape) == (5,)
    with pytest.raises(RuntimeError, match=re.escape("tensor.H is only supported on matrices (2-D tensors). Got 3-D")):
        _ = x.H


@pytest.mark.parametrize("device", DEVICES)
def test_squeeze_unsqueeze_forms(device):
    x = arange(1, 3, 1, 2, device=device)
    assert tuple(x.squeeze().shape) == (3, 2)
    assert tuple(x.squeeze(0).shape) == (3, 1, 2)
    assert tuple(x.squeeze(1).shape) == (1, 3, 1, 2)
    assert tuple(tt.squeeze(x, (0, 2)).shape) == (3, 2)
    assert tuple(tt.unsqueeze(x, -1).shape) == (1, 3, 1, 2, 1)


@pytest.mark.parametrize("device", DEVICES)
def test_broadcast_tensors_and_atleast(device):
    a, b = arange(3, 1, device=device), arange(4, device=device)
    ra, rb = tt.broadcast_tensors(a, b)
    assert tuple(ra.shape) == tuple(rb.shape) == (3, 4) and ra.stride() == (1, 0) and rb.stride() == (0, 1)
    with pytest.raises(RuntimeError, match="The size of tensor a"):
        tt.broadcast_tensors(arange(3, device=device), arange(2, device=device))
    s = tt.zeros((), device=device)
    assert tuple(tt.atleast_1d(s).shape) == (1,)
    assert [tuple(t.shape) for t in tt.atleast_2d(s, b)] == [(1, 1), (1, 4)]
    assert [tuple(t.shape) for t in tt.atleast_3d((s, b, a))] == [(1, 1, 1), (1, 4, 1), (3, 1, 1)]


# ------------------------------------------------------------------------------------ split / chunk / unbind

@pytest.mark.parametrize("device", DEVICES)
def test_split_chunk_tensor_split_sizes(device):
    x = arange(5, 2, device=device)
    assert [tuple(t.shape) for t in x.split(2)] == [(2, 2), (2, 2), (1, 2)]
    assert [tuple(t.shape) for t in tt.split(x, [1, 4])] == [(1, 2), (4, 2)]
    assert [tuple(t.shape) for t in x.split(1, dim=1)] == [(5, 1), (5, 1)]
    assert [tuple(t.shape) for t in x.chunk(3)] == [(2, 2), (2, 2), (1, 2)]
    assert [tuple(t.shape) for t in tt.chunk(arange(6, device=device), 4)] == [(2,), (2,), (2,)]
    assert [tuple(t.shape) for t in tt.zeros(0, 2, device=device).chunk(3)] == [(0, 2)] * 3
    assert [tuple(t.shape) for t in tt.zeros(0, 2, device=device).split(0)] == [(0, 2)]
    assert [tuple(t.shape) for t in x.tensor_split(3)] == [(2, 2), (2, 2), (1, 2)]
    assert [tuple(t.shape) for t in tt.tensor_split(x, [1, -1, 7])] == [(1, 2), (3, 2), (1, 2), (0, 2)]
    pieces = x.split([2, 3])
    same(pieces[1], np_arange(5, 2)[2:])
    assert isinstance(pieces, tuple) and all(p._version is x._version for p in pieces)
    assert [tuple(t.shape) for t in tt.unbind(x, 1)] == [(5,), (5,)]


# ------------------------------------------------------------------------------------------------ cat/stack

@pytest.mark.parametrize("device", DEVICES)
def test_cat_promotes_and_skips_empty_1d(device):
    a = arange(2, 3, dtype=tt.int32, device=device)
    b = tt.ones(1, 3, dtype=tt.float16, device=device)
    c = tt.zeros(1, 3, dtype=tt.bool, device=device)
    r = tt.cat([a, b, c])
    assert r.dtype is tt.float16 and tuple(r.shape) == (4, 3)
    same(r, np.concatenate([np_arange(2, 3), np.ones((1, 3)), np.zeros((1, 3))]))
    r = tt.cat((a, tt.zeros(0, dtype=tt.float64, device=device)), 1)
    assert r.dtype is tt.float64 and tuple(r.shape) == (2, 3)
    r = tt.cat([tt.zeros(0, device=device), tt.zeros(0, dtype=tt.int64, device=device)], dim=3)
    assert tuple(r.shape) == (0,) and r.dtype is tt.float32
    assert tt.cat([c, c]).dtype is tt.bool
    assert tuple(tt.concat([a, a], dim=-1).shape) == (2, 6) and tuple(tt.concatenate([a, a]).shape) == (4, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_cat_and_stack_out(device):
    a, b = arange(2, 3, device=device), arange(1, 3, device=device)
    out = tt.empty(3, 3, dtype=tt.float64, device=device)
    r = tt.cat([a, b], out=out)
    assert r is out and out._version_count == 1
    same(out, np.concatenate([np_arange(2, 3), np_arange(1, 3)]))
    # out may be a non-contiguous view
    big = tt.zeros(3, 6, device=device)
    tt.stack([arange(3, device=device), tt.tensor([1.0, 2.0, 3.0], device=device)], dim=1, out=big[:, ::2][:, :2])
    same(big[:, 0], [0, 1, 2])
    same(big[:, 2], [1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        tt.cat([a, b], out=tt.empty(3, 3, dtype=tt.int64, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_cat_high_rank_noncontiguous(device):
    ref = np.arange(2 * 3 * 2 * 2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2, 2, 3, 2)
    x = tt.tensor(ref, device=device).permute(5, 4, 3, 2, 1, 0)
    r = tt.cat([x, x[:, :1]], 1)
    same(r, np.concatenate([ref.transpose(5, 4, 3, 2, 1, 0), ref.transpose(5, 4, 3, 2, 1, 0)[:, :1]], 1))


@pytest.mark.parametrize("device", DEVICES)
def test_stack_forms(device):
    s = [tt.full((), v, device=device) for v in (1.0, 2.0)]
    same(tt.stack(s), [1.0, 2.0])
    a = arange(2, 3, device=device)
    same(tt.stack((a, a), -1), np.stack([np_arange(2, 3)] * 2, -1))
    assert tt.stack([a, a.long()]).dtype is tt.float32
    same(tt.hstack([a, a]), np.hstack([np_arange(2, 3)] * 2))
    same(tt.vstack([a[0], a[1]]), np.vstack([np_arange(2, 3)[0], np_arange(2, 3)[1]]))
    same(tt.dstack([a, a]), np.dstack([np_arange(2, 3)] * 2))


CAT_ERRORS = [
    (lambda d: tt.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda d: tt.cat([tt.zeros((), device=d), tt.zeros((), device=d)]), RuntimeError,
     "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda d: tt.cat([tt.zeros(3, 4, device=d), tt.zeros(3, device=d)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda d: tt.cat([tt.zeros(3, 4, device=d), tt.zeros(2, 5, device=d)], 1), RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 3 but got size 2 for tensor number 1 in the "
     "list."),
    (lambda d: tt.cat([tt.zeros(3, 4, device=d)] * 2, 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda d: tt.cat(tt.zeros(3, 4, device=d)), TypeError,
     "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda d: tt.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda d: tt.stack([tt.zeros(3, 4, device=d), tt.zeros(3, 5, device=d)]), RuntimeError,
     "stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [3, 5] at entry 1"),
    (lambda d: tt.stack([tt.zeros(3, 4, device=d)] * 2, 3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(CAT_ERRORS)))
def test_cat_stack_errors(device, case):
    fn, exc, message = CAT_ERRORS[case]
    with pytest.raises(exc, match=re.escape(message)):
        fn(device)


def test_cat_mixed_devices():
    if "cuda" not in DEVICES:
        return
    with pytest.raises(RuntimeError, match=re.escape("Expected all tensors to be on the same device, but found at "
                                                     "least two devices, cuda:0 and cpu!")):
        tt.cat([tt.zeros(2, device="cuda"), tt.zeros(2)])


# ----------------------------------------------------------------------------------------------------- pad

@pytest.mark.parametrize("device", DEVICES)
def test_pad_modes(device):
    x = arange(1, 2, 4, device=device)
    ref = np_arange(1, 2, 4)
    same(tt.pad(x, (1, 2)), np.pad(ref, ((0, 0), (0, 0), (1, 2))))
    same(tt.pad(x, (1, 0, 0, 1), value=-1.5), np.pad(ref, ((0, 0), (0, 1), (1, 0)), constant_values=-1.5))
    same(tt.pad(x, (2, 1), mode="reflect"), np.pad(ref, ((0, 0), (0, 0), (2, 1)), mode="reflect"))
    same(tt.pad(x, (3, 1, 1, 0), mode="replicate"), np.pad(ref, ((0, 0), (1, 0), (3, 1)), mode="edge"))
    same(tt.pad(x, (4, 1, 2, 0), mode="circular"), np.pad(ref, ((0, 0), (2, 0), (4, 1)), mode="wrap"))
    same(tt.pad(x, (-1, -2)), ref[..., 1:2])
    # integer tensors truncate the value as PyTorch does; bool tensors take its truth
    same(tt.pad(arange(3, dtype=tt.int64, device=device), (1, 1), value=-2.7), [-2, 0, 1, 2, -2])
    same(tt.pad(tt.zeros(2, dtype=tt.bool, device=device), (1, 0), value=2), [True, False, False])


PAD_ERRORS = [
    ((3, 4), (1,), {}, RuntimeError, "Padding length must be divisible by 2"),
    ((3, 4), (1, 1, 1, 1, 1, 1), {}, RuntimeError, "Padding length should be less than or equal to two times the "
     "input dimension but got padding length 6 and input of dimension 2"),
    ((3, 4), (-3, -3), {}, RuntimeError, "narrow(): length must be non-negative."),
    ((1, 3, 4), (4, 4), {"mode": "reflect"}, RuntimeError, "Argument #4: Padding size should be less than the "
     "corresponding input dimension, but got: padding (4, 4) at dimension 2 of input [1, 3, 4]"),
    ((1, 3, 4), (1, 1, 3, 3), {"mode": "reflect"}, RuntimeError, "Argument #6: Padding size should be less than the "
     "corresponding input dimension, but got: padding (3, 3) at dimension 1 of input [1, 3, 4]"),
    ((5,), (1, 1), {"mode": "reflect"}, NotImplementedError, "Padding size 2 is not supported for 1D input tensor."),
    ((3, 4), (1, 1), {"mode": "reflect", "value": 1.0}, RuntimeError,
     'Padding mode "reflect" doesn\'t take in value argument'),
    ((2, 0), (1, 1), {"mode": "replicate"}, RuntimeError, "Expected 2D or 3D (batch mode) tensor with possibly 0 "
     "batch size and other non-zero dimensions for input, but got: [2, 0]"),
    ((1, 3, 4), (-3, -3), {"mode": "reflect"}, RuntimeError, "input (W: 4) is too small. Calculated output W: -2"),
    ((1, 3, 4), (5, 5), {"mode": "circular"}, RuntimeError, "Padding value causes wrapping around more than once."),
    ((1, 3, 4), (-3, -3), {"mode": "circular"}, RuntimeError,
     "Negative padding value is resulting in an empty dimension"),
    ((3, 4), (1, 1), {"mode": "foo"}, NotImplementedError, "Unrecognised padding mode foo"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", range(len(PAD_ERRORS)))
def test_pad_errors(device, case):
    shape, pads, kwargs, exc, message = PAD_ERRORS[case]
    with pytest.raises(exc, match=re.escape(message)):
        tt.pad(tt.zeros(*shape, device=device), pads, **kwargs)


def test_pad_reflect_bool_is_not_implemented():
    with pytest.raises(NotImplementedError, match=re.escape('"reflection_pad1d" not implemented for \'Bool\'')):
        tt.pad(tt.zeros(2, 3, dtype=tt.bool), (1, 1), mode="reflect")


# ----------------------------------------------------------------------------------- flip / roll / repeat

@pytest.mark.parametrize("device", DEVICES)
def test_flip_forms(device):
    x = arange(2, 3, 4, device=device)
    ref = np_arange(2, 3, 4)
    same(x.flip(0, 2), ref[::-1, :, ::-1])
    same(x.flip((1,)), ref[:, ::-1])
    same(tt.flip(x, [-1]), ref[..., ::-1])
    same(tt.fliplr(x), ref[:, ::-1])
    same(tt.flipud(x), ref[::-1])
    y = x.flip(())
    same(y, ref)
    assert not np.shares_memory(host(y), host(x)) if device == "cpu" else y._data.block is not x._data.block
    with pytest.raises(RuntimeError, match=re.escape("dim 0 appears multiple times in the list of dims")):
        x.flip(0, -3)
    with pytest.raises(IndexError, match=re.escape("Dimension out of range (expected to be in range of [-3, 2], "
                                                   "but got 3)")):
        x.flip(3)


@pytest.mark.parametrize("device", DEVICES)
def test_roll_forms(device):
    x = arange(3, 4, device=device)
    ref = np_arange(3, 4)
    same(x.roll(1), np.roll(ref, 1))
    same(tt.roll(x, -2, 1), np.roll(ref, -2, 1))
    same(x.roll((1, 5), (0, 1)), np.roll(ref, (1, 5), (0, 1)))
    # the flattened roll of a non-contiguous tensor walks it in logical order
    same(x.t().roll(5), np.roll(ref.T, 5))
    same(x.roll(1, ()), np.roll(ref, 1))
    with pytest.raises(RuntimeError, match=re.escape("shifts and dimensions must align. shifts: 2, dims:1")):
        x.roll((1, 2), 0)
    with pytest.raises(RuntimeError, match=re.escape("shifts and dimensions must align. shifts: 2, dims:0")):
        x.roll((1, 2))
    with pytest.raises(IndexError, match=re.escape("Dimension specified as 0 but tensor has no dimensions")):
        tt.zeros((), device=device).roll(1, 0)


@pytest.mark.parametrize("device", DEVICES)
def test_repeat_and_tile(device):
    x = arange(2, 3, device=device)
    ref = np_arange(2, 3)
    same(x.repeat(2, 1, 2), np.tile(ref, (2, 1, 2)))
    same(x.repeat((1, 3)), np.tile(ref, (1, 3)))
    same(x.tile(2), np.tile(ref, 2))
    same(tt.tile(x, (2, 1, 1)), np.tile(ref, (2, 1, 1)))
    same(x.t().repeat(1, 2), np.tile(ref.T, (1, 2)))
    assert tuple(x.repeat(0, 1).shape) == (0, 3)
    with pytest.raises(RuntimeError, match=re.escape("Number of dimensions of repeat dims can not be smaller than "
                                                     "number of dimensions of tensor")):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=re.escape("Trying to create tensor with negative dimension -2: [-2, 6]")):
        x.repeat(-1, 2)
    with pytest.raises(RuntimeError, match=re.escape("Trying to create tensor with negative dimension -3: [2, -3]")):
        x.tile(-1)


# -------------------------------------------------------------------------------------------- tril / triu

@pytest.mark.parametrize("device", DEVICES)
def test_tril_triu_forms(device):
    x = arange(3, 4, device=device)
    ref = np_arange(3, 4)
    same(x.tril(), np.tril(ref))
    same(tt.triu(x, 1), np.triu(ref, 1))
    same(tt.tril(x, diagonal=-1), np.tril(ref, -1))
    b = tt.ones(2, 3, dtype=tt.bool, device=device)
    assert tt.triu(b).dtype is tt.bool
    same(tt.triu(b), np.triu(np.ones((2, 3), bool)))
    out = tt.empty(3, 4, device=device)
    assert tt.triu(x, out=out) is out
    same(out, np.triu(ref))
    with pytest.raises(RuntimeError, match=re.escape("tril: input tensor must have at least 2 dimensions")):
        tt.zeros(3, device=device).tril()


@pytest.mark.parametrize("device", DEVICES)
def test_tril_in_place_on_a_view(device):
    x = arange(4, 4, device=device)
    ref = np_arange(4, 4)
    v = x.t()
    r = v.tril_(1)
    assert r is v and x._version_count == 1
    same(x, np.tril(ref.T, 1).T)
    x.triu_()
    same(x, np.triu(np.tril(ref.T, 1).T))


@pytest.mark.parametrize("device", DEVICES)
def test_tril_with_uncollapsible_batch_dims(device):
    # three batch dims that cannot merge: the leading one is walked on the host
    ref = np.arange(3 * 2 * 2 * 3 * 4, dtype=np.float64).reshape(3, 2, 2, 3, 4)
    x = tt.tensor(ref, device=device).permute(2, 0, 1, 3, 4)
    same(x.tril(), np.tril(ref.transpose(2, 0, 1, 3, 4)))
    same(x.triu(-1), np.triu(ref.transpose(2, 0, 1, 3, 4), -1))


@pytest.mark.parametrize("device", DEVICES)
def test_flip_and_repeat_beyond_four_dims(device):
    ref = np.arange(2 * 3 * 2 * 2 * 3, dtype=np.float64).reshape(2, 3, 2, 2, 3)
    x = tt.tensor(ref, device=device)
    same(x.flip(0, 2, 4), ref[::-1, :, ::-1, :, ::-1])
    same(x.permute(4, 3, 2, 1, 0).repeat(1, 2, 1, 2, 1), np.tile(ref.transpose(4, 3, 2, 1, 0), (1, 2, 1, 2, 1)))


def test_methods_take_their_sizes_as_keywords():
    # PyTorch's schema names: view(size), reshape(shape), expand(size), permute/flip/tile(dims), repeat(repeats)
    x = tt.arange(6.0)
    assert x.view(size=(2, 3)).shape == (2, 3) and x.reshape(shape=(3, 2)).shape == (3, 2)
    assert x.view(dtype=tt.int32).dtype is tt.int32
    m = x.view(2, 3)
    assert m.permute(dims=(1, 0)).shape == (3, 2) and m.flip(dims=(0,))[0].tolist() == [3.0, 4.0, 5.0]
    assert m.tile(dims=(2, 1)).shape == (4, 3) and m.repeat(repeats=(1, 2)).shape == (2, 6)
    assert tt.ones(1, 3).expand(size=(2, 3)).shape == (2, 3) and tt.ones(1).expand(3, implicit=True).shape == (3,)
    with pytest.raises(TypeError, match="view\\(\\) got multiple values for argument 'size'"):
        x.view(2, 3, size=(6,))
    with pytest.raises(TypeError, match="reshape\\(\\) got an unexpected keyword argument 'size'"):
        x.reshape(size=(6,))


def test_expand_views_on_both_paths_have_pytorchs_geometry():
    # a C-contiguous cpu input takes the NumPy shortcut (_expand_native), others the registered path: both must
    # give PyTorch's sizes, strides and offset, share the input's storage, and record the same gradient
    base = arange(2, 3, 4)
    cases = [(base[:, :1], (2, 5, 4)), (base[0, :1], (7, 1, 4)), (base[1, 2, :1], (3, -1)),
             (arange(), (2, 3)), (base.transpose(0, 1)[:1], (6, 2, 4)), (base[1:, 1:2], (-1, 3, -1))]
    for x, size in cases:
        y = x.expand(*size)
        shape = tuple(x.shape[i - (len(size) - x.dim())] if s == -1 else s for i, s in enumerate(size))
        lead = len(size) - x.dim()
        strides = tuple(0 if i < lead or (x.shape[i - lead] == 1 and shape[i] != 1) else x.stride(i - lead)
                        for i in range(len(size)))
        assert (tuple(y.shape), y.stride(), y.storage_offset()) == (shape, strides, x.storage_offset())
        assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        same(y, np.broadcast_to(host(x), shape))
    x = arange(1, 4).clone().requires_grad_()
    y = x.expand(3, 2, 4)
    assert y.grad_fn is not None and y._base is x
    (y * arange(3, 2, 4)).sum().backward()
    same(x.grad, np_arange(3, 2, 4).sum(axis=(0, 1))[None])
    with pytest.raises(RuntimeError, match=r"must match the existing size \(3\) at non-singleton dimension 1"):
        arange(2, 3).expand(2, 4)
    with pytest.raises(RuntimeError, match="isn't allowed in a leading, non-existing dimension 0"):
        arange(3).expand(-1, 3)
