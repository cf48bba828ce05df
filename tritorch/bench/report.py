"""report results.json: the run as Markdown or HTML tables (time with its IQR, where the time goes, achieved GB/s
and TFLOP/s with the roofline fraction, peer ratios, accuracy), plus plots of time vs size per op and peer and a
roofline chart when matplotlib is installed (`pip install tritorch[bench]`)."""
from __future__ import annotations

import html
import os
from collections import defaultdict

from .compare import _fmt_time
from .results import measured


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt=".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _ratio(row, peer) -> str:
    p = row.get("peers", {}).get(peer)
    return "-" if not p or p.get("ratio") is None else f"{p['ratio']:.2f}"


def _acc(row) -> str:
    a = row.get("accuracy")
    if not a:
        return "-"
    return "NaN/inf mismatch" if a.get("tol_ratio") is None else f"{a['tol_ratio']:.2g}"


def _time(row) -> str:
    t = row["time"]
    return f"{_fmt_time(t['median'])} ± {_fmt_time(t['q3'] - t['q1'])}"


def _python_share(row) -> str:
    py, t = row.get("python_s"), row["time"]["median"]
    return "-" if py is None or t <= 0 else _pct(min(py / t, 1.0))


OP_HEADERS = ["op", "shape", "dtype", "mode", "time (median ± IQR)", "python", "kernel", "GB/s", "TFLOP/s",
              "roofline", "x numpy", "x torch", "err/tol"]
MODEL_HEADERS = ["model", "step", "shape", "time (median ± IQR)", "python", "samples/s", "x torch"]


def tables(doc: dict) -> dict:
    """{'ops': rows, 'models': rows, 'problems': rows} of strings for the report's tables."""
    ops, models, problems = [], [], []
    for r in doc["rows"]:
        if not measured(r):
            problems.append([r["name"], r["shape"], r["dtype"], r["mode"],
                             "skipped: " + r["skipped"] if r.get("skipped") else "error: " + (r.get("error") or "")])
            continue
        if r["kind"] == "op":
            k = r.get("kernel")
            ops.append([r["name"], r["shape"], r["dtype"], r["mode"], _time(r), _python_share(r),
                        _fmt_time(k["median"]) if k else "-", _num(r.get("GBps"), ".1f"),
                        _num(r.get("TFLOPs"), ".3f"), _pct(r.get("roofline")), _ratio(r, "numpy"),
                        _ratio(r, "torch"), _acc(r)])
        else:
            models.append([r["name"], r["mode"], r["shape"], _time(r), _python_share(r),
                           _num(r.get("samples_per_s"), ".1f"), _ratio(r, "torch")])
    return {"ops": ops, "models": models, "problems": problems}


def _header_lines(doc: dict) -> list[str]:
    env, s, cal = doc["env"], doc["settings"], doc.get("calibration") or {}
    dev = env.get("gpu") if str(s.get("device", "cpu")).startswith("cuda") else env.get("cpu")
    lines = [f"device: {s.get('device')} ({dev}); cpu: {env.get('cpu')} x{env.get('cpu_threads')} threads",
             f"python {env.get('python')}, numpy {env.get('numpy')}, triton {env.get('triton')}, "
             f"tritorch {env.get('tritorch')}, torch {env.get('torch')}; commit {str(env.get('git_commit'))[:12]}"
             f"{' (dirty)' if env.get('git_dirty') else ''}; {env.get('created')}",
             f"suite {s.get('suite')}, budget {s.get('budget')} s per case, filter {s.get('filter')!r}, "
             f"load average at start {env.get('load_average')}"]
    if cal:
        rates = ", ".join(f"{k} {v:.3g}" for k, v in (cal.get("matmul_TFLOPs") or {}).items() if v)
        lines.append(f"ceilings: copy {cal.get('copy_GBps', 0):.1f} GB/s; matmul TFLOP/s {rates} ({cal.get('method')})")
    lines.append("ratios are tritorch / peer (below 1: tritorch is faster); python = share of the time spent on the "
                 "Python side (dispatch, launch); roofline = time the bytes/flops need at the ceilings / time taken; "
                 "err/tol = largest error / tolerance vs the float64 reference (<= 1 is within tolerance)")
    return lines


def markdown(doc: dict, plots: list[str] = ()) -> str:
    from tabulate import tabulate
    t = tables(doc)
    out = ["# tritorch benchmark report", ""] + [f"- {line}" for line in _header_lines(doc)] + [""]
    if t["ops"]:
        out += ["## Ops", "", tabulate(t["ops"], headers=OP_HEADERS, tablefmt="github"), ""]
    if t["models"]:
        out += ["## Models", "", tabulate(t["models"], headers=MODEL_HEADERS, tablefmt="github"), ""]
    if t["problems"]:
        out += ["## Skipped and failed", "",
                tabulate(t["problems"], headers=["name", "shape", "dtype", "mode", "why"], tablefmt="github"), ""]
    if plots:
        out += ["## Plots", ""] + [f"![{os.path.basename(p)}]({p})" for p in plots] + [""]
    return "\n".join(out)


