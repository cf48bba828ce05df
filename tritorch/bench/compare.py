"""compare BASE NEW: per row, new time / base time and a verdict that holds up on a noisy shared machine.

A row is a regression only when all four hold:
  1. the ratio of medians, after removing the run-wide drift, exceeds 1 + threshold;
  2. the runs' spreads separate: the new median is above the base upper quartile and the new lower quartile
     above the base median (drift removed);
  3. the fastest repeats moved too: new min / base min (drift removed) exceeds the same limit as the medians
     (a neighbour's burst inflates a run's median, rarely its best repeat);
  4. the row's log-ratio stands out of the scatter of all rows' log-ratios by more than NOISE_SIGMAS (3.5) robust
     standard deviations (1.4826 x MAD), so a machine whose timings wander by 20% run to run does not flag 20%.
The run-wide drift is the median log-ratio over all compared rows (a loaded machine slows every row alike);
it is reported and removed when at least MIN_ROWS_FOR_DRIFT rows are compared. Faster rows mirror the rule.

Accuracy: a row drifts when its new error is beyond the op's tolerance (tol_ratio > 1, or NaN/inf where the
reference is finite) and the base was within it (or the error grew more than 2x).
A row that measured in BASE and errors in NEW is "broken". Regressions, drift and broken rows fail the gate.
"""
from __future__ import annotations

import math
import statistics

from .results import measured, row_key

NOISE_SIGMAS = 3.5
MIN_ROWS_FOR_DRIFT = 6

REGRESSION, FASTER, SAME, NOISY, DRIFT, BROKEN, NEW, GONE = (
    "REGRESSION", "faster", "ok", "ok (noise)", "ACCURACY DRIFT", "BROKEN", "new", "missing")
FAILING = (REGRESSION, DRIFT, BROKEN)


def parse_threshold(text) -> float:
    s = str(text).strip()
    if s.endswith("%"):
        return float(s[:-1]) / 100
    v = float(s)
    return v / 100 if v >= 1 else v


def _out_of_tolerance(acc: dict | None) -> bool:
    if not acc:
        return False
    return acc.get("tol_ratio") is None or acc["tol_ratio"] > 1 or acc.get("nonfinite_mismatches", 0) > 0


def accuracy_drift(base_acc: dict | None, new_acc: dict | None) -> bool:
    if not _out_of_tolerance(new_acc):
        return False
    if not _out_of_tolerance(base_acc):
        return True
    b, n = base_acc.get("max_abs_err"), new_acc.get("max_abs_err")
    if new_acc.get("tol_ratio") is None and base_acc.get("tol_ratio") is not None:
        return True
    return b is not None and n is not None and n > 2 * b + 1e-300


def _mad_sigma(values) -> float:
    if len(values) < 3:
        return 0.0
    med = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - med) for v in values)


def compare(base: dict, new: dict, threshold: float = 0.05) -> dict:
    """{'rows': [entry], 'drift': ratio, 'noise': sigma, 'failed': bool}; entry has key, base, new, ratio,
    verdict, reason."""
    base_rows = {row_key(r): r for r in base["rows"]}
    new_rows = {row_key(r): r for r in new["rows"]}
    pairs = [(k, base_rows[k], new_rows[k]) for k in base_rows if k in new_rows
             and measured(base_rows[k]) and measured(new_rows[k])]
    logs = [math.log(n["time"]["median"] / b["time"]["median"]) for _, b, n in pairs
            if b["time"]["median"] > 0 and n["time"]["median"] > 0]
    drift = statistics.median(logs) if len(logs) >= MIN_ROWS_FOR_DRIFT else 0.0
    sigma = _mad_sigma(logs) if len(logs) >= MIN_ROWS_FOR_DRIFT else 0.0
    limit = max(math.log1p(threshold), NOISE_SIGMAS * sigma)
    entries = []
    for key in list(base_rows) + [k for k in new_rows if k not in base_rows]:
        b, n = base_rows.get(key), new_rows.get(key)
        entries.append(_entry(key, b, n, drift, limit))
    return {"rows": entries, "drift": math.exp(drift), "noise": sigma, "limit": math.exp(limit) - 1,
            "threshold": threshold, "failed": any(e["verdict"] in FAILING for e in entries)}


