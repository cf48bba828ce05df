"""Launching tritorch's Triton kernels on a GPU without Triton's per-call Python work.

`kernel[grid](*args, **meta)` costs ~15 us of host time in Triton 3.6 for a three-argument kernel (measured on an
H200 host: a native specialisation call per argument, the cache-key string, the launch-metadata object), and an
autotuned kernel pays its Autotuner's key building on top (~25 us more, a NumPy dtype `str` per pointer); the
compiled kernel's own launcher takes ~6 us. At tritorch's sizes a call is often host-bound (a row-wise norm's GPU
time is ~40 us), so that overhead is most of the gap to PyTorch's eager time.

After `install(module)`, every top-level kernel and autotuner of the module remembers, per *launch key*, the compiled
kernel that its first launch with that key produced, and later launches with the same key go straight to that
kernel's launcher. The launch key is at least as fine as Triton's own specialisation, so the same key can never
need a different compiled kernel:
- a device array: its dtype and its address modulo 16 (Triton specialises pointers on 16-byte alignment);
- an int: 1 (Triton makes it a constant), else its width class (i32 / i64 / u64) and whether 16 divides it;
- a float: fp32; a bool: i1; None: a constant; any other pointer object: no key (Triton's path every time, so a
  remembered key never keeps device memory alive); anything else: its exact value (hashable, or Triton's path);
- keyword arguments (constexprs, tile sizes, num_warps ...): their exact values;
- an autotuner's key arguments: their exact values (so the tuned config is the one Triton would pick).
- `triton.heuristics` under an autotuner: not in the key; every fast launch evaluates them again and takes
  Triton's path where one gives another value than the remembered launch's.
Only launches Triton itself would make are remembered: Triton versions whose `CompiledKernel.run` signature was
checked on a GPU (`VERIFIED_TRITON`), no launch hooks installed (a profiler's hooks keep every launch on Triton's
path), no `pre_hook` on the tuned config, at most `MAX_ENTRIES` keys per kernel. `TRITORCH_FAST_LAUNCH=0` turns it
off; under the interpreter it is never on. Ops authored outside tritorch can opt in with `install_kernel(kernel)`.
"""
from __future__ import annotations

import os

import triton
from triton.runtime.autotuner import Autotuner, Heuristics
from triton.runtime.jit import JITFunction

from ..backends import cuda as _cuda
from ..backends.cuda import CudaArray

VERIFIED_TRITON = ("3.6.",)
MAX_ENTRIES = 512
ENABLED = (not _cuda.INTERPRET and os.environ.get("TRITORCH_FAST_LAUNCH", "1") != "0"
           and triton.__version__.startswith(VERIFIED_TRITON))

_I32_MIN, _I32_MAX, _U64_MIN = -(2 ** 31), 2 ** 31 - 1, 2 ** 63
_FLOAT, _BOOL = "f", "b"


def launch_key(args) -> list:
    """The specialisation-relevant facts of positional kernel arguments (see the module docstring)."""
    key = []
    add = key.append
    for a in args:
        t = a.__class__
        if t is int:  # ints first: most of a launch's arguments are sizes and strides
            if a == 1:
                add(1)
            elif _I32_MIN <= a <= _I32_MAX:
                add(16 if a & 15 == 0 else 17)
            else:
                add(("u64" if a >= _U64_MIN else "i64", a & 15 == 0))
        elif t is CudaArray:
            add(a.dtype)
            add((a.block.ptr + a.offset * a.dtype.itemsize) & 15)
        elif t is float:
            add(_FLOAT)
        elif t is bool:
            add(_BOOL)
        elif a is None:
            add(None)
        elif hasattr(a, "data_ptr"):
            # another kind of device pointer: no key, so nothing (device memory included) is kept alive by one
            raise TypeError("no launch key for this pointer type")
        else:
            add((t, a))  # exact value: finer than Triton's key, so always safe (TypeError if unhashable)
    return key


def _hooks_installed() -> bool:
    hooks = triton.knobs.runtime.launch_enter_hook
    return hooks is not None and bool(getattr(hooks, "calls", True))


