"""Compile every Triton kernel specialisation the test suite launches, for a GPU target, on a machine without one.

The test suite runs the cuda device through Triton's interpreter, which accepts some code that Triton's compiler
(or an older Triton than the one installed here) rejects. This tool closes that gap in two steps:

1. record (interpreter, any Triton): run pytest with this file as a plugin; every kernel launch is written as
   a JSON line (module, kernel name, each argument's kind, dtype, 16-byte alignment or value, constexprs):

       TRITON_INTERPRET=1 TRITON_LAUNCH_LOG=/tmp/launches.jsonl \
           python -m pytest -p tools.triton_compile_check -k cuda tests

2. compile (no interpreter; the Triton to check, e.g. the GPU machine's version in its own venv): each distinct
   specialisation, and every config of an autotuned kernel, goes through Triton's `warmup` for the target,
   which runs the whole compiler (ptxas included) and launches nothing:

       PYTHONPATH=. python tools/triton_compile_check.py /tmp/launches.jsonl.* [--arch 90] [--until ttgir]
           [--per-kernel 20] [--only name,name]

   prints each failure (kernel, constexprs, the compiler's message) and exits 1 when any failed.
"""
from __future__ import annotations

import importlib
import json
import os
import sys

# ------------------------------------------------------------------------------------------------- record


def _arg_spec(a):
    if a is None:
        return ["none"]
    if hasattr(a, "data_ptr") and hasattr(a, "dtype"):
        return ["ptr", str(a.dtype), a.data_ptr() % 16 == 0]
    if isinstance(a, bool):
        return ["bool", a]
    if isinstance(a, int):
        return ["int", a]
    if isinstance(a, float):
        return ["float", a]
    if isinstance(a, (tuple, list)):
        return ["tuple", [_arg_spec(x) for x in a]]
    if type(a).__name__ in ("InterpretedFunction", "JITFunction"):  # a @triton.jit function passed as constexpr
        return ["jit", a.fn.__module__, a.fn.__qualname__]
    v = getattr(a, "value", a)  # tl.constexpr, dtypes
    return ["repr", repr(v)]


def pytest_configure(config):
    path = os.environ.get("TRITON_LAUNCH_LOG")
    if not path:
        return
    from triton.runtime import interpreter

    seen = set()
    path = f"{path}.{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    out = open(path, "a")
    original = interpreter.InterpretedFunction.run

    def run(self, *args, grid, warmup, **kwargs):
        fn = self.fn
        try:
            rec = json.dumps({"module": fn.__module__, "name": fn.__name__,
                              "args": [_arg_spec(a) for a in args],
                              "kwargs": {k: _arg_spec(v) for k, v in kwargs.items()}}, sort_keys=True)
        except Exception as e:  # an argument this tool does not know: say so rather than skip it silently
            rec = json.dumps({"module": fn.__module__, "name": fn.__name__, "unrecordable": repr(e)})
        if rec not in seen:
            seen.add(rec)
            out.write(rec + "\n")
            out.flush()
        return original(self, *args, grid=grid, warmup=warmup, **kwargs)

    interpreter.InterpretedFunction.run = run


# ------------------------------------------------------------------------------------------------ compile

class _FakePointer:
    """What Triton's specialiser reads from a tensor argument: its address (alignment) and dtype."""

    def __init__(self, dtype, aligned):
        import numpy as np
        self.dtype = np.dtype(dtype) if dtype != "bfloat16" else _bf16()
        self._ptr = 1 << 20 if aligned else (1 << 20) + 4

    def data_ptr(self):
        return self._ptr


def _bf16():
    import ml_dtypes
    import numpy as np
    return np.dtype(ml_dtypes.bfloat16)


def _value(spec):
    kind = spec[0]
    if kind == "none":
        return None
    if kind == "ptr":
        return _FakePointer(spec[1], spec[2])
    if kind in ("bool", "int", "float"):
        return spec[1]
    if kind == "tuple":
        return tuple(_value(s) for s in spec[1])
    if kind == "jit":
        obj = importlib.import_module(spec[1])
        for part in spec[2].split("."):
            obj = getattr(obj, part)
        return obj
    import triton.language as tl  # noqa: F401  (reprs of dtypes name tl's)
    text = spec[1]
    for prefix in ("triton.language.", "tl."):
        text = text.replace(prefix, "")
    try:
        return eval(text, {"__builtins__": {}}, dict(vars(tl)))
    except Exception:
        return getattr(tl, text, text)


class _FakeDriver:
    def __init__(self, arch):
        from triton.backends.compiler import GPUTarget
        from triton.backends.nvidia.driver import CudaDriver
        self.target = GPUTarget("cuda", arch, 32)
        self._real = CudaDriver.__new__(CudaDriver)

    def get_current_target(self):
        return self.target

    def get_active_torch_device(self):
        return None

    def get_current_device(self):
        return 0

    def get_current_stream(self, device=None):
        return 0

    def get_device_interface(self):
        return None

    def __getattr__(self, name):
        return getattr(self._real, name)


def _unwrap(obj):
    """(the JITFunction, the list of config kwarg dicts an autotuner would try: [{}] when none)."""
    from triton.runtime.jit import JITFunction
    configs = [{}]
    while not isinstance(obj, JITFunction):  # (tritorch's fast-launch subclass included)
        if hasattr(obj, "configs") and obj.configs:
            configs = [dict(c.all_kwargs()) for c in obj.configs]
        obj = obj.fn
    return obj, configs


class _Stopped(Exception):
    """Raised by the stage added after the last stage asked for: the compile got that far."""


