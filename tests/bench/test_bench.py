"""tritorch.bench: Timer statistics, compare verdicts, the results schema, the CLI end to end on a tiny suite."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import tritorch as tt
from tritorch.bench import Stats, Timer, summarize
from tritorch.bench import calibrate, cli, compare, models, ops_suite, results
from tritorch.ops import registry


# ------------------------------------------------------------------------------------------------ Timer

class FakeClock:
    """A clock that advances only when the timed function 'runs' for its next synthetic duration."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = iter(durations)

    def __call__(self):
        return self.now

    def fn(self):
        self.now += next(self.durations)


def test_summarize_known_quartiles():
    s = summarize([9, 1, 5, 3, 7, 2, 8, 4, 6])
    assert (s.median, s.q1, s.q3, s.iqr, s.min, s.n) == (5, 3, 7, 4, 1, 9)
    assert s.rel_iqr == pytest.approx(0.8)
    assert Stats.from_json(s.to_json()) == s


def test_timer_statistics_on_synthetic_timings():
    rng = np.random.default_rng(0)
    timed = list(rng.lognormal(np.log(1e-3), 0.1, size=40))
    timed[7] = 0.5  # one outlier (a neighbour's burst) must not move the median
    clock = FakeClock([5.0, 1e-3] + timed)  # first call (compile), one warm-up call, then the repeats
    m = Timer("cpu", budget=1e9, warmup=0.0, number=1, min_repeats=5, max_repeats=len(timed),
              clock=clock).measure(clock.fn)
    expect = summarize(timed)
    assert m.time.n == 40 and m.time.number == 1
    assert m.time.median == pytest.approx(expect.median) and m.time.iqr == pytest.approx(expect.iqr)
    assert m.time.median == pytest.approx(1e-3, rel=0.1)
    assert m.timer == "perf_counter" and m.threads >= 1 and m.kernel is None


def test_timer_batches_fast_calls_and_stops_at_budget():
    clock = FakeClock([1e-6] * 100_000)
    m = Timer("cpu", budget=0.01, warmup=1e-4, min_repeat_time=1e-4, clock=clock).measure(clock.fn)
    assert m.time.number in (100, 101)               # ~100 calls of 1 us fill a 100 us repeat
    assert m.time.median == pytest.approx(1e-6)
    assert 95 <= m.time.n <= 105                     # 10 ms budget / ~100 us per repeat


def test_timer_real_call():
    x = tt.ones(64)
    m = Timer("cpu", budget=0.01, warmup=0.0, min_repeats=3).measure(lambda: x + x)
    assert m.time.n >= 3 and 0 < m.time.q1 <= m.time.median <= m.time.q3


# ------------------------------------------------------------------------------------------------ compare

def _row(name, median, rel_spread=0.05, tol_ratio=0.1, n=20):
    q1, q3 = median * (1 - rel_spread), median * (1 + rel_spread)
    return {"kind": "op", "name": name, "family": "t", "device": "cpu", "dtype": "float32", "mode": "fwd",
            "shape": "65536", "error": None, "skipped": None, "peers": {},
            "time": {"median": median, "q1": q1, "q3": q3, "min": q1, "mean": median, "n": n, "number": 1},
            "accuracy": {"max_abs_err": 1e-7 * tol_ratio, "max_rel_err": 1e-7, "tol_ratio": tol_ratio,
                         "rtol": 1.3e-6, "atol": 1e-5, "nonfinite_mismatches": 0}}


def _doc(rows):
    return results.make({"cpu": "test"}, {"device": "cpu"}, None, rows)


def _noisy_suite(seed, n_ops=30):
    """The same code measured on a loaded machine: every row wanders by up to ~25%, the whole run drifts."""
    rng = np.random.default_rng(seed)
    drift = rng.uniform(0.8, 1.25)
    base_times = np.geomspace(2e-6, 5e-2, n_ops)
    spreads = np.random.default_rng(42).uniform(0.02, 0.2, n_ops)  # each op has its own typical spread
    return _doc([_row(f"op{i}", t * drift * rng.lognormal(0, 0.08), rel_spread=s)
                 for i, (t, s) in enumerate(zip(base_times, spreads))])


