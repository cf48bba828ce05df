"""tritorch.utils.benchmark: Timer's measurements (counts, statistics, threads, globals, callables), Measurement's
repr and merge, Compare's table; the names against torch.utils.benchmark."""
import pytest

import tritorch as tt
from tritorch.utils import benchmark


def test_timer_runs_the_statement_in_its_namespace():
    calls = []
    t = benchmark.Timer(stmt="calls.append(torch.ones(2).sum().item())", globals={"calls": calls},
                        label="sum", sub_label="2", description="ones")
    m = t.timeit(number=7)
    assert len(calls) == 8 and calls[0] == 2.0        # one warm-up run, then the block of 7
    assert m.number_per_run == 7 and len(m.times) == 1 and m.median == m.mean == m.times[0] > 0 and m.iqr == 0
    assert m.title == "sum: 2" and m.description == "ones" and m.num_threads == 1
    assert "sum: 2\nones\n" in repr(m) and "1 measurement, 7 runs , 1 thread" in repr(m)


def test_blocked_and_adaptive_autorange():
    seen = []
    t = benchmark.Timer("x + 1", setup="x = 3")
    m = t.blocked_autorange(callback=lambda number, time: seen.append(number), min_run_time=0.05)
    assert len(m.raw_times) >= 2 and sum(m.raw_times) >= 0.05 and set(seen) == {m.number_per_run}
    assert m.times == [r / m.number_per_run for r in m.raw_times]
    assert "Median:" in repr(m) and "runs per measurement" in repr(m)
    a = t.adaptive_autorange(threshold=0.5, min_run_time=0.02, max_run_time=2.0)
    assert len(a.raw_times) >= 3 and sum(a.raw_times) >= 0.02
    assert 1 <= a.significant_figures <= 4
    r = benchmark.Timer(lambda: sum(range(10))).autorange()
    assert r.number_per_run >= 1 and r.raw_times[0] >= 0.2
    with pytest.raises(NotImplementedError):
        t.repeat()


def test_num_threads_is_set_while_measuring():
    seen = []
    before = tt.get_num_threads()
    benchmark.Timer("seen.append(torch.get_num_threads())", globals={"seen": seen}, num_threads=1).timeit(3)
    assert set(seen) == {1} and tt.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        benchmark.Timer("pass", num_threads=0)
    with pytest.raises(ValueError, match="Python statements only"):
        benchmark.Timer("pass", language=benchmark.Language.CPP)


def test_measurement_statistics_and_warnings():
    spec = benchmark.TaskSpec("f()", label="f")
    m = benchmark.Measurement(10, [1.0, 2.0, 3.0, 4.0, 50.0], spec)
    assert m.times == [0.1, 0.2, 0.3, 0.4, 5.0] and m.median == pytest.approx(0.3)
    assert m.iqr == pytest.approx(0.2) and m.has_warnings and "Interquartile range" in repr(m)
    assert not m.meets_confidence(0.1)
    steady = benchmark.Measurement(1, [1.0, 1.0001, 0.9999, 1.0], spec)
    assert not steady.has_warnings and steady.significant_figures == 4
    merged = benchmark.Measurement.merge([m, benchmark.Measurement(10, [5.0], spec)])
    assert len(merged) == 1 and len(merged[0].raw_times) == 6
    assert benchmark.select_unit(2.5e-6) == ("us", 1e-6) and benchmark.select_unit(3.0) == ("s", 1.0)
    assert benchmark.trim_sigfig(1234.5, 2) == 1200 and benchmark.unit_to_english("ms") == "millisecond"


def test_compare_table():
    spec = lambda sub, desc, threads: benchmark.TaskSpec("f()", label="op", sub_label=sub, description=desc,
                                                         num_threads=threads)
    results = [benchmark.Measurement(1, [2e-6, 2e-6], spec("10", "a", 1)),
               benchmark.Measurement(1, [3e-6, 3e-6], spec("10", "b", 1)),
               benchmark.Measurement(1, [1e-6, 1e-6], spec("1000", "a", 2))]
    c = benchmark.Compare(results)
    text = str(c).splitlines()
    assert text[0].startswith("[") and " op " in text[0]
    assert text[1].split("|")[1:] == ["  a  ", "  b  "]
    assert text[2].startswith("1 thread:") and text[4].startswith("2 threads:")
    assert text[3].split("|")[1:] == [" 2.0 ", " 3.0 "] and text[5].split("|")[1:] == [" 1.0 ", "     "]
    assert benchmark.select_unit(1e-6) == ("us", 1e-6)
    assert "Times are in microseconds (us)." in str(c)
    c.colorize()
    assert "\033[92m" in str(c)
    with pytest.raises(ValueError, match="Expected a Measurement"):
        benchmark.Compare([1])


def test_names_exist_in_torch():
    torch_benchmark = pytest.importorskip("torch.utils.benchmark")
    for name in benchmark.__all__:
        assert hasattr(torch_benchmark, name), name
