"""tt.load of checkpoints that PyTorch's torch.save wrote (its zip format): state dicts and optimizer states load
into tritorch's modules and optimizers; dtypes, views sharing a storage, parameters, devices and the other
values a checkpoint holds come back; anything outside PyTorch's weights_only rules is refused before it runs;
truncated or tampered files fail with an error."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

torch = pytest.importorskip("torch")


def save(tmp_path, obj, name="ck.pt"):
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def test_model_and_optimizer_state_load_into_tritorch(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    x = torch.randn(2, 1, 8, 8)
    model(x).sum().backward()
    opt.step()
    path = save(tmp_path, {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7})
    ck = tt.load(path, weights_only=True)
    mine = tt.nn.Sequential(tt.nn.Conv2d(1, 4, 3), tt.nn.BatchNorm2d(4), tt.nn.Flatten(), tt.nn.Linear(4 * 6 * 6, 3))
    assert str(mine.load_state_dict(ck["model"])) == "<All keys matched successfully>"
    model.eval()
    mine.eval()
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(mine(tt.tensor(x.numpy())).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert ck["model"]._metadata == model.state_dict()._metadata        # the state dict's version records
    mine_opt = tt.optim.AdamW(mine.parameters(), lr=1.0)
    mine_opt.load_state_dict(ck["optimizer"])
    assert mine_opt.param_groups[0]["lr"] == 3e-4 and ck["epoch"] == 7
    state = ck["optimizer"]["state"][0]
    np.testing.assert_array_equal(state["exp_avg"].numpy(), opt.state_dict()["state"][0]["exp_avg"].numpy())


def test_values_dtypes_views_and_parameters(tmp_path):
    base = torch.arange(20.0).reshape(4, 5)
    obj = {"view": base.t()[1:], "base": base, "bf16": torch.arange(5, dtype=torch.bfloat16) / 3,
           "half": torch.ones(2, dtype=torch.float16), "int": torch.tensor([1, -2], dtype=torch.int32),
           "bool": torch.tensor([True, False]), "u8": torch.tensor([255], dtype=torch.uint8),
           "f64": torch.tensor(1.5, dtype=torch.float64), "empty": torch.empty(0, 3),
           "param": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
           "grad_leaf": torch.ones(2, requires_grad=True),
           "meta": (torch.Size([2, 3]), torch.device("cpu"), torch.float64, b"bytes", {1, 2}, [1.5, "s", None])}
    ck = tt.load(save(tmp_path, obj))
    for name in ("view", "base", "bf16", "half", "int", "bool", "u8", "f64", "empty"):
        ours, theirs = ck[name], obj[name]
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype).split(".")[-1] == \
            str(theirs.dtype).split(".")[-1], name
        np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
    ck["base"][2, 1] = -1.0                      # the view shares the base's storage, as it did in PyTorch
    assert ck["view"][0, 2].item() == -1.0
    assert isinstance(ck["param"], tt.nn.Parameter) and ck["param"].requires_grad
    assert isinstance(ck["frozen"], tt.nn.Parameter) and not ck["frozen"].requires_grad
    assert ck["grad_leaf"].requires_grad and not isinstance(ck["grad_leaf"], tt.nn.Parameter)
    size, dev, dtype, raw, numbers, rest = ck["meta"]
    assert size == tt.Size([2, 3]) and dev == tt.device("cpu") and dtype is tt.float64
    assert raw == b"bytes" and numbers == {1, 2} and rest == [1.5, "s", None]


@pytest.mark.parametrize("device", devices())
def test_map_location_and_file_objects(tmp_path, device):
    path = save(tmp_path, {"w": torch.ones(2, 3), "p": torch.nn.Parameter(torch.zeros(2))})
    with open(path, "rb") as f:
        ck = tt.load(f, map_location=device)
    assert ck["w"].device == as_device(device) and ck["p"].device == as_device(device)
    assert isinstance(ck["p"], tt.nn.Parameter)
    seen = []
    tt.load(io.BytesIO(open(path, "rb").read()), map_location=lambda t, loc: seen.append(loc))
    assert seen == ["cpu", "cpu"]


def test_anything_outside_the_weights_only_rules_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))
    path = save(tmp_path, {"ok": torch.ones(1), "evil": Evil()}, "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="posix.mkdir|nt.mkdir"):
        tt.load(path)
    assert not marker.exists()
    path = save(tmp_path, {"arr": np.ones(2)}, "numpy.pt")     # PyTorch's weights_only refuses it too
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        tt.load(path)


def test_damaged_checkpoints_fail_cleanly(tmp_path):
    path = save(tmp_path, {"w": torch.arange(6.0)})
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    storage = next(n for n in entries if n.endswith("/data/0"))

    def rewrite(name, **changes):
        out = str(tmp_path / name)
        with zipfile.ZipFile(out, "w") as z:
            for n, data in entries.items():
                if n in changes.get("drop", ()):
                    continue
                z.writestr(n, changes.get("replace", {}).get(n, data))
        return out
    with pytest.raises(pickle.UnpicklingError, match="missing"):
        tt.load(rewrite("no_storage.pt", drop=[storage]))
    with pytest.raises(pickle.UnpicklingError, match="reaches past its storage"):
        tt.load(rewrite("short_storage.pt", replace={storage: entries[storage][:8]}))
    with pytest.raises(pickle.UnpicklingError, match="not a PyTorch checkpoint"):
        tt.load(rewrite("no_pickle.pt", drop=[n for n in entries if n.endswith("data.pkl")]))


def test_legacy_format_is_named(tmp_path):
    path = str(tmp_path / "legacy.pt")
    torch.save({"a": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(tt.serialization.CheckpointError, match="legacy checkpoint format"):
        tt.load(path)


_NET = """
import numpy as np
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.ps = nn.PixelShuffle(2)
        self.bn = nn.BatchNorm2d(1)
        self.lstm = nn.LSTM(8, 3, batch_first=True)

    def forward(self, x):
        y = self.bn(self.ps(self.conv(x)))
        return self.lstm(y.reshape(2, 8, 8))[0]
