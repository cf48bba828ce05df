"""tritorch.optim: trajectories vs torch.optim and a float64 reference, state dicts, cuda vs cpu, versions."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import tritorch as tt
from tritorch import optim

try:
    import torch
except ImportError:  # the float64 reference tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="compares with PyTorch, which is not installed")

SHAPES = [(7, 5), (13,), ()]
STEPS = 100

# (optimizer name, kwargs): the option combinations every trajectory test runs.
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, eps=1e-6)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),  # 1 - beta1 >= 0.5: the other lerp formula
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),   # rho_t > 5 from step 6: both branches
    ("RAdam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.08), maximize=True)),  # both clamps bite
    ("ASGD", dict(lr=0.01)),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=5, weight_decay=0.1)),  # averaging from step 6
    ("ASGD", dict(lr=0.05, lambd=0.01, t0=0, maximize=True)),
    ("Adafactor", dict(lr=0.01)),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5, weight_decay=0.1, maximize=True)),
]
# optimizers written as composites of registered ops (no fused update kernel of their own)
COMPOSITES = ("Adafactor", "Muon")
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _problem(dtype, steps=STEPS, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _tt_params(init, device="cpu"):
    return [tt.tensor(a.copy(), device=device).requires_grad_() for a in init]


def _run_tt(opt, params, grads, device="cpu"):
    """Feed precomputed gradients; yield the parameters' values after every step."""
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = tt.tensor(g, device=device)
        opt.step()
        yield [np.array(p.detach().cpu(), copy=True) for p in params]


def _run_torch(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
        yield [p.detach().numpy().copy() for p in params]


def _assert_trajectory(ours, theirs, rtol):
    """Every step, every parameter: |ours - theirs| <= rtol * (the parameter's largest magnitude so far), so a
    value passing near zero is judged at the scale of its trajectory."""
    scales = None
    for k, (a_step, b_step) in enumerate(zip(ours, theirs)):
        if scales is None:
            scales = [1e-3] * len(b_step)
        for i, (a, b) in enumerate(zip(a_step, b_step)):
            scales[i] = max(scales[i], float(np.max(np.abs(b), initial=0.0)))
            err = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0))
            assert err <= rtol * scales[i], f"step {k + 1}: max abs error {err:.3g} > {rtol} * {scales[i]:.3g}"


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kw, dtype):
    init, grads = _problem(dtype)
    ours_p = _tt_params(init)
    theirs_p = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours = getattr(optim, name)(ours_p, **kw)
    theirs = getattr(torch.optim, name)(theirs_p, **kw)
    _assert_trajectory(_run_tt(ours, ours_p, grads), _run_torch(theirs, theirs_p, grads),
                       rtol=1e-6 if dtype == np.float32 else 1e-12)


@needs_torch
@pytest.mark.parametrize("name,kw,group_kw", [
    ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True)),
    ("Adam", dict(lr=0.01), dict(lr=0.001, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01), dict(lr=0.05, centered=True)),
])
def test_param_groups_with_their_own_options(name, kw, group_kw):
    init, grads = _problem(np.float32)
    ours_p, theirs_p = _tt_params(init), [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours = getattr(optim, name)([{"params": ours_p[:1]}, {"params": ours_p[1:], **group_kw}], **kw)
    theirs = getattr(torch.optim, name)([{"params": theirs_p[:1]}, {"params": theirs_p[1:], **group_kw}], **kw)
    _assert_trajectory(_run_tt(ours, ours_p, grads), _run_torch(theirs, theirs_p, grads), rtol=1e-6)
    assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]


# ------------------------------------------------------------------------------ float64 reference (no torch)

