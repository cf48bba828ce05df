"""torch.func.rearrange: einops' rearrange (https://einops.rocks/api/rearrange/) on tritorch tensors: one reshape to
the left side's elementary axes, one permute to the right side's order, one reshape to its groups (a list of
tensors is stacked first). Pattern: space-separated axis names, parenthesised groups (merged axes), one `...`
per side (any number of dims), and `1` or `()` for a unit axis; each name once per side, the same names on both.
Lengths the groups do not fix come from axes_lengths; one unknown per group is inferred."""
from __future__ import annotations

import math
import re

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")
_ELLIPSIS = "\u2026"


class DimensionBindError(ValueError):
    """The tensor's shape does not fit the pattern (a group's size, an inferred length)."""


def _parse(side: str) -> list:
    """[[names of a group] or ELLIPSIS, ...]: a bare name is a group of one, `1` and `()` an empty group (a unit
    axis), a bare `...` the string ELLIPSIS (any number of dims), `(...)` a group holding ELLIPSIS (those dims
    merged)."""
    groups, current = [], None
    for tok in _TOKEN.findall(side):
        if tok == "(":
            if current is not None:
                raise ValueError("Axis composition is one-level (brackets inside brackets not allowed)")
            current = []
        elif tok == ")":
            if current is None:
                raise ValueError("Brackets are not balanced")
            groups.append(current)
            current = None
        elif tok.isdigit():
            if tok != "1":
                raise ValueError(f"Non-unitary anonymous axes are not supported in rearrange: {tok}")
            if current is None:
                groups.append([])
        elif tok == "...":
            (current if current is not None else groups).append(_ELLIPSIS)
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
            if current is not None:
                current.append(tok)
            else:
                groups.append([tok])
        else:
            raise ValueError(f"Unexpected character {tok!r} in pattern")
    if current is not None:
        raise ValueError("Brackets are not balanced")
    return groups


def _names(groups) -> list:
    return [n for g in groups for n in ([g] if g == _ELLIPSIS else g)]


def rearrange(tensor, pattern: str, **axes_lengths):
    """einops' rearrange (see the module docstring)."""
    from .ops.movement import stack
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor))
    if "->" not in pattern:
        raise ValueError("Pattern must contain '->'")
    left_s, right_s = pattern.split("->")
    left, right = _parse(left_s), _parse(right_s)
    for groups in (left, right):
        names = _names(groups)
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"Indexing expression contains duplicate dimension '{sorted(dup)[0]}'")
        if names.count(_ELLIPSIS) > 1:
            raise ValueError("Expression may contain dots only inside ellipsis (...); only one ellipsis per side")
    ln, rn = set(_names(left)), set(_names(right))
    if ln != rn:
        raise ValueError(f"Identifiers only on one side of rearrange expression (should be on both): "
                         f"{(ln ^ rn) - {_ELLIPSIS}}")
    if any(g != _ELLIPSIS and _ELLIPSIS in g for g in left):
        raise ValueError("Ellipsis inside parenthesis in the left side is not allowed")
    shape = tuple(tensor.shape)
    n_fixed = len(left) - (1 if _ELLIPSIS in ln else 0)
    if _ELLIPSIS in ln:
        if len(shape) < n_fixed:
            raise ValueError(f"Number of dimensions in pattern ({n_fixed}) must be at most the number of dimensions "
                             f"in the tensor ({len(shape)}) with an ellipsis")
        extra = [f"{_ELLIPSIS}{i}" for i in range(len(shape) - n_fixed)]

        def expand(groups):
            out = []
            for g in groups:
                if g == _ELLIPSIS:
                    out.extend([e] for e in extra)
                elif _ELLIPSIS in g:
                    out.append([x for n in g for x in (extra if n == _ELLIPSIS else [n])])
                else:
                    out.append(g)
            return out
        left, right = expand(left), expand(right)
    elif len(left) != len(shape):
        raise ValueError(f"Number of dimensions in pattern ({len(left)}) must be equal to the number of dimensions "
                         f"in the tensor ({len(shape)})")
    for name, value in axes_lengths.items():
        if name not in ln:
            raise ValueError(f"Axis {name} is not used in the pattern")
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"Axis length for {name} must be a non-negative int, got {value!r}")
    lengths = dict(axes_lengths)
    for group, size in zip(left, shape):
        unknown = [n for n in group if n not in lengths]
        known = math.prod(lengths[n] for n in group if n in lengths)
        if len(unknown) > 1:
            raise DimensionBindError(f"cannot infer the sizes of {len(unknown)} dimensions at once: {unknown}")
        if unknown:
            if known == 0 or size % known:
                raise DimensionBindError(f"inferred dimension does not evenly fit into larger dimension: {size} vs "
                                         f"{known} x ?")
            lengths[unknown[0]] = size // known
        elif known != size:
            raise DimensionBindError(f"dimension of size {size} does not match the pattern's {group} = {known}")
    order = _names(left)
    elementary = tensor.reshape(*[lengths[n] for n in order]) if order else tensor.reshape(())
    target = _names(right)
    if target != order:
        elementary = elementary.permute(*[order.index(n) for n in target])
    return elementary.reshape(*[math.prod(lengths[n] for n in g) for g in right])
