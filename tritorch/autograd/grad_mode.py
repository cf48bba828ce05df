"""Grad mode: whether ops record the graph (no_grad, enable_grad, set_grad_enabled, inference_mode)."""
from __future__ import annotations

import functools


from .._state import FLAGS
from .._state import GRAD as STATE


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _Mode:
    """A context manager that is also a decorator (a fresh instance per call keeps it reentrant)."""

    def _enter_state(self):
        raise NotImplementedError

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.inference)
        self._enter_state()
        return self

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper

    _args: tuple = ()


class _NoParamMode(_Mode):
    """A mode that takes no arguments, so that it decorates bare as well: `@torch.no_grad` as `@torch.no_grad()`."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamMode):
    def _enter_state(self):
        STATE.enabled = False


class enable_grad(_NoParamMode):
    def _enter_state(self):
        STATE.enabled = True


class set_grad_enabled(_Mode):
    def __init__(self, mode: bool):
        self._args = (mode,)
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = bool(mode)  # takes effect at once, like torch.set_grad_enabled(False) as a call

    def __enter__(self):
        return self

    def _enter_state(self):
        STATE.enabled = bool(self._args[0])


class inference_mode(_Mode):
    def __new__(cls, mode=True):
        if callable(mode):   # bare `@torch.inference_mode`: mode is the function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self._args = (mode,)

    def _enter_state(self):
        if self._args[0]:
            STATE.enabled = False
            STATE.inference = True

    def __enter__(self):
        FLAGS.inference += 1  # tensor._make reads the (slower) thread-local inference flag only while > 0
        return super().__enter__()

    def __exit__(self, *exc):
        FLAGS.inference -= 1
        return super().__exit__(*exc)