def _entry(key, b, n, drift, limit) -> dict:
    e = {"key": key, "base": None, "new": None, "ratio": None, "verdict": SAME, "reason": ""}
    if b is not None and measured(b):
        e["base"] = b["time"]["median"]
    if n is not None and measured(n):
        e["new"] = n["time"]["median"]
    if b is None:
        e["verdict"] = NEW
        return e
    if n is None:
        e["verdict"], e["reason"] = GONE, "not in the new run"
        return e
    if measured(b) and not measured(n):
        if n.get("skipped"):
            e["verdict"], e["reason"] = GONE, n["skipped"]
        else:
            e["verdict"], e["reason"] = BROKEN, n.get("error") or ""
        return e
    if not measured(b) or not measured(n):
        e["verdict"] = NEW if measured(n) else GONE
        return e
    bt, nt = b["time"], n["time"]
    e["ratio"] = nt["median"] / bt["median"] if bt["median"] > 0 else None
    if accuracy_drift(b.get("accuracy"), n.get("accuracy")):
        acc = n["accuracy"]
        e["verdict"] = DRIFT
        e["reason"] = (f"error {acc.get('max_abs_err'):.3g} is {acc.get('tol_ratio') or 'inf'}x the tolerance "
                       f"(rtol {acc.get('rtol')}, atol {acc.get('atol')})")
        return e
    if e["ratio"] is None or nt["median"] <= 0:
        return e
    shift = math.exp(drift)
    lr = math.log(e["ratio"]) - drift
    # each median lies outside the other run's quartile box (drift removed)
    slower_apart = nt["median"] / shift > bt["q3"] and nt["q1"] / shift > bt["median"]
    faster_apart = nt["median"] / shift < bt["q1"] and nt["q3"] / shift < bt["median"]
    # the fastest repeat (load only ever adds time) must have slowed beyond the limit as well
    min_lr = math.log(nt["min"] / bt["min"]) - drift if bt["min"] > 0 and nt["min"] > 0 else lr
    if lr > limit and slower_apart and min_lr > limit:
        e["verdict"] = REGRESSION
        e["reason"] = f"{math.exp(lr):.2f}x after drift; medians outside each other's IQR"
    elif lr < -limit and faster_apart:
        e["verdict"] = FASTER
    elif abs(lr) > limit:
        e["verdict"], e["reason"] = NOISY, "beyond the threshold but the spreads overlap"
    return e


def _fmt_time(s) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    return f"{s * 1e6:.1f} us"


def table(result: dict, only_changes: bool = False) -> str:
    from tabulate import tabulate
    rows = []
    for e in result["rows"]:
        if only_changes and e["verdict"] in (SAME, NOISY):
            continue
        kind, name, device, dtype, mode, shape = e["key"]
        rows.append([f"{name} ({mode})" if kind == "op" else f"{name} [{mode}]", shape, dtype, device,
                     _fmt_time(e["base"]), _fmt_time(e["new"]),
                     "-" if e["ratio"] is None else f"{e['ratio']:.2f}", e["verdict"], e["reason"]])
    return tabulate(rows, headers=["op/model", "shape", "dtype", "device", "base", "new", "ratio", "verdict", "note"])


def summary(result: dict) -> str:
    counts = {}
    for e in result["rows"]:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    parts = ", ".join(f"{v}: {c}" for v, c in sorted(counts.items()))
    return (f"run-wide drift {result['drift']:.3f}x (removed), row scatter sigma {result['noise']:.3f}, "
            f"effective threshold {result['limit'] * 100:.1f}% (asked {result['threshold'] * 100:.1f}%)\n"
            f"{parts}\n" + ("FAIL: regression, accuracy drift or broken rows" if result["failed"] else "PASS"))
