"""tt.save / tt.load: safetensors round trips, map_location, crash safety, corrupt files, no pickle."""
import collections
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import ml_dtypes
import numpy as np
import pytest

import tritorch as tt
from tritorch.serialization import CheckpointError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
except ImportError:  # PyTorch is an optional oracle
    torch = None


def _random_bits(shape, dtype: tt.dtype, seed: int) -> np.ndarray:
    """Arbitrary bit patterns of the dtype (NaN payloads, infinities, subnormals and all)."""
    rng = np.random.default_rng(seed)
    if dtype is tt.bool:
        return rng.integers(0, 2, shape).astype(np.bool_)
    raw = rng.integers(0, 256, int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype.np).reshape(shape)


def _bits(t: tt.Tensor) -> np.ndarray:
    arr = np.ascontiguousarray(t.cpu().numpy())
    return arr.reshape(-1).view(np.uint8)


def _state(device="cpu"):
    dtypes = [tt.bool, tt.uint8, tt.int8, tt.int16, tt.int32, tt.int64, tt.float16, tt.bfloat16, tt.float32,
              tt.float64]
    model = collections.OrderedDict(
        (f"layer{i}.{d.name}", tt.from_numpy(_random_bits((3, 5) if i % 2 else (7,), d, i)).to(device))
        for i, d in enumerate(dtypes))
    model["scalar"] = tt.tensor(2.5, device=device)
    model["empty"] = tt.zeros(0, 4, device=device)
    model["noncontig"] = tt.arange(12, dtype=tt.float32, device=device).reshape(3, 4).t()
    optim = {"state": {0: {"step": tt.tensor(10.0), "exp_avg": tt.ones(3, device=device), "max": None},
                       1: {"momentum_buffer": tt.full((2,), -1.5, device=device)}},
             "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                               "amsgrad": False, "foreach": None, "name": "decay", "params": [0, 1],
                               "initial_lr": float("inf")}]}
    return {"model": model, "optimizer": optim, "epoch": 7, "best": float("nan"), "tags": ["a", "b"],
            "dtype": tt.bfloat16, "shape": tt.Size([2, 3]), "blob": b"\x00\xff", "key_types": {1: "one", "1": "str"}}


