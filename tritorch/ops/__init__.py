"""The op families. Importing this package registers every op and binds the Tensor methods and operators."""
import warnings

# PyTorch's CPU kernels do not warn on overflow, log(0) or 0/0; NumPy does. Ignore NumPy's floating-point
# RuntimeWarnings raised inside the op families once here, instead of an np.errstate block on every call.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tritorch\.ops\.")

from . import registry  # noqa: F401,E402
from . import pointwise  # noqa: F401
from . import copy  # noqa: F401
from . import creation  # noqa: F401
from . import movement  # noqa: F401
from . import unary  # noqa: F401
from . import gamma  # noqa: F401
from . import erfc  # noqa: F401
from . import bessel  # noqa: F401
from . import igamma  # noqa: F401
from . import gcd  # noqa: F401
from . import float_bits  # noqa: F401
from . import zeta  # noqa: F401
from . import bessel_jy  # noqa: F401
from . import bessel_k  # noqa: F401
from . import polynomials  # noqa: F401
from . import airy  # noqa: F401
from . import binary  # noqa: F401
from . import ternary  # noqa: F401
from . import reduce  # noqa: F401
from . import matmul  # noqa: F401
from . import indexing  # noqa: F401
from . import sort  # noqa: F401
from . import searchsorted  # noqa: F401  (the op behind torch.searchsorted / bucketize / isin)
from . import cumulative  # noqa: F401  (cummax / cummin / logcumsumexp)
from . import random  # noqa: F401
from . import nn_softmax  # noqa: F401
from . import nn_loss  # noqa: F401
from . import nn_dropout  # noqa: F401
from . import nn_norm  # noqa: F401
from . import nn_conv  # noqa: F401
from . import nn_pool  # noqa: F401
from . import nn_attention  # noqa: F401
from . import nn_embedding  # noqa: F401
from . import nn_fused  # noqa: F401
from . import nn_rnn_cell  # noqa: F401  (the LSTM and GRU steps' elementwise half, fused)
from . import nn_rnn_layer  # noqa: F401  (a whole LSTM layer direction in one op)
from . import nn_gru_layer  # noqa: F401  (a whole GRU layer direction in one op)
from . import sparse_mm  # noqa: F401  (coo_mm: a COO sparse matrix times a dense one)
from . import grouped_mm  # noqa: F401
from . import nn_activation  # noqa: F401
from . import nn_activation_grad  # noqa: F401  (the activations' fused backward ops)
from . import linalg, compare  # noqa: F401
from . import addr  # noqa: F401
from . import index_reduce  # noqa: F401
from . import histogramdd  # noqa: F401
from . import linalg_factor, linalg_spectral  # noqa: F401
from . import linalg_householder, linalg_qr, linalg_ldl, linalg_legacy  # noqa: F401
from . import complex  # noqa: F401,A004  (complex forms of the ops above; the views between complex and real)
from . import complex_layout  # noqa: F401  (complex forms of flip, roll, repeat, index_select, index_add)
from . import complex_math  # noqa: F401  (complex forms of sin, cos, tan, sinh, cosh, tanh, sigmoid, ..., isnan)
from . import complex_split  # noqa: F401  (complex forms composed of real ops: gather, scatter, pad, norm, ...)
from . import fft  # noqa: F401  (fft_c2c / fft_r2c / fft_c2r: tritorch.fft's transforms)
from . import stft  # noqa: F401  (stft / istft, composed)
from . import methods  # noqa: F401  (operators and methods that span families)
from . import tensor_extras, inplace_forms  # noqa: F401,E402  (thin forms of the above: predicates, in-place forms)

# On a GPU, every family's kernels skip Triton's per-call argument handling once a launch key has been seen.
import sys as _sys  # noqa: E402

from . import fast_launch  # noqa: E402
for _name, _family in list(_sys.modules.items()):  # every family loaded above (no list here to keep in step)
    if _name.startswith(__name__ + "."):
        fast_launch.install(_family)


# The top-level packages whose calls to load_library failed (tritorch.library lets them register fake impls for
# the operators the library would have defined).
UNLOADED_PACKAGES: set = set()


def load_library(path) -> None:
    """torch.ops.load_library: loads a shared library of C++ operators built against libtorch, which tritorch
    cannot run. Raises OSError, as a missing or unloadable library does in PyTorch, so that packages probing for
    their compiled ops (torchvision's extension) fall back to their Python paths."""
    caller = _sys._getframe(1).f_globals.get("__name__") or ""
    if caller and caller != "__main__":
        UNLOADED_PACKAGES.add(caller.partition(".")[0])
    raise OSError(f"tritorch cannot load {path}: it holds C++ operators compiled against PyTorch's libtorch; write "
                  f"them as tritorch ops (tritorch.library) instead")


def __getattr__(name: str):
    """torch.ops.<namespace>: as in PyTorch, any namespace exists once named (empty until custom ops are defined
    in it), so `hasattr(torch.ops.torchvision, "nms")` asks about the op. Not for private names or this package's
    own modules (so that `from tritorch.ops import <module>` still imports the module)."""
    import importlib.util
    if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..library import _OpNamespace
    namespace = globals()[name] = _OpNamespace(name)
    return namespace
