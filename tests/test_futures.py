"""tritorch.futures (torch.futures): completion once, wait/value, then and add_done_callback chains, errors,
collect_all / wait_all, completion from another thread, and jit.fork / torch.fork returning completed Futures;
the behaviour compared with torch's where installed."""
import threading

import pytest

import tritorch as tt
from tritorch.futures import Future, collect_all, wait_all


def _scenario(futures):
    """A sequence of observations PyTorch and tritorch should agree on."""
    out = []
    f = futures.Future()
    chained = f.then(lambda fut: fut.value() * 2)
    out.append(f.done())
    f.set_result(3)
    out += [f.value(), chained.wait(), chained.done()]
    g = futures.Future()
    g.set_exception(ValueError("x"))
    for call in (g.wait, g.value):
        with pytest.raises(ValueError, match="x"):
            call()
    h = futures.Future()
    h.set_result(1)
    with pytest.raises(RuntimeError, match="can only be marked completed once"):
        h.set_result(2)
    a, b = futures.Future(), futures.Future()
    both = futures.collect_all([a, b])
    a.set_result(1)
    out.append(both.done())
    b.set_result(2)
    out += [both.done(), [x.value() for x in both.wait()], futures.wait_all([a, b])]
    calls = []
    a.add_done_callback(lambda fut: calls.append(fut.value()))
    out.append(calls)
    u = futures.Future()
    t = u.then(lambda fut: 1 / 0)
    u.set_result(1)
    with pytest.raises(RuntimeError, match="Got the following error when running the callback"):
        t.wait()
    return out


def test_future_semantics():
    assert _scenario(tt.futures) == [False, 3, 6, True, False, True, [1, 2], [1, 2], [1]]


def test_matches_torch():
    torch = pytest.importorskip("torch")
    assert _scenario(tt.futures) == _scenario(torch.futures)


def test_completed_from_another_thread_and_fork():
    f = Future()
    threading.Timer(0.05, lambda: f.set_result("late")).start()
    assert f.wait() == "late" and f.done()
    fut = tt.jit.fork(lambda x, y=0: x + y, 2, y=3)
    assert isinstance(fut, Future) and fut.done() and tt.jit.wait(fut) == 5 and tt.wait(tt.fork(abs, -4)) == 4
    assert tt.jit.Future is Future and collect_all([]).wait() == [] and wait_all([fut]) == [5]
    with pytest.raises(AssertionError, match="not an Exception"):
        Future().set_exception("oops")
