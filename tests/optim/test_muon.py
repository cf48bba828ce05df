"""tritorch.optim.Muon: trajectories vs torch.optim.Muon, the Newton-Schulz iteration, cuda vs cpu, state dicts."""
from __future__ import annotations

import numpy as np
import pytest

import tritorch as tt
from tritorch import optim
from tritorch.optim.muon import _zeropower_via_newtonschulz

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch, which is not installed")

CONFIGS = [
    dict(lr=0.02),
    dict(lr=0.02, momentum=0.9, nesterov=False, weight_decay=0.01),
    dict(lr=0.01, adjust_lr_fn="match_rms_adamw", ns_steps=3),
    dict(lr=0.01, weight_decay=0.0, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-5),
]
SHAPES = [(7, 5), (3, 8)]   # tall (iterated transposed) and wide


def _problem(dtype, steps, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return init, [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


def _run(opt, params, grads, make):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = make(g)
        opt.step()
        yield [np.asarray(p.detach().cpu()).copy() for p in params]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_cpu_trajectory_matches_torch(kw, dtype):
    """The iteration runs in bfloat16 in both; their cpu products and roundings agree, so the trajectories agree to
    the parameters' own precision."""
    init, grads = _problem(dtype, steps=20)
    ours_p = [tt.tensor(a.copy()).requires_grad_() for a in init]
    theirs_p = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours = _run(optim.Muon(ours_p, **kw), ours_p, grads, tt.tensor)
    theirs = _run(torch.optim.Muon(theirs_p, **kw), theirs_p, grads, torch.tensor)
    for a_step, b_step in zip(ours, theirs):
        for a, b in zip(a_step, b_step):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [(6, 4), (4, 9)])
def test_newton_schulz_orthogonalises(shape):
    """The quintic iteration maps every singular value into roughly (0.5, 1.5) and keeps the singular vectors."""
    g = np.random.default_rng(1).standard_normal(shape)
    out = _zeropower_via_newtonschulz(tt.tensor(g), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert out.dtype is tt.bfloat16 and tuple(out.shape) == shape
    o = np.asarray(out.float()).astype(np.float64)
    assert np.all((np.linalg.svd(o, compute_uv=False) > 0.5) & (np.linalg.svd(o, compute_uv=False) < 1.5))
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    np.testing.assert_allclose(u.T @ o @ vt.T, np.diag(np.diag(u.T @ o @ vt.T)), atol=0.05)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_equals_cpu_to_bfloat16_precision(dtype):
    """Triton's interpreter casts float32 to bfloat16 by truncation (a known interpreter limit: 0.6404 becomes 0.6367,
    not 0.6406), up to 2**-7 relative per cast and always towards zero; over the iteration's 15 bfloat16 products
    that bias reaches a few percent of the update, so here the cuda updates are held to 5% of their own scale.
    The optimizer state stays on the device."""
    init, grads = _problem(dtype, steps=3)
    cpu_p = [tt.tensor(a.copy()).requires_grad_() for a in init]
    cuda_p = [tt.tensor(a.copy(), device="cuda").requires_grad_() for a in init]
    cpu_o, cuda_o = optim.Muon(cpu_p, lr=0.05), optim.Muon(cuda_p, lr=0.05)
    for a_step, b_step in zip(_run(cuda_o, cuda_p, grads, lambda g: tt.tensor(g, device="cuda")),
                              _run(cpu_o, cpu_p, grads, tt.tensor)):
        for a, b, start in zip(a_step, b_step, init):
            assert a.dtype == dtype
            moved_a, moved_b = a - start, b - start   # the updates so far, judged at their own scale
            assert np.max(np.abs(moved_a - moved_b)) <= 5e-2 * np.max(np.abs(moved_b))
    for p in cuda_p:
        assert cuda_o.state[p]["momentum_buffer"].device.type == "cuda"


@needs_torch
def test_state_dict_is_torchs_and_resumes():
    init, grads = _problem(np.float32, steps=6)
    ours_p = [tt.tensor(a.copy()).requires_grad_() for a in init]
    theirs_p = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours, theirs = optim.Muon(ours_p, lr=0.02), torch.optim.Muon(theirs_p, lr=0.02)
    list(_run(ours, ours_p, grads[:3], tt.tensor))
    list(_run(theirs, theirs_p, grads[:3], torch.tensor))
    a, b = ours.state_dict(), theirs.state_dict()
    assert [sorted(s) for s in a["state"].values()] == [sorted(s) for s in b["state"].values()]
    assert [sorted(g) for g in a["param_groups"]] == [sorted(g) for g in b["param_groups"]]
    for sa, sb in zip(a["state"].values(), b["state"].values()):
        np.testing.assert_allclose(np.asarray(sa["momentum_buffer"]), sb["momentum_buffer"].numpy(), rtol=1e-6)
    # torch's state loads into a fresh tritorch Muon, which continues torch's run
    converted = {"state": {k: {n: tt.tensor(v.numpy()) for n, v in s.items()} for k, s in b["state"].items()},
                 "param_groups": b["param_groups"]}
    cont_p = [tt.tensor(p.detach().numpy().copy()).requires_grad_() for p in theirs_p]
    cont = optim.Muon(cont_p, lr=0.5)
    cont.load_state_dict(converted)
    assert cont.param_groups[0]["lr"] == 0.02
    for x, y in zip(_run(cont, cont_p, grads[3:], tt.tensor), _run(theirs, theirs_p, grads[3:], torch.tensor)):
        for u, v in zip(x, y):
            np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


def test_argument_errors():
    w = tt.ones(2, 3).requires_grad_()
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        optim.Muon([w, tt.ones(3).requires_grad_()])
    with pytest.raises(ValueError, match="Adjust learning rate function foo is not supported"):
        optim.Muon([w], adjust_lr_fn="foo")
    with pytest.raises(ValueError, match="momentum should be >= 0"):
        optim.Muon([w], momentum=-1)
    w.grad = tt.ones(2, 3)
    with pytest.raises(ValueError, match="Number of steps must be less than 100"):
        optim.Muon([w], ns_steps=100).step()
