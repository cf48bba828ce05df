"""autograd.forward_ad (dual tensors) against PyTorch's forward AD: the same programs with the same primals and
tangents give the same tangents, on every device; plus the level's rules and errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.autograd.forward_ad as fwAD
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
import torch.autograd.forward_ad as torch_fwAD  # noqa: E402


@pytest.fixture(params=devices())
def device(request):
    return request.param


def jvp_both(program, arrays, tangents, device):
    """(ours, theirs): the tangents of program(lib, *duals)'s outputs (a tensor or a tuple of them)."""
    results = []
    for lib, ad, dev in ((tt, fwAD, device), (torch, torch_fwAD, "cpu")):
        with ad.dual_level():
            duals = [ad.make_dual(lib.tensor(a, device=dev), lib.tensor(t, device=dev))
                     for a, t in zip(arrays, tangents)]
            out = program(lib, *duals)
            outs = out if isinstance(out, tuple) else (out,)
            results.append([ad.unpack_dual(o).tangent for o in outs])
    return results


def check(ours, theirs, atol=1e-9):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b.detach().numpy(), rtol=atol, atol=atol)


rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 5))
TA = rng.standard_normal((3, 4))
TB = rng.standard_normal((4, 5))

PROGRAMS = {
    "pointwise": (lambda lib, x: (x.sin() * x.exp() + x ** 3 / (1 + x * x)).tanh(), [A], [TA]),
    "matmul": (lambda lib, x, w: x @ w, [A, B], [TA, TB]),
    "reductions": (lambda lib, x: (x.sum(1), x.max(0).values, x.norm(), x.logsumexp(1)), [A], [TA]),
    "softmax_family": (lambda lib, x: (lib.softmax(x, 1), lib.log_softmax(x, 0)), [A], [TA]),
    "layer_norm": (lambda lib, x: lib.nn.functional.layer_norm(x, (4,)), [A], [TA]),
    "views": (lambda lib, x: (x[1], x.t(), x.reshape(2, 6)[:, ::2], x.unsqueeze(0).expand(2, 3, 4)), [A], [TA]),
    "self_product": (lambda lib, x: x * x, [A], [TA]),
    "cat_stack": (lambda lib, x, y: (lib.cat([x, x * 2], 0), lib.stack([x.sum(0), y.sum(0)], 0)),
                  [A, B.T.copy()], [TA, TB.T.copy()]),
    "conv2d": (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
               [rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))],
               [rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))]),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_tangents_equal_torch(name, device):
    program, arrays, tangents = PROGRAMS[name]
    check(*jvp_both(program, arrays, tangents, device))


def test_module_forward_and_no_grad(device):
    def program(lib, x):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.GELU(), lib.nn.Linear(6, 2)).double()
        if lib is tt:
            model = model.to(device)
            # the same weights in both libraries
            for p, a in zip(model.parameters(), _torch_weights()):
                p.data.copy_(tt.tensor(a, device=device))
        else:
            for p, a in zip(model.parameters(), _torch_weights()):
                p.data.copy_(torch.tensor(a))
        with lib.no_grad():           # forward AD does not depend on grad mode
            return model(x)
    check(*jvp_both(program, [A], [TA], device))


def _torch_weights():
    r = np.random.default_rng(5)
    return [r.standard_normal(s) for s in ((6, 4), (6,), (2, 6), (2,))]


def test_in_place_ops_update_the_tangent(device):
    def program(lib, x):
        y = x * 1.0
        y.mul_(3)
        y.sin_()
        y += x
        return y
    check(*jvp_both(program, [A], [TA], device))


def test_reverse_over_forward(device):
    """The tangent is differentiable: d/dw of the tangent of (w * x).tanh() equals torch's."""
    grads = []
    for lib, ad, dev in ((tt, fwAD, device), (torch, torch_fwAD, "cpu")):
        w = lib.tensor(B[0], device=dev, requires_grad=True)
        with ad.dual_level():
            x = ad.make_dual(lib.tensor(A[0], device=dev), lib.tensor(TA[0], device=dev))
            tangent = ad.unpack_dual((w[:4] * x).tanh()).tangent
        assert tangent.requires_grad
        tangent.sum().backward()
        grads.append(w.grad)
    assert_close(grads[0], grads[1].numpy(), rtol=1e-9, atol=1e-9)


