"""torch.utils.module_tracker.ModuleTracker: which modules are running now, forward or backward.

Inside `with ModuleTracker() as tracker:`, `tracker.parents` is the set of the qualified names of the modules
whose forward is running ("Model", "Model.layer1", ...; always with "Global"), and during backward the modules
whose backward is running: the names enter when the gradients of a module's outputs arrive and leave once those
of its inputs have been computed (autograd.graph.register_multi_grad_hook on each), and the set is reset to
{"Global"} when the backward pass ends. FlopCounterMode attributes its counts with it."""
from __future__ import annotations

import weakref

from ..autograd import engine as _engine
from ..autograd.graph import register_multi_grad_hook
from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from ..tensor import Tensor

__all__ = ["ModuleTracker"]


def _grad_tensors(tree) -> list:
    """The tensors that require grad in a module's (nested) inputs or outputs."""
    if isinstance(tree, Tensor):
        return [tree] if tree.requires_grad else []
    if isinstance(tree, dict):
        tree = tree.values()
    elif not isinstance(tree, (list, tuple)):
        return []
    return [t for x in tree for t in _grad_tensors(x)]


class ModuleTracker:
    """A context manager whose `parents` names the modules running now (see the module docstring)."""

    def __init__(self) -> None:
        self.parents = {"Global"}
        self._names = weakref.WeakKeyDictionary()     # module -> qualified name
        self._named_children = weakref.WeakSet()      # modules whose children have their names
        self._reset_queued = False
        self._hooks = []

    @property
    def is_bw(self) -> bool:
        """Whether a backward pass is running on this thread."""
        return _engine.current_task() is not None

    def _name(self, mod) -> str:
        name = self._names.get(mod)
        if name is None:
            name = self._names[mod] = type(mod).__name__
        if mod not in self._named_children:
            for child_name, child in mod.named_children():
                self._names[child] = f"{name}.{child_name}"
                self._name(child)
            self._named_children.add(mod)
        return name

    def _enter_fn(self, name: str, backward: bool):
        def enter(*_) -> None:
            if backward and not self._reset_queued:
                _engine.queue_callback(self._reset)
                self._reset_queued = True
            self.parents.add(name)
        return enter

    def _leave_fn(self, name: str):
        def leave(*_) -> None:
            self.parents.discard(name)
        return leave

    def _reset(self) -> None:
        self.parents = {"Global"}
        self._reset_queued = False

    def _forward_pre(self, mod, args) -> None:
        name = self._name(mod)
        self._enter_fn(name, False)()
        tensors = _grad_tensors(args)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._leave_fn(name)))

    def _forward_post(self, mod, args, output) -> None:
        name = self._name(mod)
        self._leave_fn(name)()
        tensors = _grad_tensors(output)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._enter_fn(name, True)))

    def __enter__(self):
        self._pre_handle = register_module_forward_pre_hook(self._forward_pre)
        self._post_handle = register_module_forward_hook(self._forward_post)
        return self

    def __exit__(self, *exc) -> None:
        self._pre_handle.remove()
        self._post_handle.remove()
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
