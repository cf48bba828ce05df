"""The deprecated nn.init aliases without the trailing underscore: PyTorch's FutureWarning (message and the caller
as its location), and the same values as the in-place initialiser for the same generator state."""
import warnings

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

CASES = [("uniform", (-0.5, 0.5)), ("normal", (0.0, 2.0)), ("constant", (0.3,)), ("eye", ()), ("dirac", ()),
         ("xavier_uniform", ()), ("xavier_normal", (0.5,)), ("kaiming_uniform", ()), ("kaiming_normal", ()),
         ("orthogonal", ()), ("sparse", (0.5,))]


def _shape(name):
    return {"eye": (3, 4), "dirac": (2, 2, 3, 3), "sparse": (6, 4)}.get(name, (4, 3, 2))


@pytest.mark.parametrize("name,args", CASES)
def test_alias_warns_and_matches(name, args):
    with pytest.warns(FutureWarning) as theirs:
        getattr(torch.nn.init, name)(torch.empty(_shape(name)), *args)
    tt.manual_seed(4)
    with pytest.warns(FutureWarning) as ours:
        w = getattr(tt.nn.init, name)(tt.empty(_shape(name)), *args)
    assert str(ours[0].message) == str(theirs[0].message) == \
        f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
    assert ours[0].filename == __file__           # stacklevel=2: the warning points at the caller
    tt.manual_seed(4)
    expected = getattr(tt.nn.init, name + "_")(tt.empty(_shape(name)), *args)
    np.testing.assert_array_equal(w.numpy(), expected.numpy())
    assert getattr(tt.nn.init, name).__name__ == name


def test_underscore_versions_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tt.nn.init.uniform_(tt.empty(3))