def _reference_step(name, kw, p, g, st):
    """One update written from the algorithms' definitions in float64 (independent of tritorch's code)."""
    o = dict(lr=kw.get("lr"), wd=kw.get("weight_decay", 0.0), maximize=kw.get("maximize", False))
    g = -g if o["maximize"] else g
    st["t"] = st.get("t", 0) + 1
    t, lr, wd = st["t"], o["lr"], o["wd"]
    if name == "SGD":
        mom, damp = kw.get("momentum", 0), kw.get("dampening", 0)
        g = g + wd * p
        if mom:
            st["buf"] = g if "buf" not in st else mom * st["buf"] + (1 - damp) * g
            g = g + mom * st["buf"] if kw.get("nesterov") else st["buf"]
        return p - lr * g
    if name in ("Adam", "AdamW"):
        b1, b2 = kw.get("betas", (0.9, 0.999))
        wd = kw.get("weight_decay", 0.01 if name == "AdamW" else 0.0)
        if name == "AdamW":
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        st["m"] = b1 * st.get("m", 0 * p) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0 * p) + (1 - b2) * g * g
        v = st["v"]
        if kw.get("amsgrad"):
            st["vmax"] = v = np.maximum(st.get("vmax", 0 * p), v)
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + kw.get("eps", 1e-8)
        return p - lr / (1 - b1 ** t) * st["m"] / denom
    if name == "RMSprop":
        alpha, eps, mom = kw.get("alpha", 0.99), kw.get("eps", 1e-8), kw.get("momentum", 0)
        g = g + wd * p
        st["sq"] = alpha * st.get("sq", 0 * p) + (1 - alpha) * g * g
        if kw.get("centered"):
            st["ga"] = alpha * st.get("ga", 0 * p) + (1 - alpha) * g
            avg = np.sqrt(st["sq"] - st["ga"] ** 2) + eps
        else:
            avg = np.sqrt(st["sq"]) + eps
        if mom:
            st["buf"] = mom * st.get("buf", 0 * p) + g / avg
            return p - lr * st["buf"]
        return p - lr * g / avg
    if name == "Adagrad":
        g = g + wd * p
        st["sum"] = st.get("sum", 0 * p + kw.get("initial_accumulator_value", 0)) + g * g
        clr = lr / (1 + (t - 1) * kw.get("lr_decay", 0))
        return p - clr * g / (np.sqrt(st["sum"]) + kw.get("eps", 1e-10))
    if name == "Adamax":
        b1, b2 = kw.get("betas", (0.9, 0.999))
        g = g + wd * p
        st["m"] = b1 * st.get("m", 0 * p) + (1 - b1) * g
        st["u"] = np.maximum(b2 * st.get("u", 0 * p), np.abs(g) + kw.get("eps", 1e-8))
        return p - lr / (1 - b1 ** t) * st["m"] / st["u"]
    if name == "Adadelta":
        rho, eps = kw.get("rho", 0.9), kw.get("eps", 1e-6)
        g = g + wd * p
        st["sq"] = rho * st.get("sq", 0 * p) + (1 - rho) * g * g
        delta = np.sqrt(st.get("acc", 0 * p) + eps) / np.sqrt(st["sq"] + eps) * g
        st["acc"] = rho * st.get("acc", 0 * p) + (1 - rho) * delta * delta
        return p - lr * delta
    if name in ("NAdam", "RAdam"):
        b1, b2 = kw.get("betas", (0.9, 0.999))
        if kw.get("decoupled_weight_decay"):
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        st["m"] = b1 * st.get("m", 0 * p) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0 * p) + (1 - b2) * g * g
        eps = kw.get("eps", 1e-8)
        if name == "NAdam":   # Dozat's Nesterov-accelerated Adam with the momentum schedule mu_t
            decay = kw.get("momentum_decay", 4e-3)
            mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (k * decay)) for k in (t, t + 1))
            # (PyTorch keeps the product of the mu's in float32)
            st["prod"] = float(np.float32(st.get("prod", 1.0)) * np.float32(mu))
            denom = np.sqrt(st["v"] / (1 - b2 ** t)) + eps
            return (p - lr * (1 - mu) / (1 - st["prod"]) * g / denom
                    - lr * mu_next / (1 - st["prod"] * mu_next) * st["m"] / denom)
        m_hat = st["m"] / (1 - b1 ** t)   # Liu et al.'s rectified Adam
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t <= 5:
            return p - lr * m_hat
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - lr * m_hat * rect * np.sqrt(1 - b2 ** t) / (np.sqrt(st["v"]) + eps)
    if name == "Rprop":   # Riedmiller and Braun's Rprop without weight backtracking (iRprop-)
        eta_minus, eta_plus = kw.get("etas", (0.5, 1.2))
        lo, hi = kw.get("step_sizes", (1e-6, 50))
        prev, size = st.get("prev", 0 * p), st.get("size", 0 * p + lr)
        agree = g * prev
        size = np.clip(size * np.where(agree > 0, eta_plus, np.where(agree < 0, eta_minus, 1.0)), lo, hi)
        g = np.where(agree < 0, 0.0, g)
        st["prev"], st["size"] = g, size
        return p - np.sign(g) * size
    if name == "ASGD":    # Polyak and Juditsky's averaged SGD with Bottou's decaying rate
        lambd, alpha, t0 = kw.get("lambd", 1e-4), kw.get("alpha", 0.75), kw.get("t0", 1e6)
        # (PyTorch keeps eta and mu as float32 scalars)
        eta, mu = st.get("eta", float(np.float32(lr))), st.get("mu", 1.0)
        p = p * (1 - lambd * eta) - eta * (g + wd * p)
        st["ax"] = p.copy() if mu == 1 else st["ax"] + mu * (p - st["ax"])
        st["eta"] = float(np.float32(lr / (1 + lambd * lr * t) ** alpha))
        st["mu"] = float(np.float32(1 / max(1, t - t0)))
        return p
    if name == "Adafactor":   # Shazeer and Stern's factored second moment, with PyTorch's rate and clipping
        decay, (eps1, eps2), d = kw.get("beta2_decay", -0.8), kw.get("eps", (None, 1e-3)), kw.get("d", 1.0)
        eps1 = np.finfo(p.dtype).eps if eps1 is None else eps1
        w = t ** decay
        alpha = max(eps2, np.sqrt(np.mean(p * p))) * min(lr, 1 / np.sqrt(t))
        p = p * (1 - lr * wd)
        if p.ndim > 1:
            st["row"] = (1 - w) * st.get("row", 0.0) + w * np.mean(g * g, axis=-1, keepdims=True)
            st["col"] = (1 - w) * st.get("col", 0.0) + w * np.mean(g * g, axis=-2, keepdims=True)
            v = st["row"] * st["col"] / np.maximum(np.mean(st["row"], axis=-2, keepdims=True), eps1)
        else:
            v = st["v"] = (1 - w) * st.get("v", 0.0) + w * g * g
        u = g / np.sqrt(np.maximum(v, eps1 * eps1))
        return p - alpha / max(1.0, np.sqrt(np.mean(u * u)) / d) * u
    raise AssertionError(name)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_trajectory_matches_float64_reference(name, kw):
    init, grads = _problem(np.float64, steps=30)
    params = _tt_params(init)
    opt = getattr(optim, name)(params, **kw)
    ref = [a.copy() for a in init]
    states = [{} for _ in init]

    def reference():
        for step_grads in grads:
            for i, g in enumerate(step_grads):
                ref[i] = _reference_step(name, kw, ref[i], g, states[i])
            yield [r.copy() for r in ref]

    _assert_trajectory(_run_tt(opt, params, grads), reference(), rtol=1e-10)


