"""tritorch.optim.lr_scheduler: lr sequences vs torch.optim.lr_scheduler, state dicts, closed forms."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch import optim
from tritorch.optim import lr_scheduler as sched

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch, which is not installed")

EPOCHS = 40


def _warmup(epoch):  # a module-level function: state_dict leaves it out, as PyTorch does
    return min(1.0, (epoch + 1) / 5) * 0.97 ** epoch


def _halving(x):  # CyclicLR's custom scale_fn (a function: state_dict leaves it out)
    return 0.5 ** (x / 10)


# (optimizer name, optimizer kwargs, scheduler name, scheduler factory(lib, opt)) where lib is the scheduler module
CASES = [
    ("SGD", dict(lr=0.1), "StepLR", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    ("SGD", dict(lr=0.1), "MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3)),
    ("SGD", dict(lr=0.1), "ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.93)),
    ("SGD", dict(lr=0.1), "CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)),
    ("SGD", dict(lr=0.1), "LambdaLR", lambda m, o: m.LambdaLR(o, _warmup)),
    ("SGD", dict(lr=0.1), "LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=9)),
    ("SGD", dict(lr=0.1), "ConstantLR", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4)),
    ("SGD", dict(lr=0.1), "PolynomialLR", lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0)),
    ("SGD", dict(lr=0.1), "MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95)),
    ("SGD", dict(lr=0.1), "CosineAnnealingWarmRestarts",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-4)),
    ("SGD", dict(lr=0.1, momentum=0.9), "OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=EPOCHS + 1)),
    ("Adam", dict(lr=0.1), "OneCycleLR-linear-3phase",
     lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=6, steps_per_epoch=7, anneal_strategy="linear",
                               three_phase=True)),
    ("AdamW", dict(lr=1e-3), "SequentialLR(warmup, cosine)",
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=5),
                                     m.CosineAnnealingLR(o, T_max=30)], milestones=[5])),
    ("SGD", dict(lr=0.1), "SequentialLR(constant, exp, step)",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.2, total_iters=3), m.ExponentialLR(o, gamma=0.9),
                                     m.StepLR(o, step_size=4)], milestones=[6, 20])),
    ("SGD", dict(lr=0.1, momentum=0.9), "CyclicLR", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("SGD", dict(lr=0.1, momentum=0.9), "CyclicLR-triangular2-asymmetric",
     lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.002], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=5,
                             mode="triangular2", base_momentum=0.85, max_momentum=0.95)),
    ("Adam", dict(lr=0.1), "CyclicLR-exp_range-beta1",
     lambda m, o: m.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=6, mode="exp_range", gamma=0.97)),
    ("SGD", dict(lr=0.1), "CyclicLR-scale_fn-no-momentum",
     lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=5, scale_fn=_halving, scale_mode="iterations",
                             cycle_momentum=False)),
    ("SGD", dict(lr=0.1), "ChainedScheduler",
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=6), m.ExponentialLR(o, gamma=0.9)])),
]


def _optimizer(lib, name, kw):
    if lib is tt:
        params = [tt.zeros(2).requires_grad_(), tt.zeros(3).requires_grad_()]
    else:
        params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    return getattr(lib.optim, name)([{"params": params[:1]}, {"params": params[1:], "lr": kw["lr"] / 4}], **kw)


def _lrs(lib, opt_name, opt_kw, factory, epochs=EPOCHS):
    """[(last_lr list, group lrs, momentum/beta1 per group)] for every epoch (optimizer.step then scheduler.step)."""
    opt = _optimizer(lib, opt_name, opt_kw)
    s = factory(lib.optim.lr_scheduler, opt)
    out = [(list(s.get_last_lr()), [g["lr"] for g in opt.param_groups], _moms(opt))]
    for _ in range(epochs):
        opt.step()
        s.step()
        out.append((list(s.get_last_lr()), [g["lr"] for g in opt.param_groups], _moms(opt)))
    return out


def _moms(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@needs_torch
@pytest.mark.parametrize("opt_name,opt_kw,name,factory", CASES, ids=[c[2] for c in CASES])
def test_lr_sequence_matches_torch(opt_name, opt_kw, name, factory):
    epochs = 41 if "3phase" in name else EPOCHS
    ours = _lrs(tt, opt_name, opt_kw, factory, epochs)
    theirs = _lrs(torch, opt_name, opt_kw, factory, epochs)
    assert ours == theirs  # the same floats, step for step


@needs_torch
@pytest.mark.parametrize("mode,threshold_mode,cooldown,min_lr", [("min", "rel", 0, 0), ("max", "abs", 2, 0.02),
                                                                  ("min", "abs", 1, [0.0, 0.01])])
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode, cooldown, min_lr):
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.81, 0.8, 0.8, 0.8, 0.8] * 2
    runs = []
    for lib in (tt, torch):
        opt = _optimizer(lib, "SGD", dict(lr=0.1))
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=2,
                                                     threshold_mode=threshold_mode, threshold=0.01,
                                                     cooldown=cooldown, min_lr=min_lr)
        seq = []
        for m in metrics:
            opt.step()
            s.step(m)
            seq.append((list(s.get_last_lr()), s.num_bad_epochs, s.cooldown_counter, s.best))
        runs.append(seq)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("opt_name,opt_kw,name,factory", CASES, ids=[c[2] for c in CASES])
def test_state_dict_resume(opt_name, opt_kw, name, factory):
    """A scheduler rebuilt from state_dict (optimizer's and scheduler's) continues the same sequence."""
    full = _lrs(tt, opt_name, opt_kw, factory, 20)
    opt = _optimizer(tt, opt_name, opt_kw)
    s = factory(sched, opt)
    for _ in range(8):
        opt.step()
        s.step()
    opt_sd, s_sd = opt.state_dict(), s.state_dict()
    assert "optimizer" not in s_sd
    opt2 = _optimizer(tt, opt_name, opt_kw)
    s2 = factory(sched, opt2)
    opt2.load_state_dict(opt_sd)
    s2.load_state_dict(s_sd)
    assert s2.get_last_lr() == full[8][0]
    for k in range(9, 21):
        opt2.step()
        s2.step()
        assert (s2.get_last_lr(), [g["lr"] for g in opt2.param_groups]) == tuple(full[k][:2]), k


def test_closed_forms_without_torch():
    """Values from the schedules' definitions (runs with or without torch)."""
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    s = sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for epoch in range(1, 11):
        opt.step()
        s.step()
        expect = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert abs(s.get_last_lr()[0] - expect) < 1e-12
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    s = sched.StepLR(opt, step_size=3, gamma=0.5)
    seq = [s.get_last_lr()[0]]
    for _ in range(7):
        opt.step()
        s.step()
        seq.append(s.get_last_lr()[0])
    np.testing.assert_allclose(seq, [0.1] * 3 + [0.05] * 3 + [0.025] * 2, rtol=1e-15)
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    s = sched.LinearLR(opt, start_factor=0.25, total_iters=4)
    seq = [s.get_last_lr()[1]]
    for _ in range(5):
        opt.step()
        s.step()
        seq.append(s.get_last_lr()[1])
    np.testing.assert_allclose(seq, [0.025 * f for f in (0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0)], rtol=1e-14)