def _assert_same(a, b):
    if isinstance(b, tt.Tensor):
        assert isinstance(a, tt.Tensor) and a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(_bits(a), _bits(b))
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in b:
            _assert_same(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(b, float) and b != b:
        assert a != a
    else:
        assert type(a) is type(b) and a == b


def _devices(obj) -> set:
    if isinstance(obj, tt.Tensor):
        return {str(obj.device)}
    if isinstance(obj, dict):
        return set().union(*(_devices(v) for v in obj.values())) if obj else set()
    if isinstance(obj, (list, tuple)):
        return set().union(*(_devices(v) for v in obj)) if obj else set()
    return set()


# ------------------------------------------------------------------------------------------- round trips

def test_round_trip_nested_state_dict_all_dtypes_bit_exact(tmp_path):
    state = _state()
    path = tmp_path / "ckpt.safetensors"
    tt.save(state, path)
    loaded = tt.load(path)
    _assert_same(loaded, state)
    assert isinstance(loaded["model"], collections.OrderedDict)
    assert list(loaded["key_types"]) == [1, "1"]
    tt.save(state, str(path))  # str paths too, over an existing file
    _assert_same(tt.load(str(path), weights_only=True), state)


def test_cuda_tensors_round_trip_and_map_location(tmp_path):
    state = _state("cuda")
    path = tmp_path / "gpu.safetensors"
    tt.save(state, path)
    assert _devices(tt.load(path)) == {"cuda:0", "cpu"}  # back where they were saved
    on_cpu = tt.load(path, map_location="cpu")
    assert _devices(on_cpu) == {"cpu"}
    _assert_same(on_cpu, state)
    assert _devices(tt.load(path, map_location=tt.device("cpu"))) == {"cpu"}
    assert _devices(tt.load(path, map_location={"cuda:0": "cpu"})) == {"cpu"}
    seen = []

    def mover(t, location):
        seen.append(location)
        return t  # keep it on cpu

    assert _devices(tt.load(path, map_location=mover)) == {"cpu"} and "cuda:0" in seen
    cpu_path = tmp_path / "cpu.safetensors"
    tt.save({"w": tt.arange(3.0)}, cpu_path)
    assert tt.load(cpu_path, map_location="cuda")["w"].device.type == "cuda"


def test_shared_tensors_parameters_and_requires_grad(tmp_path):
    from tritorch.nn.parameter import Parameter
    w = Parameter(tt.ones(2, 2))
    g = tt.zeros(3).requires_grad_()
    path = tmp_path / "p.safetensors"
    tt.save({"a": w, "b": w, "g": g, "plain": tt.ones(1)}, path)
    r = tt.load(path)
    assert r["a"] is r["b"] and isinstance(r["a"], Parameter) and r["a"].requires_grad
    assert r["g"].requires_grad and not isinstance(r["g"], Parameter) and not r["plain"].requires_grad


def test_file_objects_and_plain_safetensors_files(tmp_path):
    state = _state()
    buf = io.BytesIO()
    tt.save(state, buf)
    buf.seek(0)
    _assert_same(tt.load(buf), state)
    from safetensors.numpy import save_file
    other = tmp_path / "other.safetensors"
    save_file({"x": np.arange(4, dtype=np.int32), "y": np.ones((2, 2), ml_dtypes.bfloat16)}, str(other))
    loaded = tt.load(other)
    assert set(loaded) == {"x", "y"} and loaded["x"].dtype is tt.int32 and loaded["y"].dtype is tt.bfloat16


@pytest.mark.skipif(torch is None, reason="needs PyTorch as an oracle")
def test_files_are_readable_by_safetensors_torch(tmp_path):
    from safetensors.torch import load_file
    w = tt.from_numpy(_random_bits((4, 3), tt.bfloat16, 3))
    path = tmp_path / "m.safetensors"
    tt.save(collections.OrderedDict([("fc.weight", w), ("fc.bias", tt.arange(3.0))]), path)
    t = load_file(str(path))
    assert t["fc.weight"].dtype == torch.bfloat16
    assert np.array_equal(t["fc.weight"].view(torch.int16).numpy().view(np.uint8).reshape(-1), _bits(w))


def test_unsupported_objects_are_refused(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="cannot save an object of type object .*opt.extra"):
        tt.save({"opt": {"extra": object()}}, path)
    assert not path.exists() and not list(tmp_path.iterdir())  # nothing written, no temp file left
    with pytest.raises(TypeError, match="never pickles"):
        tt.save({}, path, pickle_module=pickle)


def test_numpy_arrays_sets_and_meta_tensors_round_trip(tmp_path):
    import ml_dtypes
    np.random.seed(3)
    state = {"np_rng": np.random.get_state(), "t": np.arange(6, dtype=np.float32).reshape(2, 3).T,
             "u64": np.array([2 ** 64 - 1, 7], np.uint64), "bf16": np.array([1.5, -2], ml_dtypes.bfloat16),
             "zero_d": np.array(5, np.int16), "empty": np.zeros((0, 3), np.bool_),
             "big_endian": np.arange(3, dtype=">i4"),
             "seen": {1, "a", (2, 3)}, "frozen": frozenset([1.5]),
             "meta": tt.empty(3, 4, device="meta", dtype=tt.float16, requires_grad=True)}
    path = tmp_path / "x.safetensors"
    tt.save(state, path)
    back = tt.load(path)
    np.random.set_state(back["np_rng"])
    drawn = np.random.rand(3)
    np.random.seed(3)
    assert np.array_equal(drawn, np.random.rand(3))   # the generator resumes where it was saved
    for key in ("t", "u64", "bf16", "zero_d", "empty"):
        assert type(back[key]) is np.ndarray and back[key].dtype == state[key].dtype, key
        assert back[key].shape == state[key].shape and np.array_equal(back[key], state[key]), key
    assert back["big_endian"].tolist() == [0, 1, 2]
    assert back["seen"] == {1, "a", (2, 3)} and back["frozen"] == frozenset([1.5])
    m = back["meta"]
    assert m.is_meta and m.shape == (3, 4) and m.dtype is tt.float16 and m.requires_grad
    for bad, what in ((np.array(["a"]), "<U1"), (np.array([1j]), "complex128"), (np.array([None]), "object")):
        with pytest.raises(TypeError, match=f"cannot save a NumPy array of dtype {what} \\(at x\\)"):
            tt.save({"x": bad}, path)
    with pytest.raises(TypeError, match="unsupported set element at s"):
        tt.save({"s": {tt.ones(1)}}, path)
    tt.save({"s": {frozenset([1]), (2, frozenset())}}, path)
    assert tt.load(path) == {"s": {frozenset([1]), (2, frozenset())}}


def test_no_pickle_on_save_or_load(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("loads", "load", "dumps", "dump"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(pickle, "Pickler", forbidden)
    state = _state()
    path = tmp_path / "np.safetensors"
    tt.save(state, path)
    _assert_same(tt.load(path), state)
    with open(path, "rb") as fh:
        assert b"\x80\x04" not in fh.read(64)  # a safetensors header (JSON), not a pickle stream


# -------------------------------------------------------------------------------------- corrupt files

def _errors_naming(path, **kwargs):
    return pytest.raises(CheckpointError, match=f"{str(path)}.*(truncated or corrupt)")


def test_truncated_and_corrupt_files_raise_naming_the_file(tmp_path):
    path = tmp_path / "good.safetensors"
    tt.save(_state(), path)
    data = path.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    cases = {"empty": b"", "tiny": data[:5], "header_cut": data[:8 + header_len // 2],
             "data_cut": data[:-7], "garbage": b"not a checkpoint at all" * 3,
             "extra": data + b"\x00" * 3}
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(blob)
        with _errors_naming(bad):
            tt.load(bad)
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF  # a bit flip inside the last tensor's bytes: caught by its CRC-32
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="flipped.safetensors.*checksum"):
        tt.load(bad)
    with pytest.raises(FileNotFoundError):
        tt.load(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="<file object>|truncated or corrupt"):
        tt.load(io.BytesIO(data[:-7]))


# -------------------------------------------------------------------------------------- crash safety

_WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import tritorch as tt
    from tritorch import serialization
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "hold":  # stop after the data is written, before it is flushed and renamed
        def hold(tmp):
            print("WRITTEN", tmp, flush=True)
            time.sleep(60)
        serialization._fsync_file = hold
    big = {"w": tt.from_numpy(np.arange(%d, dtype=np.float32)), "step": 2}
    print("START", flush=True)
    tt.save(big, path)
    print("DONE", flush=True)
""")

_BIG = 1 << 24  # 64 MiB of float32


def _spawn_writer(path, mode):
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=REPO)
    return subprocess.Popen([sys.executable, "-c", _WRITER % _BIG, str(path), mode], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)


def _temp_file_written(folder) -> bool:
    """True once the writer's temporary file holds data (the write is under way)."""
    for p in folder.iterdir():
        try:
            if p.name.endswith(".tmp") and p.stat().st_size > 0:
                return True
        except FileNotFoundError:  # renamed onto the target meanwhile
            return True
    return False


def _old_checkpoint(path):
    old = {"w": tt.arange(5.0), "step": 1}
    tt.save(old, path)
    return old


def test_killed_before_rename_leaves_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    old = _old_checkpoint(path)
    proc = _spawn_writer(path, "hold")
    try:
        assert proc.stdout.readline().strip() == "START"
        line = proc.stdout.readline().split()
        assert line[0] == "WRITTEN"
        tmp = line[1]
        assert os.path.dirname(tmp) == str(tmp_path) and os.path.getsize(tmp) > _BIG * 4
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    _assert_same(tt.load(path), old)
    assert os.path.exists(tmp)  # the orphaned temp file is left beside it, never read
    new = {"w": tt.arange(2.0), "step": 3}
    tt.save(new, path)  # and a later save still works
    _assert_same(tt.load(path), new)


def test_killed_mid_write_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    old = _old_checkpoint(path)
    proc = _spawn_writer(path, "run")
    try:
        assert proc.stdout.readline().strip() == "START"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if _temp_file_written(tmp_path):
                break
            time.sleep(0.0005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    loaded = tt.load(path)  # whichever file is there is whole: the old one, or (if the rename won) the new one
    if loaded["step"] == 1:
        _assert_same(loaded, old)
    else:
        assert loaded["step"] == 2 and loaded["w"].shape == (_BIG,)


def test_model_and_optimizer_state_dicts_resume(tmp_path):
    import tritorch.nn as nn

    def make():
        tt.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        return model, tt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    model, opt = make()
    x = tt.randn(5, 4, generator=tt.Generator().manual_seed(1))
    model(x).sum().backward()
    opt.step()
    path = tmp_path / "train.safetensors"
    tt.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, path)
    ckpt = tt.load(path)
    model2, opt2 = make()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    _assert_same(model2.state_dict(), model.state_dict())
    for m, o in ((model, opt), (model2, opt2)):  # one more step from the same state: the same weights
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    _assert_same(model2.state_dict(), model.state_dict())


# ------------------------------------------------------------------------- whole modules (torch.save(model))

class TiedLM(tt.nn.Module):
    """A model saved whole: submodules, a tied weight, an activation function, a plain attribute."""

    def __init__(self):
        super().__init__()
        self.emb = tt.nn.Embedding(11, 8)
        self.rnn = tt.nn.LSTM(8, 8, batch_first=True)
        self.enc = tt.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.head = tt.nn.Linear(8, 11)
        self.head.weight = self.emb.weight
        self.shared = self.head          # the same submodule twice
        self.kind = "lm"

    def forward(self, x):
        return self.shared(self.enc(self.rnn(self.emb(x))[0]))


_LM_GLOBALS = [TiedLM, tt.nn.Embedding, tt.nn.LSTM, tt.nn.TransformerEncoderLayer, tt.nn.Linear,
               tt.nn.MultiheadAttention, tt.nn.modules.linear.NonDynamicallyQuantizableLinear, tt.nn.LayerNorm,
               tt.nn.Dropout, tt.nn.functional.relu]


def test_whole_modules_save_and_load_under_pytorchs_weights_only_rule(tmp_path):
    tt.manual_seed(0)
    model = TiedLM().eval()
    x = tt.randint(0, 11, (2, 5))
    want = model(x)
    path = tmp_path / "model.pt"
    tt.save(model, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed.*TiedLM.*add_safe_globals"):
        tt.load(path)                                             # classes must be allowed, as in PyTorch
    with tt.serialization.safe_globals(_LM_GLOBALS):
        back = tt.load(path)
    assert not tt.serialization.get_safe_globals()               # (the context manager's allowance ends)
    assert type(back) is TiedLM and back.kind == "lm" and not back.training
    assert back.head.weight is back.emb.weight and back.shared is back.head
    assert isinstance(back.head.weight, tt.nn.Parameter) and back.head.weight.requires_grad
    assert back.enc.activation is tt.nn.functional.relu
    np.testing.assert_array_equal(back(x).detach().numpy(), want.detach().numpy())
    calls = []
    back.register_forward_hook(lambda m, i, o: calls.append(1))   # hook tables are weak-referencable again
    back(x)
    assert calls == [1]
    assert type(tt.load(path, weights_only=False)) is TiedLM     # any class, from a trusted file
    tt.serialization.add_safe_globals(_LM_GLOBALS)
    try:
        assert type(tt.load(path)) is TiedLM
    finally:
        tt.serialization.clear_safe_globals()
    with pytest.raises(TypeError, match="cannot save an object of type function .*fn"):
        tt.save({"fn": lambda: 0}, path)                          # (a lambda has no import path)
    import functools
    with pytest.raises(TypeError, match="cannot save an object of type partial .*p"):
        tt.save({"p": functools.partial(print, 1)}, path)         # (rebuilt by its own __reduce__, not its state)


def test_pytorchs_environment_variables_force_weights_only(tmp_path, monkeypatch):
    tt.manual_seed(0)
    path = tmp_path / "model.pt"
    tt.save(TiedLM(), path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")          # an unset weights_only becomes False
    with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected.*forcing weights_only=False"):
        assert type(tt.load(path)) is TiedLM
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed.*TiedLM"):
        tt.load(path, weights_only=True)                                 # (an explicit one stands)
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "yes")
    with pytest.raises(RuntimeError, match="Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or"):
        tt.load(path)
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed.*TiedLM"):
        tt.load(path, weights_only=False)                                # forced even over an explicit False


def test_sparse_tensors_round_trip(tmp_path):
    s = tt.sparse_coo_tensor([[0, 1, 1], [1, 0, 0]], [1.0, 2.0, 3.0], (2, 3))
    path = tmp_path / "sparse.pt"
    tt.save({"raw": s, "coalesced": s.coalesce()}, path)
    got = tt.load(path)
    assert got["raw"].is_sparse and not got["raw"].is_coalesced() and got["coalesced"].is_coalesced()
    assert got["raw"].shape == (2, 3) and got["raw"]._nnz() == 3
    assert got["raw"].to_dense().tolist() == [[0.0, 1.0, 0.0], [5.0, 0.0, 0.0]]
