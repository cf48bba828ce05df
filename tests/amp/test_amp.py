"""tritorch.amp: autocast policies per op (cpu bfloat16, cuda float16), nesting, threads, backward, parity with
torch.autocast on cpu; GradScaler's scale schedule, skipped steps and errors against torch.amp.GradScaler."""
import threading

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")

LOW = {"cpu": tt.bfloat16, "cuda": tt.float16}


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_policies(device):
    x = tt.tensor(_rand((4, 8)), device=device)
    w = tt.tensor(_rand((3, 8), 1), device=device)
    low = LOW[device]
    with tt.autocast(device):
        assert tt.is_autocast_enabled(device) and tt.get_autocast_dtype(device) is low
        y = F.linear(x, w)                                   # lower
        assert y.dtype is low and (x @ w.T).dtype is low
        assert F.conv2d(x.reshape(1, 1, 4, 8), w[:1, :4].reshape(1, 1, 2, 2)).dtype is low
        assert y.sum().dtype is tt.float32                   # fp32
        assert F.softmax(y, -1).dtype is tt.float32 and y.exp().dtype is tt.float32
        assert F.layer_norm(y, (3,)).dtype is tt.float32
        assert tt.cat([y, x[:, :3]]).dtype is tt.float32     # promote
        assert (y + x[:, :3]).dtype is tt.float32            # no policy: ordinary type promotion
        assert y.relu().dtype is low                         # no policy: runs as given
        assert F.linear(x.double(), w.double()).dtype is tt.float64   # float64 is never lowered
        with tt.autocast(device, enabled=False):
            assert F.linear(x, w).dtype is tt.float32 and not tt.is_autocast_enabled(device)
        assert F.linear(x, w).dtype is low
    assert not tt.is_autocast_enabled(device) and F.linear(x, w).dtype is tt.float32
    other = "cuda" if device == "cpu" else "cpu"
    with tt.autocast(other):                                 # another device type's region: untouched
        assert F.linear(x, w).dtype is tt.float32


def test_decorator_threads_and_errors():
    @tt.autocast("cpu")
    def f(a, b):
        return a @ b
    a = tt.ones(2, 2)
    assert f(a, a).dtype is tt.bfloat16 and (a @ a).dtype is tt.float32
    seen = []
    with tt.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append((a @ a).dtype))   # autocast state is per thread
        t.start()
        t.join()
    assert seen == [tt.float32]
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        tt.autocast("xpu")
    with pytest.warns(UserWarning, match="Disabling autocast"):
        region = tt.autocast("cuda", dtype=tt.float64)
    with region:
        assert (a @ a).dtype is tt.float32
    with tt.cuda.amp.autocast():
        assert tt.get_autocast_dtype("cuda") is tt.float16


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_backward_in_the_parameters_dtypes(device):
    lin = tt.nn.Linear(8, 3).to(device)
    x = tt.tensor(_rand((4, 8)), device=device, requires_grad=True)
    with tt.autocast(device):
        loss = F.cross_entropy(lin(x), tt.tensor([0, 1, 2, 1], device=device))
        assert loss.dtype is tt.float32
        loss.backward()                                      # (inside the region: backward ignores it)
    assert lin.weight.grad.dtype is tt.float32 and x.grad.dtype is tt.float32
    assert np.isfinite(lin.weight.grad.cpu().numpy()).all()


def test_matches_torch_autocast_on_cpu():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 4))
    m = tt.nn.Sequential(tt.nn.Linear(8, 16), tt.nn.GELU(), tt.nn.Linear(16, 4))
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    exact = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 4)).double()
    exact.load_state_dict({k: v.double() for k, v in tm.state_dict().items()})
    x = _rand((5, 8))
    with torch.autocast("cpu"):
        t_out = tm(torch.tensor(x))
        t_loss = torch.nn.functional.log_softmax(t_out, -1).sum()
    with tt.autocast("cpu"):
        out = m(tt.tensor(x))
        loss = F.log_softmax(out, -1).sum()
    assert out.dtype is tt.bfloat16 and loss.dtype is tt.float32
    np.testing.assert_array_equal(out.float().detach().numpy(), t_out.float().detach().numpy())
    t_loss.backward()
    loss.backward()
    torch.nn.functional.log_softmax(exact(torch.tensor(x).double()), -1).sum().backward()
    # the backward runs in bfloat16 (8 bits of mantissa) and sums in its own order: judged against float64, ours
    # must be as accurate as PyTorch's
    for (name, p), tp, ep in zip(m.named_parameters(), tm.parameters(), exact.parameters()):
        ref = ep.grad.numpy()
        ours_err = np.abs(p.grad.numpy() - ref).max()
        torch_err = np.abs(tp.grad.numpy() - ref).max()
        assert ours_err <= 2 * torch_err + 4e-3 * np.abs(ref).max(), (name, ours_err, torch_err)


# ------------------------------------------------------------------------------------------------ GradScaler

def test_grad_scaler_matches_torch():
    tm, m = torch.nn.Linear(4, 2), tt.nn.Linear(4, 2)
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    t_opt, opt = torch.optim.SGD(tm.parameters(), lr=0.1), tt.optim.SGD(m.parameters(), lr=0.1)
    t_scaler = torch.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    scaler = tt.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    x = _rand((3, 4))
    for step in range(9):
        bad = step in (2, 6)
        t_opt.zero_grad()
        opt.zero_grad()
        t_loss, loss = tm(torch.tensor(x)).square().sum(), m(tt.tensor(x)).square().sum()
        if bad:   # an overflowed step: skipped, and the scale backs off
            t_loss, loss = t_loss * float("inf"), loss * float("inf")
        t_scaler.scale(t_loss).backward()
        scaler.scale(loss).backward()
        if step == 4:   # unscale_ before clipping, as training scripts do
            t_scaler.unscale_(t_opt)
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
            tt.nn.utils.clip_grad_norm_(m.parameters(), 0.5)
        t_scaler.step(t_opt)
        scaler.step(opt)
        t_scaler.update()
        scaler.update()
        assert scaler.get_scale() == t_scaler.get_scale(), step
        for p, tp in zip(m.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert scaler.state_dict() == {k: (v.item() if hasattr(v, "item") else v)
                                   for k, v in t_scaler.state_dict().items()}
    other = tt.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == scaler.get_scale()


def test_grad_scaler_errors_and_disabled():
    p = tt.nn.Parameter(tt.ones(2))
    opt = tt.optim.SGD([p], lr=0.1)
    scaler = tt.amp.GradScaler("cpu")
    scaler.scale(p.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: None)
    scaler.update()
    with pytest.raises(AssertionError, match="No inf checks were recorded"):
        scaler.update()
    half = tt.nn.Parameter(tt.ones(2, dtype=tt.float16))
    half.grad = tt.ones(2, dtype=tt.float16)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        scaler.unscale_(tt.optim.SGD([half], lr=0.1))
    off = tt.cuda.amp.GradScaler(enabled=False)
    loss = p.sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
