"""tritorch.optim.swap_in_optimizer_params_and_state: a step on swapped-in parameters and state, as torch's."""
from __future__ import annotations

import numpy as np
import pytest

import tritorch as tt
from tritorch import optim


def _step_on_swapped_in(lib, tensor):
    """Step an Adam once on its own parameters, then once on copies with a copy of its state and lr 0.5; return
    [live parameter, swapped-in parameter, swapped-in exp_avg, live exp_avg] as arrays, and the live lr."""
    w = tensor([1.0, -2.0, 3.0]).requires_grad_()
    w.grad = tensor([0.5, 0.5, -1.0])
    opt = lib.optim.Adam([w], lr=0.1)
    opt.step()
    sd = opt.state_dict()
    swap_state = {"state": {0: {k: v.clone() for k, v in sd["state"][0].items()}},
                  "param_groups": [{**sd["param_groups"][0], "lr": 0.5}]}
    w2 = tensor([1.0, 1.0, 1.0]).requires_grad_()
    w2.grad = tensor([1.0, -1.0, 2.0])
    live_params = opt.param_groups[0]["params"]
    with lib.optim.swap_in_optimizer_params_and_state(opt, {"w": w2}, swap_state):
        assert opt.param_groups[0]["params"] == [w2] and opt.param_groups[0]["lr"] == 0.5
        opt.step()
    assert opt.param_groups[0]["params"] is live_params
    values = [w, w2, swap_state["state"][0]["exp_avg"], opt.state[w]["exp_avg"]]
    return [t.detach().numpy().copy() for t in values] + [opt.param_groups[0]["lr"]]


def test_step_on_swapped_in_parameters_and_state_matches_torch():
    torch = pytest.importorskip("torch")
    ours = _step_on_swapped_in(tt, tt.tensor)
    theirs = _step_on_swapped_in(torch, torch.tensor)
    for a, b in zip(ours[:4], theirs[:4]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert ours[4] == theirs[4] == 0.1
    assert not np.array_equal(ours[2], ours[3])   # the swapped-in exp_avg moved in place; the live one did not


def test_swap_in_errors():
    w = tt.tensor([1.0]).requires_grad_()
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    with pytest.raises(RuntimeError, match="requires initialized optimizer state"):
        with optim.swap_in_optimizer_params_and_state(opt, {"w": w}, opt.state_dict()):
            pass
    w.grad = tt.tensor([1.0])
    opt.step()
    sd = opt.state_dict()
    bad_keys = {"state": sd["state"], "param_groups": [{k: v for k, v in sd["param_groups"][0].items() if k != "lr"}]}
    with pytest.raises(RuntimeError, match=r"Keys only in live: \['lr'\]"):
        with optim.swap_in_optimizer_params_and_state(opt, {"w": w}, bad_keys):
            pass
    with pytest.raises(RuntimeError, match="match optimizer.param_groups ordering"):
        with optim.swap_in_optimizer_params_and_state(opt, {}, sd):
            pass
    with pytest.raises(RuntimeError, match="extra keys \\[5\\]"):
        with optim.swap_in_optimizer_params_and_state(opt, {"w": w}, {**sd, "state": {**sd["state"], 5: {}}}):
            pass
