"""In-place writes under autograd: into views of tensors that require grad, copy_, setitem, out=, device moves.

Each case runs the same code on tritorch and on PyTorch (the oracle) and compares values and gradients."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _pair(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    return a


def _run(lib, device, case):
    w = lib.tensor(_pair((4, 5), 0), requires_grad=True, device=device if lib is tt else "cpu")
    a = lib.tensor(_pair((2, 5), 1), requires_grad=True, device=device if lib is tt else "cpu")
    out = case(lib, w, a)
    out.backward(lib.ones_like(out))
    return out, w.grad, a.grad


def _setitem_slice(lib, w, a):
    x = w * 2
    x[1:3] = a
    return x * x


def _mul_view(lib, w, a):
    x = w * 1
    x[:, 1:4].mul_(a[0, :3])
    return x.sin()


def _write_constant(lib, w, a):
    x = w.sin()           # sin saves its input, so writing its output is fine
    x[0] = 0.5
    x[:, -1].zero_()
    return x * a.sum()


def _into_zeros(lib, w, a):
    buf = lib.zeros(3, 5, dtype=lib.float64, device=w.device)
    buf[0] = w[0]
    buf[2].add_(a[1] * 3)
    return buf.cos()


def _advanced(lib, w, a):
    x = w + 0
    idx = lib.tensor([3, 0], device=w.device)
    x[idx] = a
    return x * w


def _copy_broadcast(lib, w, a):
    x = w * 1
    x.copy_(a[0])
    return x * w


def _transposed_view(lib, w, a):
    x = (w * 1).t()          # a view of a contiguous base
    x[2].add_(a[1, :4])
    return x.tanh()


def _view_then_use_base(lib, w, a):
    x = w * 3
    v = x[1]
    v.mul_(a[1])
    return x.sum(0) * a[0]


CASES = [_setitem_slice, _mul_view, _write_constant, _into_zeros, _advanced, _copy_broadcast, _transposed_view,
         _view_then_use_base]


@pytest.mark.parametrize("device", DEVICES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))


def test_inplace_matches_torch(case, device):
    got = _run(tt, device, case)
    want = _run(torch, device, case)
    for g, t in zip(got, want):
        assert_close(g.cpu(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_double_backward_through_copy_slices():
    def f(lib, w):
        x = w * 1
        x[1:3] = w[1:3] ** 3
        return x.sum()
    results = []
    for lib in (tt, torch):
        w = lib.tensor(_pair((4,), 2), requires_grad=True)
        (g,) = lib.autograd.grad(f(lib, w), w, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), w)
        results.append((g.detach(), gg))
    for a, b in zip(*results):
        assert_close(a, b.numpy(), rtol=1e-12)


def test_leaf_and_view_of_leaf_raise():
    w = tt.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[1:].mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        w[0] = 1.0
    with tt.no_grad():
        w[0] = 1.0            # allowed without grad mode, as in PyTorch
    assert w[0].item() == 1.0


def test_saved_tensor_then_view_write_raises_version_error():
    w = tt.randn(4, requires_grad=True)
    x = w * 1
    y = x.exp()               # exp saves its output y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("device", DEVICES)


def test_cat_out_is_recorded(device):
    a = tt.randn(3, requires_grad=True, device=device)
    b = tt.randn(2, requires_grad=True, device=device)
    o = tt.empty(5, device=device)
    tt.cat([a, b * 2], out=o)
    assert o.requires_grad and o.grad_fn is not None
    o.sum().backward()
    assert_close(a.grad.cpu(), np.ones(3, np.float32))
    assert_close(b.grad.cpu(), np.full(2, 2, np.float32))


def test_device_move_carries_gradient():
    x = tt.randn(3, requires_grad=True)
    y = x.to("cuda")
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.device.type == "cpu"
    assert_close(x.grad, 2 * x.detach().numpy())


def test_keyword_tensor_that_requires_grad_is_an_error():
    from tritorch.ops.registry import OpDef, Meta

    def impl(meta, x, scale=None):
        return x._data * scale._data
    op = OpDef(name="scaled", infer=lambda x, scale=None: Meta(x.shape, x.dtype, x.device),
               impl={"cpu": impl}, vjp=lambda ctx, g: g)
    x, s = tt.randn(3, requires_grad=True), tt.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="'scale' requires grad but was passed by keyword"):
        op(x, scale=s)


@pytest.mark.parametrize("device", ["cpu", "cuda"])


def test_copy_of_a_leaf_into_a_fresh_tensor_keeps_the_gradient_path(device):
    a = tt.tensor([1.0, 2.0], device=device, requires_grad=True)
    ar = torch.tensor([1.0, 2.0], requires_grad=True)
    b, br = tt.zeros(2, device=device), torch.zeros(2)
    b.copy_(a)
    br.copy_(ar)
    assert b.requires_grad and b.grad_fn is not None and br.requires_grad
    (b * b).sum().backward()
    (br * br).sum().backward()
    assert a.grad.tolist() == ar.grad.tolist()


SELECTIONS = {
    "topk": lambda m, x: m.topk(x, 2), "sort": lambda m, x: m.sort(x, descending=True),
    "max_dim": lambda m, x: x.max(-1), "min_dim": lambda m, x: x.min(-1), "frexp": lambda m, x: m.frexp(x),
    "max_pool1d": lambda m, x: m.nn.functional.max_pool1d(x[None], 2, return_indices=True),
}


@pytest.mark.parametrize("name", sorted(SELECTIONS))


def test_values_of_a_selection_can_be_modified_in_place(name):
    # the backward of (values, indices) ops reads only the indices, so `values /= values.sum()` (Mixtral's router
    # does this to topk's values) must not trip the in-place check, as in PyTorch
    data = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    grads = []
    for m in (tt, torch):
        x = m.tensor(data, requires_grad=True)
        values, _ = SELECTIONS[name](m, x)
        values /= values.sum(-1, keepdim=True)
        (values * m.arange(values.shape[-1])).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_where_operands_can_be_modified_in_place_after_the_call():
    # where's backward reads only the condition (Longformer writes into the operands afterwards); changing the
    # condition itself is still caught
    data = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    grads = []
    for m in (tt, torch):
        x = m.tensor(data, requires_grad=True)
        a, b = x * 2, x * 3
        out = m.where(x > 0, a, b)
        a.zero_()
        b.add_(1)
        (out * out).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    x = tt.tensor(data, requires_grad=True)
    cond = x > 0
    out = tt.where(cond, x, 0.0)
    cond.logical_not_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_view_taken_after_an_inplace_write_keeps_its_own_history():
    # torchvision's ConvNeXt: a channels-last-strided product is added to in place, then permuted for layer_norm.
    # Only views taken before the write are regenerated from the base (which must be contiguous for that).
    x = tt.randn(2, 4, 3, 3, requires_grad=True)
    lin = tt.nn.Linear(4, 4)
    r = tt.ones(4, 1, 1) * lin(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert not r.is_contiguous()
    r += x
    y = r.permute(0, 2, 3, 1)
    assert y.grad_fn.name() == "PermuteBackward0"
    tt.nn.functional.layer_norm(y, (4,)).pow(2).sum().backward()
    # the same without the in-place write
    x2 = x.detach().requires_grad_()
    r2 = tt.ones(4, 1, 1) * lin(x2.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) + x2
    tt.nn.functional.layer_norm(r2.permute(0, 2, 3, 1), (4,)).pow(2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-5, atol=1e-6)
