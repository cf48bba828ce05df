"""Autograd: the define-by-run engine (graph.py, engine.py), grad mode, custom Functions, gradcheck, anomaly mode."""
from .. import _state
from . import engine as _engine
from . import inplace as _inplace  # noqa: F401  (installs the rebase hooks)
from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .tensor_methods import backward, grad  # noqa: F401
from .variable import Variable  # noqa: F401,E402  (the legacy wrapper: returns a tensor)

_state.recorder = _engine.record
_state.record_small = _engine.record_small
from . import forward_ad, functional  # noqa: F401,E402
