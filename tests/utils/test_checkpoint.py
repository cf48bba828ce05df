"""tritorch.utils.checkpoint: the same values and gradients as running the function plainly (dropout included,
through the saved random state), recomputation in backward, checkpoint_sequential."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
from tritorch.utils.checkpoint import checkpoint, checkpoint_sequential


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
