"""OptimizedModule: what tritorch.compile(module) returns, as torch.compile does. The original module is its one
child, `_orig_mod`, so state_dict keys read '_orig_mod.<name>' as PyTorch's do (checkpoints move between the two
either way); every other attribute read, write and delete goes to the original, and `training` mirrors it.
Calling it calls the original module, eagerly (tritorch has no compiler)."""
from __future__ import annotations

from ..nn.modules.module import Module


class _TorchDynamoContext:
    """The compilation context torch.compile keeps on its OptimizedModule (`dynamo_ctx`): libraries wrap further
    functions with it (Lightning's from_compiled wraps training_step). tritorch compiles nothing, so wrapping gives
    the function back and using it as a context manager changes nothing."""

    def __call__(self, fn):
        if not callable(fn):
            raise RuntimeError(f"expected a callable, got {type(fn).__name__}")
        return fn

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class OptimizedModule(Module):
    _opt_mod_attributes = {"_orig_mod", "dynamo_ctx", "forward", "_super_module_initialized"}

    def __init__(self, mod: Module, dynamo_ctx=None) -> None:
        # first, so that attribute reads in Module.__init__ (and a subclass's) already reach the original
        object.__setattr__(self, "_orig_mod", mod)
        self._super_module_initialized = False
        super().__init__()
        self._super_module_initialized = True
        self._orig_mod = mod      # registered as the child module
        self.dynamo_ctx = _TorchDynamoContext() if dynamo_ctx is None else dynamo_ctx

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    @property
    def training(self) -> bool:
        return self._orig_mod.training

    @training.setter
    def training(self, value: bool) -> None:
        # Module.__init__ sets the default before the original is registered: the original's own flag stands
        if self.__dict__.get("_super_module_initialized"):
            self._orig_mod.training = value

    def __len__(self) -> int:
        if hasattr(type(self._orig_mod), "__len__"):
            return len(self._orig_mod)
        raise TypeError(f"{type(self._orig_mod).__name__} does not support len()")

    def __getattr__(self, name: str):
        if name == "_orig_mod":
            return self.__dict__["_modules"]["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)

    def __dir__(self):
        own = self._orig_mod.__dir__()
        return own + [a for a in super().__dir__() if a not in own]
