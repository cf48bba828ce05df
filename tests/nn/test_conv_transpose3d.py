"""conv_transpose3d (tritorch/ops/nn_conv_transpose3d.py), nn.ConvTranspose3d and its output_size vs PyTorch:
values, input/weight/bias gradients and double backward on cpu and cuda (GPU or interpreter), and torch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CASES = [
    ((2, 4, 3, 3, 2), (4, 2, 2, 2, 2), True, {}),
    ((1, 4, 3, 2, 3), (4, 3, 3, 2, 2), True, {"stride": (2, 1, 2), "padding": (1, 0, 1), "output_padding": (1, 0, 1),
                                              "groups": 2, "dilation": (1, 2, 1)}),
    ((2, 2, 3, 2), (2, 1, 2, 3, 1), False, {"stride": 1, "padding": 0, "dilation": (2, 1, 1),
                                          "output_padding": (1, 0, 0)}),     # unbatched, op < dilation
    ((1, 2, 4, 2, 2), (2, 2, 3, 1, 1), True, {"stride": (3, 1, 1), "padding": (2, 0, 0)}),
]


def _check(xs, ws, bias, kw, device):
    x, w = _rand(xs, 1), _rand(ws, 2)
    b = _rand((ws[1] * kw.get("groups", 1),), 3) if bias else None
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if bias else None
    xx, ww = tt.tensor(x, device=device, requires_grad=True), tt.tensor(w, device=device, requires_grad=True)
    bb = tt.tensor(b, device=device, requires_grad=True) if bias else None
    ref, out = TF.conv_transpose3d(xt, wt, bt, **kw), F.conv_transpose3d(xx, ww, bb, **kw)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = _rand(tuple(ref.shape), 4)
    ref.backward(torch.tensor(g))
    out.backward(tt.tensor(g, device=device))
    pairs = [(xx, xt), (ww, wt)] + ([(bb, bt)] if bias else [])
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_against_torch_cpu(case):
    _check(*CASES[case], "cpu")


@pytest.mark.parametrize("case", [0, 1])
def test_against_torch_cuda(case):
    _check(*CASES[case], "cuda")


def test_torch_namespace_and_double_backward():
    assert tt.conv_transpose3d is F.conv_transpose3d
    x = tt.tensor(_rand((1, 2, 2, 2, 2)).astype(np.float64), requires_grad=True)
    w = tt.tensor(_rand((2, 1, 2, 1, 2), 5).astype(np.float64), requires_grad=True)
    assert tt.autograd.gradcheck(lambda a, b: F.conv_transpose3d(a, b, stride=2, padding=(1, 0, 0)), (x, w))
    assert tt.autograd.gradgradcheck(lambda a, b: F.conv_transpose3d(a, b, stride=(1, 2, 1)), (x, w))


def test_module_output_size_and_state_dict():
    tm = torch.nn.ConvTranspose3d(4, 6, (2, 3, 2), stride=2, padding=1, groups=2)
    m = tt.nn.ConvTranspose3d(4, 6, (2, 3, 2), stride=2, padding=1, groups=2)
    assert repr(m) == repr(tm)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = _rand((1, 4, 3, 3, 3))
    out, ref = m(tt.tensor(x), output_size=(5, 6, 5)), tm(torch.tensor(x), output_size=(5, 6, 5))
    assert tuple(out.shape) == tuple(ref.shape) == (1, 6, 5, 6, 5)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"valid sizes range from \[4, 5, 4\] to \[5, 6, 5\]"):
        m(tt.tensor(x), output_size=(6, 5, 5))
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose3d'):
        tt.nn.ConvTranspose3d(2, 2, 2, padding_mode="reflect")


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 3, 3), (4, 2, 2, 2, 2), {}),
    ((1, 2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {}),
    ((2, 3, 3, 3, 3), (4, 2, 2, 2, 2), {}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"stride": (1, 2)}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"output_padding": 2}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"output_padding": (0, 1, 0), "stride": 1}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"groups": 3}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"stride": 0}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"padding": -1}),
    ((2, 4, 3, 3, 3), (4, 2, 2, 2, 2), {"bias": 3}),
    ((1, 4, 1, 1, 1), (4, 2, 1, 1, 1), {"padding": 1}),
])
def test_errors_as_torch(xs, ws, kw):
    kw = dict(kw)
    nb = kw.pop("bias", None)
    with pytest.raises(RuntimeError) as theirs:
        TF.conv_transpose3d(torch.zeros(xs), torch.zeros(ws), None if nb is None else torch.zeros(nb), **kw)
    with pytest.raises(RuntimeError) as ours:
        F.conv_transpose3d(tt.zeros(xs), tt.zeros(ws), None if nb is None else tt.zeros(nb), **kw)
    if len(ws) == 5 or len(xs) == 6:
        assert str(ours.value) == str(theirs.value)
