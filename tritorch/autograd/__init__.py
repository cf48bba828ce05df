"""Autograd: grad mode now; the engine, Function and gradcheck arrive with the autograd issue."""
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
