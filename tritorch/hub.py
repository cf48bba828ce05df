"""torch.hub: pretrained weights by URL (load_state_dict_from_url, download_url_to_file) and models from a
repository's hubconf.py (list, help, load), with PyTorch's cache layout: $TORCH_HOME/hub (default
~/.cache/torch/hub), checkpoints under checkpoints/, repositories under <owner>_<repo>_<ref>/.

Weights load with tt.load, which reads PyTorch's own checkpoints (under its weights_only rules), so a URL of
weights trained with PyTorch gives a state dict for tritorch's modules. A hubconf.py is Python that imports and
runs: only repositories the caller trusts are loaded (trust_repo, as in PyTorch), and one written for PyTorch
runs against tritorch only if it imports nothing of PyTorch's that tritorch lacks."""
from __future__ import annotations

import errno
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import zipfile
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["get_dir", "set_dir", "download_url_to_file", "load_state_dict_from_url", "list", "help", "load"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
VAR_DEPENDENCY = "dependencies"
MODULE_HUBCONF = "hubconf.py"
READ_DATA_CHUNK = 128 * 1024

_hub_dir = None


def _get_torch_home() -> str:
    """$TORCH_HOME, else $XDG_CACHE_HOME/torch (~/.cache/torch) (PyTorch's private name: torchvision imports it)."""
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(os.getenv(ENV_XDG_CACHE_HOME,
                                                                               DEFAULT_CACHE_DIR), "torch")))


