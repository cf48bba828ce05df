"""tritorch.jit: eager pass-throughs with torch.jit's signatures; trace runs the function once with the example
inputs (is_tracing() True inside), save/load raise a clear error."""
import inspect
import typing

import numpy as np
import pytest

import tritorch as tt
import tritorch.jit as jit


def test_script_returns_its_input_and_the_module_still_trains():
    model = tt.nn.Linear(3, 2)
    assert jit.script(model) is model

    @jit.script
    def double(x):
        return x * 2 if not jit.is_scripting() else x

    np.testing.assert_array_equal(double(tt.ones(2)).numpy(), [2.0, 2.0])


@pytest.mark.parametrize("form", ["tensor", "tuple", "kwargs"])
def test_trace_runs_once_with_the_example_inputs(form):
    seen = []

    def f(x, y=None):
        seen.append((jit.is_tracing(), tuple(x.shape)))
        return x + 1

    x = tt.ones(2, 3)
    if form == "tensor":
        traced = jit.trace(f, x)
    elif form == "tuple":
        traced = jit.trace(f, (x, None))
    else:
        traced = jit.trace(f, example_kwarg_inputs={"x": x})
    assert traced is f and seen == [(True, (2, 3))]
    assert not jit.is_tracing()
    traced(x)
    assert seen[-1] == (False, (2, 3))


def test_trace_needs_inputs_and_trace_module_runs_each_method():
    with pytest.raises(TypeError, match="'NoneType' object is not iterable"):
        jit.trace(lambda x: x)
    m = tt.nn.Linear(3, 2)
    assert jit.trace_module(m, {"forward": tt.ones(1, 3)}) is m
    assert jit.trace(m, (tt.ones(4, 3),)) is m


def test_decorators_are_identities():
    def f(x):
        return x

    for decorator in (jit.ignore, jit.ignore(drop=True), jit.unused, jit.export, jit.interface,
                      jit.script_if_tracing, jit.script_method):
        assert decorator(f) is f
    assert jit.annotate(typing.List[int], []) == []
    assert jit.wait(jit.fork(lambda a, b: a + b, 2, b=3)) == 5
    assert jit.Final is typing.Final and jit.annotations.Optional is typing.Optional
    assert tt.jit is jit and not isinstance(tt.nn.Linear(1, 1), jit.ScriptModule)


@pytest.mark.parametrize("call", [lambda: jit.save(tt.nn.Linear(1, 1), "m.pt"), lambda: jit.load("m.pt")])
def test_save_and_load_say_there_is_no_torchscript(call):
    with pytest.raises(RuntimeError, match="tritorch has no TorchScript.*tritorch.save"):
        call()


def test_signatures_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting", "is_tracing",
                 "save", "load", "fork", "wait", "annotate"):
        ours = list(inspect.signature(getattr(jit, name)).parameters)
        assert ours == list(inspect.signature(getattr(torch.jit, name)).parameters), name
