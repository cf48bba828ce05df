"""tritorch.utils.checkpoint: the same values and gradients as running the function plainly (dropout included,
through the saved random state), recomputation in backward, checkpoint_sequential; the non-reentrant variant's
memory, early stop, determinism check, debug trace and context_fn; the module's helpers."""
import contextlib

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
from tritorch.utils.checkpoint import (CheckpointError, CheckpointFunction, DefaultDeviceType, check_backward_validity,
                                       checkpoint, checkpoint_sequential, detach_variable, get_device_states,
                                       noop_context_fn, set_checkpoint_debug_enabled, set_checkpoint_early_stop,
                                       set_device_states)


def _block():
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Dropout(0.3), nn.Linear(8, 6))


def _grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_checkpoint_matches_plain_run(device):
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    plain, ckpt = _block().to(device), _block().to(device)
    xa = tt.tensor(x, device=device, requires_grad=True)
    xb = tt.tensor(x, device=device, requires_grad=True)
    tt.manual_seed(7)
    ya = plain(xa).tanh()
    tt.manual_seed(7)
    yb = checkpoint(lambda inp: ckpt(inp), xb, use_reentrant=False).tanh()
    np.testing.assert_array_equal(yb.detach().cpu().numpy(), ya.detach().cpu().numpy())
    ya.sum().backward()
    yb.sum().backward()   # recomputes the block: the same dropout mask from the saved random state
    np.testing.assert_allclose(xb.grad.cpu().numpy(), xa.grad.cpu().numpy(), rtol=1e-6, atol=1e-7)
    for a, b in zip([p.grad.cpu().numpy() for p in plain.parameters()],
                    [p.grad.cpu().numpy() for p in ckpt.parameters()]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_recomputes_in_backward_and_keeps_no_activations():
    calls = []

    def fn(a, scale):
        calls.append(tt.is_grad_enabled())
        return (a * scale).exp()

    x = tt.tensor([0.5, 1.0], requires_grad=True)
    y = checkpoint(fn, x, 2.0, use_reentrant=True)
    assert calls == [False] and y.grad_fn is not None      # forward ran without recording fn's graph
    y.sum().backward()
    assert calls == [False, True]                          # backward ran fn again, recording it
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.array([0.5, 1.0])), rtol=1e-6)


