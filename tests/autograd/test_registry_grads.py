"""Gradient tests generated from the registry, for every op with a backward rule:
gradcheck (and gradgradcheck where the op declares double backward) in float64 on cpu; cuda gradients against cpu
gradients at 1e-3; gradients against PyTorch's where torch is installed."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import registry
from tritorch.testing import _torch, _torch_arg, devices, grad_positions, gradcheck_sample, grads_on
from tritorch.testing import assert_values_close as assert_close

GRAD_OPS = sorted((op for op in registry.ops() if op.differentiable and op.vjp is not None and op.samples is not None
                   and tt.float64 in op.dtypes), key=lambda o: o.name)


def test_every_differentiable_op_has_a_backward_rule():
    missing = sorted(op.name for op in registry.ops() if op.differentiable and op.vjp is None
                     and any(d.is_floating_point for d in op.dtypes))
    assert not missing, f"differentiable ops without a vjp: {missing}"


@pytest.mark.parametrize("name", [op.name for op in GRAD_OPS])
def test_gradcheck_float64(name):
    op = registry.get(name)
    checked = sum(gradcheck_sample(op, s, op.double_backward) for s in op.samples("cpu", tt.float64))
    assert checked > 0, f"{name}: no sample small enough for gradcheck"


@pytest.mark.parametrize("name", [op.name for op in GRAD_OPS])
@pytest.mark.skipif("cuda" not in devices(), reason="no cuda device (GPU or interpreter)")
def test_cuda_grads_match_cpu(name):
    op = registry.get(name)
    for s_cuda, s_cpu in zip(op.samples("cuda", tt.float32), op.samples("cpu", tt.float32)):
        got = grads_on(op, s_cuda)
        want = grads_on(op, s_cpu)
        if got is None:
            continue
        for g, w in zip(got[0], want[0]):
            if w is None:
                assert g is None
                continue
            assert_close(g, w, rtol=1e-3, atol=1e-4, msg=f"{name}[{s_cuda.name}] cuda grad vs cpu grad:")


# (extra["torch_grad"] False: PyTorch's function has no derivative, as torch.special.bessel_j0's)
@pytest.mark.parametrize("name", [op.name for op in GRAD_OPS
                                  if op.extra.get("torch") and op.extra.get("torch_grad", True)])
def test_grads_match_torch(name):
    torch = _torch()
    if torch is None:
        pytest.skip("PyTorch is not installed (it is an optional oracle)")
    op = registry.get(name)
    for s in op.samples("cpu", tt.float64):
        res = grads_on(op, s)
        if res is None:
            continue
        grads, leaves = res
        targs = []
        tleaves = []
        positions = grad_positions(op, s.args)
        for i, a in enumerate(s.args):
            ta = _torch_arg(torch, a)
            if i in positions and isinstance(a, tt.Tensor) and a.dtype.is_floating_point:
                ta = ta.clone().requires_grad_(True)
                tleaves.append(ta)
            elif i in positions and isinstance(a, (list, tuple)) and a and isinstance(a[0], tt.Tensor):
                ta = type(a)(x.clone().requires_grad_(True) if isinstance(x, torch.Tensor) and x.is_floating_point()
                             else x for x in ta)
                tleaves.extend(x for x in ta if isinstance(x, torch.Tensor) and x.requires_grad)
            targs.append(ta)
        kwargs = {k: _torch_arg(torch, v) for k, v in s.kwargs.items()}
        outs = op.extra["torch"](torch, *targs, **kwargs)
        outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.is_floating_point() and o.requires_grad]
        weights = [torch.from_numpy(np.cos(np.arange(o.numel(), dtype=np.float64) + k).reshape(o.shape)).to(o.dtype)
                   for k, o in enumerate(outs)]
        tg = torch.autograd.grad(outs, tleaves, weights, allow_unused=True)
        for g, w in zip(grads, tg):
            if w is None or g is None:
                continue
            assert_close(g, w.detach().numpy(), rtol=1e-6, atol=1e-9, msg=f"{name}[{s.name}] grad vs torch:")
