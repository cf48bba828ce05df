"""tritorch.utils.hooks: torch.utils.hooks' RemovableHandle (the one nn.Module's register_*_hook returns) and
unserializable_hook."""
from ..nn.modules.module import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook"]


def unserializable_hook(f):
    """Mark a hook as one that cannot be serialized (PyTorch skips its warning about hooks that would be lost)."""
    f.__torch_unserializable__ = True
    return f