def test_compare_identical_code_gives_no_regression():
    for seed in range(20):
        res = compare.compare(_noisy_suite(seed), _noisy_suite(seed + 100), threshold=0.05)
        assert not res["failed"], compare.table(res, only_changes=True)
    same = _noisy_suite(1)
    res = compare.compare(same, copy.deepcopy(same))
    assert not res["failed"] and {e["verdict"] for e in res["rows"]} == {compare.SAME}


def test_compare_flags_injected_2x_slowdown():
    for seed in range(20):
        base, new = _noisy_suite(seed), _noisy_suite(seed + 100)
        slow = new["rows"][11]
        for k in ("median", "q1", "q3", "min", "mean"):
            slow["time"][k] *= 2
        res = compare.compare(base, new, threshold=0.05)
        flagged = [e["key"][1] for e in res["rows"] if e["verdict"] == compare.REGRESSION]
        assert flagged == ["op11"], compare.table(res, only_changes=True)
        assert res["failed"]


def test_compare_flags_accuracy_drift_and_broken_rows():
    base = _doc([_row("a", 1e-3), _row("b", 1e-3), _row("c", 1e-3, tol_ratio=3.0)])
    new = copy.deepcopy(base)
    new["rows"][0]["accuracy"].update(tol_ratio=4.0, max_abs_err=4e-5)   # beyond tolerance, was within
    new["rows"][1].update(error="RuntimeError: boom")                    # measured before, errors now
    res = compare.compare(base, new)
    verdicts = {e["key"][1]: e["verdict"] for e in res["rows"]}
    assert verdicts == {"a": compare.DRIFT, "b": compare.BROKEN, "c": compare.SAME}  # c: out before and now alike
    assert res["failed"]
    new["rows"][0]["accuracy"].update(tol_ratio=None, nonfinite_mismatches=3)
    assert compare.accuracy_drift(base["rows"][0]["accuracy"], new["rows"][0]["accuracy"])


def test_parse_threshold():
    assert compare.parse_threshold("5%") == pytest.approx(0.05)
    assert compare.parse_threshold("0.1") == pytest.approx(0.1)
    assert compare.parse_threshold("10") == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------------ suites

def test_roofline_fraction():
    cal = {"copy_GBps": 10.0, "copy_GBps_by_bytes": {"1000000": 40.0, "100000000": 10.0},
           "matmul_TFLOPs": {"float32": 1.0}}
    r = calibrate.roofline(cal, 1e-3, nbytes=5e6, flops=1e6, dtype_name="float32")
    assert r["GBps"] == pytest.approx(5.0) and r["bound"] == "memory"
    assert r["roofline"] == pytest.approx(0.5)          # 5 MB at 10 GB/s = 0.5 ms of 1 ms
    r = calibrate.roofline(cal, 1e-3, nbytes=1e3, flops=5e8, dtype_name="float16")  # fp16 falls back to fp32 rate
    assert r["bound"] == "compute" and r["roofline"] == pytest.approx(0.5)


def test_custom_op_appears_in_the_suite():
    from tritorch.ops.registry import BenchSpec, Meta, OpDef

    def infer(x):
        return Meta(tuple(x.shape), x.dtype, x.device)

    op = OpDef(name="bench_test_double", family="custom", infer=infer,
               impl={"cpu": lambda meta, x: x._data * 2, "cuda": lambda meta, x: x._data},
               ref=lambda x: x * 2, differentiable=False,
               bench=BenchSpec(sizes=(8, 1 << 30), make=lambda n, d, t: ((tt.ones(n, dtype=t),), {}),
                               bytes=lambda n, t: 2 * n * t.itemsize, flops=lambda n: n))
    registry.register(op)
    try:
        cases = ops_suite.plan("cpu", "bench_test_*", max_bytes=1e6)
        assert [(c.op.name, c.size, c.mode) for c in cases] == [("bench_test_double", 8, "fwd")]
        row = ops_suite.OpRunner("cpu", budget=0.002, warmup=0.0, min_repeats=3).run(cases[0])
        assert row["error"] is None and row["accuracy"]["tol_ratio"] == 0.0
        assert row["peers"] == {} and row["bytes"] == 64 and row["python_s"] >= 0
    finally:
        registry.unregister("bench_test_double")


