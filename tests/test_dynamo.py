"""tritorch._dynamo: OptimizedModule (what compile(module) returns), config, and the tracing no-ops, against
torch's behaviour where torch is installed."""
import copy

import numpy as np
import pytest

import tritorch as tt


def _pair():
    m = tt.nn.Sequential(tt.nn.Linear(2, 3), tt.nn.ReLU(), tt.nn.Linear(3, 1))
    return m, tt.compile(m)


def test_state_dict_keys_carry_the_orig_mod_prefix_as_torch():
    m, cm = _pair()
    keys = list(cm.state_dict())
    assert keys == ["_orig_mod." + k for k in m.state_dict()]
    torch = pytest.importorskip("torch")
    tm = torch.compile(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)))
    assert keys == list(tm.state_dict())
    assert repr(cm) == repr(tm)
    # a checkpoint of the compiled model loads into the plain one once the prefix is stripped, and back
    plain = tt.nn.Sequential(tt.nn.Linear(2, 3), tt.nn.ReLU(), tt.nn.Linear(3, 1))
    plain.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in cm.state_dict().items()})
    assert tt.equal(plain[0].weight, m[0].weight)
    cm.load_state_dict({"_orig_mod." + k: v for k, v in plain.state_dict().items()})


def test_calls_attributes_and_training_reach_the_original():
    m, cm = _pair()
    x = tt.randn(4, 2)
    assert tt.equal(cm(x), m(x))
    assert len(cm) == len(m) == 3 and cm.training
    cm.eval()
    assert not m.training and not cm.training
    cm.train()
    assert m.training
    cm.note = "set through the wrapper"
    assert m.note == "set through the wrapper"
    del cm.note
    assert not hasattr(m, "note")
    assert [n for n, _ in cm.named_parameters()] == ["_orig_mod." + n for n, _ in m.named_parameters()]
    handle = cm.register_forward_hook(lambda mod, args, out: out * 0)
    assert cm(x).abs().sum().item() == 0 and m(x).abs().sum().item() != 0   # the wrapper's own hooks
    handle.remove()
    with pytest.raises(TypeError, match="not subscriptable"):
        cm[0]
    with pytest.raises(AttributeError):
        cm.no_such_attribute


def test_training_through_the_wrapper_updates_the_original():
    m, cm = _pair()
    before = m[0].weight.detach().clone()
    opt = tt.optim.SGD(cm.parameters(), lr=0.1)
    cm(tt.randn(4, 2)).square().sum().backward()
    opt.step()
    assert not tt.equal(m[0].weight, before)
    cm.to(tt.float64)
    assert m[0].weight.dtype is tt.float64


def test_dynamo_ctx_wraps_further_functions():
    # Lightning's from_compiled wraps the LightningModule's step methods with the compiled module's dynamo_ctx
    m = tt.nn.Linear(2, 1)
    compiled = tt.compile(m)
    step = compiled.dynamo_ctx(m.forward)
    x = tt.ones(3, 2)
    assert tt.equal(step(x), m(x))
    with compiled.dynamo_ctx:
        assert tt.equal(compiled(x), m(x))
    with pytest.raises(RuntimeError, match="expected a callable"):
        compiled.dynamo_ctx(3)


def test_deepcopy_copies_the_wrapped_module():
    m, cm = _pair()
    c = copy.deepcopy(cm)
    assert type(c) is type(cm) and c._orig_mod is not m
    assert c._orig_mod[0].weight is not m[0].weight
    np.testing.assert_array_equal(c._orig_mod[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert list(c.state_dict()) == list(cm.state_dict())


def test_module_compile_is_in_place():
    m = tt.nn.Linear(2, 2)
    assert m.compile(mode="reduce-overhead") is None
    assert list(m.state_dict()) == ["weight", "bias"]


def test_config_and_no_ops():
    cfg = tt._dynamo.config
    before = cfg.suppress_errors
    try:
        cfg.suppress_errors = True
        assert cfg.suppress_errors is True
    finally:
        cfg.suppress_errors = before
    with pytest.raises(AttributeError):
        cfg.no_such_setting
    x = tt.ones(3)
    tt._dynamo.mark_dynamic(x, 0)
    tt._dynamo.mark_static(x)
    tt._dynamo.mark_static_address(x)   # (transformers' static KV cache marks its tensors)
    tt._dynamo.maybe_mark_dynamic(x, 0)
    tt._dynamo.graph_break()
    tt._dynamo.reset()
    f = lambda v: v  # noqa: E731
    assert tt._dynamo.disable(f) is f and tt._dynamo.allow_in_graph(f) is f
    assert tt._dynamo.disallow_in_graph(f) is f and not tt._dynamo.is_compiling()


@pytest.mark.parametrize("name", ["suppress_errors", "cache_size_limit", "recompile_limit", "verbose",
                                  "optimize_ddp", "capture_scalar_outputs", "automatic_dynamic_shapes"])
def test_config_defaults_match_torch(name):
    torch = pytest.importorskip("torch")
    import torch._dynamo  # noqa: F401
    assert getattr(tt._dynamo.config, name) == getattr(torch._dynamo.config, name)


@pytest.mark.parametrize("name", ["mark_dynamic", "mark_static", "mark_static_address", "maybe_mark_dynamic",
                                  "graph_break", "reset",
                                  "allow_in_graph", "disallow_in_graph", "forbid_in_graph"])
def test_signatures_match_torch(name, assert_same_signature):
    torch = pytest.importorskip("torch")
    import torch._dynamo  # noqa: F401
    assert_same_signature(getattr(tt._dynamo, name), getattr(torch._dynamo, name))
