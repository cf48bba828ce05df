"""The results file: one JSON document per run.

    {"schema": "tritorch.bench/1",
     "env": {...},                       environment stamp (env.stamp)
     "settings": {...},                  how the run was made (suite, device, filter, dtypes, budget, limits)
     "calibration": {...} | null,        ceilings: copy_GBps, matmul_TFLOPs {dtype: rate}
     "rows": [row, ...]}

A row (times in seconds; Stats = {median, q1, q3, iqr, min, mean, n, number}):
    kind "op" | "model", name, family, device, dtype, mode ("fwd", "fwd+bwd", "train_step", "optim_step"),
    shape (label), size (the BenchSpec size as JSON), error (str | null), skipped (str | null),
    time: Stats, host: Stats | null (cuda: call to return), kernel: Stats | null (cuda events; cpu: the impl
    alone), python_s (Python-side seconds per call), timer, threads, flush_l2,
    bytes, flops, GBps, TFLOPs, roofline (fraction of the ceiling), bound ("memory" | "compute"),
    peers: {"numpy" | "torch": {time: Stats, kernel, threads, ratio (= tritorch / peer)}},
    accuracy: {max_abs_err, max_rel_err, tol_ratio (<= 1 within tolerance; null: non-finite mismatch), rtol,
               atol, nonfinite_mismatches} | null
"""
from __future__ import annotations

import json
import math
import os

SCHEMA = "tritorch.bench/1"
STATS_KEYS = ("median", "q1", "q3", "min", "mean", "n")
ROW_KEYS = ("kind", "name", "device", "dtype", "mode", "shape", "error", "skipped", "peers")


class SchemaError(ValueError):
    pass


def row_key(row: dict) -> tuple:
    """What identifies a row across runs."""
    return (row["kind"], row["name"], row["device"], row["dtype"], row["mode"], row["shape"])


def measured(row: dict) -> bool:
    return not row.get("error") and not row.get("skipped") and row.get("time") is not None


def validate(doc: dict) -> dict:
    """Raise SchemaError naming the first problem; return doc."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise SchemaError(f"not a {SCHEMA} results file (schema = {doc.get('schema') if isinstance(doc, dict) else None!r})")
    for key in ("env", "settings", "rows"):
        if key not in doc:
            raise SchemaError(f"results file has no {key!r}")
    seen = set()
    for i, row in enumerate(doc["rows"]):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise SchemaError(f"row {i} lacks {missing}")
        key = row_key(row)
        if key in seen:
            raise SchemaError(f"row {i} repeats {key}")
        seen.add(key)
        if measured(row):
            for name in ("time", "host", "kernel"):
                stats = row.get(name)
                if stats is not None and any(k not in stats for k in STATS_KEYS):
                    raise SchemaError(f"row {i} ({key}): {name} lacks one of {STATS_KEYS}")
    return doc


def make(env: dict, settings: dict, calibration: dict | None, rows: list) -> dict:
    return {"schema": SCHEMA, "env": env, "settings": settings, "calibration": calibration, "rows": rows}


def save(doc: dict, path: str) -> None:
    """Write atomically (a run killed mid-write leaves the previous file)."""
    validate(doc)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(_finite(doc), f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


def _finite(x):
    """Non-finite floats become null (strict JSON has no NaN or Infinity)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def load(path: str) -> dict:
    with open(path) as f:
        return validate(json.load(f))
