"""tritorch.compiler: torch.compiler's interface over an eager runtime (everything returns its function)."""

import pytest

import tritorch as tt

NAMES = ["disable", "reset", "is_compiling", "is_dynamo_compiling", "is_exporting", "allow_in_graph",
         "assume_constant_result", "substitute_in_graph", "wrap_numpy", "nested_compile_region",
         "cudagraph_mark_step_begin", "list_backends", "get_default_backend", "set_default_backend", "set_stance"]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_torch(name, assert_same_signature):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(tt.compiler, name), getattr(torch.compiler, name))


def test_compile_and_decorators_return_the_function():
    model = tt.nn.Linear(2, 2)
    assert tt.compiler.compile(model)._orig_mod is model   # modules come back wrapped (tests/test_dynamo.py)
    assert tt.compiler.compile()(model)._orig_mod is model

    def f(x):
        return x * 2
    for deco in (tt.compiler.disable, tt.compiler.allow_in_graph, tt.compiler.assume_constant_result,
                 tt.compiler.wrap_numpy, tt.compiler.nested_compile_region):
        assert deco(f) is f
    assert tt.compiler.disable()(f) is f and tt.compiler.disable(recursive=False)(f) is f
    assert tt.compiler.substitute_in_graph(abs)(f) is f
    with tt.compiler.set_stance("force_eager"):
        assert f(3) == 6
    assert not tt.compiler.is_compiling() and not tt.compiler.is_dynamo_compiling() and not tt.compiler.is_exporting()
    tt.compiler.reset()
    tt.compiler.cudagraph_mark_step_begin()
    assert "inductor" in tt.compiler.list_backends() and tt.compiler.get_default_backend() == "inductor"
    tt.compiler.set_default_backend("cudagraphs")
    assert tt.compiler.get_default_backend() == "cudagraphs"
    tt.compiler.set_default_backend(None)
    assert tt.compiler.get_default_backend() == "inductor"
