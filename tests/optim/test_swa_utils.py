"""tritorch.optim.swa_utils: AveragedModel (SWA and EMA), SWALR and update_bn against torch.optim.swa_utils."""
from __future__ import annotations

import numpy as np
import pytest

import tritorch as tt
from tritorch.optim import swa_utils

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch, which is not installed")


def _model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.BatchNorm1d(5), lib.nn.ReLU(), lib.nn.Linear(5, 2))


def _load(dst, src_numpy: dict, lib):
    with lib.no_grad():
        for name, p in dst.state_dict().items():
            p.copy_(lib.tensor(src_numpy[name]))


def _numpy_state(m) -> dict:
    return {k: v.detach().cpu().numpy().copy() for k, v in m.state_dict().items()}


def _trajectory(steps=5):
    """Model weights along a made-up training run: the same numbers for both libraries."""
    rng = np.random.default_rng(1)
    base = _numpy_state(_model(tt))
    for _ in range(steps):
        yield {k: (np.abs(v + rng.standard_normal(v.shape).astype(v.dtype)) if v.dtype.kind == "f" else v + 1)
               for k, v in base.items()}   # (abs: running variances stay positive)


@needs_torch
@pytest.mark.parametrize("kind", ["swa", "ema-multi", "ema-avg_fn", "swa-buffers"])
def test_averaged_model_matches_torch(kind):
    results = []
    for lib in (tt, torch):
        su = lib.optim.swa_utils
        model = _model(lib)
        kw = {"swa": {}, "ema-multi": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
              "ema-avg_fn": {"avg_fn": su.get_ema_avg_fn(0.8)}, "swa-buffers": {"use_buffers": True}}[kind]
        avg = su.AveragedModel(model, **kw)
        for weights in _trajectory():
            _load(model, weights, lib)
            avg.update_parameters(model)
        results.append((_numpy_state(avg), int(avg.n_averaged)))
    (ours, n_ours), (theirs, n_theirs) = results
    assert n_ours == n_theirs == 5 and ours.keys() == theirs.keys()
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_swa_average_is_the_mean_and_buffers_follow_the_model():
    model = _model(tt)
    avg = swa_utils.AveragedModel(model)
    states = list(_trajectory(4))
    for weights in states:
        _load(model, weights, tt)
        avg.update_parameters(model)
    got = _numpy_state(avg)
    w = "module.0.weight"
    np.testing.assert_allclose(got[w], np.mean([s["0.weight"] for s in states], axis=0), rtol=1e-5, atol=1e-6)
    # buffers (BatchNorm statistics) are not averaged without use_buffers: they are the model's latest
    np.testing.assert_array_equal(got["module.1.running_mean"], states[-1]["1.running_mean"])
    x = tt.randn(4, 3)
    avg.eval()
    assert avg(x).shape == (4, 2)
    assert avg.module is not model and avg.module[0].weight is not model[0].weight


def test_averaged_model_on_cuda_uses_lerp_and_matches_cpu():
    model = _model(tt)
    cpu_avg = swa_utils.AveragedModel(model)
    cuda_avg = swa_utils.AveragedModel(model, device="cuda")
    assert cuda_avg.n_averaged.device.type == "cuda"
    for weights in _trajectory(3):
        _load(model, weights, tt)
        cpu_avg.update_parameters(model)
        cuda_avg.update_parameters(model)
    a, b = _numpy_state(cpu_avg), _numpy_state(cuda_avg)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_averaging_function_errors():
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match=r"Invalid decay value -0.1 provided"):
        swa_utils.get_ema_avg_fn(-0.1)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(_model(tt), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())


@needs_torch
@pytest.mark.parametrize("anneal_epochs,strategy", [(5, "cos"), (3, "linear"), (0, "cos")])
def test_swalr_matches_torch(anneal_epochs, strategy):
    seqs = []
    for lib in (tt, torch):
        params = [lib.zeros(2, requires_grad=True)]
        opt = lib.optim.SGD([{"params": params}, {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.5)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs,
                                          anneal_strategy=strategy)
        seq = [sched.get_last_lr()]
        for _ in range(8):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(np.array(seqs[0]), np.array(seqs[1]), rtol=1e-12, atol=0)


def test_swalr_state_dict_and_errors():
    opt = tt.optim.SGD([tt.zeros(2, requires_grad=True)], lr=0.5)
    s = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")
    for _ in range(2):
        opt.step()
        s.step()
    sd = s.state_dict()
    assert "anneal_func" not in sd and "optimizer" not in sd
    s2 = swa_utils.SWALR(tt.optim.SGD([tt.zeros(2, requires_grad=True)], lr=0.5), swa_lr=0.05)
    s2.load_state_dict(sd)
    assert s2.anneal_func(0.25) == 0.25 and s2.anneal_epochs == 4
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        swa_utils.SWALR(opt, 0.05, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, 0.05, anneal_epochs=-1)


@needs_torch
def test_update_bn_matches_torch():
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((8, 3)).astype(np.float32) * (i + 1) for i in range(4)]
    init = _numpy_state(_model(tt))
    stats = []
    for lib in (tt, torch):
        model = _model(lib)
        _load(model, init, lib)
        model.eval()
        loader = [(lib.tensor(b), lib.zeros(8)) for b in batches]   # (input, target) pairs: the input is used
        lib.optim.swa_utils.update_bn(loader, model)
        assert not model.training and model[1].momentum == 0.1
        stats.append(_numpy_state(model))
    for k in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(stats[0][k], stats[1][k], rtol=1e-5, atol=1e-6, err_msg=k)
