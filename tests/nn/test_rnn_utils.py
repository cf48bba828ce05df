"""tritorch.nn.utils.rnn (packing and padding variable-length sequences) and packed inputs to the recurrent
layers, against torch.nn.utils.rnn and torch's layers: data, batch sizes, orders, outputs, final states and
input gradients through pack -> RNN -> pad, on cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.nn.utils import rnn as R

torch = pytest.importorskip("torch")
TR = torch.nn.utils.rnn


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(t):
    return t.detach().cpu().numpy()


def _load(tm, m, device):
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m.to(device)


PACKED = [(device, batch_first, cls, kwargs)
          for device, batch_first in (("cpu", False), ("cpu", True))
          for cls, kwargs in (("LSTM", {"num_layers": 2, "bidirectional": True}), ("GRU", {}),
                              ("RNN", {"bidirectional": True}), ("LSTM", {"proj_size": 2}))]
PACKED += [("cuda", True, "GRU", {}), ("cuda", False, "LSTM", {"proj_size": 2})]   # (the interpreter is slow)


@pytest.mark.parametrize("device, batch_first, cls, kwargs", PACKED)
def test_packed_sequence_through_recurrent_layers(device, batch_first, cls, kwargs):
    x = _rand((5, 3, 4))
    if batch_first:
        x = x.transpose(1, 0, 2).copy()
    lengths = [2, 5, 3]
    tx, xx = torch.tensor(x, requires_grad=True), tt.tensor(x, device=device, requires_grad=True)
    tp = TR.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    xp = R.pack_padded_sequence(xx, tt.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    np.testing.assert_array_equal(_np(xp.data), _np(tp.data))
    np.testing.assert_array_equal(xp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    np.testing.assert_array_equal(_np(xp.sorted_indices), _np(tp.sorted_indices))
    np.testing.assert_array_equal(_np(xp.unsorted_indices), _np(tp.unsorted_indices))
    tm = getattr(torch.nn, cls)(4, 3, batch_first=batch_first, **kwargs)
    m = _load(tm, getattr(tt.nn, cls)(4, 3, batch_first=batch_first, **kwargs), device)
    t_out, t_h = tm(tp)
    out, h = m(xp)
    assert isinstance(out, R.PackedSequence)
    np.testing.assert_allclose(_np(out.data), _np(t_out.data), rtol=1e-5, atol=1e-6)
    for a, b in zip(h if cls == "LSTM" else (h,), t_h if cls == "LSTM" else (t_h,)):   # in the batch's order
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
    t_pad, t_len = TR.pad_packed_sequence(t_out, batch_first=batch_first, total_length=6)
    pad, lens = R.pad_packed_sequence(out, batch_first=batch_first, total_length=6)
    np.testing.assert_allclose(_np(pad), _np(t_pad), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(lens.numpy(), t_len.numpy())
    w = _rand(tuple(t_pad.shape), 1)
    (t_pad * torch.tensor(w)).sum().backward()
    (pad * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(_np(xx.grad), _np(tx.grad), rtol=1e-5, atol=1e-6)
    # initial states are given in the batch's own order, as PyTorch takes them
    h0 = _rand(tuple((t_h[0] if cls == "LSTM" else t_h).shape), 2)
    if cls == "LSTM":
        c0 = _rand(tuple(t_h[1].shape), 3)
        t_hx, hx = (torch.tensor(h0), torch.tensor(c0)), (tt.tensor(h0, device=device), tt.tensor(c0, device=device))
    else:
        t_hx, hx = torch.tensor(h0), tt.tensor(h0, device=device)
    np.testing.assert_allclose(_np(m(xp, hx)[0].data), _np(tm(tp, t_hx)[0].data), rtol=1e-5, atol=1e-6)


def test_pad_pack_helpers():
    seqs = [_rand((n, 2), n) for n in (3, 1, 4)]
    ours, theirs = [tt.tensor(s) for s in seqs], [torch.tensor(s) for s in seqs]
    for kw in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        np.testing.assert_array_equal(_np(R.pad_sequence(ours, **kw)), _np(TR.pad_sequence(theirs, **kw)))
    p, tp = R.pack_sequence(ours, enforce_sorted=False), TR.pack_sequence(theirs, enforce_sorted=False)
    np.testing.assert_array_equal(_np(p.data), _np(tp.data))
    np.testing.assert_array_equal(p.batch_sizes.numpy(), tp.batch_sizes.numpy())
    for a, b in zip(R.unpack_sequence(p), TR.unpack_sequence(tp)):
        np.testing.assert_array_equal(_np(a), _np(b))
    sorted_seqs = [ours[2], ours[0], ours[1]]
    p = R.pack_sequence(sorted_seqs)
    assert p.sorted_indices is None and p.unsorted_indices is None
    padded = R.pad_sequence(sorted_seqs, batch_first=True)
    for a, b in zip(R.unpad_sequence(padded, [4, 3, 1], batch_first=True), sorted_seqs):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert p.to("cuda").is_cuda and not p.to("cuda").cpu().is_cuda
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        R.pack_sequence(ours)
    with pytest.raises(RuntimeError, match="has to be greater than 0"):
        R.pack_padded_sequence(tt.ones(3, 2, 1), [3, 0])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        R.pad_packed_sequence(p, total_length=2)