# ------------------------------------------------------------------------------ state dicts

def _clone_state_dict(sd):
    """A deep copy whose tensors are new tensors (what a save/load round trip gives)."""
    def clone(v):
        if isinstance(v, tt.Tensor):
            return v.detach().clone()
        if isinstance(v, dict):
            return {k: clone(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(clone(x) for x in v)
        return copy.deepcopy(v)
    return clone(sd)


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if c[0] != "SGD" or "momentum" in c[1]],
                         ids=[i for c, i in zip(CONFIGS, IDS) if c[0] != "SGD" or "momentum" in c[1]])
def test_state_dict_resume_equals_uninterrupted(name, kw):
    init, grads = _problem(np.float32, steps=20)
    full_p = _tt_params(init)
    full = getattr(optim, name)([{"params": full_p[:2]}, {"params": full_p[2:], "lr": kw["lr"] / 2}], **kw)
    full_traj = list(_run_tt(full, full_p, grads))

    first_p = _tt_params(init)
    first = getattr(optim, name)([{"params": first_p[:2]}, {"params": first_p[2:], "lr": kw["lr"] / 2}], **kw)
    list(_run_tt(first, first_p, grads[:10]))
    saved_params = [np.asarray(p.detach()).copy() for p in first_p]
    saved = _clone_state_dict(first.state_dict())

    resumed_p = _tt_params(saved_params)
    resumed = getattr(optim, name)([{"params": resumed_p[:2]}, {"params": resumed_p[2:]}], **kw)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[1]["lr"] == kw["lr"] / 2
    for a_step, b_step in zip(_run_tt(resumed, resumed_p, grads[10:]), full_traj[10:]):
        for a, b in zip(a_step, b_step):
            np.testing.assert_array_equal(a, b)


