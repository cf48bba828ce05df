"""tritorch/_collector.py: the objects import made are frozen out of the cyclic collector's walks."""
import os
import subprocess
import sys
import textwrap


def _run(code: str, **env_extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    env.setdefault("TRITON_INTERPRET", "1")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_import_freezes_what_it_made_after_collecting_older_garbage():
    proc = _run("""
        import gc, weakref

        class Node:
            pass

        # a reference cycle that is garbage before the import: collected, not frozen forever
        a, b = Node(), Node()
        a.other, b.other = b, a
        dead = weakref.ref(a)
        del a, b
        import tritorch
        frozen = gc.get_freeze_count()
        assert frozen > 10000, frozen
        assert dead() is None
        # what the program makes afterwards is collected as usual
        c, d = Node(), Node()
        c.other, d.other = d, c
        later = weakref.ref(c)
        del c, d
        gc.collect()
        assert later() is None
        # the graph of a backward is not frozen either
        x = tritorch.randn(3, requires_grad=True)
        (x * 2).sum().backward()
        assert gc.get_freeze_count() == frozen
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
    # unfrozen at exit: the interpreter's last collection tears the objects down (nanobind reports leaks if not)
    assert "leaked" not in proc.stderr, proc.stderr


def test_switched_off_by_environment_or_by_a_disabled_collector():
    off = _run("import gc, tritorch; print(gc.get_freeze_count())", TRITORCH_GC_FREEZE="0")
    assert off.returncode == 0 and off.stdout.strip() == "0", off.stdout + off.stderr
    disabled = _run("import gc; gc.disable(); import tritorch; print(gc.get_freeze_count(), gc.isenabled())")
    assert disabled.returncode == 0 and disabled.stdout.strip() == "0 False", disabled.stdout + disabled.stderr
