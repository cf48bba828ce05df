"""The op suite, generated from the registry: every op with a BenchSpec (a user's custom op included, once
registered), on the chosen device, each declared bench dtype, forward and forward+backward, over its sizes.

Per case the row holds the op's time (median, IQR), where the time goes (Python side vs the kernel's own time),
achieved GB/s / TFLOP/s against the calibrated ceilings, NumPy and PyTorch peers with ratio = tritorch / peer,
and (forward, smallest size) the output's error against the op's float64 reference.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np

from .. import dtypes as _dt
from ..ops import registry
from ..tensor import Tensor
from . import peers as _peers
from .calibrate import roofline
from .timer import Timer, uses_gpu_events

FWD, FWD_BWD = "fwd", "fwd+bwd"


# ------------------------------------------------------------------------------------------------ planning

@dataclass
class OpCase:
    op: registry.OpDef
    device: str
    dtype: _dt.dtype
    size: object
    mode: str
    first_size: bool   # the op's smallest selected size: accuracy is measured there

    @property
    def label(self) -> str:
        return f"{self.op.name} {size_label(self.size)} {self.dtype.name} {self.mode} [{self.device}]"


def size_label(size) -> str:
    if isinstance(size, (int, np.integer)):
        return str(int(size))
    if isinstance(size, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in size):
        return "x".join(str(int(s)) for s in size)
    return repr(size).replace(" ", "")


def size_json(size):
    if isinstance(size, (tuple, list)):
        return [size_json(s) for s in size]
    if isinstance(size, np.integer):
        return int(size)
    return size


def matches(patterns: str | None, *names: str) -> bool:
    """--filter: comma-separated globs, each matched against the name, the family and "family/name"."""
    if not patterns:
        return True
    for p in (p.strip() for p in patterns.split(",")):
        if p and any(fnmatch.fnmatchcase(n, p) for n in names if n):
            return True
    return False


def bench_dtypes(op) -> tuple:
    """The bench spec's dtypes that the op accepts (op.dtypes: a family-wide BenchSpec may name more); without
    any, float32 (or the op's first dtype when it takes no float32)."""
    spec = op.bench
    accepted = tuple(d for d in spec.dtypes if d in op.dtypes)
    if accepted:
        return accepted
    return (_dt.float32,) if _dt.float32 in op.dtypes else tuple(op.dtypes[:1])


def select_sizes(op, dtype, max_sizes=None, max_bytes=None, max_flops=None) -> list:
    """The op's sizes under the limits (bytes moved, flops per call), at most `max_sizes`; the smallest size is
    always kept so that every op gets a row."""
    spec = op.bench
    chosen = []
    for i, size in enumerate(spec.sizes):
        nbytes = _safe(spec.bytes, size, dtype)
        flops = _safe(spec.flops, size)
        too_big = (max_bytes is not None and nbytes is not None and nbytes > max_bytes) or \
                  (max_flops is not None and flops is not None and flops > max_flops)
        if i == 0 or not too_big:
            chosen.append(size)
    return chosen[:max_sizes] if max_sizes else chosen


def _safe(fn, *a):
    if fn is None:
        return None
    try:
        v = fn(*a)
    except Exception:  # noqa: BLE001 - a spec without a figure for this size has none
        return None
    return None if v is None else int(v)


def differentiable(op, dtype) -> bool:
    return op.differentiable and op.vjp is not None and dtype.kind == _dt.FLOAT


def plan(device="cpu", pattern=None, dtypes=None, modes=(FWD, FWD_BWD), max_sizes=None, max_bytes=None,
         max_flops=None, largest_first=False) -> list[OpCase]:
    """The cases, breadth first: every op's first dtype at its first size, forward, comes before any op's second
    case, so a run cut short by a time limit still covers every op. `largest_first` takes each op's sizes from
    the largest (on a GPU the large sizes are the interesting ones); accuracy stays at the smallest."""
    keyed = []
    wanted = None if not dtypes else {_dt.as_dtype(d) for d in dtypes}
    for op_i, op in enumerate(registry.ops()):
        if op.bench is None or not matches(pattern, op.name, op.family, f"{op.family}/{op.name}"):
            continue
        for dtype_i, dtype in enumerate(d for d in bench_dtypes(op) if wanted is None or d in wanted):
            sizes = list(op.bench.sizes)
            chosen = select_sizes(op, dtype, None, max_bytes, max_flops)
            if largest_first:
                chosen = chosen[::-1]
            for size_i, size in enumerate(chosen[:max_sizes] if max_sizes else chosen):
                for mode_i, mode in enumerate(modes):
                    if mode == FWD_BWD and not (op.bench.backward and differentiable(op, dtype)):
                        continue
                    case = OpCase(op, str(device), dtype, size, mode, sizes.index(size) == 0)
                    keyed.append(((mode_i, dtype_i, size_i, op_i), case))
    keyed.sort(key=lambda kc: kc[0])
    return [c for _, c in keyed]


# ------------------------------------------------------------------------------------------------ running

def _outputs(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


def _leaves(args, positions=None):
    """Copies of the float tensor args that require grad (lists of tensors too; only those at `positions`, the
    op's differentiable inputs, when given), and the leaves themselves."""
    leaves = []

    def conv(a):
        if isinstance(a, Tensor) and a.dtype.kind == _dt.FLOAT:
            c = a.detach().requires_grad_(True)
            leaves.append(c)
            return c
        if isinstance(a, (list, tuple)) and a and all(isinstance(x, Tensor) for x in a):
            return type(a)(conv(x) for x in a)
        return a

    return [conv(a) if positions is None or i in positions else a for i, a in enumerate(args)], leaves


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        from ..backends import cuda as _cuda
        _cuda.synchronize()


class OpRunner:
    """Runs OpCases with shared settings: Timer budget, calibration (for the roofline), peers."""

    def __init__(self, device="cpu", budget=0.1, warmup=0.02, calibration=None, torch=None, numpy_peer=True,
                 flush_l2=None, min_repeats=5):
        self.device = str(device)
        self.budget = budget
        self.warmup = warmup
        self.calibration = calibration
        self.torch = torch
        self.numpy_peer = numpy_peer and not self.device.startswith("cuda")
        self.flush_l2 = flush_l2
        self.min_repeats = min_repeats
        self._timers = {}

    def timer(self, stream=None, threads=None) -> Timer:
        key = (stream, threads)
        if key not in self._timers:
            self._timers[key] = Timer(self.device, budget=self.budget, warmup=self.warmup, flush_l2=self.flush_l2,
                                      stream=stream, threads=threads, min_repeats=self.min_repeats)
        return self._timers[key]

    def close(self) -> None:
        for t in self._timers.values():
            t.close()
        self._timers.clear()

    def run(self, case: OpCase) -> dict:
        op, spec = case.op, case.op.bench
        row = {"kind": "op", "name": op.name, "family": op.family, "device": case.device, "dtype": case.dtype.name,
               "mode": case.mode, "shape": size_label(case.size), "size": size_json(case.size), "error": None,
               "skipped": None, "peers": {}, "accuracy": None}
        try:
            args, kwargs = spec.make(case.size, case.device, case.dtype)
            if case.mode == FWD:
                self._forward(case, args, kwargs, row)
            else:
                self._forward_backward(case, args, kwargs, row)
        except Exception as e:  # noqa: BLE001 - one failing op is a row with its error, not a failed run
            row["error"] = f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
        finally:
            _sync(case.device)
        return row

    # -------------------------------------------------------------------------------------------- modes

    def _forward(self, case, args, kwargs, row):
        op = case.op
        out = _outputs(op(*args, **kwargs))
        fn = lambda: op(*args, **kwargs)  # noqa: E731
        m = self.timer().measure(fn)
        self._put_measurement(row, m)
        if not uses_gpu_events(case.device):
            # the impl alone (NumPy on cpu, the Triton launcher under the interpreter): the rest is Python dispatch
            meta = op.infer(*args, **kwargs)
            impl = op.impl[meta.device.type]
            k = self.timer().measure(lambda: impl(meta, *args, **kwargs))
            row["kernel"] = k.time.to_json()
            row["python_s"] = max(m.time.median - k.time.median, 0.0)
        nbytes = _safe(op.bench.bytes, case.size, case.dtype)
        flops = _safe(op.bench.flops, case.size)
        row.update({"bytes": nbytes, "flops": flops})
        row.update(roofline(self.calibration, self._roofline_seconds(row), nbytes, flops, case.dtype.name))
        shape = tuple(out[0].shape)
        if self.numpy_peer:
            peer = _peers.numpy_peer(op, args, kwargs, shape)
            if peer is not None:
                self._put_peer(row, "numpy", self.timer().measure(peer))
        if self.torch is not None:
            tp = _peers.torch_peer(op, args, kwargs, case.device, self.torch, expected_shape=shape)
            if tp is not None:
                fn_t, stream = tp
                self._put_peer(row, "torch", self.timer(stream, self._torch_threads()).measure(fn_t))
        if case.first_size:
            row["accuracy"] = accuracy(op, args, kwargs, out, flops)

    def _forward_backward(self, case, args, kwargs, row):
        from ..ops.creation import ones_like
        op = case.op
        largs, leaves = _leaves(args, op.extra.get("grad_inputs"))
        first = _outputs(op(*largs, **kwargs))[0]
        if not leaves or not first.requires_grad:
            row["skipped"] = "no differentiable output for these inputs"
            return
        ones = ones_like(first)

        def fn():
            for t in leaves:
                t.grad = None
            _outputs(op(*largs, **kwargs))[0].backward(ones)

        m = self.timer().measure(fn)
        self._put_measurement(row, m)
        row.update({"bytes": None, "flops": None, "GBps": None, "TFLOPs": None, "roofline": None, "bound": None})
        if self.torch is not None:
            tp = _peers.torch_peer(op, args, kwargs, case.device, self.torch, backward=True,
                                   expected_shape=tuple(first.shape))
            if tp is not None:
                fn_t, stream = tp
                self._put_peer(row, "torch", self.timer(stream, self._torch_threads()).measure(fn_t))

    # -------------------------------------------------------------------------------------------- helpers

    def _torch_threads(self):
        return self.torch.get_num_threads() if self.torch is not None and not self.device.startswith("cuda") else None

    @staticmethod
    def _put_measurement(row, m):
        row.update(m.to_json())
        row["python_s"] = m.host.median if m.host is not None else None

    @staticmethod
    def _roofline_seconds(row):
        k = row.get("kernel")
        return (k or row["time"])["median"]

    @staticmethod
    def _put_peer(row, name, m):
        row["peers"][name] = {"time": m.time.to_json(), "kernel": m.kernel.to_json() if m.kernel else None,
                              "threads": m.threads, "ratio": row["time"]["median"] / m.time.median
                              if m.time.median > 0 else None}


# ------------------------------------------------------------------------------------------------ accuracy

def _numel(x):
    return int(np.prod(x.shape)) if isinstance(x, Tensor) else 0


def _worse(a: dict, b: dict) -> bool:
    if a["tol_ratio"] is None or b["tol_ratio"] is None:
        return b["tol_ratio"] is not None
    return a["tol_ratio"] > b["tol_ratio"]


def accuracy(op, args, kwargs, outs, flops=None) -> dict | None:
    """Float outputs (complex ones part by part) against op.ref in float64: largest absolute and relative error,
    and `tol_ratio`, the largest |error| / (atol + rtol |ref|) under the op's tolerance (<= 1: within tolerance).
    None for ops without a reference or whose result is not a function of the inputs (random ops: two calls
    differ)."""
    from ..testing import _ref_arg, default_tolerance
    if op.ref is None:
        return None
    again = _outputs(op(*args, **kwargs))
    for a, b in zip(outs, again):
        if not np.array_equal(np.asarray(a._host()), np.asarray(b._host()), equal_nan=True):
            return None
    native = op.extra.get("ref_native_inputs", False)
    refs = _outputs(op.ref(*[_ref_arg(a, native) for a in args],
                           **{k: _ref_arg(v, native) for k, v in kwargs.items()}))
    n_in = max([_numel(a) for a in args] + [0])
    result = None
    for o, r in zip(outs, refs):
        if not isinstance(o, Tensor) or o.dtype.kind < _dt.FLOAT:
            continue
        if o.dtype.kind == _dt.COMPLEX:   # each part against the reference's
            got_c = np.asarray(o._host()).astype(np.complex128)
            want_c = np.broadcast_to(np.asarray(r, dtype=np.complex128), got_c.shape)
            got = np.stack([got_c.real, got_c.imag], -1)
            want = np.stack([want_c.real, want_c.imag], -1)
        else:
            got = np.asarray(o._host()).astype(np.float64)
            want = np.broadcast_to(np.asarray(r, dtype=np.float64), got.shape)
        # terms summed into each output element (scales atol as the tests do): input elements per output element
        # for reductions, flops / (2 * outputs) for contractions such as matmul
        reduction = max(1, n_in // max(got.size, 1), (flops or 0) // max(2 * got.size, 1))
        rtol, atol = op.tolerances.get(o.dtype, default_tolerance(o.dtype, reduction))
        finite = np.isfinite(got) & np.isfinite(want)
        special_ok = (np.isnan(got) & np.isnan(want)) | (got == want)
        mismatch = int(np.count_nonzero(~finite & ~special_ok))
        diff = np.abs(got - want)[finite]
        scale = np.abs(want)[finite]
        max_abs = float(diff.max()) if diff.size else 0.0
        max_rel = float((diff / np.maximum(scale, np.finfo(np.float64).tiny)).max()) if diff.size else 0.0
        ratio = float((diff / (atol + rtol * scale)).max()) if diff.size else 0.0
        if mismatch:
            ratio = None  # NaN/inf where the reference is finite (or the reverse): beyond any tolerance
        entry = {"max_abs_err": max_abs, "max_rel_err": max_rel, "tol_ratio": ratio, "rtol": rtol, "atol": atol,
                 "nonfinite_mismatches": mismatch}
        if result is None or _worse(entry, result):
            result = entry
    return result
