"""tritorch.version / torch_version / return_types and the math constants, against torch where installed."""
import math

import pytest

import tritorch as tt
from tritorch.torch_version import TorchVersion

_VERSIONS = ["2.0", "2.0.0", "2", "2.0a1", "2.0b2", "2.0rc1", "2.0.dev1", "2.0.post1", "2.0+cpu", "2.0.0+cu121",
             "1.13.1", "2.1.0a0+git123", "10.0", "0.1.0", "v2.0"]
# (not __ne__: torch's TorchVersion leaves != to str, so "2.0" != "2.0.0" there; here it is `not ==`)
_OPS = ["__lt__", "__le__", "__eq__", "__gt__", "__ge__"]


def test_version_compares_as_a_number():
    v = TorchVersion("0.1.0")
    assert isinstance(v, str)
    assert v == "0.1.0" and v == "0.1" and v == (0, 1, 0) and v != "0.1.1" and not v != "0.1"
    assert v >= (0, 1) and v < "0.10" and v < (2, 0) and "0.1.0" in {v}
    assert TorchVersion("2.10.0") > "2.9.1"        # numerically, not as text
    assert TorchVersion("2.0.dev1") < "2.0a1" < TorchVersion("2.0rc1") < "2.0"
    assert TorchVersion("2.0") < "2.0+cpu" < TorchVersion("2.0.post1")
    with pytest.raises(TypeError):
        v > 2
    with pytest.raises(ValueError, match="Invalid version"):
        v < "two"
    assert (v == 2) is False


def test_version_order_matches_torch():
    torch_version = pytest.importorskip("torch.torch_version")
    for a in _VERSIONS:
        for b in _VERSIONS:
            for op in _OPS:
                assert getattr(TorchVersion(a), op)(b) == getattr(torch_version.TorchVersion(a), op)(b), (a, op, b)


def test_version_is_the_followed_torch_release_with_tritorch_as_local_label():
    # libraries gate on torch.__version__ (x-transformers' flash attention: >= 2.0; einops); tritorch's own
    # release is the local label, as a PyTorch build's "+cpu"
    from importlib import metadata
    v = tt.__version__
    assert isinstance(v, TorchVersion)
    assert v == f"{tt.version.TORCH_API}+tritorch.{tt.version.TRITORCH}"
    assert v >= "2.0" and v >= (2, 13) and v > "2.13.0" and v < "2.14" and v[0] >= "2"
    assert metadata.version("tritorch") == tt.version.TRITORCH
    packaging = pytest.importorskip("packaging.version")
    assert packaging.parse(v).release == (2, 13, 0) and packaging.parse(v).local == f"tritorch.{tt.version.TRITORCH}"
    torch = pytest.importorskip("torch")
    assert v.split("+")[0] == torch.__version__.split("+")[0]   # the release the tests compare with


def test_version_module():
    assert tt.version.__version__ == tt.__version__
    assert tt.version.debug is False and tt.version.hip is None and tt.version.xpu is None
    assert tt.version.cuda is None or tt.version.cuda.count(".") == 1
    assert isinstance(tt.version.git_version, str)
    with pytest.raises(AttributeError):
        tt.version.nothing


def test_constants():
    assert tt.pi == math.pi and tt.e == math.e and tt.inf == math.inf and math.isnan(tt.nan)
    assert tt.tensor([1.0, 2.0])[:, tt.newaxis].shape == (2, 1)


def test_return_types_are_the_ops_results():
    rt = tt.return_types
    x = tt.randn(3, 4)
    square = tt.randn(3, 3)
    cases = [(x.max(1), rt.max), (x.min(1), rt.min), (x.median(1), rt.median), (x.sort(1), rt.sort),
             (x.topk(2), rt.topk), (x.kthvalue(1, 1), rt.kthvalue), (x.mode(1), rt.mode), (x.aminmax(), rt.aminmax),
             (x.cummax(1), rt.cummax), (x.cummin(1), rt.cummin), (x.nanmedian(1), rt.nanmedian),
             (tt.frexp(x), rt.frexp), (tt.histogram(x.flatten()), rt.histogram), (tt.linalg.qr(x), rt.linalg_qr),
             (tt.linalg.svd(x), rt.linalg_svd), (tt.svd(x), rt.svd), (tt.linalg.slogdet(square), rt.slogdet),
             (tt.linalg.eigh(tt.eye(2)), rt.linalg_eigh), (tt.linalg.lu_factor(square), rt.linalg_lu_factor),
             (tt.lu_unpack(*tt.linalg.lu_factor(square)), rt.lu_unpack)]
    for result, cls in cases:
        assert isinstance(result, cls), cls.__name__
    assert set(rt.all_return_types) <= {getattr(rt, n) for n in rt.__all__ if n != "all_return_types"}


def test_return_type_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    for name in tt.return_types.__all__:
        assert hasattr(torch.return_types, name), name