class _Entry:
    """One remembered compiled kernel: its launcher, and the argument values after the positional ones."""
    __slots__ = ("compiled", "run", "function", "packed", "tail", "names", "derived")

    def __init__(self, compiled, tail: tuple, names):
        self.compiled = compiled  # what a launch returns, as Triton's run does (an autotuner remembers it)
        self.run = compiled.run
        self.function = compiled.function
        self.packed = compiled.packed_metadata
        self.tail = tail
        self.names = names
        self.derived = None  # a tuner's heuristics: (context, [(name, fn, value)]), checked again at every launch

    def heuristics_hold(self, args: tuple) -> bool:
        """Whether every heuristic under the tuner gives, for these arguments, the value the entry was made with
        (a heuristic may read any argument, not only those the launch key holds exactly)."""
        context, rules = self.derived
        named = dict(zip(self.names, args))
        named.update(context)
        for name, fn, value in rules:
            got = fn(named)
            if got != value:
                return False
            named[name] = got
        return True

    def launch(self, grid, args: tuple):
        full = args + self.tail if self.tail else args
        if callable(grid):
            grid = grid(dict(zip(self.names, full)))
        n = len(grid)
        self.run(grid[0], grid[1] if n > 1 else 1, grid[2] if n > 2 else 1, _cuda.DRIVER.stream_handle,
                 self.function, self.packed, None, None, None, *full)
        return self.compiled


def _entry(compiled, jit: JITFunction, n_args: int, values: dict):
    """An entry for `compiled`, or None where it cannot be launched directly (the slow path stays)."""
    if compiled is None or _hooks_installed() or not all(
            hasattr(compiled, a) for a in ("run", "function", "packed_metadata")):
        return None
    tail = []
    for p in jit.params[n_args:]:
        if p.name in values:
            tail.append(values[p.name])
        elif p.has_default:
            tail.append(p.default)
        else:
            return None
    if compiled.function is None:
        return None
    return _Entry(compiled, tuple(tail), jit.arg_names)


class FastJITFunction(JITFunction):
    """A JITFunction whose launches reuse the compiled kernel of an earlier launch with the same launch key."""

    def run(self, *args, grid, warmup, **kwargs):
        key = None
        if ENABLED and not warmup:
            try:
                key = (tuple(kwargs.items()), *launch_key(args))
                entry = self._fast_entries.get(key)
            except TypeError:  # an unhashable argument: Triton's path decides
                key = entry = None
            if entry is not None:
                return entry.launch(grid, args)
        compiled = super().run(*args, grid=grid, warmup=warmup, **kwargs)
        if key is not None and len(self._fast_entries) < MAX_ENTRIES:
            entry = _entry(compiled, self, len(args), kwargs)
            if entry is not None:
                self._fast_entries[key] = entry
        return compiled


class FastAutotuner(Autotuner):
    """An Autotuner whose launches reuse, per launch key, the config it chose and the kernel compiled for it."""

    def run(self, *args, **kwargs):
        key = None
        if ENABLED and not kwargs.get("warmup", False):
            grid = kwargs.pop("grid")
            kwargs.pop("warmup", None)
            try:
                key = (tuple(kwargs.items()), *[args[i] for i in self._fast_key_pos if i < len(args)],
                       *launch_key(args))
                entry = self._fast_entries.get(key)
            except TypeError:
                key = entry = None
            if entry is not None and (entry.derived is None or entry.heuristics_hold(args)):
                return entry.launch(grid, args)
            kwargs["grid"], kwargs["warmup"] = grid, False
        compiled = super().run(*args, **kwargs)
        if key is not None and len(self._fast_entries) < MAX_ENTRIES and self.best_config.pre_hook is None:
            values = {k: v for k, v in kwargs.items() if k not in ("grid", "warmup")}
            values.update(self.best_config.all_kwargs())
            context = dict(values)
            # triton.heuristics under the tuner (matmul's EVEN_K): what they derived, as Heuristics.run does
            rules, jit = [], self.fn
            while not isinstance(jit, JITFunction) and hasattr(jit, "fn"):
                if isinstance(jit, Heuristics):
                    named = dict(zip(jit.arg_names, args))
                    for name, fn in jit.values.items():
                        values[name] = fn({**named, **values})
                        rules.append((name, fn, values[name]))
                jit = jit.fn
            entry = _entry(compiled, jit, len(args), values)
            if entry is not None:
                if rules:
                    entry.derived = (context, rules)
                self._fast_entries[key] = entry
        return compiled


def install_kernel(obj):
    """Give a JITFunction or Autotuner the fast path (in place; returns it). A no-op where the fast path is off."""
    if not ENABLED:
        return obj
    if type(obj) is JITFunction:
        obj.__class__ = FastJITFunction
        obj._fast_entries = {}
    elif type(obj) is Autotuner:
        obj.__class__ = FastAutotuner
        obj._fast_entries = {}
        obj._fast_key_pos = [obj.arg_names.index(k) for k in obj.keys if k in obj.arg_names]
    return obj


def install(module) -> None:
    """Give the fast path to every kernel (a JITFunction named `*_kernel`) and autotuner defined at the top level
    of `module`. JIT helpers that kernels call keep their class: only launches take the changed path."""
    for name, value in list(vars(module).items()):
        if type(value) is Autotuner or (type(value) is JITFunction and name.endswith("_kernel")):
            install_kernel(value)