@needs_torch
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.1)), ("Adamax", dict(lr=0.01)), ("Adadelta", dict(lr=1.0)),
                                     ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)), ("Rprop", dict(lr=0.01)),
                                     ("ASGD", dict(lr=0.01, t0=2)), ("Adafactor", dict(lr=0.01))])
def test_state_dict_format_is_torchs_and_torch_state_loads(name, kw):
    init, grads = _problem(np.float32, steps=10)
    ours_p, theirs_p = _tt_params(init), [torch.tensor(a.copy(), requires_grad=True) for a in init]
    ours = getattr(optim, name)([{"params": ours_p[:1]}, {"params": ours_p[1:], "lr": kw["lr"] / 2}], **kw)
    theirs = getattr(torch.optim, name)([{"params": theirs_p[:1]}, {"params": theirs_p[1:], "lr": kw["lr"] / 2}],
                                         **kw)
    list(_run_tt(ours, ours_p, grads[:5]))
    list(_run_torch(theirs, theirs_p, grads[:5]))
    a, b = ours.state_dict(), theirs.state_dict()
    assert set(a) == set(b) == {"state", "param_groups"}
    assert list(a["state"]) == list(b["state"]) == [0, 1, 2]
    for sa, sb in zip(a["state"].values(), b["state"].values()):
        assert set(sa) == set(sb)
        for key in sb:
            assert tuple(sa[key].shape) == tuple(sb[key].shape)
            assert str(sa[key].dtype).split(".")[-1] == str(sb[key].dtype).split(".")[-1]
            np.testing.assert_allclose(np.asarray(sa[key]), sb[key].numpy(), rtol=1e-5, atol=1e-6)
    assert [g["params"] for g in a["param_groups"]] == [g["params"] for g in b["param_groups"]] == [[0], [1, 2]]
    assert [sorted(g) for g in a["param_groups"]] == [sorted(g) for g in b["param_groups"]]

    # torch's state dict (tensors converted) loads into a fresh tritorch optimizer and continues torch's run
    converted = {"state": {k: {n: tt.tensor(v.numpy()) for n, v in s.items()} for k, s in b["state"].items()},
                 "param_groups": copy.deepcopy(b["param_groups"])}
    cont_p = _tt_params([p.detach().numpy() for p in theirs_p])
    cont = getattr(optim, name)([{"params": cont_p[:1]}, {"params": cont_p[1:]}], **kw)
    cont.load_state_dict(converted)
    _assert_trajectory(_run_tt(cont, cont_p, grads[5:]), _run_torch(theirs, theirs_p, grads[5:]), rtol=1e-6)


