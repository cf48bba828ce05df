"""torch.nn.modules.module.register_module_*: hooks every Module runs, before its own, against PyTorch's order and
results; the registration hooks' replacements; removal."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
from tritorch.nn.modules import module as tt_module

torch = pytest.importorskip("torch")


def _trace(lib, mod):
    """The order global and local hooks fire in, forward and backward, for a two-layer net."""
    events = []
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh())
    handles = [mod.register_module_forward_pre_hook(lambda m, a: events.append(("g-pre", type(m).__name__))),
               mod.register_module_forward_hook(lambda m, a, o: events.append(("g-fwd", type(m).__name__))),
               mod.register_module_full_backward_pre_hook(lambda m, g: events.append(("g-bpre", type(m).__name__))),
               mod.register_module_full_backward_hook(lambda m, gi, go: events.append(("g-bwd", type(m).__name__))),
               net[0].register_forward_pre_hook(lambda m, a: events.append(("l-pre", type(m).__name__))),
               net[0].register_forward_hook(lambda m, a, o: events.append(("l-fwd", type(m).__name__))),
               net[0].register_full_backward_hook(lambda m, gi, go: events.append(("l-bwd", type(m).__name__)))]
    x = lib.ones(4, 3, requires_grad=True)
    net(x).sum().backward()
    for h in handles:
        h.remove()
    net(x)   # nothing fires once removed
    return events


def test_order_matches_torch():
    assert _trace(tt, tt_module) == _trace(torch, torch.nn.modules.module)


def test_hooks_can_replace_values():
    scale = tt_module.register_module_forward_hook(
        lambda m, args, kwargs, out: out * 2 if isinstance(m, nn.Linear) else None, with_kwargs=True)
    shift = tt_module.register_module_forward_pre_hook(lambda m, args: (args[0] + 1,))
    try:
        lin = nn.Linear(2, 2)
        x = tt.zeros(1, 2)
        np.testing.assert_allclose(lin(x).detach().numpy(), 2 * (lin.weight.sum(1) + lin.bias).detach().numpy()[None],
                                   rtol=1e-6)
    finally:
        scale.remove()
        shift.remove()
    assert not tt_module._global_forward_hooks and not tt_module._global_forward_pre_hooks


def test_always_call_hook_runs_when_forward_raises():
    seen = []

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    h = tt_module.register_module_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
    try:
        with pytest.raises(ValueError, match="boom"):
            Boom()(tt.ones(1))
    finally:
        h.remove()
    assert seen == [None]


def test_registration_hooks():
    seen = []
    hooks = [tt_module.register_module_parameter_registration_hook(
                 lambda m, name, p: seen.append(("param", name)) or None),
             tt_module.register_module_buffer_registration_hook(
                 lambda m, name, b: b * 0 if name == "running_mean" else None),
             tt_module.register_module_module_registration_hook(lambda m, name, sub: seen.append(("module", name)))]
    try:
        net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    finally:
        for h in hooks:
            h.remove()
    assert ("param", "weight") in seen and ("param", "bias") in seen and ("module", "0") in seen
    assert float(net[1].running_mean.abs().sum()) == 0.0
    assert not tt_module._global_parameter_registration_hooks


def test_module_namespace_matches_torch():
    assert sorted(tt_module.__all__) == sorted(torch.nn.modules.module.__all__)
    assert not hasattr(nn, "register_module_forward_hook")
