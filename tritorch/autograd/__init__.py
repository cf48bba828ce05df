"""Autograd: the define-by-run engine (graph.py, engine.py), grad mode, and the Tensor methods it adds."""
from .. import _state
from . import engine as _engine
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor_methods import backward, grad  # noqa: F401

_state.recorder = _engine.record