def test_load_state_dict_errors():
    p = _tt_params([np.ones(3, np.float32)])
    opt = optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_loaded_state_is_copied_and_cast_to_the_parameter():
    p = _tt_params([np.ones(3, np.float64)])
    opt = optim.Adam(p, lr=0.1)
    m = tt.tensor([1.0, 2.0, 3.0])  # float32: cast to the float64 parameter's dtype
    sd = {"state": {0: {"step": 4.0, "exp_avg": m, "exp_avg_sq": tt.ones(3)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    st = opt.state[p[0]]
    assert st["exp_avg"].dtype is tt.float64 and st["exp_avg"]._data is not m._data
    assert st["step"].dtype is tt.float32 and st["step"].item() == 4.0


# ------------------------------------------------------------------------------ cuda (interpreter) vs cpu

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_cuda_update_equals_cpu(name, kw, dtype):
    init, grads = _problem(dtype, steps=3, shapes=[(5, 3), ()])
    cpu_p, cuda_p = _tt_params(init), _tt_params(init, "cuda")
    cpu_o = getattr(optim, name)(cpu_p, **kw)
    cuda_o = getattr(optim, name)(cuda_p, **kw)
    _assert_trajectory(_run_tt(cuda_o, cuda_p, grads, "cuda"), _run_tt(cpu_o, cpu_p, grads),
                       rtol=1e-6 if dtype == np.float32 else 1e-13)
    for st_cpu, st_cuda in zip(cpu_o.state.values(), cuda_o.state.values()):
        for key, v in st_cpu.items():
            host_state = ("step", "mu_product", "eta", "mu")
            assert st_cuda[key].device.type == ("cpu" if key in host_state else "cuda")
            np.testing.assert_allclose(np.asarray(st_cuda[key].cpu()), np.asarray(v), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("dtype", [tt.float16, tt.bfloat16])
@pytest.mark.parametrize("name,kw,buffer", [("Adam", dict(lr=0.01), "exp_avg"), ("Rprop", {}, "step_size"),
                                            ("ASGD", dict(t0=0), "ax")])
def test_low_precision_updates_in_float32(device, dtype, name, kw, buffer):
    init, grads = _problem(np.float32, steps=2, shapes=[(9,)])
    p = tt.tensor(init[0], device=device, dtype=dtype).requires_grad_()
    ref = tt.tensor(init[0]).requires_grad_()
    opt, ref_opt = getattr(optim, name)([p], **kw), getattr(optim, name)([ref], **kw)
    for g in grads:
        p.grad = tt.tensor(g[0], device=device, dtype=dtype)
        ref.grad = tt.tensor(g[0], dtype=dtype).float()
        opt.step()
        ref_opt.step()
    assert p.dtype is dtype and opt.state[p][buffer].dtype is dtype
    tol = 1e-2 if dtype is tt.bfloat16 else 2e-3
    np.testing.assert_allclose(np.asarray(p.detach().float().cpu()), np.asarray(ref.detach()), rtol=tol, atol=tol)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_non_contiguous_parameter(device):
    base = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    grad = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    p = tt.tensor(base, device=device).t().requires_grad_()  # a leaf with transposed storage
    q = tt.tensor(base.T.copy(), device=device).requires_grad_()
    assert not p.is_contiguous()
    opts = [optim.SGD([p], lr=0.1, momentum=0.9), optim.SGD([q], lr=0.1, momentum=0.9)]
    for _ in range(2):
        for t, o in zip((p, q), opts):
            t.grad = tt.tensor(grad, device=device).t().t()
            o.step()
    np.testing.assert_allclose(np.asarray(p.detach().cpu()), np.asarray(q.detach().cpu()), rtol=1e-6)


# ------------------------------------------------------------------------------ versions, autograd, API

@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1, amsgrad=True)),
                                     ("RMSprop", dict(centered=True, momentum=0.1)), ("Adagrad", {}), ("Adamax", {}),
                                     ("Rprop", {}), ("ASGD", dict(t0=0))])
def test_step_bumps_versions_and_records_no_graph(device, name, kw):
    p = tt.tensor([1.0, -2.0, 3.0], device=device).requires_grad_()
    p.grad = tt.tensor([0.5, 0.5, -1.0], device=device)
    opt = getattr(optim, name)([p], **kw)
    opt.step()
    v0 = p._version[0]
    buffers = {k: (t, t._version[0]) for k, t in opt.state[p].items()}
    opt.step()
    assert p._version[0] == v0 + 1
    for key, (t, v) in buffers.items():
        assert t._version[0] == v + 1, key
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    for t, _ in buffers.values():
        assert t.grad_fn is None and not t.requires_grad


def test_step_with_closure_runs_closure_with_grad_enabled():
    p = tt.tensor([1.0, 2.0]).requires_grad_()
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        assert tt.is_grad_enabled()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tt.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(np.asarray(p.detach()), [0.5, 1.0])


def test_zero_grad():
    p = tt.tensor([1.0, 2.0]).requires_grad_()
    p.grad = tt.tensor([3.0, 4.0])
    opt = optim.SGD([p], lr=0.1)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.asarray(g).tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    q = tt.tensor([1.0], device="cuda").requires_grad_()
    q.grad = tt.tensor([2.0], device="cuda")
    opt.add_param_group({"params": [q]})
    opt.zero_grad(set_to_none=False)
    assert np.asarray(q.grad.cpu()).tolist() == [0.0]


def test_skips_parameters_without_grad_and_keeps_state_lazy():
    p, q = tt.tensor([1.0]).requires_grad_(), tt.tensor([2.0]).requires_grad_()
    p.grad = tt.tensor([1.0])
    opt = optim.Adam([p, q], lr=0.1)
    opt.step()
    assert q not in opt.state and np.asarray(q.detach()).tolist() == [2.0]
    assert opt.state[p]["step"].item() == 1.0


def test_add_param_group_and_defaults():
    p, q = tt.tensor([1.0]).requires_grad_(), tt.tensor([2.0]).requires_grad_()
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": q, "lr": 0.5})
    assert opt.param_groups[1]["params"] == [q] and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9
    assert set(opt.param_groups[0]) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                                        "maximize", "foreach", "differentiable", "fused"}
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    assert "SGD (" in repr(opt) and "Parameter Group 1" in repr(opt)