def test_every_builtin_op_has_a_bench_spec_and_a_reference():
    # registering an op is all it takes for it to be benchmarked and checked against float64: a built-in op
    # without a BenchSpec would be missing from the op suite, one without a ref from the reference tests
    builtin = [op for op in registry.ops() if op.infer.__module__.startswith("tritorch.")]
    assert len(builtin) > 200
    assert [op.name for op in builtin if op.bench is None] == []
    assert [op.name for op in builtin if op.ref is None] == []


def test_backward_op_is_timed_forward_only():
    modes = {(c.op.name, c.mode) for c in ops_suite.plan("cpu", "scaled_dot_product_attention*", max_sizes=1)}
    assert ("scaled_dot_product_attention", "fwd+bwd") in modes
    assert ("scaled_dot_product_attention_backward", "fwd") in modes
    assert ("scaled_dot_product_attention_backward", "fwd+bwd") not in modes


def test_bit_reinterpreting_reference_gets_the_bits():
    # view_dtype's reference needs its input in its own dtype (op.extra["ref_native_inputs"]), not as float64
    case = ops_suite.plan("cpu", "view_dtype", modes=("fwd",))[0]
    row = ops_suite.OpRunner("cpu", budget=0.002, warmup=0.0, min_repeats=3).run(case)
    assert row["error"] is None and row["accuracy"]["tol_ratio"] == 0.0


def test_model_missing_piece_is_a_clear_skip():
    def build(lib, device):
        return lib.nn.NoSuchLayer(3)

    row = models.ModelRunner("cpu", budget=0.01).run(models.ModelCase("fake", "train_step", "x", 1, build))
    assert row["skipped"].startswith("fake: tritorch lacks a piece it needs (AttributeError")
    assert {c.name for c in models.plan("cpu")} == {"mlp", "cnn", "gpt", "adamw", "sgd_momentum"}


# ------------------------------------------------------------------------------------------------ CLI + schema

TINY = ["run", "--suite", "ops", "--filter", "add,mul,sub", "--dtype", "float32", "--mode", "fwd",
        "--max-sizes", "1", "--budget", "0.01", "--warmup", "0.002", "--min-repeats", "9", "--no-calibrate",
        "--no-torch", "--no-progress"]


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    doc = results.load(str(out))                                   # schema round trip
    assert sorted((r["name"], r["mode"]) for r in doc["rows"]) == [("add", "fwd"), ("mul", "fwd"), ("sub", "fwd")]
    for r in doc["rows"]:
        assert r["error"] is None and r["time"]["n"] >= 3 and r["peers"]["numpy"]["ratio"] > 0
        assert r["accuracy"]["tol_ratio"] <= 1 and r["GBps"] > 0
    assert doc["env"]["tritorch"] == tt.__version__ and doc["env"]["numpy"] == np.__version__
    again = tmp_path / "again.json"
    results.save(doc, str(again))
    assert json.loads(again.read_text()) == json.loads(out.read_text())

    assert cli.main(["compare", str(out), str(out)]) == 0
    slow = copy.deepcopy(doc)
    mul = next(r for r in slow["rows"] if r["name"] == "mul")
    for k in ("median", "q1", "q3", "min", "mean"):
        mul["time"][k] *= 2
    results.save(slow, str(tmp_path / "slow.json"))
    assert cli.main(["compare", str(out), str(tmp_path / "slow.json"), "--threshold", "5%"]) == 1
    table = capsys.readouterr().out
    assert "REGRESSION" in table and "mul (fwd)" in table

    assert cli.main(["report", str(out), "--format", "md", "--no-plots"]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "| add" in md and "roofline" in md
    assert cli.main(["report", str(out), "--format", "html", "--no-plots"]) == 0
    assert "<table>" in (tmp_path / "r.html").read_text()


def test_schema_rejects_bad_files(tmp_path):
    with pytest.raises(results.SchemaError):
        results.validate({"schema": "other"})
    doc = _doc([_row("a", 1e-3), _row("a", 1e-3)])
    with pytest.raises(results.SchemaError, match="repeats"):
        results.validate(doc)
    doc = _doc([_row("a", 1e-3)])
    del doc["rows"][0]["time"]["q3"]
    with pytest.raises(results.SchemaError, match="time lacks"):
        results.validate(doc)


def test_stored_cpu_baseline_is_valid():
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "perf", "baselines", "cpu-2core.json")
    doc = results.load(path)
    assert doc["settings"]["device"] == "cpu" and len(doc["rows"]) > 100
