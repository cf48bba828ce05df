"""PyTorch's NumPy-style keyword aliases: the functions and Tensor methods that take `dim` also take `axis`, and
those that take `keepdim` also take `keepdims` (torch.sum(x, axis=0, keepdims=True), x.all(axis=-1): transformers'
beam search and resize_token_embeddings, the makemore lectures' P.sum(1, keepdims=True)). PyTorch's argument
parser aliases them for its native ops.

The hot ones (the reductions, cat/stack, squeeze/unsqueeze) take `axis=NA, keepdims=NA` as keyword-only
parameters of their own and call `numpy_names` only when one is given: two defaults and one test a call. A
wrapper costs the call a frame and its argument packing, 0.2-0.4 us on a ~2 us call here, so only the rarer
ones in NAMES get one (installed on the tritorch namespace and Tensor's methods at import)."""
from __future__ import annotations

import functools


class _NotGiven:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


NA = _NotGiven()   # the default of the alias parameters: "not given" (None is a value dim may take)


def numpy_names(name: str, dim, dim_default, keepdim, axis, keepdims) -> tuple:
    """(dim, keepdim) from a call that named axis= and/or keepdims=: naming a parameter both ways is PyTorch's
    TypeError, as is a missing dim (dim_default NA: a required one)."""
    if axis is not NA:
        if dim is not dim_default:
            raise TypeError(f"{name}() got an unexpected keyword argument 'axis'")
        dim = axis
    elif dim is NA:
        raise TypeError(f"{name}() missing 1 required positional argument: 'dim'")
    if keepdims is not NA:
        if keepdim:
            raise TypeError(f"{name}() got an unexpected keyword argument 'keepdims'")
        keepdim = keepdims
    return dim, keepdim


# the less frequently called ops with a `dim` that PyTorch's parser gives the aliases to (checked against torch
# 2.x); their wrappers rename the two keywords when given
NAMES = ("nansum", "nanmean", "aminmax", "std_mean", "var_mean", "median", "nanmedian", "mode", "kthvalue",
         "count_nonzero", "softmax", "log_softmax", "cummax", "cummin", "logcumsumexp", "sort", "argsort", "topk",
         "quantile", "nanquantile", "concat", "concatenate", "unbind", "chunk", "tensor_split", "gather",
         "take_along_dim", "index_select", "narrow", "select", "diff", "repeat_interleave")


def _with_aliases(fn, name: str):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            for alias, own in (("axis", "dim"), ("keepdims", "keepdim")):
                if alias in kwargs:
                    if own in kwargs:
                        raise TypeError(f"{name}() got an unexpected keyword argument '{alias}'")
                    kwargs[own] = kwargs.pop(alias)
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
            setattr(owner, name, _with_aliases(fn, name))
