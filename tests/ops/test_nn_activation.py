"""Tests of the nn activation family (elu, leaky_relu, mish, hardtanh, relu6, selu, celu, softsign, hardsigmoid,
hardswish, logsigmoid): forward and gradients against torch.nn.functional, kwargs, inplace=True, errors.

The per-op checks (reference, cuda vs cpu, gradcheck + gradgradcheck, cuda grads, grads vs PyTorch) come from
the registry's generated tests (tests/ops/test_registry_ops.py, tests/autograd/test_registry_grads.py)."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.ops.nn_activation as A
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
F = torch.nn.functional
DEVICES = devices()
NAMES = list(A.__all__)


CALLS = [("elu", {}), ("elu", {"alpha": 0.3}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
         ("mish", {}), ("hardtanh", {}), ("hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("relu6", {}),
         ("selu", {}), ("celu", {}), ("celu", {"alpha": 2.0}), ("softsign", {}), ("hardsigmoid", {}),
         ("hardswish", {}), ("logsigmoid", {})]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kw", CALLS)
def test_functional_matches_torch(name, kw, device):
    a = np.concatenate([np.linspace(-7, 7, 29), [0.0, -3.0, 3.0, 6.0, -1.0, 1.0]])
    x = tt.tensor(a, device=device).requires_grad_(True)
    tx = torch.tensor(a, requires_grad=True)
    y = getattr(A, name)(x, **kw)
    ty = getattr(F, name)(tx, **kw)
    assert_close(y, ty.detach().numpy(), rtol=1e-7, atol=1e-12)
    (g,) = tt.autograd.grad(y, [x], tt.tensor(np.cos(np.arange(a.size)), device=device))
    (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(np.cos(np.arange(a.size))))
    assert_close(g, tg.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kw", [c for c in CALLS if c[0] not in ("softsign", "logsigmoid")])
def test_inplace_writes_into_input(name, kw, device):
    a = np.linspace(-5, 5, 11).astype(np.float32)
    x = tt.tensor(a, device=device)
    version = x._version[0]
    r = getattr(A, name)(x, inplace=True, **kw)
    assert r is x and x._version[0] == version + 1
    assert_close(x, getattr(F, name)(torch.tensor(a), **kw).numpy())


def test_half_precision_matches_torch():
    a = np.linspace(-6, 6, 37)
    for name, kw in CALLS:
        for dt, tdt in ((tt.float16, torch.float16), (tt.bfloat16, torch.bfloat16)):
            y = getattr(A, name)(tt.tensor(a, dtype=dt), **kw)
            assert y.dtype is dt
            ty = getattr(F, name)(torch.tensor(a, dtype=tdt), **kw)
            assert_close(y.float(), ty.float().numpy(), rtol=1.6e-2, atol=1e-2)


def test_integer_inputs_raise():
    for name in NAMES:
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            getattr(A, name)(tt.tensor([1, 2]))


def test_hardtanh_min_above_max_raises():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        A.hardtanh(tt.ones(3), 2.0, 1.0)


def test_double_backward_matches_torch():
    a = np.linspace(-4, 4, 13) + 0.05
    for name, kw in CALLS:
        x = tt.tensor(a).requires_grad_(True)
        tx = torch.tensor(a, requires_grad=True)
        (g,) = tt.autograd.grad(getattr(A, name)(x, **kw).sum(), [x], create_graph=True)
        (tg,) = torch.autograd.grad(getattr(F, name)(tx, **kw).sum(), [tx], create_graph=True)
        if not g.requires_grad:
            # piecewise-linear ops: the gradient is constant in x, so it has no graph (PyTorch's second
            # derivative is zero, or not implemented for hardsigmoid)
            assert name in ("leaky_relu", "hardtanh", "relu6", "hardsigmoid"), name
            continue
        (tgg,) = torch.autograd.grad((tg * tg).sum(), [tx], allow_unused=True)
        (gg,) = tt.autograd.grad((g * g).sum(), [x], allow_unused=True)
        if tgg is None:
            assert gg is None or np.allclose(gg._host(), 0), name
        else:
            assert_close(gg, tgg.numpy(), rtol=1e-7, atol=1e-12, msg=name)
