"""python -m tritorch SCRIPT / tritorch.alias_torch() (tritorch/_torch_alias.py): an unchanged PyTorch script's
`import torch...` statements import tritorch's modules. Each case runs in a fresh interpreter, since the alias
changes sys.modules for the whole process."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset
from torch.nn.utils.rnn import pad_sequence
import torch.optim.lr_scheduler as sched

assert torch.__name__ == "tritorch" and nn.__name__ == "tritorch.nn" and F is torch.nn.functional
assert torch.__spec__.name == "tritorch" and sched.__spec__.name == "tritorch.optim.lr_scheduler"
assert sys.modules["torch.optim"] is optim and nn.Linear.__module__.startswith("tritorch.")
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = optim.SGD(model.parameters(), lr=0.1)
data = DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
for x, y in data:
    opt.zero_grad()
    F.mse_loss(model(x), y).backward()
    opt.step()
print(pad_sequence([torch.ones(2), torch.ones(3)]).shape[0], sys.argv[1:], __name__)
# printed names are torch's, so a script's string checks hold as under PyTorch
h = torch.ones(2, 3, dtype=torch.float16)
assert str(h.dtype) == "torch.float16" and repr(h.shape) == "torch.Size([2, 3])" and h.type() == "torch.HalfTensor"
assert repr(h).endswith("dtype=torch.float16)") and str(torch.sort(torch.ones(1))).startswith("torch.return_types.sort(")
assert str(type(h)) == "<class 'torch.Tensor'>" and str(type(h.dtype)) == "<class 'torch.dtype'>"
assert str(torch.Size) == "<class 'torch.Size'>" and str(type(h.device)) == "<class 'torch.device'>"
import torch.onnx  # noqa: F401  (importable: scripts import it to export only when asked)
assert not torch.onnx.is_in_onnx_export()
try:
    import torch.export  # noqa: F401  (tritorch has none)
except ModuleNotFoundError as e:
    print("missing", e.name)
"""


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_python_m_tritorch_runs_an_unchanged_torch_script(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    r = _run(["-m", "tritorch", "train.py", "--epochs", "2"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["3 ['--epochs', '2'] __main__", "missing torch.export"]


def test_script_paths_as_python_gives_them(tmp_path):
    # as `python sub/run.py`: __file__ (and so tracebacks) absolute, the script's folder first on the path
    # (sys.argv[0] is absolute too, where Python keeps it as given: runpy sets it to the path it runs)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "run.py").write_text("import sys\nprint(__file__, sys.argv[0], sys.path[0])\nraise SystemExit(1 / 0)\n")
    r = _run(["-m", "tritorch", "sub/run.py"], tmp_path)
    path = str(tmp_path / "sub" / "run.py")
    assert r.stdout.split() == [path, path, str(tmp_path / "sub")]
    assert f'File "{path}", line 3' in r.stderr and "ZeroDivisionError" in r.stderr


def test_alias_in_process_and_refusal_after_pytorch(tmp_path):
    code = textwrap.dedent("""
        import tritorch
        tritorch.alias_torch()
        import torch.nn
        print(torch is tritorch, torch.nn is tritorch.nn)
    """)
    r = _run(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]
    try:
        import torch  # noqa: F401
    except ImportError:
        return   # (the refusal needs PyTorch installed)
    code = "import torch, tritorch\ntry:\n    tritorch.alias_torch()\nexcept RuntimeError as e:\n    print(e)"
    r = _run(["-c", code], tmp_path)
    assert "PyTorch is already imported" in r.stdout, r.stderr


def test_usage_without_a_script(tmp_path):
    r = _run(["-m", "tritorch"], tmp_path)
    assert r.returncode == 2 and "usage: python -m tritorch SCRIPT" in r.stdout


def test_spawned_children_import_tritorch_too(tmp_path):
    """torch.multiprocessing.spawn starts fresh interpreters that import the script (and its `import torch`)
    before running anything: under the alias they must get tritorch, not PyTorch."""
    (tmp_path / "who.py").write_text(textwrap.dedent("""
        import torch
        import torch.multiprocessing as mp

        def child(rank, q):
            q.put((rank, torch.__name__))

        if __name__ == "__main__":
            q = mp.get_context("spawn").SimpleQueue()
            mp.spawn(child, args=(q,), nprocs=2, join=True)
            print(sorted([q.get(), q.get()]))
    """))
    r = _run(["-m", "tritorch", "who.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[(0, 'tritorch'), (1, 'tritorch')]"


def test_child_interpreters_started_as_python_script_import_tritorch_too(tmp_path):
    """A launcher that starts `python script.py` workers (Lightning's DDP strategy) runs fresh interpreters: under
    python -m tritorch they get the alias at startup, and a sitecustomize of their own still runs."""
    (tmp_path / "child.py").write_text("import torch, sitecustomize\nprint(torch.__name__, sitecustomize.MINE)\n")
    (tmp_path / "parent.py").write_text(textwrap.dedent("""
        import subprocess, sys
        import torch
        r = subprocess.run([sys.executable, "child.py"], capture_output=True, text=True)
        print(torch.__name__, r.stdout.strip(), r.stderr[-300:])
    """))
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("MINE = 'own-site'\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, str(own)]))
    r = subprocess.run([sys.executable, "-m", "tritorch", "parent.py"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "tritorch tritorch own-site"


def test_python_m_tritorch_dash_c(tmp_path):
    r = _run(["-m", "tritorch", "-c", "import sys, torch; print(torch.__name__, str(torch.ones(1).dtype), sys.argv)",
              "x"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "tritorch torch.float32 ['-c', 'x']"
    assert _run(["-m", "tritorch", "-c"], tmp_path).returncode == 2


def test_torch_distribution_metadata_without_pytorch(tmp_path):
    # accelerate reads importlib.metadata.version("torch") at import: where PyTorch is not installed the alias
    # answers with tritorch's version (here PyTorch's own metadata is hidden from the path finder to check that)
    code = textwrap.dedent("""
        import importlib.machinery as mach, importlib.metadata as md
        original = mach.PathFinder.find_distributions
        def hide_torch(context=None, *args, **kwargs):
            context = context or md.DistributionFinder.Context()
            return (d for d in original(context, *args, **kwargs) if (d.metadata["Name"] or "").lower() != "torch")
        mach.PathFinder.find_distributions = staticmethod(hide_torch)
        try:
            md.version("torch")
            raise SystemExit("torch metadata still visible")
        except md.PackageNotFoundError:
            pass
        import tritorch
        tritorch.alias_torch()
        d = md.distribution("torch")
        assert md.version("torch") == str(tritorch.__version__) == d.metadata["Version"], md.version("torch")
        assert d.metadata["Name"] == "torch" and md.version("numpy")
        print("ok")
    """)
    r = _run(["-c", code], tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
    try:
        import importlib.metadata as md
        real = md.version("torch")
    except Exception:   # noqa: BLE001 - PyTorch not installed: nothing more to compare
        return
    code = "import tritorch, importlib.metadata as md; tritorch.alias_torch(); print(md.version('torch'))"
    r = _run(["-c", code], tmp_path)
    assert r.stdout.strip() == real, r.stderr   # an installed PyTorch's own metadata still answers