def test_inputs_without_grad_and_sequential():
    model = _block()
    model.eval()
    x = tt.ones(3, 6)                                      # (data: no grad) the parameters still get theirs
    checkpoint(model, x, use_reentrant=False).sum().backward()
    first = _grads(model)
    model.zero_grad()
    model(x).sum().backward()
    for a, b in zip(first, _grads(model)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    seq = nn.Sequential(*[nn.Linear(6, 6) for _ in range(4)])
    xs = tt.ones(2, 6, requires_grad=True)
    out = checkpoint_sequential(seq, 2, xs, use_reentrant=False)
    np.testing.assert_allclose(out.detach().numpy(), seq(xs).detach().numpy(), rtol=1e-6)
    out.sum().backward()
    assert xs.grad is not None
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(model, xs)


def test_non_reentrant_keeps_no_activations_and_recomputes_once():
    import gc
    import weakref
    refs, calls = [], []

    def fn(a):
        calls.append(tt.is_grad_enabled())
        h = (a * 3.0).exp()
        refs.append(weakref.ref(h))
        return h.sin()

    x = tt.tensor([0.1, 0.2], requires_grad=True)
    y = checkpoint(fn, x, use_reentrant=False)
    gc.collect()
    assert calls == [True] and refs[0]() is None     # the graph is recorded, its saved activations are not kept
    plain = fn(x)
    gc.collect()
    assert refs[1]() is not None                     # (without checkpoint the saved exp(3a) stays alive)
    (gx,) = tt.autograd.grad(y.sum(), x)            # autograd.grad works: the graph is the ordinary one
    assert calls == [True, True, True]               # one recomputation for the whole region
    (want,) = tt.autograd.grad(plain.sum(), x)
    np.testing.assert_allclose(gx.numpy(), want.numpy(), rtol=1e-6)
    assert x.grad is None


def test_non_reentrant_gives_parameters_their_gradients_through_autograd_grad():
    model = _block().eval()
    x = tt.ones(3, 6)
    out = checkpoint(model, x, use_reentrant=False).sum()
    grads = tt.autograd.grad(out, list(model.parameters()))
    want = tt.autograd.grad(model(x).sum(), list(model.parameters()))
    for a, b in zip(grads, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_early_stop_and_its_override():
    trail = []

    def fn(a):
        trail.append("start")
        h = a.exp()          # the last op that saves a tensor (its output)
        trail.append("end")
        return h + 1.0       # (saves nothing)

    for early, override, ends in ((True, None, 1), (False, None, 2), (False, True, 1), (True, False, 2)):
        trail.clear()
        x = tt.ones(2, requires_grad=True)
        ctx = contextlib.nullcontext() if override is None else set_checkpoint_early_stop(override)
        with ctx:
            y = checkpoint(fn, x, use_reentrant=False, early_stop=early)
        y.sum().backward()
        assert trail.count("start") == 2 and trail.count("end") == ends, (early, override, trail)
        np.testing.assert_allclose(x.grad.numpy(), np.e * np.ones(2), rtol=1e-6)


def test_determinism_check_and_debug_trace():
    runs = []

    def fn(a):
        runs.append(1)
        n = 3 if len(runs) == 1 else 2                  # the recomputation differs from the forward
        return a[:n].exp().sum()

    for debug in (False, True):
        runs.clear()
        x = tt.ones(3, requires_grad=True)
        y = checkpoint(fn, x, use_reentrant=False, debug=debug)
        with pytest.raises(CheckpointError, match="different metadata than during the forward pass") as err:
            y.backward()
        assert ("Ops that made the saved tensors" in str(err.value)) == debug
    runs.clear()
    x = tt.ones(3, requires_grad=True)
    with set_checkpoint_debug_enabled(True):
        y = checkpoint(fn, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="ExpBackward0"):
        y.backward()
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(fn, x, use_reentrant=False, determinism_check="strict")


def test_context_fn_wraps_forward_and_recomputation():
    entered = []

    @contextlib.contextmanager
    def note(name):
        entered.append(name)
        yield

    x = tt.ones(2, requires_grad=True)
    y = checkpoint(lambda a: a.exp(), x, use_reentrant=False,
                   context_fn=lambda: (note("forward"), note("recompute")))
    assert entered == ["forward"]
    y.sum().backward()
    assert entered == ["forward", "recompute"]
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda a: a, x, use_reentrant=True, context_fn=lambda: (note("f"), note("r")))
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda a, scale: a * scale, x, use_reentrant=True, scale=2.0)
    y = checkpoint(lambda a, scale: a * scale, x, use_reentrant=False, scale=2.0)   # non-reentrant takes kwargs
    np.testing.assert_allclose(y.detach().numpy(), [2.0, 2.0])


def test_reentrant_warns_when_no_input_requires_grad():
    model = _block()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(model, tt.ones(2, 6), use_reentrant=True)
    assert not y.requires_grad


def test_helpers():
    a, b = tt.ones(2, requires_grad=True), tt.zeros(2)
    da, db, c = detach_variable((a, b, 3))
    assert da.requires_grad and da.is_leaf and not db.requires_grad and c == 3
    with pytest.raises(RuntimeError, match="Only tuple of tensors is supported"):
        detach_variable([a])
    with pytest.warns(UserWarning, match="Gradients will be None"):
        check_backward_validity([b, 1])
    fwd, rec = noop_context_fn()
    with fwd, rec:
        pass
    assert DefaultDeviceType.get_device_type() == "cuda"
    DefaultDeviceType.set_device_type("cpu")
    assert DefaultDeviceType.get_device_type() == "cpu"
    DefaultDeviceType.set_device_type()
    ids, states = get_device_states(tt.ones(1, device="cuda"), tt.ones(1))
    assert ids == [0] and len(states) == 1
    tt.manual_seed(3)
    first = tt.rand(2, device="cuda")
    set_device_states(ids, states)
    tt.manual_seed(3)
    set_device_states([0], [tt.cuda.get_rng_state()])
    np.testing.assert_array_equal(tt.rand(2, device="cuda").cpu().numpy(), first.cpu().numpy())
    assert issubclass(CheckpointError, RuntimeError)
    assert CheckpointFunction.apply(lambda t: t * 2, True, a).grad_fn is not None
