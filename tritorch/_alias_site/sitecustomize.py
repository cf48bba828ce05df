"""Python imports this at the start of every interpreter that `python -m tritorch` starts, directly or not (its
folder leads PYTHONPATH there, and TRITORCH_ALIAS_TORCH=1): a launcher's `python script.py` child (Lightning's DDP,
a job runner's workers) then imports tritorch under the torch name, as its parent does. Any other sitecustomize on
the path still runs, after the alias."""
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _alias() -> None:
    if os.environ.get("TRITORCH_ALIAS_TORCH") != "1":
        return
    try:
        import tritorch
    except ImportError:    # (another interpreter on the same environment, without tritorch: nothing to alias)
        return
    tritorch.alias_torch()


def _chain() -> None:
    """Run the sitecustomize this one shadows, if there is one further along the path."""
    rest = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_alias()
_chain()
