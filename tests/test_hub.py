"""tritorch.hub offline: downloads from file:// URLs (hash checks, the cache), a PyTorch checkpoint by URL loading
into a tritorch model, hubconf.py entrypoints from a local folder, and the GitHub flow (trust, cache, unpacking)
with the repository archive served from a local file."""
import hashlib
import os
import zipfile

import numpy as np
import pytest

import tritorch as tt
from tritorch import hub


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    hub.set_dir(str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_get_dir_follows_torch_home(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub.get_dir() == str(tmp_path / "th" / "hub")
    hub.set_dir("~/elsewhere")
    assert hub.get_dir() == os.path.expanduser("~/elsewhere")


def test_download_url_to_file_checks_the_hash(tmp_path):
    src = tmp_path / "weights.bin"
    src.write_bytes(b"0123456789" * 1000)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dst = tmp_path / "copy.bin"
    hub.download_url_to_file(src.as_uri(), str(dst), hash_prefix=digest[:8], progress=False)
    assert dst.read_bytes() == src.read_bytes()
    bad = tmp_path / "bad.bin"
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.download_url_to_file(src.as_uri(), str(bad), hash_prefix="ffff0000", progress=False)
    assert not bad.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_load_state_dict_from_url_reads_a_pytorch_checkpoint(hub_dir, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    path = tmp_path / "linear.pt"
    torch.save(model.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    named = tmp_path / f"linear-{digest[:10]}.pt"
    path.rename(named)
    state = hub.load_state_dict_from_url(named.as_uri(), check_hash=True, progress=False)
    assert os.path.exists(hub_dir / "checkpoints" / named.name)          # cached: a second call reads the file
    named.unlink()
    again = hub.load_state_dict_from_url(named.as_uri(), check_hash=True, progress=False)
    ours = tt.nn.Linear(4, 3)
    ours.load_state_dict(again)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), model.weight.detach().numpy())
    assert set(state) == {"weight", "bias"}


HUBCONF = '''
"""A tiny hub repository."""
dependencies = ["numpy"]
import tritorch


def small_mlp(hidden=8):
    """An MLP of one hidden layer."""
    return tritorch.nn.Sequential(tritorch.nn.Linear(2, hidden), tritorch.nn.ReLU(), tritorch.nn.Linear(hidden, 1))


def _private():
    return None
'''


def test_local_hubconf_entrypoints(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(HUBCONF)
    assert hub.list(str(repo), source="local") == ["small_mlp"]
    assert hub.help(str(repo), "small_mlp", source="local") == "An MLP of one hidden layer."
    model = hub.load(str(repo), "small_mlp", source="local", hidden=5)
    assert tuple(model(tt.ones(3, 2)).shape) == (3, 1) and model[0].out_features == 5
    with pytest.raises(RuntimeError, match="Cannot find callable missing"):
        hub.load(str(repo), "missing", source="local")
    (repo / "hubconf.py").write_text(HUBCONF.replace('["numpy"]', '["no_such_package_here"]'))
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_package_here"):
        hub.load(str(repo), "small_mlp", source="local")
    with pytest.raises(ValueError, match="Unknown source"):
        hub.load(str(repo), "small_mlp", source="ftp")


def test_github_flow_from_a_served_archive(hub_dir, tmp_path, monkeypatch):
    archive = tmp_path / "main.zip"
    with zipfile.ZipFile(archive, "w") as z:          # GitHub's zipball: one top folder
        z.writestr("someone-tiny-abc123/hubconf.py", HUBCONF)
    requested = []

    def serve(url, dst, hash_prefix=None, progress=True):
        requested.append(url)
        with open(dst, "wb") as f:
            f.write(archive.read_bytes())
    monkeypatch.setattr(hub, "download_url_to_file", serve)
    with pytest.warns(UserWarning, match="untrusted repository"):
        assert hub.list("someone/tiny:main") == ["small_mlp"]
    assert requested == ["https://github.com/someone/tiny/zipball/main"]
    assert os.path.isfile(hub_dir / "someone_tiny_main" / "hubconf.py")
    model = hub.load("someone/tiny:main", "small_mlp", trust_repo=True, verbose=False)   # from the cache now
    assert len(requested) == 1 and isinstance(model, tt.nn.Sequential)
    assert "someone_tiny" in (hub_dir / "trusted_list").read_text().split()
    hub.load("someone/tiny:main", "small_mlp", trust_repo="check", force_reload=True, verbose=False)
    assert len(requested) == 2                                                           # force_reload fetched again
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(Exception, match="Untrusted repository"):
        hub.load("other/repo:main", "small_mlp", trust_repo=False)