"""

_SAVE = _NET + """
torch.manual_seed(0)
m = Net()
m(torch.randn(2, 1, 4, 4))            # moves the batch-norm statistics
torch.save(m, "whole.pt")
np.save("want.npy", m.eval()(torch.ones(2, 1, 4, 4)).detach().numpy())
"""

_LOAD = _NET + """
import sys
try:
    torch.load("whole.pt")
except Exception as e:
    print(type(e).__name__, "safe_globals" in str(e))
if sys.argv[1] == "trusted":
    m = torch.load("whole.pt", weights_only=False)
else:
    with torch.serialization.safe_globals([Net, nn.Conv2d, nn.PixelShuffle, nn.BatchNorm2d, nn.LSTM]):
        m = torch.load("whole.pt")
assert type(m) is Net and isinstance(m.conv, torch.nn.Conv2d) and m.training
got = m.eval()(torch.ones(2, 1, 4, 4)).detach().numpy()
np.testing.assert_allclose(got, np.load("want.npy"), rtol=1e-5, atol=1e-6)
print("same", int(m.bn.num_batches_tracked))
"""


@pytest.mark.parametrize("how", ["trusted", "safe_globals"])
def test_a_whole_pickled_module_loads_as_tritorchs(tmp_path, how):
    # torch.save(model) pickles the module objects: its classes are read as tritorch's (torch.nn.modules.conv ->
    # tritorch.nn.modules.conv), allowed by safe_globals or weights_only=False as in PyTorch; the script's own
    # class is its __main__'s (a tritorch Module under `python -m tritorch`)
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    (tmp_path / "save.py").write_text(_SAVE)
    (tmp_path / "load.py").write_text(_LOAD)
    subprocess.run([sys.executable, "save.py"], cwd=tmp_path, env=env, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "tritorch", "load.py", how], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["UnpicklingError True", "same 1"]


def test_pytorch_file_reader_reads_the_records(tmp_path):
    path = save(tmp_path, {"w": torch.arange(6, dtype=torch.float32)})
    for r in (tt.PyTorchFileReader(path), tt.PyTorchFileReader(open(path, "rb")), torch.PyTorchFileReader(path)):
        assert r.has_record("data.pkl") and not r.has_record("nope")
        assert {"data.pkl", "data/0", "byteorder"} <= set(r.get_all_records())
        assert isinstance(r.get_record("data.pkl"), bytes)
        assert np.frombuffer(r.get_record("data/0"), np.float32).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(RuntimeError, match="failed locating file nope"):
        tt.PyTorchFileReader(path).get_record("nope")
    tt.save({"w": tt.ones(2)}, str(tmp_path / "ours.pt"))   # (tritorch's own format is not a zip)
    for lib in (tt, torch):
        with pytest.raises(RuntimeError, match="failed reading zip archive: failed finding central directory"):
            lib.PyTorchFileReader(str(tmp_path / "ours.pt"))
