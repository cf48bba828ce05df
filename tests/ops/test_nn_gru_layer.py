"""gru_layer: against the per-step cell ops, the cpu workspace against recomputation, nn.GRU's use of it, errors.
(Values, gradcheck and cuda against cpu come from the registry's generated tests.)"""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import nn_gru_layer as G
from tritorch.ops import nn_rnn_cell as C
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()


def _operands(T=4, B=3, H=5, dtype=np.float64, device="cpu", seed=0):
    rng = np.random.default_rng(seed)
    arrays = (rng.uniform(-2, 2, (T, B, 3 * H)), rng.uniform(-1, 1, (B, H)), rng.uniform(-0.5, 0.5, (3 * H, H)),
              rng.uniform(-1, 1, (3 * H,)))
    return [tt.tensor(a.astype(dtype), device=device, requires_grad=True) for a in arrays]


def _per_step(gx, h, w, b, reverse):
    """The layer as the per-step ops the recurrent modules used before: fused cells and linears."""
    T = gx.shape[0]
    hs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = C.fused_gru_cell(gx[t], tt.nn.functional.linear(h, w, b), h)
        hs[t] = h
    return tt.stack(hs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reverse", [False, True])
def test_equals_the_per_step_cells(device, reverse):
    ops = _operands(device=device)
    hs = G.gru_layer(*ops, reverse=reverse)
    weight = tt.tensor(np.cos(np.arange(hs.numel())).reshape(hs.shape), device=device)
    got = tt.autograd.grad(hs, ops, weight)
    ref = _per_step(*ops, reverse)
    want = tt.autograd.grad(ref, ops, weight)
    assert_close(hs, ref.detach().cpu().numpy(), rtol=1e-12, atol=1e-13)
    for g, w in zip(got, want):
        assert_close(g, w.cpu().numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_workspace_equals_recomputation(dtype, reverse):
    ops = _operands(dtype=dtype)
    hs = G.gru_layer(*ops, reverse=reverse)
    g = tt.tensor(np.sin(np.arange(hs.numel())).reshape(hs.shape).astype(dtype))
    hs.backward(g)                                       # with the forward's workspace
    with tt.no_grad():
        want = G.gru_layer_backward_op(g, *ops, reverse=reverse)   # recomputed
    for t, w in zip(ops, want):
        np.testing.assert_array_equal(t.grad.numpy(), w.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_gru_module_runs_one_op_per_direction(device):
    torch = pytest.importorskip("torch")
    tm = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False).double()
    m = tt.nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False).double().to(device)
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((6, 2, 3))
    with tt.profiler.profile() as prof:
        out, h = m(tt.tensor(x, device=device))
        out.sum().backward()
    names = [e.name.removeprefix("aten::") for e in prof.events()]
    assert names.count("gru_layer") == 4 and names.count("gru_layer_backward") == 4
    t_out, t_h = tm(torch.tensor(x))
    t_out.sum().backward()
    assert_close(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert_close(h, t_h.detach().numpy(), rtol=1e-12, atol=1e-13)
    for (name, p), tp in zip(m.named_parameters(), tm.parameters()):
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-12, msg=name)


def test_errors():
    gx, h, w, b = tt.ones(3, 2, 6), tt.ones(2, 2), tt.ones(6, 2), tt.ones(6)
    with pytest.raises(RuntimeError, match="gates_x must be 3-D"):
        G.gru_layer(tt.ones(2, 6), h, w, b)
    with pytest.raises(RuntimeError, match=r"weight_hh of shape \[8, 2\] does not match"):
        G.gru_layer(gx, h, tt.ones(8, 2), b)
    with pytest.raises(RuntimeError, match=r"Expected bias_hh size \(6,\), got \[4\]"):
        G.gru_layer(gx, h, w, tt.ones(4))
    with pytest.raises(RuntimeError, match=r"Expected h0 size \(2, 2\), got \[2, 3\]"):
        G.gru_layer(gx, tt.ones(2, 3), w, b)
    with pytest.raises(TypeError, match="argument 'bias_hh'"):
        G.gru_layer(gx, h, w, None)
    with pytest.raises(RuntimeError, match="workspace must be the forward's"):
        G.gru_layer_backward_op(tt.ones(3, 2, 2), gx, h, w, b, workspace=tt.ones(3))


@pytest.mark.parametrize("device", DEVICES)
def test_autocast_follows_pytorchs_per_device_lists(device):
    # PyTorch's autocast lowers GRU / gru_cell / lstm_cell on cuda (its cuda list) but not on cpu (its cpu list
    # names neither; nn.LSTM's layers are lowered on both): the ops' policies are per device type
    torch = pytest.importorskip("torch")
    lowered = device != "cpu"
    dtype = tt.float16 if lowered else tt.bfloat16
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    for name in ("GRU", "GRUCell", "LSTMCell"):
        tm = getattr(torch.nn, name)(4, 5)
        m = getattr(tt.nn, name)(4, 5).to(device)
        m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        tx = torch.tensor(x if name == "GRU" else x[0], requires_grad=True)
        ox = tt.tensor(x if name == "GRU" else x[0], device=device, requires_grad=True)
        with tt.autocast(device, dtype=dtype):
            out = m(ox)
        theirs = tm(tx)   # (float32, torch's cpu result without autocast: the reference for the values)
        out, theirs = (out[0], theirs[0]) if isinstance(out, tuple) else (out, theirs)
        assert out.dtype is (tt.float16 if lowered else tt.float32), (name, out.dtype)
        # (the input projections are lowered matmuls on both devices: values to half precision)
        assert_close(out.float(), theirs.detach().numpy(), rtol=0.02, atol=0.02)
        out.float().sum().backward()
        theirs.sum().backward()
        weight = m.weight_hh_l0 if name == "GRU" else m.weight_hh
        assert ox.grad.dtype is tt.float32 and weight.grad.dtype is tt.float32
        assert_close(ox.grad, tx.grad.numpy(), rtol=0.05, atol=0.05)
    if not lowered:   # on cpu, as torch's own autocast leaves them
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.nn.GRU(4, 5)(torch.tensor(x))[0].dtype == torch.float32
            assert torch.nn.LSTMCell(4, 5)(torch.tensor(x[0]))[0].dtype == torch.float32
