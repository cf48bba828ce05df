"""Keeps Python's cyclic garbage collector off the objects that importing tritorch made.

An op call allocates a few tracked objects (the result Tensor, its autograd node and saved tensors), which
PyTorch keeps in C++ where the collector never looks. Enough of them that survive (a graph kept until its
backward) trigger a full collection, which walks every tracked object in the process, the ~90K that import
made (the op registry, Triton, NumPy) included: ~20 ms of a 260 ms actor-critic episode (200 policy steps,
pytorch/examples' reinforcement_learning) went to full collections. `gc.freeze()` at the end of import moves
those objects to the permanent generation, which collections skip (full collections then took ~3 ms of it).
Garbage that existed before the import is collected first, so nothing is frozen that could have been freed;
the objects are unfrozen at exit so that the interpreter's final collection still tears them down (nanobind,
Triton's binding library, reports leaks otherwise). TRITORCH_GC_FREEZE=0 leaves the collector as it is.
"""
from __future__ import annotations

import atexit
import gc
import os


def freeze_import_objects(before=None) -> bool:
    """Collect, call `before()` (what must search the objects with gc.get_referrers while it still can: the
    permanent generation is not searched), then freeze every tracked object (once, at the end of `import
    tritorch`); False if switched off (TRITORCH_GC_FREEZE=0) or the collector is disabled (the program manages
    it itself)."""
    if os.environ.get("TRITORCH_GC_FREEZE", "1") == "0" or not gc.isenabled():
        return False
    gc.collect()
    if before is not None:
        before()
    gc.freeze()
    atexit.register(gc.unfreeze)
    return True
