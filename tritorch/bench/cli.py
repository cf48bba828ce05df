"""python -m tritorch.bench {run, compare, report}

  run     [--suite ops|models|all] [--device cpu|cuda] [--filter PATTERN] [--dtype D ...] [--budget SECONDS]
          [--profile FILE:NAME] --out results.json
  compare BASE.json NEW.json [--threshold 5%]          exits 1 on a regression, accuracy drift or broken row
  report  results.json [--format md|html] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

RUN_DEFAULTS = dict(suite="all", device="cpu", filter=None, dtype=None, budget=0.1, warmup=None, mode="both",
                    max_sizes=None, max_bytes=None, max_flops=None, peers=True, torch=True, torch_threads=None,
                    calibrate=True, flush_l2=None, time_limit=None, min_repeats=5, model_budget=None,
                    largest_first=False, model_batch=None)


def _profile(spec: str) -> dict:
    """--profile FILE:NAME (or FILE with one profile): run settings from a suites file such as perf/suites.json."""
    path, _, name = spec.partition(":")
    with open(path) as f:
        profiles = json.load(f)["profiles"]
    if not name:
        if len(profiles) != 1:
            raise SystemExit(f"--profile {spec}: name one of {sorted(profiles)}")
        name = next(iter(profiles))
    if name not in profiles:
        raise SystemExit(f"--profile {spec}: no profile {name!r} (have {sorted(profiles)})")
    settings = dict(profiles[name])
    settings.pop("description", None)
    unknown = set(settings) - set(RUN_DEFAULTS)
    if unknown:
        raise SystemExit(f"--profile {spec}: unknown settings {sorted(unknown)}")
    return settings


def _dtypes(values):
    if not values:
        return None
    out = []
    for v in values:
        out += [d.strip() for d in v.split(",") if d.strip()]
    return out or None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tritorch.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="measure the op and/or model suites and write a results JSON")
    r.add_argument("--profile", help="FILE:NAME of run settings (e.g. perf/suites.json:cpu-2core); flags override")
    r.add_argument("--suite", choices=["ops", "models", "all"])
    r.add_argument("--device", choices=["cpu", "cuda"])
    r.add_argument("--filter", help="comma-separated globs over op/model names and families (add,exp,binary/*)")
    r.add_argument("--dtype", action="append", help="only these dtypes (repeat or comma-separate)")
    r.add_argument("--budget", type=float, help="seconds of timed repeats per case (default 0.1)")
    r.add_argument("--model-budget", type=float, help="seconds per model case (default 5x --budget)")
    r.add_argument("--model-batch", type=int, help="batch size of every model's training step (default: the "
                   "model's own: 64 / 32 / 8)")
    r.add_argument("--warmup", type=float, help="seconds of warm-up per case (default budget / 5)")
    r.add_argument("--min-repeats", type=int)
    r.add_argument("--mode", choices=["fwd", "fwd+bwd", "both"])
    r.add_argument("--max-sizes", type=int, help="at most this many sizes per op (smallest first)")
    r.add_argument("--max-bytes", type=float, help="skip sizes moving more bytes (the smallest size always runs)")
    r.add_argument("--max-flops", type=float, help="skip sizes doing more flops (the smallest size always runs)")
    r.add_argument("--no-peers", dest="peers", action="store_false", default=None, help="no NumPy/PyTorch peers")
    r.add_argument("--no-torch", dest="torch", action="store_false", default=None, help="no PyTorch peer")
    r.add_argument("--torch-threads", type=int, help="torch.set_num_threads for the cpu peer")
    r.add_argument("--no-calibrate", dest="calibrate", action="store_false", default=None)
    r.add_argument("--flush-l2", dest="flush_l2", action="store_true", default=None)
    r.add_argument("--no-flush-l2", dest="flush_l2", action="store_false")
    r.add_argument("--largest-first", action="store_true", default=None,
                   help="take each op's sizes from the largest (with --max-sizes: the largest ones)")
    r.add_argument("--time-limit", type=float, help="stop starting cases after this many seconds (rows left "
                   "unmeasured are marked skipped)")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare", help="compare two results files; exit 1 on a regression or accuracy drift")
    c.add_argument("base")
    c.add_argument("new")
    c.add_argument("--threshold", default="5%")
    c.add_argument("--changes", action="store_true", help="list only rows whose verdict is not ok")
    p = sub.add_parser("report", help="write a Markdown or HTML report (plots with matplotlib)")
    p.add_argument("results")
    p.add_argument("--format", choices=["md", "html"], default="md")
    p.add_argument("--out", help="report path (default: next to the results, .md/.html)")
    p.add_argument("--no-plots", action="store_true")
    return ap


def _settings(args) -> dict:
    s = dict(RUN_DEFAULTS)
    if args.profile:
        s.update(_profile(args.profile))
    for k in RUN_DEFAULTS:
        v = getattr(args, k, None)
        if v is not None:
            s[k] = v
    s["dtype"] = _dtypes([s["dtype"]] if isinstance(s["dtype"], str) else s["dtype"])
    if s["warmup"] is None:
        s["warmup"] = s["budget"] / 5
    if s["model_budget"] is None:
        s["model_budget"] = 5 * s["budget"]
    s["profile"] = args.profile
    return s


class _Stop(BaseException):  # not an Exception: the per-case handlers must not swallow it
    pass


def _on_term(signum, frame):
    raise _Stop(f"signal {signum}")


def cmd_run(args) -> int:
    s = _settings(args)
    started = time.perf_counter()  # --time-limit counts from here: calibration and compiles use it up too
    old = signal.signal(signal.SIGTERM, _on_term)  # `timeout` sends SIGTERM: the rows so far are still written
    try:
        return _run(args, s, started)
    finally:
        signal.signal(signal.SIGTERM, old)


def _run(args, s, started) -> int:
    import tritorch  # noqa: F401 - registers every op (and a user's, if their module is imported by sitecustomize)
    from . import calibrate, env, models, ops_suite, peers, results
    torch = peers.import_torch() if s["peers"] and s["torch"] else None
    if torch is not None and s["torch_threads"] and s["device"] == "cpu":
        torch.set_num_threads(int(s["torch_threads"]))
    modes = {"fwd": (ops_suite.FWD,), "fwd+bwd": (ops_suite.FWD_BWD,), "both": (ops_suite.FWD, ops_suite.FWD_BWD)}
    op_cases = ops_suite.plan(s["device"], s["filter"], s["dtype"], modes[s["mode"]], s["max_sizes"],
                              s["max_bytes"], s["max_flops"], s["largest_first"]) if s["suite"] in ("ops", "all") else []
    model_cases = models.plan(s["device"], s["filter"], s["model_batch"]) if s["suite"] in ("models", "all") else []
    if not op_cases and not model_cases:
        print(f"no cases match --filter {s['filter']!r} / --dtype {s['dtype']}", file=sys.stderr)
        return 2
    stamp = env.stamp(s["device"], torch)
    cal = None
    try:
        cal = calibrate.calibrate(s["device"], max(s["budget"], 0.05), torch) if s["calibrate"] else None
    except _Stop:
        results.save(results.make(stamp, dict(s, stopped="interrupted during calibration"), None, []), args.out)
        raise SystemExit(f"interrupted during calibration; empty results -> {args.out}")
    except Exception as e:  # noqa: BLE001 - without ceilings the rows still have times, GB/s and peers
        s["calibration_error"] = f"{e.__class__.__name__}: {e}"[:300]
        print(f"calibration failed, rows get no roofline fraction: {s['calibration_error']}", file=sys.stderr)
    op_runner = ops_suite.OpRunner(s["device"], s["budget"], s["warmup"], cal, torch, numpy_peer=s["peers"],
                                   flush_l2=s["flush_l2"], min_repeats=s["min_repeats"])
    model_runner = models.ModelRunner(s["device"], s["model_budget"], s["warmup"], torch, s["min_repeats"])
    # models first: a handful of cases that a time limit must not cut
    work = [(model_runner, c) for c in model_cases] + [(op_runner, c) for c in op_cases]
    rows = []
    bar = _progress(len(work), args.no_progress)
    stopped = None
    try:
        for runner, case in work:
            if stopped is None and s["time_limit"] and time.perf_counter() - started > s["time_limit"]:
                stopped = f"time limit {s['time_limit']} s reached"
            if stopped is not None:
                rows.append(_unrun(case, stopped))
                continue
            bar.set_description(case.label[:60])
            rows.append(runner.run(case))
            bar.update(1)
    except (KeyboardInterrupt, _Stop) as e:
        stopped = f"interrupted ({e.__class__.__name__} {e})"
        done = len(rows)
        rows += [_unrun(case, stopped) for _, case in work[done:]]
    finally:
        bar.close()
        op_runner.close()
    s["elapsed_s"] = time.perf_counter() - started
    s["stopped"] = stopped
    doc = results.make(stamp, s, cal, rows)
    results.save(doc, args.out)
    n_ok = sum(results.measured(r) for r in rows)
    print(f"{n_ok}/{len(rows)} cases measured in {s['elapsed_s']:.1f} s -> {args.out}"
          + (f" ({stopped})" if stopped else ""))
    for r in rows:
        if r.get("error"):
            print(f"  error: {r['name']} {r['shape']} {r['dtype']} {r['mode']}: {r['error']}")
        elif r.get("skipped") and r["kind"] == "model":
            print(f"  skipped: {r['skipped']}")
    return 0


def _unrun(case, why: str) -> dict:
    from .ops_suite import OpCase, size_json, size_label
    if isinstance(case, OpCase):
        return {"kind": "op", "name": case.op.name, "family": case.op.family, "device": case.device,
                "dtype": case.dtype.name, "mode": case.mode, "shape": size_label(case.size),
                "size": size_json(case.size), "error": None, "skipped": why, "peers": {}, "accuracy": None}
    return {"kind": "model", "name": case.name, "family": "models", "device": case.device, "dtype": case.dtype,
            "mode": case.mode, "shape": case.shape, "size": case.samples, "error": None, "skipped": why,
            "peers": {}, "accuracy": None}


def _progress(total: int, disabled: bool):
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None or disabled:
        class _Null:
            def set_description(self, *_a):
                pass

            def update(self, *_a):
                pass

            def close(self):
                pass
        return _Null()
    return tqdm(total=total, unit="case", dynamic_ncols=True, mininterval=1.0)


def cmd_compare(args) -> int:
    from . import compare, results
    base, new = results.load(args.base), results.load(args.new)
    res = compare.compare(base, new, compare.parse_threshold(args.threshold))
    print(compare.table(res, only_changes=args.changes))
    print(compare.summary(res))
    return 1 if res["failed"] else 0


def cmd_report(args) -> int:
    from . import report, results
    doc = results.load(args.results)
    out = args.out or os.path.splitext(args.results)[0] + (".html" if args.format == "html" else ".md")
    path, plots = report.write(doc, out, args.format, plots=not args.no_plots)
    note = f" with {len(plots)} plots" if plots else (" (no plots: matplotlib is not installed)"
                                                       if not args.no_plots and not report.have_matplotlib() else "")
    print(f"report -> {path}{note}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return {"run": cmd_run, "compare": cmd_compare, "report": cmd_report}[args.command](args)
