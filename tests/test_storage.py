"""Tensor.untyped_storage() / storage(), tritorch.UntypedStorage / TypedStorage and set_ from a storage: the memory
shared by a tensor and its views, compared with PyTorch's behaviour."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices


@pytest.mark.parametrize("device", devices())
def test_views_share_one_storage_at_the_tensors_base(device):
    x = tt.arange(12.0, device=device).reshape(3, 4)
    v = x[1:, 1:].t()
    s, sv = x.untyped_storage(), v.untyped_storage()
    assert s.nbytes() == sv.nbytes() == 48 == len(s) and s.size() == 48
    assert s.data_ptr() == sv.data_ptr() == x.data_ptr()
    assert v.data_ptr() - v.storage_offset() * v.element_size() == sv.data_ptr()
    assert s.device == x.device and s.dtype is tt.uint8 and s.element_size() == 1
    assert s.is_cuda == (device != "cpu") and not s.is_shared() and not s.is_pinned()
    other = tt.arange(12.0, device=device)
    assert other.untyped_storage().data_ptr() != s.data_ptr()


@pytest.mark.parametrize("device", devices())
def test_writes_through_a_storage_reach_every_tensor(device):
    x = tt.zeros(2, 3, device=device)
    s = x[1].untyped_storage()
    for i, byte in enumerate(np.float32(1.5).tobytes()):   # element 0, little endian
        s[4 + i] = byte
    assert x.tolist() == [[0.0, 1.5, 0.0], [0.0, 0.0, 0.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = x.storage()
    assert ts.size() == 6 and ts.dtype is tt.float32 and ts.element_size() == 4 and ts.nbytes() == 24
    ts[5] = -2.0
    assert ts[5] == -2.0 and x[1, 2].item() == -2.0 and ts.tolist() == [0.0, 1.5, 0.0, 0.0, 0.0, -2.0]
    c = s.clone()
    c.fill_(0)
    assert x[0, 1].item() == 1.5 and c.tolist() == [0] * 24 and c.device == x.device
    s.copy_(c)
    assert x.abs().sum().item() == 0


@pytest.mark.parametrize("device", devices())
def test_set_from_a_storage(device):
    x = tt.arange(8.0, device=device)
    y = tt.tensor([], device=device).set_(x.untyped_storage(), 2, (2, 2), (3, 1))
    assert y.tolist() == [[2.0, 3.0], [5.0, 6.0]]
    y[0, 0] = 20.0
    assert x[2].item() == 20.0                                  # the same memory
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = tt.tensor([], device=device).set_(x.storage())
    assert whole.shape == (8,) and whole.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="Expected a Storage of type"):
            tt.tensor([], dtype=tt.float64, device=device).set_(x.storage())


def test_storage_warns_once_and_the_errors_match_torch():
    torch = pytest.importorskip("torch")
    import tritorch.storage as S
    S._TYPED_WARNED[0] = False
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        tt.ones(2).storage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tt.ones(2).storage()                                    # once per process, as PyTorch
    t_np = torch.from_numpy(np.ones(2, np.float32))
    with pytest.raises(RuntimeError, match="not resizable") as theirs:
        t_np.untyped_storage().resize_(100)
    with pytest.raises(RuntimeError, match="not resizable") as ours:
        tt.from_numpy(np.ones(2, np.float32)).untyped_storage().resize_(100)
    assert str(ours.value) == str(theirs.value)
    if "cuda" in devices():
        with pytest.raises(RuntimeError, match="devices must match"):
            tt.tensor([], device="cuda").set_(tt.ones(2).untyped_storage())


def test_constructors_and_values_match_torch():
    torch = pytest.importorskip("torch")
    assert len(tt.UntypedStorage(5)) == len(torch.UntypedStorage(5)) == 5   # (torch's bytes are uninitialised)
    assert tt.UntypedStorage(5).tolist() == [0] * 5
    assert tt.UntypedStorage([1, 2, 255]).tolist() == [1, 2, 255]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tt.TypedStorage([1.5, 2.5]).tolist() == torch.TypedStorage([1.5, 2.5]).tolist()
        b = tt.ones(3, dtype=tt.bfloat16).storage()
        assert b.tolist() == [1.0, 1.0, 1.0] and b[0] == 1.0
    a = np.arange(6, dtype=np.float32)
    x = tt.from_numpy(a)[2:]
    assert x.untyped_storage().nbytes() == torch.from_numpy(a)[2:].untyped_storage().nbytes() == 24
    assert x.untyped_storage().data_ptr() == a.ctypes.data
    s = tt.tensor([1, 2], dtype=tt.uint8).untyped_storage()
    assert repr(s).endswith("[tritorch.storage.UntypedStorage(device=cpu) of size 2]") and list(s) == [1, 2]
    assert s[-1] == 2 and s[1:].tolist() == [2]
    with pytest.raises(IndexError):
        s[2]
    assert isinstance(s, tt.UntypedStorage) and isinstance(s, tt.types.Storage.__args__)
