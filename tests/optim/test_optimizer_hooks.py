"""Optimizer hooks: step pre/post hooks (global and per optimizer), state_dict and load_state_dict hooks, in the
order and with the arguments PyTorch gives them."""
from __future__ import annotations

import importlib

import pytest

import tritorch as tt
from tritorch import optim
from tritorch.optim import optimizer as optimizer_module


def _param():
    p = tt.tensor([1.0, 2.0]).requires_grad_()
    p.grad = tt.tensor([1.0, 1.0])
    return p


def _record_hooks(mod, opt, calls):
    """Register one hook of every kind on `opt` (and the global step hooks of `mod`); return the handles."""
    return [
        mod.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global pre", len(a)))),
        mod.register_optimizer_step_post_hook(lambda o, a, k: calls.append(("global post", len(a)))),
        opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", a[0] is o))),
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", a[0] is o))),
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd pre")),
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd pre first"), prepend=True),
        opt.register_state_dict_post_hook(lambda o, sd: calls.append("sd post")),
        opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append("load pre")),
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load post")),
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load post first"), prepend=True),
    ]


def test_hook_order_and_arguments_match_torch():
    torch = pytest.importorskip("torch")
    torch_optimizer_module = importlib.import_module("torch.optim.optimizer")
    runs = []
    for lib, mod, make in ((optim, optimizer_module, _param),
                           (torch.optim, torch_optimizer_module, lambda: _torch_param(torch))):
        calls = []
        opt = lib.SGD([make()], lr=0.1)
        handles = _record_hooks(mod, opt, calls)
        try:
            opt.step()
            opt.load_state_dict(opt.state_dict())
            handles[2].remove()
            opt.step()
        finally:
            for h in handles:
                h.remove()
        opt.step()
        runs.append(calls)
    assert runs[0] == runs[1]
    assert runs[0][:4] == [("global pre", 1), ("pre", True), ("post", True), ("global post", 1)]


def _torch_param(torch):
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    p.grad = torch.tensor([1.0, 1.0])
    return p


def test_step_pre_hook_can_replace_the_arguments():
    p = _param()
    opt = optim.SGD([p], lr=0.5)
    seen = []

    def closure():
        seen.append("closure")
        return 3.0

    opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": closure}))
    assert opt.step() == 3.0 and seen == ["closure"]
    opt.register_step_pre_hook(lambda o, args, kwargs: "not a pair")
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\)"):
        opt.step()


def test_step_hooks_run_around_an_overridden_step():
    """LBFGS (and a user's optimizer) define their own step; the hooks still run, once."""
    p = tt.tensor([1.0, -1.0]).requires_grad_()
    opt = optim.LBFGS([p], lr=0.5, max_iter=2)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt.step(closure)

    class Halving(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, closure=None):
            calls.append("step")
            for group in self.param_groups:
                for q in group["params"]:
                    q.data.mul_(0.5)

    q = tt.tensor([4.0]).requires_grad_()
    mine = Halving([q])
    mine.register_step_post_hook(lambda o, a, k: calls.append("post"))
    mine.step()
    assert calls == ["pre", "post", "step", "post"] and q.item() == 2.0


def test_state_dict_hooks_can_replace_the_dicts():
    p = _param()
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 7})
    assert opt.state_dict()["extra"] == 7

    loaded = []

    def drop_extra(o, sd):
        assert "extra" in sd
        sd.pop("extra")   # a shallow copy: the caller's dict keeps it
        sd["param_groups"] = [{**g, "lr": 0.5} for g in sd["param_groups"]]

    opt.register_load_state_dict_pre_hook(drop_extra)
    opt.register_load_state_dict_post_hook(lambda o: loaded.append(o.param_groups[0]["lr"]))
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    assert "extra" in sd and loaded == [0.5] and opt.param_groups[0]["lr"] == 0.5
    opt.register_load_state_dict_pre_hook(lambda o, d: {**d, "param_groups": []})
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(sd)


def test_removed_global_hook_stops_running_and_handles_work_as_context_managers():
    calls = []
    opt = optim.SGD([_param()], lr=0.1)
    with optimizer_module.register_optimizer_step_pre_hook(lambda o, a, k: calls.append("global")):
        opt.step()
    opt.step()
    with opt.register_step_post_hook(lambda o, a, k: calls.append("own")):
        opt.step()
    opt.step()
    assert calls == ["global", "own"]