def test_construction_errors():
    p = tt.tensor([1.0]).requires_grad_()
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.AdamW([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum value"):
        optim.RMSprop([p], momentum=-0.1)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        optim.Adagrad([p], lr_decay=-1)
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.Adamax([p], eps=-1)
    with pytest.raises(ValueError, match="Invalid eta values: 0.5, 0.9"):
        optim.Rprop([p], etas=(0.5, 0.9))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Rprop([p], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        optim.ASGD([p], weight_decay=-1)


def test_named_parameters_and_hooks():
    p = tt.tensor([1.0]).requires_grad_()
    p.grad = tt.tensor([1.0])
    opt = optim.SGD([("w", p)], lr=0.5)
    assert opt.param_groups[0]["param_names"] == ["w"]
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]


def test_exports():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Adadelta", "NAdam", "RAdam", "Rprop", "ASGD",
                 "Optimizer", "lr_scheduler"):
        assert hasattr(optim, name)
    assert optim.AdamW([tt.tensor([1.0]).requires_grad_()]).defaults["weight_decay"] == 1e-2


@pytest.mark.parametrize("src,dst", [("cpu", "cuda"), ("cuda", "cpu")])
def test_state_dict_round_trip_between_devices(src, dst):
    init, grads = _problem(np.float32, steps=5, shapes=[(4, 3), (2,)])
    a_p = _tt_params(init, src)
    a = optim.Adam(a_p, lr=0.01, amsgrad=True)
    list(_run_tt(a, a_p, grads[:3], src))
    b_p = _tt_params([np.asarray(p.detach().cpu()) for p in a_p], dst)
    b = optim.Adam(b_p, lr=0.01, amsgrad=True)
    b.load_state_dict(_clone_state_dict(a.state_dict()))
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert b.state[b_p[0]][key].device.type == dst
    _assert_trajectory(_run_tt(b, b_p, grads[3:], dst), _run_tt(a, a_p, grads[3:], src), rtol=1e-6)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name,kw", [("Adam", dict(amsgrad=True)), ("Adamax", {})])
def test_nan_gradient_propagates_like_torch(device, name, kw):
    p = tt.tensor([1.0, 2.0], device=device).requires_grad_()
    opt = getattr(optim, name)([p], **kw)
    p.grad = tt.tensor([float("nan"), 1.0], device=device)
    opt.step()
    values = np.asarray(p.detach().cpu())
    assert np.isnan(values[0]) and np.isfinite(values[1])
    buf = "max_exp_avg_sq" if name == "Adam" else "exp_inf"
    assert np.isnan(np.asarray(opt.state[p][buf].cpu())[0])


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if c[0] not in COMPOSITES],
                         ids=[i for c, i in zip(CONFIGS, IDS) if c[0] not in COMPOSITES])
def test_cuda_step_is_one_kernel_launch_per_parameter(name, kw, monkeypatch):
    """After the first step (which creates the state), a step launches exactly one kernel per parameter."""
    import triton
    launched = []
    params = _tt_params([np.ones((3, 2), np.float32), np.ones(5, np.float32)], "cuda")
    for p in params:
        p.grad = tt.full(tuple(p.shape), 0.5, device="cuda")
    opt = getattr(optim, name)(params, **kw)
    opt.step()
    jit_type = type(optim._kernels.adam_kernel)
    original = jit_type.run

    def counting_run(self, *args, **kwargs):
        launched.append(getattr(self, "__name__", None) or getattr(self.fn, "__name__", "?"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jit_type, "run", counting_run)
    opt.step()
    assert len(launched) == len(params), launched
    assert triton is not None


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(centered=True)),
                                     ("Adagrad", {}), ("Adamax", {}), ("Adadelta", dict(weight_decay=0.1)),
                                     ("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.1)),
                                     ("RAdam", {}), ("Rprop", dict(maximize=True)),
                                     ("ASGD", dict(t0=1, weight_decay=0.1))])
