"""fused_lstm_cell / fused_gru_cell: the cpu workspace against recomputation, unused outputs, double backward
through the recurrent modules against torch, errors. (Values, gradcheck, gradgradcheck and cuda against cpu
come from the registry's generated tests.)"""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_rnn_cell as C
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()


def _operands(gates, rows=3, H=5, dtype=np.float64, device="cpu", seed=0):
    rng = np.random.default_rng(seed)
    ig, hg = (rng.uniform(-3, 3, (rows, gates * H)).astype(dtype) for _ in range(2))
    state = rng.uniform(-2, 2, (rows, H)).astype(dtype)
    return [tt.tensor(a, device=device, requires_grad=True) for a in (ig, hg, state)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_workspace_equals_recomputation(dtype):
    ig, hg, cx = _operands(4, dtype=dtype)
    hy, cy = C.fused_lstm_cell(ig, hg, cx)
    ghy, gcy = tt.tensor(np.cos(np.arange(15.0)).reshape(3, 5).astype(dtype)), tt.ones(3, 5, dtype=hy.dtype) * 0.5
    tt.autograd.backward([hy, cy], [ghy, gcy])
    with tt.no_grad():
        dg, dcx = C.lstm_cell_backward_op(ghy, gcy, ig, hg, cx)     # no workspace: recomputed
    np.testing.assert_array_equal(ig.grad.numpy(), dg.numpy())
    np.testing.assert_array_equal(hg.grad.numpy(), dg.numpy())
    np.testing.assert_array_equal(cx.grad.numpy(), dcx.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_workspace_equals_recomputation(dtype):
    ig, hg, hx = _operands(3, dtype=dtype)
    hy = C.fused_gru_cell(ig, hg, hx)
    g = tt.tensor(np.sin(np.arange(15.0)).reshape(3, 5).astype(dtype))
    hy.backward(g)
    with tt.no_grad():
        dig, dhg, dhx = C.gru_cell_backward_op(g, ig, hg, hx)
    for got, want in ((ig.grad, dig), (hg.grad, dhg), (hx.grad, dhx)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_retained_graph_backward_twice(device):
    # the cpu workspace is taken by the first backward; the second recomputes and must agree
    ig, hg, cx = _operands(4, device=device)
    hy, cy = C.fused_lstm_cell(ig, hg, cx)
    loss = (hy * 2 + cy).sum()
    loss.backward(retain_graph=True)
    first = [t.grad.cpu().numpy().copy() for t in (ig, hg, cx)]
    for t in (ig, hg, cx):
        t.grad = None
    loss.backward()
    for t, f in zip((ig, hg, cx), first):
        np.testing.assert_array_equal(t.grad.cpu().numpy(), f)


@pytest.mark.parametrize("device", DEVICES)
def test_unused_outputs(device):
    torch = pytest.importorskip("torch")
    ig, hg, cx = _operands(4, device=device)
    hy, cy = C.fused_lstm_cell(ig, hg, cx)
    hy.sum().backward()                                    # cy unused: its gradient is zero
    pig, phg, pcx = (torch.tensor(t.detach().cpu().numpy(), requires_grad=True) for t in (ig, hg, cx))
    i, f, g, o = (pig + phg).chunk(4, -1)
    pcy = torch.sigmoid(f) * pcx + torch.sigmoid(i) * torch.tanh(g)
    (torch.sigmoid(o) * torch.tanh(pcy)).sum().backward()
    assert_close(ig.grad, pig.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert_close(cx.grad, pcx.grad.numpy(), rtol=1e-12, atol=1e-14)
    ig.grad = hg.grad = cx.grad = None
    hy, cy = C.fused_lstm_cell(ig, hg, cx)
    cy.sum().backward()                                    # hy unused
    assert_close(ig.grad[:, 15:], np.zeros((3, 5)), rtol=0, atol=0)   # the output gate only feeds hy


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_module_double_backward_vs_torch(mode):
    # a gradient penalty through a recurrent layer: the backward ops' own gradients
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2).double()
    m = getattr(tt.nn, mode)(3, 4, num_layers=2).double()
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    px, tx = torch.tensor(x, requires_grad=True), tt.tensor(x, requires_grad=True)
    (pg,) = torch.autograd.grad(tm(px)[0].pow(2).sum(), [px], create_graph=True)
    pg.pow(2).sum().backward()
    (tg,) = tt.autograd.grad(m(tx)[0].pow(2).sum(), [tx], create_graph=True)
    tg.pow(2).sum().backward()
    assert_close(tg.detach(), pg.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(tx.grad, px.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-11, msg=name)


def test_half_precision_computes_in_fp32():
    ig, hg, cx = _operands(4, dtype=np.float32)
    ref_h, ref_c = C.fused_lstm_cell(*(t.detach() for t in (ig, hg, cx)))
    for d in (tt.float16, tt.bfloat16):
        hy, cy = C.fused_lstm_cell(*(t.detach().to(d) for t in (ig, hg, cx)))
        assert hy.dtype is d and cy.dtype is d
        assert_close(hy.float(), ref_h.numpy(), rtol=2e-2, atol=2e-2)
        assert_close(cy.float(), ref_c.numpy(), rtol=2e-2, atol=2e-2)


def test_errors():
    g4, g3, s = tt.ones(2, 8), tt.ones(2, 6), tt.ones(2, 2)
    with pytest.raises(RuntimeError, match=r"cx of shape \[2, 3\] does not match gates of shape \[2, 8\]"):
        C.fused_lstm_cell(g4, g4, tt.ones(2, 3))
    with pytest.raises(RuntimeError, match="must have one shape"):
        C.fused_lstm_cell(g4, tt.ones(3, 8), s)
    with pytest.raises(RuntimeError, match=r"hx of shape \[3, 2\]"):
        C.fused_gru_cell(g3, g3, tt.ones(3, 2))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        C.fused_gru_cell(g3.long(), g3.long(), s.long())
    with pytest.raises(TypeError, match="argument 'cx'"):
        C.fused_lstm_cell(g4, g4, None)
    with pytest.raises(RuntimeError, match="workspace must be the forward's"):
        C.lstm_cell_backward_op(s, s, g4, g4, s, workspace=tt.ones(3))
    if "cuda" in DEVICES:
        with pytest.raises(RuntimeError, match="device"):
            C.fused_lstm_cell(g4, g4.to("cuda"), s)