def test_step_with_epoch_uses_closed_form():
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    s = sched.ExponentialLR(opt, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(3)
    assert s.get_last_lr()[0] == 0.1 * 0.5 ** 3 and s.last_epoch == 3


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    s = sched.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt2 = _optimizer(tt, "SGD", dict(lr=0.1))
    s2 = sched.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()


def test_scheduler_errors():
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        sched.SequentialLR(opt, [sched.ConstantLR(opt)], milestones=[3])
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        sched.LambdaLR(opt, [lambda e: 1.0])


def test_cyclic_lr_errors_and_custom_scale_object_state():
    opt = _optimizer(tt, "SGD", dict(lr=0.1))
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        sched.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="optimizer must support momentum"):
        sched.CyclicLR(_optimizer(tt, "Adagrad", dict(lr=0.1)), 0.01, 0.1)
    with pytest.raises(ValueError, match="base_lr must have the same length"):
        sched.CyclicLR(opt, [0.01], 0.1, cycle_momentum=False)

    class Decay:   # a callable object: its __dict__ travels in the state dict
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, x):
            return self.rate ** x

    s = sched.CyclicLR(opt, 0.01, 0.1, step_size_up=2, scale_fn=Decay(0.5), cycle_momentum=False)
    assert s.scale_mode == "cycle"
    for _ in range(5):
        opt.step()
        s.step()
    sd = s.state_dict()
    assert sd["_scale_fn_custom"] == {"rate": 0.5}
    opt2 = _optimizer(tt, "SGD", dict(lr=0.1))
    s2 = sched.CyclicLR(opt2, 0.01, 0.1, step_size_up=2, scale_fn=Decay(0.9), cycle_momentum=False)
    s2.load_state_dict(sd)
    assert s2._scale_fn_custom.rate == 0.5 and s2.last_epoch == 5
    # iteration 5 of cycles of 4: cycle 2 (scale 0.5 ** 2), a quarter in, half-way up: base + (max - base) * 0.5 * 0.25
    assert math.isclose(s.get_last_lr()[0], 0.01 + 0.09 * 0.5 * 0.25)