def test_cpu_chunked_update_equals_whole_array_update(name, kw, monkeypatch):
    """Large cpu parameters are updated chunk by chunk (cache blocking): the values must not change. The chunk is a
    power of two, as the real one (64 Ki) is: BLAS's axpy fuses the multiply-add in its vector blocks but not in a
    last partial block, so chunk boundaries must fall on block boundaries (blocks of up to 1 Ki elements here)."""
    from tritorch.optim import optimizer as optimizer_module
    init, grads = _problem(np.float32, steps=3, shapes=[(40, 70), (1500,)])
    whole_p, chunked_p = _tt_params(init), _tt_params(init)
    whole = getattr(optim, name)(whole_p, **kw)
    whole_traj = list(_run_tt(whole, whole_p, grads))
    monkeypatch.setattr(optimizer_module, "_CHUNK", 1024)
    chunked = getattr(optim, name)(chunked_p, **kw)
    for a_step, b_step in zip(_run_tt(chunked, chunked_p, grads), whole_traj):
        for a, b in zip(a_step, b_step):
            np.testing.assert_array_equal(a, b)


@needs_torch
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_rprop_nan_gradient_matches_torch(device):
    """PyTorch's cpu sign(NaN) is 0: a NaN gradient leaves its element and step size alone, and is kept as 'prev'."""
    grads = [np.array([np.nan, 1.0, -1.0], np.float32), np.array([1.0, np.nan, 1.0], np.float32),
             np.array([-1.0, 1.0, 1.0], np.float32)]
    ours_p = _tt_params([np.ones(3, np.float32)], device)
    theirs_p = [torch.ones(3, requires_grad=True)]
    ours, theirs = optim.Rprop(ours_p), torch.optim.Rprop(theirs_p)
    steps = [[g] for g in grads]
    for a, b in zip(_run_tt(ours, ours_p, steps, device), _run_torch(theirs, theirs_p, steps)):
        np.testing.assert_array_equal(a[0], b[0])
    for key in ("prev", "step_size"):
        np.testing.assert_array_equal(np.asarray(ours.state[ours_p[0]][key].cpu()), theirs.state[theirs_p[0]][key])


@needs_torch
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_adafactor_factors_the_last_two_dims_of_a_batch_of_matrices(device):
    init, grads = _problem(np.float32, steps=4, shapes=[(2, 3, 4)])
    ours_p, theirs_p = _tt_params(init, device), [torch.tensor(init[0].copy(), requires_grad=True)]
    ours, theirs = optim.Adafactor(ours_p, lr=0.05), torch.optim.Adafactor(theirs_p, lr=0.05)
    _assert_trajectory(_run_tt(ours, ours_p, grads, device), _run_torch(theirs, theirs_p, grads), rtol=1e-6)
    for key in ("row_var", "col_var"):
        a, b = ours.state[ours_p[0]][key], theirs.state[theirs_p[0]][key]
        assert tuple(a.shape) == tuple(b.shape) and a.device.type == device
        np.testing.assert_allclose(np.asarray(a.cpu()), b.numpy(), rtol=1e-5)


def test_adafactor_argument_errors():
    p = tt.tensor([1.0]).requires_grad_()
    with pytest.raises(ValueError, match="beta2_decay should be <= 0"):
        optim.Adafactor([p], beta2_decay=0.5)
    with pytest.raises(ValueError, match="Clipping threshold d should be >= 1"):
        optim.Adafactor([p], d=0.5)
    with pytest.raises(ValueError, match="epsilon1 should be >= 0"):
        optim.Adafactor([p], eps=(-1.0, 1e-3))


@pytest.mark.parametrize("name,kw,host", [("ASGD", dict(t0=1), ("step", "eta", "mu")),
                                          ("NAdam", {}, ("step", "mu_product"))])
def test_host_scalars_load_onto_the_host_from_a_cuda_state_dict(name, kw, host):
    """eta, mu and mu_product are read as Python floats every step: loading keeps them cpu float32 scalars, and the
    loaded optimizer continues the saved one's run."""
    init, grads = _problem(np.float32, steps=4, shapes=[(3,)])
    a_p = _tt_params(init, "cuda")
    a = getattr(optim, name)(a_p, **kw)
    list(_run_tt(a, a_p, grads[:2], "cuda"))
    b_p = _tt_params([np.asarray(p.detach().cpu()) for p in a_p], "cuda")
    b = getattr(optim, name)(b_p, **kw)
    b.load_state_dict(_clone_state_dict(a.state_dict()))
    for key in host:
        st = b.state[b_p[0]][key]
        assert st.device.type == "cpu" and st.dtype is tt.float32 and st.dim() == 0
    _assert_trajectory(_run_tt(b, b_p, grads[2:], "cuda"), _run_tt(a, a_p, grads[2:], "cuda"), rtol=1e-7)
