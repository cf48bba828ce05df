"""Creation: tensor/as_tensor/from_numpy, zeros/ones/full/empty, arange, linspace, eye, *_like, dtype inference."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

DEVICES = ["cpu", "cuda"]


# ------------------------------------------------------------------------------------------- dtype inference

@pytest.mark.parametrize("data,dtype", [
    ([1, 2], tt.int64), ([1.0, 2], tt.float32), ([True], tt.bool), ([True, 2], tt.int64), ([True, 2.5], tt.float32),
    (3, tt.int64), (3.5, tt.float32), (False, tt.bool), ([[1, 2], [3, 4]], tt.int64), ([], tt.float32),
    (np.array([1.0, 2.0]), tt.float64), (np.array([1, 2], np.int32), tt.int32), (np.array([1], np.uint8), tt.uint8),
    (np.array([1.0], np.float16), tt.float16), (np.array([True]), tt.bool), (np.float64(2.5), tt.float64),
    (np.int16(3), tt.int16),
], ids=lambda v: repr(v)[:30])
def test_tensor_infers_dtype_like_pytorch(data, dtype):
    t = tt.tensor(data)
    assert t.dtype is dtype
    assert t.shape == np.shape(data)


def test_tensor_infers_the_default_float_dtype():
    tt.set_default_dtype(tt.float64)
    try:
        assert tt.tensor([1.0, 2]).dtype is tt.float64
        assert tt.tensor(np.array([1.0], np.float32)).dtype is tt.float32
    finally:
        tt.set_default_dtype(tt.float32)


@pytest.mark.parametrize("device", DEVICES)
def test_tensor_arguments(device):
    t = tt.tensor([[1, 2], [3, 4]], dtype=tt.float16, device=device)
    assert t.dtype is tt.float16 and t.device == as_device(device) and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tt.tensor([1.7, -1.7], dtype=tt.int64, device=device).tolist() == [1, -1]
    assert tt.tensor([1.0], device=device, requires_grad=True).requires_grad
    src = tt.tensor([1.0, 2.0], device=device)
    copy = tt.tensor(src)
    assert copy.device == src.device and copy.tolist() == [1.0, 2.0]
    assert tt.tensor([tt.tensor(1.0), tt.tensor(2.0)]).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("device", DEVICES)
def test_zero_dim_tensors_keep_their_shape_on_every_device(device):
    t = tt.tensor(3.5, device=device)
    assert t.shape == () and t.ndim == 0 and t.item() == 3.5 and t.tolist() == 3.5
    assert tt.tensor(2).to(device).shape == ()
    assert tt.full((), 1.5, device=device).shape == ()
    assert tt.zeros((), device=device).shape == ()


def test_tensor_copies_its_data():
    a = np.arange(4.0)
    t = tt.tensor(a)
    a[0] = 7.0
    assert t[0].item() == 0.0
    s = tt.tensor([1.0, 2.0])
    c = tt.tensor(s)
    s.add_(1.0) if hasattr(s, "add_") else s.copy_(tt.tensor([2.0, 3.0]))
    assert c.tolist() == [1.0, 2.0]


def test_tensor_errors():
    with pytest.raises((ValueError, TypeError)):
        tt.tensor([[1, 2], [3]])  # ragged
    with pytest.raises((ValueError, RuntimeError, OverflowError)):
        tt.tensor([2 ** 63])  # does not fit int64: PyTorch raises "Overflow when unpacking long long"
    with pytest.raises(TypeError):
        tt.tensor(np.array([1], np.uint32))


# ------------------------------------------------------------------------------------ sharing memory with NumPy

def test_from_numpy_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = tt.from_numpy(a)
    assert t.dtype is tt.float64 and t.shape == (2, 3) and t.device == tt.device("cpu")
    a[1, 2] = 100.0
    assert t[1, 2].item() == 100.0
    t.numpy()[0, 0] = -5.0
    assert a[0, 0] == -5.0
    strided = tt.from_numpy(a[:, ::2])
    assert strided.stride() == (3, 2) and strided.tolist() == [[-5.0, 2.0], [3.0, 100.0]]
    with pytest.raises(TypeError, match="expected np.ndarray"):
        tt.from_numpy([1, 2])
    with pytest.raises(TypeError):
        tt.from_numpy(np.array([1], np.uint16))


def test_as_tensor_shares_when_it_can():
    a = np.arange(4.0)
    t = tt.as_tensor(a)
    a[0] = 9.0
    assert t[0].item() == 9.0  # shared
    c = tt.as_tensor(a, dtype=tt.float32)
    a[1] = 8.0
    assert c.dtype is tt.float32 and c[1].item() == 1.0  # a dtype change copies
    g = tt.as_tensor(a, device="cuda")
    assert g.device == as_device("cuda") and g.tolist() == a.tolist()
    x = tt.ones(2)
    assert tt.as_tensor(x) is x
    assert tt.as_tensor(x, dtype=tt.float64).dtype is tt.float64
    assert tt.as_tensor([1, 2]).dtype is tt.int64
    assert tt.asarray([1.0]).dtype is tt.float32


# -------------------------------------------------------------------------------------------- filled tensors

@pytest.mark.parametrize("device", DEVICES)
def test_zeros_ones_full_empty(device):
    z = tt.zeros(2, 3, device=device)
    assert z.shape == (2, 3) and z.dtype is tt.float32 and z.device == as_device(device) and z.tolist() == [[0.0] * 3] * 2
    assert tt.zeros((2, 3), device=device).shape == (2, 3) and tt.zeros([4], device=device).shape == (4,)
    assert tt.zeros(tt.Size([1, 2]), device=device).shape == (1, 2)
    assert tt.ones(3, dtype=tt.bool, device=device).tolist() == [True] * 3
    assert tt.ones(2, dtype=tt.int32, device=device).tolist() == [1, 1]
    assert tt.ones(0, device=device).shape == (0,)
    assert tt.full((2,), 3, device=device).dtype is tt.int64
    assert tt.full((2,), 3.0, device=device).dtype is tt.float32
    assert tt.full((2,), True, device=device).dtype is tt.bool
    assert tt.full((2, 2), 2.5, dtype=tt.float64, device=device).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert tt.full((3,), -0.0, device=device).tolist() == [-0.0] * 3
    assert np.signbit(tt.full((3,), -0.0, device=device).cpu().numpy()).all()
    e = tt.empty(2, 5, dtype=tt.int16, device=device)
    assert e.shape == (2, 5) and e.dtype is tt.int16 and e.device == as_device(device)
    assert tt.zeros(2, device=device, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1: \\[-1\\]"):
        tt.zeros(-1, device=device)
    with pytest.raises(RuntimeError, match="negative dimension"):
        tt.full((2, -2), 1.0, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_like_functions(device):
    x = tt.tensor([[1, 2, 3]], dtype=tt.int32, device=device)
    for fn, value in [(tt.zeros_like, 0), (tt.ones_like, 1)]:
        r = fn(x)
        assert r.shape == (1, 3) and r.dtype is tt.int32 and r.device == x.device and r.tolist() == [[value] * 3]
    assert tt.full_like(x, 7).tolist() == [[7, 7, 7]]
    assert tt.full_like(x, 7.9).dtype is tt.int32  # keeps input's dtype
    e = tt.empty_like(x)
    assert e.shape == (1, 3) and e.dtype is tt.int32 and e.device == x.device
    f = tt.zeros_like(x, dtype=tt.float64)
    assert f.dtype is tt.float64 and f.device == x.device
    other = "cpu" if device == "cuda" else "cuda"
    for fn in (tt.zeros_like, tt.ones_like, tt.empty_like):
        assert fn(x, device=other).device == as_device(other)
    assert tt.full_like(x, 2, device=other, dtype=tt.float16).dtype is tt.float16
    assert tt.ones_like(tt.zeros(2), requires_grad=True).requires_grad


# --------------------------------------------------------------------------------------------------- ranges

@pytest.mark.parametrize("device", DEVICES)
def test_arange(device):
    assert tt.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert tt.arange(5, device=device).dtype is tt.int64
    assert tt.arange(2, 8, 3, device=device).tolist() == [2, 5]
    assert tt.arange(10, 0, -3, device=device).tolist() == [10, 7, 4, 1]
    r = tt.arange(0, 1, 0.25, device=device)
    assert r.dtype is tt.float32 and r.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tt.arange(5.0, device=device).dtype is tt.float32
    assert tt.arange(3, dtype=tt.float64, device=device).tolist() == [0.0, 1.0, 2.0]
    assert tt.arange(0, device=device).shape == (0,)
    assert tt.arange(tt.tensor(3), device=device).tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        tt.arange(0, 5, 0, device=device)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
        tt.arange(0, 5, -1, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_linspace(device):
    x = tt.linspace(0, 1, 5, device=device)
    assert x.dtype is tt.float32 and x.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tt.linspace(2, 3, 1, device=device).tolist() == [2.0]
    assert tt.linspace(2, 3, 0, device=device).shape == (0,)
    y = tt.linspace(-1.5, 2.5, 81, dtype=tt.float64, device=device).cpu().numpy()
    np.testing.assert_allclose(y, np.linspace(-1.5, 2.5, 81), rtol=0, atol=1e-15)
    assert y[0] == -1.5 and y[-1] == 2.5  # both end points exact
    assert tt.linspace(0, 10, 5, dtype=tt.int64, device=device).tolist() == [0, 2, 5, 7, 10]
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        tt.linspace(0, 1, -1, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_eye(device):
    assert tt.eye(3, device=device).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    e = tt.eye(2, 4, dtype=tt.int32, device=device)
    assert e.dtype is tt.int32 and e.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    assert tt.eye(0, device=device).shape == (0, 0)
    assert tt.eye(2, dtype=tt.bool, device=device).tolist() == [[True, False], [False, True]]
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        tt.eye(-1, device=device)


def test_scalar_tensor_and_legacy_constructor():
    s = tt.scalar_tensor(3)
    assert s.shape == () and s.dtype is tt.float32 and s.item() == 3.0
    assert tt.Tensor(2, 3).shape == (2, 3) and tt.Tensor(2, 3).dtype is tt.float32
    assert tt.Tensor([1, 2]).dtype is tt.float32 and tt.Tensor([1, 2]).tolist() == [1.0, 2.0]




@pytest.mark.skipif("cuda" not in devices(), reason="no cuda device")
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int32", "int16", "int8", "uint8", "bool"])
def test_full_on_cuda_by_memset_writes_the_kernels_element(dtype):
    # 1-, 2- and 4-byte fills are one driver memset of an element's bits: the element the fill kernel writes on a
    # GPU, i.e. the value as an fp32 scalar, rounded to nearest-even into half types (the interpreter's own bf16
    # conversion truncates, so the kernel there is not the reference)
    dt = getattr(tt, dtype)
    for v in [1, -1, 0.5, -0.0, 3.25, 1e5, -7, 200, True, 2 ** 24, float("inf"), float("nan"), 1 / 3]:
        if dt.kind != 2 and (isinstance(v, float) or (dtype == "uint8" and v < 0)):
            continue  # (float fills of integer tensors, and -1 into uint8, are the kernel's business)
        if dt.kind == 1 and not isinstance(v, bool) and not np.iinfo(dt.np).min <= v <= np.iinfo(dt.np).max:
            continue  # (PyTorch's overflow error: test_full_converts_its_value_as_torch)
        if dt.kind == 2 and v == v and abs(v) != float("inf") and abs(v) > float(np.finfo(np.float16).max) \
                and dtype == "float16":
            continue  # (the same error)
        got = tt.full((3, 5), v, dtype=dt, device="cuda").cpu().numpy()
        want = np.full((3, 5), np.float32(v) if dt.kind == 2 else v).astype(dt.np)
        if v != v:
            assert np.isnan(got.astype(np.float32)).all()
        else:
            assert got.tobytes() == want.tobytes(), (dtype, v)


def test_factories_take_size_as_a_keyword():
    # PyTorch's schemas name the size: torch.empty(size=(2, 3)) (pytorch/examples' gat writes it so)
    for factory in (tt.empty, tt.zeros, tt.ones, tt.rand, tt.randn):
        assert factory(size=(2, 3)).shape == (2, 3) and factory(size=[4]).shape == (4,)
        with pytest.raises(TypeError, match="got multiple values for argument 'size'"):
            factory(2, size=(3,))
    assert tt.zeros(size=(2,), dtype=tt.int64).dtype is tt.int64
    x = tt.ones(2, dtype=tt.float64)
    for method in (x.new_empty, x.new_zeros, x.new_ones):
        r = method(size=(1, 3))
        assert r.shape == (1, 3) and r.dtype is tt.float64


def test_linspace_integer_dtypes_and_out_as_torch():
    torch = pytest.importorskip("torch")
    for args, dt in [((2.5, 1, 5), "int64"), ((-1.7, 3.2, 4), "int32"), ((-2.5, 2.5, 6), "int64"),
                     ((0, 10, 4), "uint8"), ((9.9, -0.5, 3), "int16")]:
        # PyTorch converts the ends to the integer dtype first: linspace(2.5, 1, 5) is linspace(2, 1, 5)
        assert tt.linspace(*args, dtype=getattr(tt, dt)).tolist() == \
            torch.linspace(*args, dtype=getattr(torch, dt)).tolist(), (args, dt)
    out = tt.empty(0, dtype=tt.float64)   # out= was ignored; an empty out takes the result (and gives the dtype)
    assert tt.linspace(0, 1, 5, out=out) is out and out.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    out = tt.empty(0)
    assert tt.logspace(0, 2, 3, out=out) is out and out.tolist() == [1.0, 10.0, 100.0]
    assert tt.logspace(0, 2, 3, requires_grad=True).requires_grad


def test_full_converts_its_value_as_torch():
    torch = pytest.importorskip("torch")
    import warnings
    cases = [(-2, "uint8"), (300, "uint8"), (-255, "uint8"), (-256, "uint8"), (-129, "int8"), (1e10, "int8"),
             (-0.5, "uint8"), (2.7, "int64"), (1e20, "int64"), (70000.0, "float16"), (1e300, "float32"),
             (1e39, "bfloat16"), (float("inf"), "float16"),
             (True, "int8"), (2 ** 63, "int64"), (float("nan"), "int64"), (float("inf"), "int32"), (-1, "bool")]
    for v, dt in cases:
        try:
            expected = torch.full((2,), v, dtype=getattr(torch, dt)).tolist()
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e)):
                tt.full((2,), v, dtype=getattr(tt, dt))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")       # (NumPy's overflow warning for a half type's inf)
            assert tt.full((2,), v, dtype=getattr(tt, dt)).tolist() == expected, (v, dt)
    out = tt.empty(0, dtype=tt.int32)            # out= was ignored; an empty out takes the result and its dtype
    assert tt.full((2,), 3, out=out) is out and out.tolist() == [3, 3]


def test_tensor_infers_numpy_scalar_dtypes_and_checks_numbers_as_torch():
    torch = pytest.importorskip("torch")
    for data in ([np.int32(1), 2], [np.int32(1), np.int64(2)], [np.float32(1.5), 2.5], [np.int16(1), 2.5],
                 [np.float16(1)], [[np.int8(1)]], [np.uint8(1), True], [np.float64(1.5)], [2.5, np.float64(1.5)],
                 [[1.0], [np.float64(2)]], [1.5, 2.5], [1, 2], [np.float32(1)]):
        assert str(tt.tensor(data).dtype).split(".")[-1] == str(torch.tensor(data).dtype).split(".")[-1], data
    for data, dt in (([float("nan")], "int64"), ([float("inf")], "int32"), ([-255], "uint8"), ([-256], "uint8"),
                     ([255.5], "uint8"), ([-0.5], "uint8"), ([[1, 300]], "uint8"), ([300], "bool"), ([-1], "uint8"),
                     ([2.5], "int64"), ([1e10], "int32"), ([-129], "int8"), (np.array([300]), "uint8")):
        try:
            expected = torch.tensor(data, dtype=getattr(torch, dt)).tolist()
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e)):
                tt.tensor(data, dtype=getattr(tt, dt))
            continue
        assert tt.tensor(data, dtype=getattr(tt, dt)).tolist() == expected, (data, dt)
