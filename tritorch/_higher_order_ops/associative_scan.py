"""torch._higher_order_ops.associative_scan, run eagerly as a plain scan (Mamba-style models import it)."""
from __future__ import annotations

from ..utils import _pytree as pytree

__all__ = ["associative_scan"]


def associative_scan(combine_fn, xs, dim: int, reverse: bool = False, combine_mode: str = "pointwise"):
    """The inclusive scan of `xs` (a tensor or a pytree of tensors of the same size along `dim`) under the
    associative `combine_fn(left, right)`: out[i] = combine_fn(out[i - 1], xs[i]), from the end when reverse=True.
    Each step gives combine_fn slices of length 1 along `dim` (so pointwise and generic combine modes agree); an
    eager loop, with the operator's results rather than its parallel schedule."""
    if combine_mode not in ("pointwise", "generic"):
        raise ValueError(f"Combine_mode must either 'pointwise' or 'generic', but got {combine_mode}")
    if not callable(combine_fn):
        raise ValueError(f"Combine_fn must be a callable, but got {combine_fn}")
    leaves, spec = pytree.tree_flatten(xs)
    if not leaves:
        raise ValueError("Expected at least 1 xs leaf")
    ndim = leaves[0].ndim
    d = dim + ndim if dim < 0 else dim
    n = leaves[0].shape[d]
    if any(x.shape[d] != n for x in leaves):
        raise RuntimeError("All xs tensors must have the same size along the scan dimension")
    from .. import cat
    order = range(n - 1, -1, -1) if reverse else range(n)
    steps = []
    acc = None
    for i in order:
        current = [x.narrow(d, i, 1) for x in leaves]
        if acc is None:
            acc = current
        else:
            out = combine_fn(pytree.tree_unflatten(acc, spec), pytree.tree_unflatten(current, spec))
            acc = pytree.tree_leaves(out)
        steps.append(acc)
    if reverse:
        steps.reverse()
    return pytree.tree_unflatten([cat([s[j] for s in steps], d) for j in range(len(leaves))], spec)