def test_dropout_tangent_uses_the_calls_mask(device):
    tt.manual_seed(3)
    x = tt.tensor(np.ones((4, 50)), device=device)
    with fwAD.dual_level():
        y = tt.nn.functional.dropout(fwAD.make_dual(x, x * 2), 0.5)
        tangent = fwAD.unpack_dual(y).tangent
    assert_close(tangent, 2 * y.detach().cpu().numpy(), rtol=0, atol=0)   # the output's own mask
    tt.manual_seed(3)
    assert_close(tt.nn.functional.dropout(x, 0.5), y.detach().cpu().numpy(), rtol=0, atol=0)  # same draws


def test_custom_function_jvp(device):
    class Cube(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return tt.tensor(x.detach().cpu().numpy() ** 3, device=x.device)   # not made of ops

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x * x * g

        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return 3 * x * x * t

    with fwAD.dual_level():
        x = fwAD.make_dual(tt.tensor(A, device=device), tt.tensor(TA, device=device))
        tangent = fwAD.unpack_dual(Cube.apply(x)).tangent
    assert_close(tangent, 3 * A * A * TA, rtol=1e-12, atol=1e-12)


def test_level_rules_and_errors(device):
    x = tt.tensor(A, device=device)
    with pytest.raises(RuntimeError, match="dual level"):
        fwAD.make_dual(x, x)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, x[0])
        with pytest.raises(ValueError, match="floating point"):
            fwAD.make_dual(tt.arange(3, device=device), tt.ones(3, device=device))
        d = fwAD.make_dual(x, tt.ones_like(x))
        assert fwAD.unpack_dual(x).tangent is None and fwAD.unpack_dual(d).primal.tolist() == x.tolist()
        assert fwAD.unpack_dual(d.detach()).tangent is None
        assert fwAD.unpack_dual(tt.zeros_like(d)).tangent is None
        with pytest.raises(RuntimeError, match="write into a view"):
            d[0].mul_(2)
        assert d.tolist() == x.tolist()                       # refused before anything was written
        y = d * 2
    assert fwAD.unpack_dual(y).tangent is None                # tangents do not outlive their level
    from tritorch.profiler import _hooks
    assert _hooks.SESSION is None                             # dispatch is back to its plain self
    with pytest.raises(RuntimeError, match="exit a forward AD level"):
        fwAD.exit_dual_level()


def test_inside_a_profile_and_a_flop_counter():
    from tritorch.profiler import _hooks
    from tritorch.utils.flop_counter import FlopCounterMode
    x, v, w = tt.randn(3, 4), tt.randn(3, 4), tt.randn(4, 2)
    with FlopCounterMode(display=False) as fc:
        with tt.profiler.profile() as prof:
            with fwAD.dual_level():
                y = fwAD.make_dual(x, v) @ w
                tangent = fwAD.unpack_dual(y.tanh()).tangent
            assert _hooks.ACTIVE == [fc._session, prof._session]
    assert_close(tangent, ((1 - (x @ w).tanh() ** 2) * (v @ w)).numpy(), rtol=1e-5, atol=1e-6)
    assert {"aten::matmul", "aten::tanh"} <= {e.name for e in prof.events()}
    assert fc.get_total_flops() >= 2 * 3 * 4 * 2   # the mm, and the mm forward AD runs to find its tangent
    assert _hooks.SESSION is None and not _hooks.ACTIVE


def test_gradcheck_in_forward_mode():
    # PyTorch's forward-AD tutorial: a Function with only a jvp is checked with check_forward_ad=True,
    # check_backward_ad=False; a wrong jvp fails the check, naming the forward mode
    class Square(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return 2 * x * t

    class Wrong(Square):
        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return 3 * x * t

    x = tt.randn(4, dtype=tt.float64, requires_grad=True)
    kw = dict(check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False, check_batched_grad=False)
    assert tt.autograd.gradcheck(Square.apply, (x,), **kw)
    with pytest.raises(RuntimeError, match="forward mode"):   # (GradcheckError, a RuntimeError)
        tt.autograd.gradcheck(Wrong.apply, (x,), **kw)
    assert not tt.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False, **kw)
    # both modes of an ordinary function
    assert tt.autograd.gradcheck(lambda a: (a.sin() * a).sum(), (x,), check_forward_ad=True)
    with pytest.raises(AssertionError, match="at least one of"):
        tt.autograd.gradcheck(Square.apply, (x,), check_forward_ad=False, check_backward_ad=False)
