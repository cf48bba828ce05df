"""lstm_layer: against the per-step cell ops, the cpu workspace against recomputation, unused outputs, half
precision per step, nn.LSTM's use of it, errors. (Values, gradcheck, gradgradcheck and cuda against cpu come from
the registry's generated tests.)"""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_rnn_cell as C
from tritorch.ops import nn_rnn_layer as L
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()


def _operands(T=4, B=3, H=5, dtype=np.float64, device="cpu", seed=0):
    rng = np.random.default_rng(seed)
    arrays = (rng.uniform(-2, 2, (T, B, 4 * H)), rng.uniform(-1, 1, (B, H)), rng.uniform(-1, 1, (B, H)),
              rng.uniform(-0.5, 0.5, (4 * H, H)))
    return [tt.tensor(a.astype(dtype), device=device, requires_grad=True) for a in arrays]


def _per_step(gx, h, c, w, reverse):
    """The layer as the per-step ops the recurrent modules used before: fused cells and matmuls."""
    T = gx.shape[0]
    hs, cs = [None] * T, [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h, c = C.fused_lstm_cell(gx[t], h @ w.t(), c)
        hs[t], cs[t] = h, c
    return tt.stack(hs), tt.stack(cs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reverse", [False, True])
def test_equals_the_per_step_cells(device, reverse):
    ops = _operands(device=device)
    hs, cs = L.lstm_layer(*ops, reverse=reverse)
    weights = [tt.tensor(np.cos(np.arange(a.numel()) + k).reshape(a.shape), device=device) for k, a in
               enumerate((hs, cs))]
    got = tt.autograd.grad((hs, cs), ops, weights)
    ref_hs, ref_cs = _per_step(*ops, reverse)
    want = tt.autograd.grad((ref_hs, ref_cs), ops, weights)
    assert_close(hs, ref_hs.detach().cpu().numpy(), rtol=1e-12, atol=1e-13)
    assert_close(cs, ref_cs.detach().cpu().numpy(), rtol=1e-12, atol=1e-13)
    for g, w in zip(got, want):
        assert_close(g, w.cpu().numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_workspace_equals_recomputation(dtype, reverse):
    ops = _operands(dtype=dtype)
    hs, cs = L.lstm_layer(*ops, reverse=reverse)
    ghs = tt.tensor(np.sin(np.arange(hs.numel())).reshape(hs.shape).astype(dtype))
    gcs = tt.tensor(np.cos(np.arange(cs.numel())).reshape(cs.shape).astype(dtype))
    tt.autograd.backward([hs, cs], [ghs, gcs])          # with the forward's workspace
    with tt.no_grad():
        want = L.lstm_layer_backward_op(ghs, gcs, *ops, reverse=reverse)   # recomputed
    for t, w in zip(ops, want):
        np.testing.assert_array_equal(t.grad.numpy(), w.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_retained_graph_backward_twice(device):
    # the cpu workspace is taken by the first backward; the second recomputes and must agree
    ops = _operands(device=device)
    hs, cs = L.lstm_layer(*ops)
    loss = (hs * 2).sum() + cs[-1].sum()
    loss.backward(retain_graph=True)
    first = [t.grad.cpu().numpy().copy() for t in ops]
    for t in ops:
        t.grad = None
    loss.backward()
    for t, f in zip(ops, first):
        np.testing.assert_array_equal(t.grad.cpu().numpy(), f)


def test_unused_cell_states():
    ops = _operands()
    hs, _ = L.lstm_layer(*ops)
    hs[-1].sum().backward()                 # cs unused, and only the last hidden state
    got = [t.grad.numpy().copy() for t in ops]
    for t in ops:
        t.grad = None
    ref_hs, _ = _per_step(*ops, False)
    ref_hs[-1].sum().backward()
    for g, t in zip(got, ops):
        assert_close(g, t.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("d", [tt.float16, tt.bfloat16])
def test_half_precision_rounds_every_step(d):
    # each step's states are stored in the half dtype, as the per-step ops store them
    gx, h, c, w = (t.detach().to(d) for t in _operands(dtype=np.float32))
    hs, cs = L.lstm_layer(gx, h, c, w)
    assert hs.dtype is d and cs.dtype is d
    ref_hs, ref_cs = _per_step(gx.float(), h.float(), c.float(), w.float(), False)
    assert_close(hs.float(), ref_hs.numpy(), rtol=2e-2, atol=2e-2)
    assert_close(cs.float(), ref_cs.numpy(), rtol=2e-2, atol=2e-2)
    # the cpu step: the hidden product in float32, the cell in float32, its states rounded to d
    step_h, step_c = C.fused_lstm_cell(gx[0], h.float() @ w.float().t(), c)
    np.testing.assert_array_equal(hs[0].float().numpy(), step_h.to(d).float().numpy())
    np.testing.assert_array_equal(cs[0].float().numpy(), step_c.to(d).float().numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_lstm_module_runs_one_op_per_direction(device):
    m = tt.nn.LSTM(3, 4, num_layers=2, bidirectional=True).to(device)
    x = tt.randn(6, 2, 3, device=device)
    with tt.profiler.profile() as prof:
        out, (h, c) = m(x)
        out.sum().backward()
    names = [e.name.removeprefix("aten::") for e in prof.events()]
    assert names.count("lstm_layer") == 4 and names.count("lstm_layer_backward") == 4
    if device == "cpu":   # (the cuda impl launches the cell's kernel through its op, which the profiler sees)
        assert "fused_lstm_cell" not in names
    # packed sequences of lengths 6 and 4: one op per run of equal batch sizes (steps 0-3 of 2 rows, 4-5 of 1)
    packed = tt.nn.utils.rnn.pack_padded_sequence(x, [6, 4])
    with tt.profiler.profile() as prof:
        m(packed)
    names = [e.name.removeprefix("aten::") for e in prof.events()]
    assert names.count("lstm_layer") == 8


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_packed_sequences_match_torch(mode):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    m = getattr(tt.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((7, 4, 3))
    lengths = [7, 5, 5, 2]
    outs = []
    for lib, mod in ((torch, tm), (tt, m)):
        xs = lib.tensor(x, requires_grad=True)
        out, state = mod(lib.nn.utils.rnn.pack_padded_sequence(xs, lengths))
        padded, _ = lib.nn.utils.rnn.pad_packed_sequence(out)
        states = state if mode == "LSTM" else (state,)
        (padded.pow(2).sum() + sum(s.pow(3).sum() for s in states)).backward()
        outs.append([padded.detach(), *(s.detach() for s in states), xs.grad]
                    + [q.grad for q in mod.parameters()])
    for want, got in zip(*outs):
        assert_close(got, want.numpy(), rtol=1e-10, atol=1e-12)


def test_errors():
    gx, h, c, w = tt.ones(3, 2, 8), tt.ones(2, 2), tt.ones(2, 2), tt.ones(8, 2)
    with pytest.raises(RuntimeError, match="gates_x must be 3-D"):
        L.lstm_layer(tt.ones(2, 8), h, c, w)
    with pytest.raises(RuntimeError, match=r"weight_hh of shape \[8, 3\] does not match"):
        L.lstm_layer(gx, h, c, tt.ones(8, 3))
    with pytest.raises(RuntimeError, match=r"Expected c0 size \(2, 2\), got \[3, 2\]"):
        L.lstm_layer(gx, h, tt.ones(3, 2), w)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        L.lstm_layer(gx.long(), h.long(), c.long(), w.long())
    with pytest.raises(TypeError, match="argument 'h0'"):
        L.lstm_layer(gx, None, c, w)
    with pytest.raises(RuntimeError, match=r"grad_cs of shape \[3, 2\] does not match"):
        L.lstm_layer_backward_op(tt.ones(3, 2, 2), tt.ones(3, 2), gx, h, c, w)
    with pytest.raises(RuntimeError, match="workspace must be the forward's"):
        L.lstm_layer_backward_op(tt.ones(3, 2, 2), tt.ones(3, 2, 2), gx, h, c, w, workspace=tt.ones(3))
    if "cuda" in DEVICES:
        with pytest.raises(RuntimeError, match="device"):
            L.lstm_layer(gx, h.to("cuda"), c, w)


def test_lstm_under_autocast_runs_in_the_regions_dtype_as_torch():
    torch = pytest.importorskip("torch")
    tm = torch.nn.LSTM(4, 5, 2, batch_first=True)
    m = tt.nn.LSTM(4, 5, 2, batch_first=True)
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((3, 6, 4)).astype(np.float32)
    tx, ox = torch.tensor(x, requires_grad=True), tt.tensor(x, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ty, (th, tc) = tm(tx)
    with tt.autocast("cpu", dtype=tt.bfloat16):
        oy, (oh, oc) = m(ox)
    assert [str(t.dtype) for t in (oy, oh, oc)] == ["tritorch.bfloat16"] * 3
    assert [str(t.dtype) for t in (ty, th, tc)] == ["torch.bfloat16"] * 3
    assert_close(oy.float(), ty.float().detach().numpy(), rtol=0.05, atol=0.05)
    ty.float().sum().backward()
    oy.float().sum().backward()
    assert ox.grad.dtype is tt.float32 and m.weight_hh_l0.grad.dtype is tt.float32
    assert_close(ox.grad, tx.grad.numpy(), rtol=0.05, atol=0.05)