def get_dir() -> str:
    """The hub's cache folder: set_dir's, else $TORCH_HOME/hub."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    return _hub_dir if _hub_dir is not None else os.path.join(_get_torch_home(), "hub")


def set_dir(d) -> None:
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download `url` to `dst` through a temporary file moved into place once complete (and, with hash_prefix,
    once its SHA-256 starts with it)."""
    from tqdm import tqdm
    dst = os.path.expanduser(dst)
    for _ in range(tempfile.TMP_MAX):
        partial = f"{dst}.{uuid.uuid4().hex}.partial"
        try:
            f = open(partial, "x+b")  # noqa: SIM115  (closed in finally)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as u:
            length = u.info().get("Content-Length")
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            with tqdm(total=int(length) if length else None, disable=not progress, unit="B", unit_scale=True,
                      unit_divisor=1024) as bar:
                while True:
                    chunk = u.read(READ_DATA_CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    if sha256 is not None:
                        sha256.update(chunk)
                    bar.update(len(chunk))
        f.close()
        if sha256 is not None:
            digest = sha256.hexdigest()
            if digest[:len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(partial, dst)
    finally:
        f.close()
        if os.path.exists(partial):
            os.remove(partial)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None, weights_only: bool = False):
    """The object saved at `url` (downloaded once into model_dir, default <hub dir>/checkpoints), loaded with
    tt.load; with check_hash, the file name's "-<sha256 prefix>." part must match the download."""
    from .serialization import load
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stdout.write(f'Downloading: "{url}" to {cached}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    return load(cached, map_location=map_location, weights_only=weights_only)


# ------------------------------------------------------------------------------------------ hubconf models

def _parse_repo(github: str) -> tuple:
    """(owner, name, ref) of "owner/name[:ref]"; without a ref, main when the repository has it, else master."""
    repo, _, ref = github.partition(":")
    if repo.count("/") != 1:
        raise ValueError(f"Invalid GitHub repository {github!r}: expected repo_owner/repo_name[:ref]")
    owner, name = repo.split("/")
    if not ref:
        ref = next((r for r in ("main", "master") if os.path.exists(os.path.join(get_dir(), f"{owner}_{name}_{r}"))),
                   None)
        if ref is None:
            try:
                with urlopen(f"https://github.com/{owner}/{name}/tree/main/"):
                    ref = "main"
            except OSError:
                ref = "master"
    return owner, name, ref


_TRUSTED_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")   # (PyTorch's)


def _trusted_list() -> str:
    return os.path.join(get_dir(), "trusted_list")


def _check_trust(owner: str, name: str, trust_repo) -> None:
    """PyTorch's rule: True trusts (and records) the repository; "check" asks unless it was trusted before;
    False asks every time; None (the old default) only warns when it is not recorded."""
    os.makedirs(get_dir(), exist_ok=True)
    path = _trusted_list()
    trusted = set(open(path).read().split()) if os.path.exists(path) else set()
    key = f"{owner}_{name}"
    if trust_repo is True or (trust_repo == "check" and key in trusted) or owner in _TRUSTED_OWNERS:
        if key not in trusted:
            with open(path, "a") as f:
                f.write(key + "\n")
        return
    if trust_repo is None:
        if key not in trusted:
            warnings.warn("You are about to download and run code from an untrusted repository. In a future "
                          "release, this won't be allowed. To add the repository to your trusted list, change the "
                          "command to {calling_fn}(..., trust_repo=False) and a command prompt will appear asking "
                          "for an explicit confirmation of trust, or load(..., trust_repo=True), which will assume "
                          "that the prompt is to be answered with 'yes'. You can also use load(..., "
                          "trust_repo='check') which will only prompt for confirmation if the repo is not already "
                          "trusted. This will eventually be the default behaviour", stacklevel=3)
        return
    answer = input(f"The repository {key} does not belong to the list of trusted repositories and as such cannot be "
                   f"downloaded. Do you trust this repository and wish to add it to the trusted list of "
                   f"repositories (y/N)?")
    if answer.lower() not in ("y", "yes"):
        raise Exception("Untrusted repository.")
    with open(path, "a") as f:
        f.write(key + "\n")


def _repo_dir(github: str, force_reload: bool, trust_repo, verbose: bool) -> str:
    """The repository's folder in the hub cache (downloaded and unpacked when missing or force_reload)."""
    owner, name, ref = _parse_repo(github)
    _check_trust(owner, name, trust_repo)
    target = os.path.join(get_dir(), f"{owner}_{name}_{ref.replace('/', '_')}")
    if os.path.exists(target) and not force_reload:
        if verbose:
            sys.stdout.write(f"Using cache found in {target}\n")
        return target
    archive = os.path.join(get_dir(), f"{ref.replace('/', '_')}.zip")
    url = f"https://github.com/{owner}/{name}/zipball/{ref}"
    if verbose:
        sys.stdout.write(f'Downloading: "{url}" to {archive}\n')
    download_url_to_file(url, archive, progress=False)
    try:
        with zipfile.ZipFile(archive) as z:
            top = z.infolist()[0].filename.split("/")[0]
            root = os.path.realpath(get_dir())
            for member in z.namelist():   # nothing may land outside the cache
                if not os.path.realpath(os.path.join(root, member)).startswith(root + os.sep):
                    raise ValueError(f"unsafe path in the repository archive: {member}")
            shutil.rmtree(os.path.join(get_dir(), top), ignore_errors=True)
            z.extractall(get_dir())
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(os.path.join(get_dir(), top), target)
    finally:
        os.remove(archive)
    return target


def _hubconf(repo_dir: str):
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, f"Cannot find {MODULE_HUBCONF} in {repo_dir}", path)
    sys.path.insert(0, repo_dir)
    try:
        spec = importlib.util.spec_from_file_location("hubconf", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
    missing = [d for d in getattr(module, VAR_DEPENDENCY, []) if importlib.util.find_spec(d) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _entry(module, model: str):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def _resolve(repo_or_dir: str, source: str, force_reload: bool, trust_repo, verbose: bool) -> str:
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    return repo_or_dir if source == "local" else _repo_dir(repo_or_dir, force_reload, trust_repo, verbose)


def list(github, force_reload: bool = False, skip_validation: bool = False, trust_repo=None, verbose: bool = True,
         *, source: str = "github"):
    """The entrypoints of a repository's hubconf.py (its public callables)."""
    module = _hubconf(_resolve(github, source, force_reload, trust_repo, verbose))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github, model, force_reload: bool = False, skip_validation: bool = False, trust_repo=None,
         *, source: str = "github"):
    """An entrypoint's docstring."""
    return _entry(_hubconf(_resolve(github, source, force_reload, trust_repo, True)), model).__doc__


def load(repo_or_dir, model, *args, source: str = "github", trust_repo=None, force_reload: bool = False,
         verbose: bool = True, skip_validation: bool = False, **kwargs):
    """entrypoint(*args, **kwargs) of a repository's hubconf.py ("owner/repo[:ref]" on GitHub, or a folder with
    source="local")."""
    return _entry(_hubconf(_resolve(repo_or_dir, source, force_reload, trust_repo, verbose)), model)(*args, **kwargs)

