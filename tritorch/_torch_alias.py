"""Run an unchanged PyTorch script on tritorch: `import torch` (and `import torch.nn as nn`, `from torch.utils.data
import DataLoader`, ...) then give tritorch's modules.

`import tritorch as torch` renames one name in one module; a script's other imports (`import torch.nn as nn`,
`from torch import optim`) still go to Python's `torch` package: PyTorch where it is installed, an ImportError
where it is not. Two ways to redirect them all:

    python -m tritorch train.py --epochs 3      # runs train.py as __main__ with torch = tritorch

    import tritorch
    tritorch.alias_torch()                      # from here on, `import torch...` gives tritorch's modules
    import torch.nn as nn                       # tritorch.nn

The alias registers every tritorch module already imported under its torch name in sys.modules, and a finder
maps the rest (`torch.x.y` -> `tritorch.x.y`) when first imported; a torch module tritorch does not have is a
ModuleNotFoundError naming it. The modules keep their own names (`tritorch.nn`), so pickles and reprs are
tritorch's. It refuses to run once PyTorch itself has been imported: the two cannot share the name.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import os
import sys

_OURS = "tritorch"
_THEIRS = "torch"


def _ours_for(name: str) -> str:
    return _OURS + name[len(_THEIRS):]


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`torch` and `torch.*` -> the tritorch module of the same path (imported on first use)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _THEIRS and not fullname.startswith(_THEIRS + "."):
            return None
        try:
            module = importlib.import_module(_ours_for(fullname))
        except ModuleNotFoundError as e:
            if e.name is not None and _ours_for(fullname).startswith(e.name):
                raise ModuleNotFoundError(f"No module named '{fullname}' (tritorch has no {_ours_for(fullname)}; "
                                          "it runs under the torch alias)", name=fullname) from None
            raise
        return importlib.machinery.ModuleSpec(fullname, self, loader_state=module)

    def create_module(self, spec):
        module = spec.loader_state
        spec.loader_state = (module, getattr(module, "__spec__", None))
        return module

    def exec_module(self, module):
        # the import system set __spec__ to the torch-named spec: give the module its own back
        _, own_spec = module.__spec__.loader_state
        if own_spec is not None:
            module.__spec__ = own_spec

    def find_distributions(self, context=importlib.metadata.DistributionFinder.Context()):
        """importlib.metadata's "torch" distribution where PyTorch is not installed: tritorch's, at its version.
        Libraries read torch's version from the metadata rather than torch.__version__ (accelerate does at import:
        importlib.metadata.version("torch")), and would fail without PyTorch. An installed PyTorch's own metadata
        is left to answer."""
        name = context.name
        if name is None or name.lower().replace("-", "_") != _THEIRS:
            return iter(())
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_distributions"):
                if next(iter(finder.find_distributions(context)), None) is not None:
                    return iter(())
        return iter((_TritorchAsTorch(),))


class _TritorchAsTorch(importlib.metadata.Distribution):
    """The metadata of a "torch" distribution that is tritorch (see _Finder.find_distributions)."""

    def read_text(self, filename):
        if filename == "METADATA":
            from .version import __version__
            return (f"Metadata-Version: 2.1\nName: {_THEIRS}\nVersion: {__version__}\nSummary: tritorch under the "
                    f"torch alias\n")
        if filename == "top_level.txt":
            return _THEIRS + "\n"
        return None

    def locate_file(self, path):
        import pathlib
        return pathlib.Path(sys.modules[_OURS].__file__).parent / path


_FINDER = _Finder()


def alias_torch() -> None:
    """From now on `import torch` and `import torch.<x>` give tritorch and tritorch.<x> (see the module doc)."""
    current = sys.modules.get(_THEIRS)
    ours = sys.modules[_OURS]
    if current is not None and current is not ours:
        raise RuntimeError("tritorch.alias_torch(): PyTorch is already imported in this process; alias before "
                           "anything imports torch (or run the script with python -m tritorch)")
    for name, module in list(sys.modules.items()):
        if name == _OURS or name.startswith(_OURS + "."):
            sys.modules.setdefault(_THEIRS + name[len(_OURS):], module)
    from .dtypes import PUBLIC_NAME, dtype
    from .device import device
    from .tensor import Size, Tensor
    PUBLIC_NAME[0] = _THEIRS   # printed dtypes, sizes and type strings say torch.*, as the script expects
    for cls in (Tensor, Size, dtype, device):   # and type(x) is <class 'torch.Tensor'>
        cls.__module__ = _THEIRS
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _alias_in_spawned_children()


def _alias_in_spawned_children() -> None:
    """A process multiprocessing spawns (torch.multiprocessing.spawn, a DataLoader with the spawn context) is a fresh
    interpreter that imports the parent's __main__ - and its `import torch` - before anything else runs, so it
    would get PyTorch (or fail without it). Its command line installs the alias first."""
    from multiprocessing import spawn
    original = spawn.get_command_line
    if getattr(original, "_tritorch_alias", False):
        return

    def get_command_line(**kwds):
        cmd = list(original(**kwds))
        if "-c" in cmd:   # [python, *flags, "-c", program, "--multiprocessing-fork"] (not a frozen executable)
            i = cmd.index("-c") + 1
            cmd[i] = "import tritorch; tritorch.alias_torch(); " + cmd[i]
        return cmd

    get_command_line._tritorch_alias = True
    spawn.get_command_line = get_command_line


_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_alias_site")


def _alias_in_child_interpreters() -> None:
    """Interpreters the script starts as `python script.py` (a launcher's workers: Lightning's DDP, torchrun-style
    runners) get the alias too: TRITORCH_ALIAS_TORCH=1 and a PYTHONPATH led by _alias_site, whose sitecustomize
    aliases torch at their startup."""
    os.environ["TRITORCH_ALIAS_TORCH"] = "1"
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _SITE not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([_SITE, *paths])


def main(argv: list[str] | None = None) -> int:
    """python -m tritorch SCRIPT [ARGS...]: run SCRIPT as __main__ under the torch alias (as `python SCRIPT`); also
    `-m MODULE` and `-c CODE`, as Python's own options."""
    import os
    import runpy
    argv = list(sys.argv[1:] if argv is None else argv)
    _alias_in_child_interpreters()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m tritorch SCRIPT [ARGS...] | -m MODULE [ARGS...] | -c CODE [ARGS...]\n\nRuns a "
              "PyTorch script unchanged on tritorch: its "
              "`import torch...` statements import tritorch's modules.")
        return 0 if argv else 2
    if argv[0] == "-m":   # python -m tritorch -m package.module [ARGS...]
        if len(argv) < 2:
            print("python -m tritorch -m: a module name is needed", file=sys.stderr)
            return 2
        alias_torch()
        sys.argv = argv[1:]
        name = argv[1]
        if name == _THEIRS or name.startswith(_THEIRS + "."):   # -m torch.distributed.run: tritorch's own module
            name = _ours_for(name)
        runpy.run_module(name, run_name="__main__", alter_sys=True)
        return 0
    if argv[0] == "-c":   # python -m tritorch -c CODE [ARGS...]: as `python -c` (sys.argv[0] is "-c")
        if len(argv) < 2:
            print("python -m tritorch -c: a program is needed", file=sys.stderr)
            return 2
        alias_torch()
        sys.argv = ["-c", *argv[2:]]
        sys.path.insert(0, "")
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        return 0
    script = argv[0]
    alias_torch()
    sys.argv = argv
    path = os.path.abspath(script)   # as `python SCRIPT`: __file__ (and tracebacks) absolute (runpy makes argv[0]
    # the same path, where Python keeps it as given; its basename, argparse's prog, is the same)
    sys.path.insert(0, os.path.dirname(path))   # and the script's folder first on the path
    runpy.run_path(path, run_name="__main__")
    return 0
