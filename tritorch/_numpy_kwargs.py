"""PyTorch's NumPy-style keyword aliases: the functions and Tensor methods that take `dim` also take `axis`, and
those that take `keepdim` also take `keepdims` (torch.sum(x, axis=0, keepdims=True), x.all(axis=-1): transformers'
beam search and resize_token_embeddings call them so). PyTorch's argument parser aliases them for its native ops;
here the ops named below get a thin wrapper that renames the two keywords when given (calls without keywords pass
straight through)."""
from __future__ import annotations

import functools

# the ops with a `dim` argument that PyTorch's parser gives the aliases to (checked against torch 2.x)
NAMES = ("sum", "mean", "nansum", "nanmean", "prod", "all", "any", "max", "min", "amax", "amin", "aminmax", "argmax",
         "argmin", "std", "var", "std_mean", "var_mean", "logsumexp", "median", "nanmedian", "mode", "kthvalue",
         "count_nonzero", "softmax", "log_softmax", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "sort",
         "argsort", "topk", "squeeze", "unsqueeze", "cat", "concat", "concatenate", "stack", "unbind", "chunk",
         "tensor_split", "gather", "take_along_dim", "index_select", "narrow", "select", "diff", "repeat_interleave")


def _with_aliases(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            if "axis" in kwargs:
                if "dim" in kwargs:
                    raise TypeError(f"{fn.__name__}() got multiple values for argument 'dim' (axis is its alias)")
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                if "keepdim" in kwargs:
                    raise TypeError(f"{fn.__name__}() got multiple values for argument 'keepdim' (keepdims is its "
                                    "alias)")
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    call._numpy_kwargs = True
    return call


def install(namespace, tensor_cls) -> None:
    """Wrap the NAMES found in `namespace` (the tritorch module) and on `tensor_cls` (Tensor's methods)."""
    for owner in (namespace, tensor_cls):
        for name in NAMES:
            fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if fn is None or getattr(fn, "_numpy_kwargs", False) or not callable(fn):
                continue
            setattr(owner, name, _with_aliases(fn))
