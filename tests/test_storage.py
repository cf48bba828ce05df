"""Tensor.untyped_storage() / storage(), tritorch.UntypedStorage / TypedStorage and set_ from a storage: the memory
shared by a tensor and its views, compared with PyTorch's behaviour."""
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def test_untyped_storage_from_file(tmp_path):
    # safetensors' safe_open(framework="pt") maps files with torch.UntypedStorage.from_file (transformers'
    # from_pretrained reads every checkpoint this way)
    path = tmp_path / "b.bin"
    path.write_bytes(b"abcdefgh")
    s = tt.UntypedStorage.from_file(str(path), shared=False, nbytes=8)
    assert s.nbytes() == 8 and s[0] == 97 and s.device == tt.device("cpu") and s.tolist()[-1] == 104
    s[0] = 65   # a private map: the file keeps its bytes
    assert s[0] == 65 and path.read_bytes() == b"abcdefgh"
    assert tt.UntypedStorage.from_file(path, False, 4).nbytes() == 4
    assert tt.UntypedStorage.from_file(str(path)).nbytes() == 0
    with pytest.raises(RuntimeError, match=r"size <8> is smaller than the required mapping size <16>"):
        tt.UntypedStorage.from_file(str(path), False, 16)
    shared = tt.UntypedStorage.from_file(str(path), shared=True, nbytes=8)
    shared[0] = 65
    del shared
    assert path.read_bytes() == b"Abcdefgh"
    grown = tmp_path / "new.bin"
    shared = tt.UntypedStorage.from_file(str(grown), shared=True, nbytes=6)
    assert shared.nbytes() == 6 and grown.stat().st_size == 6
    del shared
    t = tt.tensor([], dtype=tt.uint8).set_(tt.UntypedStorage.from_file(str(path), False, 8))
    assert t.tolist() == [65, 98, 99, 100, 101, 102, 103, 104]


def test_safetensors_pt_round_trip_under_the_alias(tmp_path):
    # safetensors.torch writes and safe_open(framework="pt") reads tritorch tensors once tritorch is `torch`
    code = textwrap.dedent("""
        import tritorch
        tritorch.alias_torch()
        import torch
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file
        sd = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4, dtype=torch.bfloat16),
              "i": torch.tensor([1, -2], dtype=torch.int64)}
        save_file(sd, "m.safetensors", metadata={"format": "pt"})
        with safe_open("m.safetensors", framework="pt", device="cpu") as f:
            got = {k: f.get_tensor(k) for k in f.keys()}
            part = f.get_slice("w")[:, 1:]
        back = load_file("m.safetensors")
        for d in (got, back):
            assert sorted(d) == ["b", "i", "w"] and all(type(v) is torch.Tensor for v in d.values())
            assert all(d[k].dtype == sd[k].dtype and torch.equal(d[k], sd[k]) for k in sd)
        assert part.tolist() == [[1.0, 2.0], [4.0, 5.0]]
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