def _stop_after(last):
    """Make Triton's compiler stop after stage `last` (ttir, ttgir, llir, ptx; cubin: run every stage)."""
    from triton import knobs

    def hook(*args):
        if not args:   # Triton >= 3.7 first asks for a cache key part: (key, hash) of the hooked pipeline
            return f"-stop-after-{last}", f"stop-after-{last}"
        backend, stages, options, language, capability = args
        names = list(stages)
        if last in names:
            for name in names[names.index(last) + 1:]:
                del stages[name]

            def stop(src, metadata):
                raise _Stopped(last)
            stages["stop"] = stop
    knobs.runtime.add_stages_inspection_hook = None if last == "cubin" else hook


def _key_class(spec):
    """What Triton specialises a non-constexpr argument on: ints on 1 / multiple of 16 / 64-bit, not the value."""
    kind = spec[0]
    if kind == "int":
        v = spec[1]
        return ["int", 1 if v == 1 else "i64" if abs(v) >= 2 ** 31 else 16 if v % 16 == 0 else "x"]
    if kind == "float":
        return ["float"]
    if kind == "tuple":
        return ["tuple", [_key_class(s) for s in spec[1]]]
    return spec


def select(records, per_kernel=0):
    """Distinct specialisations; with per_kernel > 0, at most that many per kernel, spread evenly over them."""
    by_kernel, seen = {}, set()
    for rec in records:
        key = json.dumps([rec.get("module"), rec.get("name"), [_key_class(a) for a in rec.get("args", [])],
                          rec.get("kwargs"), rec.get("unrecordable")], sort_keys=True)
        if key not in seen:
            seen.add(key)
            by_kernel.setdefault((rec["module"], rec["name"]), []).append(rec)
    out = []
    for recs in by_kernel.values():
        if per_kernel and len(recs) > per_kernel:
            step = len(recs) / per_kernel
            recs = [recs[int(i * step)] for i in range(per_kernel)]
        out.extend(recs)
    return out


def compile_all(records, arch, progress=0):
    import triton
    from triton.runtime import driver
    driver.set_active(_FakeDriver(arch))
    failures, done, unreachable = [], 0, set()
    seen = set()
    for i, rec in enumerate(records):
        if progress and i and i % progress == 0:   # (long runs: a line now and then, and failures as they come)
            print(f"... {i}/{len(records)} specialisations, {done} compiled, {len(failures)} failed", flush=True)
        if "unrecordable" in rec:
            failures.append((rec["module"], rec["name"], "not recorded", rec["unrecordable"]))
            continue
        try:  # kernels a test file defines, or ones made inside a function, cannot be looked up again
            top = getattr(importlib.import_module(rec["module"]), rec["name"])
        except (ImportError, AttributeError):
            unreachable.add(f"{rec['module']}.{rec['name']}")
            continue
        jit, configs = _unwrap(top)
        if not isinstance(top, triton.runtime.jit.JITFunction):
            configs = configs if configs != [{}] else [{}]
        args = [_value(s) for s in rec["args"]]
        base = {k: _value(v) for k, v in rec["kwargs"].items()}
        for cfg in configs:
            kwargs = {**base, **cfg}
            key = json.dumps([rec["module"], rec["name"], rec["args"], rec["kwargs"], sorted(map(str, cfg.items()))])
            if key in seen:
                continue
            seen.add(key)
            try:
                jit.warmup(*args, grid=(1,), **kwargs)
                done += 1
            except _Stopped:
                done += 1
            except Exception as e:
                const = {k: v for k, v in kwargs.items() if k.isupper() or k in ("num_warps", "num_stages")}
                why = f"{type(e).__name__}: {e}"
                cause = e.__cause__
                if cause is not None:  # the compiler's own message is the cause of its CompilationError
                    why = f"{why}\ncaused by {type(cause).__name__}: {str(cause).splitlines()[-1][-400:]}"
                failures.append((rec["module"], rec["name"], const, why))
                if progress:
                    print(f"FAILED {rec['module']}.{rec['name']} {const}\n    {why.splitlines()[-1]}", flush=True)
    return done, failures, unreachable


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+", help="JSON-lines files written by the record step")
    ap.add_argument("--arch", type=int, default=90, help="compute capability as one number (90: H100)")
    ap.add_argument("--only", default="", help="comma-separated kernel names to compile (default: all)")
    ap.add_argument("--per-kernel", type=int, default=0,
                    help="at most this many distinct specialisations per kernel, spread evenly (default: all)")
    ap.add_argument("--progress", type=int, default=0,
                    help="print a progress line every N specialisations, and each failure as it happens")
    ap.add_argument("--until", default="cubin", choices=["ttir", "ttgir", "llir", "ptx", "cubin"],
                    help="last compiler stage to run (ttir: the front end only, fastest; cubin: through ptxas)")
    args = ap.parse_args(argv)
    os.environ["TRITON_INTERPRET"] = "0"
    records, seen = [], set()
    for path in args.logs:
        with open(path) as f:
            for line in f:
                if line not in seen:
                    seen.add(line)
                    records.append(json.loads(line))
    if args.only:
        names = set(args.only.split(","))
        records = [r for r in records if r["name"] in names]
    records = select(records, args.per_kernel)
    import triton
    _stop_after(args.until)
    print(f"triton {triton.__version__}, sm_{args.arch}, through {args.until}: {len(records)} specialisations",
          flush=True)
    done, failures, unreachable = compile_all(records, args.arch, args.progress)
    if unreachable:
        print(f"not compiled (defined where this tool cannot import it): {', '.join(sorted(unreachable))}")
    for module, name, const, why in failures:
        print(f"FAILED {module}.{name} {const}")
        for line in why.splitlines()[-8:]:  # the failing line, the caret and the message are at the end
            print(f"    {line}")
    print(f"{done} compiled, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