def html_report(doc: dict, plots: list[str] = ()) -> str:
    from tabulate import tabulate
    t = tables(doc)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>tritorch benchmark report</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>",
             "<h1>tritorch benchmark report</h1><ul>"]
    parts += [f"<li>{html.escape(line)}</li>" for line in _header_lines(doc)] + ["</ul>"]
    for title, key, headers in (("Ops", "ops", OP_HEADERS), ("Models", "models", MODEL_HEADERS),
                                ("Skipped and failed", "problems", ["name", "shape", "dtype", "mode", "why"])):
        if t[key]:
            parts += [f"<h2>{title}</h2>", tabulate(t[key], headers=headers, tablefmt="html")]
    if plots:
        parts.append("<h2>Plots</h2>")
        parts += [f"<img src='{html.escape(p)}' style='max-width:45%'>" for p in plots]
    parts.append("</body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------ plots

def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _numel_key(row):
    """Order sizes by bytes moved (or flops), falling back to the order they appear in."""
    return row.get("bytes") or row.get("flops") or 0


def plot(doc: dict, directory: str, max_ops: int | None = None) -> list[str]:
    """PNG files: time vs size per op (tritorch and each peer, per dtype, forward) and one roofline chart.
    Returns the paths (relative to `directory`'s parent) or [] without matplotlib."""
    if not have_matplotlib():
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(directory, exist_ok=True)
    by_op = defaultdict(list)
    for r in doc["rows"]:
        if r["kind"] == "op" and r["mode"] == "fwd" and measured(r):
            by_op[r["name"]].append(r)
    paths = []
    for name, rows in list(by_op.items())[:max_ops]:
        if len({r["shape"] for r in rows}) < 2:
            continue  # one size: the tables say it all
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for dtype in sorted({r["dtype"] for r in rows}):
            rs = sorted((r for r in rows if r["dtype"] == dtype), key=_numel_key)
            xs = list(range(len(rs)))
            ax.plot(xs, [r["time"]["median"] for r in rs], "o-", label=f"tritorch {dtype}")
            for peer in ("numpy", "torch"):
                pts = [(x, r["peers"][peer]["time"]["median"]) for x, r in zip(xs, rs)
                       if r["peers"].get(peer, {}).get("time")]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], "x--", label=f"{peer} {dtype}")
            ax.set_xticks(xs, [r["shape"] for r in rs], rotation=20, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("seconds per call")
        ax.set_title(f"{name} ({rows[0]['device']})")
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = os.path.join(directory, f"{name}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    roof = _roofline_plot(doc, directory, plt)
    return ([roof] if roof else []) + paths


def _roofline_plot(doc, directory, plt):
    cal = doc.get("calibration")
    pts = [r for r in doc["rows"] if measured(r) and r.get("bytes") and r.get("flops") and r["kind"] == "op"]
    if not cal or not pts:
        return None
    import numpy as np
    fig, ax = plt.subplots(figsize=(6, 4))
    intensity = np.array([r["flops"] / r["bytes"] for r in pts])
    achieved = np.array([r["flops"] / (r.get("kernel") or r["time"])["median"] / 1e12 for r in pts])
    ax.scatter(intensity, achieved, s=8)
    xs = np.logspace(np.log10(intensity.min() / 2), np.log10(intensity.max() * 2), 100)
    for dtype, rate in (cal.get("matmul_TFLOPs") or {}).items():
        if rate:
            ax.plot(xs, np.minimum(xs * cal["copy_GBps"] / 1e3, rate), "--", label=f"ceiling {dtype}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("flops / byte")
    ax.set_ylabel("TFLOP/s achieved")
    ax.set_title(f"roofline ({doc['settings'].get('device')})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(directory, "roofline.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write(doc: dict, out_path: str, fmt: str = "md", plots: bool = True) -> tuple[str, list[str]]:
    """Write the report (and its plots in <out>_plots/); returns (path, plot paths)."""
    base = os.path.splitext(out_path)[0]
    files = plot(doc, base + "_plots") if plots else []
    rel = [os.path.relpath(p, os.path.dirname(os.path.abspath(out_path)) or ".") for p in files]
    text = html_report(doc, rel) if fmt == "html" else markdown(doc, rel)
    with open(out_path, "w") as f:
        f.write(text)
    return out_path, files
