"""Top-level settings and helpers (tritorch/_settings.py) and Tensor.pin_memory."""
import pytest

import tritorch as tt


def test_compile_returns_the_callable():
    m = tt.nn.Linear(2, 2)
    assert tt.compile(m) is m
    assert tt.compile(m, mode="max-autotune", fullgraph=True) is m

    @tt.compile
    def f(x):
        return x * 2

    @tt.compile(dynamic=True)
    def g(x):
        return x + 1

    assert f(tt.ones(2)).tolist() == [2.0, 2.0] and g(tt.ones(1)).tolist() == [2.0]
    with pytest.raises(RuntimeError, match="callable"):
        tt.compile(3)


def test_float32_matmul_precision_is_the_tf32_switch():
    before = tt.backends.cuda.matmul.allow_tf32
    try:
        tt.set_float32_matmul_precision("high")
        assert tt.backends.cuda.matmul.allow_tf32 and tt.get_float32_matmul_precision() == "high"
        tt.set_float32_matmul_precision("highest")
        assert not tt.backends.cuda.matmul.allow_tf32 and tt.get_float32_matmul_precision() == "highest"
        with pytest.raises(RuntimeError, match="Invalid float32 matmul precision"):
            tt.set_float32_matmul_precision("low")
    finally:
        tt.backends.cuda.matmul.allow_tf32 = before


def test_typename_and_pin_memory():
    x = tt.ones(2)
    assert tt.typename(x) == "tritorch.FloatTensor" and tt.typename(3) == "int"
    assert tt.typename(tt.nn.Linear(1, 1)) == "tritorch.nn.modules.linear.Linear"
    assert x.pin_memory() is x and not x.is_pinned()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.to("cuda").pin_memory()
