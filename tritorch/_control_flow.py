"""torch.cond, torch.while_loop, torch.vmap and the torch.sym_* helpers. PyTorch's control-flow operators exist so
that torch.compile and torch.export can capture both branches or the loop as one graph; tritorch runs eagerly, so
they run the branch the predicate picks / the loop itself, recorded by autograd like any other Python code."""
from __future__ import annotations

import math

from .func import vmap
from .tensor import Tensor

__all__ = ["cond", "while_loop", "vmap", "sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt",
           "sym_ite", "sym_sum"]


def _truth(pred, what: str) -> bool:
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected {what} to be bool or single-element tensor, but got {pred}.")
        return bool(pred.item())
    return bool(pred)


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands); pred a bool, a number or a one-element tensor."""
    return (true_fn if _truth(pred, "pred") else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """carried = body_fn(*carried) while cond_fn(*carried); the final carried values (a tuple, or the one value
    body_fn returns when it returns a single tensor)."""
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got {type(carried_inputs).__name__}")
    carried, result = tuple(carried_inputs), tuple(carried_inputs)
    while _truth(cond_fn(*carried), "cond_fn's output"):
        result = body_fn(*carried)
        carried = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    return result


# The torch.sym_* helpers of traced shape code: on the plain Python numbers an eager run sees, they are Python's.

def sym_int(a):
    return math.trunc(a) if isinstance(a, float) else int(a)


def sym_float(a):
    return float(a)


def sym_max(a, b):
    return max(a, b)


def sym_min(a, b):
    return min(a, b)


def sym_not(a):
    return not a


def sym_sqrt(a):
    return math.sqrt(a)


def sym_ite(b, t, f):
    return t if b else f


def sym_sum(args):
    return sum(args)
