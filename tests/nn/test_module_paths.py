"""torch.nn.modules' submodules exist under PyTorch's names with the same classes: scripts import layers by those
paths (pytorch/examples' super_resolution loads torch.nn.modules.pixelshuffle.PixelShuffle) and test
`isinstance(m, nn.modules.batchnorm._BatchNorm)`."""
import collections
import importlib
import pkgutil

import pytest

import tritorch as tt
from tritorch.nn.modules import utils as U

# torch's submodules with nothing a script imports: internal autograd Functions, and linear_cross_entropy's
# (tritorch's fused linear + cross entropy lives in nn/_linear_cross_entropy.py)
_INTERNAL = {"_functions", "linear_cross_entropy", "linear_cross_entropy_options"}


def test_submodules_and_their_classes_match_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.modules as tm
    for info in pkgutil.iter_modules(tm.__path__):
        if info.name in _INTERNAL:
            continue
        theirs = importlib.import_module(f"torch.nn.modules.{info.name}")
        ours = importlib.import_module(f"tritorch.nn.modules.{info.name}")
        for name in getattr(theirs, "__all__", []):
            if name in ("Module",) or not isinstance(getattr(theirs, name), type):
                continue
            cls = getattr(ours, name)
            assert cls.__name__ == name and cls is getattr(tt.nn, name, cls), f"{info.name}.{name}"
    assert torch is not None


def test_paths_and_helpers():
    from tritorch.nn.modules import batchnorm, instancenorm, pixelshuffle
    assert pixelshuffle.PixelShuffle is tt.nn.PixelShuffle
    assert isinstance(tt.nn.SyncBatchNorm(3), batchnorm._BatchNorm)
    assert isinstance(tt.nn.LazyInstanceNorm2d(), instancenorm._InstanceNorm)
    assert U._pair(3) == (3, 3) and U._quadruple((1, 2, 3, 4)) == (1, 2, 3, 4)
    assert U._reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    assert U._list_with_default([None, 3], [1, 2, 5, 6]) == [5, 3] and U._list_with_default(4, [1]) == 4
    with pytest.raises(ValueError, match="at least 3"):
        U._list_with_default([None, 3], [5, 6])
    sd = collections.OrderedDict([("module.a", 1), ("module.b.c", 2), ("x", 3)])
    sd._metadata = {"": {}, "module": {"v": 1}, "module.b": {}}
    U.consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd) == ["x", "a", "b.c"] and sd._metadata == {"": {"v": 1}, "b": {}}
    model = tt.nn.Linear(2, 2)
    wrapped = {f"_orig_mod.{k}": v for k, v in model.state_dict().items()}
    U.consume_prefix_in_state_dict_if_present(wrapped, "_orig_mod.")
    tt.nn.Linear(2, 2).load_state_dict(wrapped)
