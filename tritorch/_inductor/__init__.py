"""torch._inductor's surface that training scripts touch: `config`, whose settings they assign before calling
torch.compile (karpathy/llm.c's train_gpt2.py imports it at the top). tritorch runs eagerly (tritorch.compile
returns the model, see _settings.compile), so there is no compiler behind it."""
from . import config

__all__ = ["config"]
