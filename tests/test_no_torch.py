"""tritorch never imports torch (PyTorch may be installed as a test oracle; tritorch must not depend on it)."""
import os
import subprocess
import sys
import textwrap


def test_tritorch_runs_without_importing_torch():
    code = textwrap.dedent("""
        import sys
        import tritorch as tt
        for device in ("cpu", "cuda"):
            x = tt.arange(6, dtype=tt.float32, device=device).reshape(2, 3)
            y = (x + 1) * 2
            assert y.tolist() == [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]], y.tolist()
            assert tt.zeros(2, device=device).to(tt.int64).tolist() == [0, 0]
            tt.manual_seed(0)
            r = tt.rand(4, device=device)
            assert r.shape == (4,) and r.device is tt.device(device if device == "cpu" else "cuda:0")
            repr(y)
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        assert not loaded, f"tritorch imported {loaded}"
        print("ok")
    """)
    env = dict(os.environ)
    env.setdefault("TRITON_INTERPRET", "1")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr


def test_triton_specialiser_is_kept_from_importing_torch(tmp_path):
    # Triton 3.6's specialiser imports torch on its first call (seen on the H100); tritorch makes that first
    # call with the import refused. A stand-in torch package shows whether anything imported it, and that the
    # program's own `import torch` still works afterwards.
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("IMPORTED = True\n")
    code = textwrap.dedent("""
        import sys
        from tritorch.backends import cuda as c
        finders = list(sys.meta_path)
        c._keep_triton_specialiser_from_importing_torch()
        assert sys.meta_path == finders, "the refusing finder was left installed"
        from triton.backends.compiler import BaseBackend
        from triton.runtime.jit import native_specialize_impl
        assert native_specialize_impl(BaseBackend, c._FloatPointer(), False, True, True)[0] == "*fp32"
        assert "torch" not in sys.modules, "the specialiser imported torch"
        import torch
        assert torch.IMPORTED
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.getcwd()]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr
