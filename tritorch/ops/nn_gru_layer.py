"""A whole GRU layer (one direction, every time step) in one op: nn_rnn_layer's lstm_layer for the GRU.

  gru_layer(gates_x, h0, weight_hh, bias_hh, *, reverse=False) -> hs
      gates_x (T, B, 3H): every step's input projection (x_t W_ih^T + b_ih, gates [r z n]); h0 (B, H);
      weight_hh (3H, H), bias_hh (3H,) (PyTorch's GRU applies r to the hidden projection with its bias, so the
      bias stays apart from gates_x). Step t takes hg = h W_hh^T + b_hh and fused_gru_cell's formulas; hs (T, B, H)
      is every step's hidden state in time order (reverse=True runs the steps from T - 1 down to 0).
  gru_layer_backward(grad_hs, gates_x, h0, weight_hh, bias_hh, *, reverse=False, workspace=None)
      -> (d gates_x, d h0, d weight_hh, d bias_hh)

cpu: each step is one GEMM and nn_rnn_cell's GRU row passes into preallocated states; a recorded forward keeps
[r z n], the hidden projections and the states as the backward's workspace. The backward runs the steps back
with one (B, 3H) x (3H, H) GEMM each; the weight's gradient is one GEMM over all steps and the bias's one sum.
cuda: a host loop over the matmul, add and fused_gru_cell kernels; its backward recomputes the forward's states
and runs the cell's backward kernel step by step. Double backward differentiates the composed layer twice.
"""
from __future__ import annotations

import numpy as np

from . import nn_rnn_cell as _cell
from .nn_fused import _compute_np as _np_compute
from .nn_rnn_layer import (BWD_SHAPES, FLOATS, SHAPES, SIZES, as_compute, layer_bench, layer_samples,
                           layer_shapes, prev_step, round_to, stack_states, steps)
from .registry import BenchSpec, Meta, OpDef, device_of, register

FAMILY = "nn_rnn_layer"

__all__ = ["gru_layer"]


# ================================================================================================ infer rules

def _bias_check(name: str, bias_hh, T: int, B: int, H: int) -> None:
    if tuple(bias_hh._data.shape) != (3 * H,):
        raise RuntimeError(f"{name}: Expected bias_hh size ({3 * H},), got {list(bias_hh._data.shape)}")


def _gru_layer_infer(gates_x, h0, weight_hh, bias_hh, *, reverse=False):
    name = "gru_layer"
    ts = (gates_x, h0, weight_hh, bias_hh)
    _cell._check_tensors(name, ("gates_x", "h0", "weight_hh", "bias_hh"), ts)
    dev = device_of(*ts)
    d = _cell._float_dtype(name, ts)
    s = layer_shapes(name, 3, gates_x, weight_hh, h0=h0)
    _bias_check(name, bias_hh, *s)
    return Meta(s, d, dev)


def _gru_layer_backward_infer(grad_hs, gates_x, h0, weight_hh, bias_hh, *, reverse=False, workspace=None):
    name = "gru_layer_backward"
    ts = (grad_hs, gates_x, h0, weight_hh, bias_hh)
    _cell._check_tensors(name, ("grad_hs", "gates_x", "h0", "weight_hh", "bias_hh"), ts)
    dev = device_of(*ts)
    d = _cell._float_dtype(name, ts)
    T, B, H = layer_shapes(name, 3, gates_x, weight_hh, h0=h0)
    _bias_check(name, bias_hh, T, B, H)
    if tuple(grad_hs._data.shape) != (T, B, H):
        raise RuntimeError(f"{name}: grad_hs of shape {list(grad_hs._data.shape)} does not match the states' "
                           f"{[T, B, H]}")
    _cell._check_workspace(name, workspace, (T, B, H), 7, dev)
    return Meta(((T, B, 3 * H), (B, H), (3 * H, H), (3 * H,)), (d,) * 4, dev)


# ================================================================================================ NumPy side
# The workspace is (T, 7, B, H): per step the cell's gate-major [r z n] (nn_rnn_cell's layout), the hidden
# projection hg as a row-major (B, 3H) block, and the new state.

def _forward_np(gx, h0, w, b, reverse: bool, d, ws: np.ndarray | None) -> np.ndarray:
    """hs in the compute dtype; ws (T, 7, B, H), when given, gets the gates, hidden projections and states."""
    T, B, G = gx.shape
    H = G // 3
    hs = np.empty((T, B, H), gx.dtype)
    w_t = np.ascontiguousarray(w.T)            # (H, 3H): one copy a call, the row-major B operand of every step
    hg_one, three = (np.empty((B, G), gx.dtype), np.empty(3 * B * H, gx.dtype)) if ws is None else (None, None)
    h = h0
    for t in steps(T, reverse):
        hg = hg_one if ws is None else ws[t, 3:6].reshape(B, G)
        np.matmul(h, w_t, out=hg)
        hg += b
        _cell._gru_rows(gx[t], hg, h, hs[t], three if ws is None else ws[t, :3].reshape(-1))
        round_to(hs[t], d)
        if ws is not None:
            ws[t, 6] = hs[t]
        h = hs[t]
    return hs


def _gru_layer_cpu(meta, gates_x, h0, weight_hh, bias_hh, *, reverse=False):
    (T, B, H), d = meta.shape, meta.dtype
    c = _np_compute(d)
    ws = np.empty((T, 7, B, H), c) if _cell._records_grad(gates_x, h0, weight_hh, bias_hh) else None
    hs = _forward_np(as_compute(gates_x, c), as_compute(h0, c), as_compute(weight_hh, c), as_compute(bias_hh, c),
                     reverse, d, ws)
    if ws is not None:
        meta.aux = ws.reshape(-1)   # the backward's workspace (the vjp takes it)
    return hs.astype(d.np, copy=False)


def _gru_layer_backward_cpu(meta, grad_hs, gates_x, h0, weight_hh, bias_hh, *, reverse=False, workspace=None):
    d = meta.dtype[0]
    T, B, G = meta.shape[0]
    H = G // 3
    c = _np_compute(d)
    gx, w, h0a = as_compute(gates_x, c), as_compute(weight_hh, c), as_compute(h0, c)
    if workspace is not None:
        ws = workspace._data.astype(c, copy=False).reshape(T, 7, B, H)
    else:
        ws = np.empty((T, 7, B, H), c)
        _forward_np(gx, h0a, w, as_compute(bias_hh, c), reverse, d, ws)
    ghs = as_compute(grad_hs, c)
    dgx, dhg = np.empty((T, B, G), c), np.empty((T, B, G), c)
    dh, back = np.zeros((B, H), c), np.empty((B, H), c)
    hprev = np.empty((T, B, H), c)   # the state each step started from, for the weight's gradient
    for t in steps(T, not reverse):            # the steps in the opposite order to the forward's
        p = prev_step(t, T, reverse)
        hprev[t] = h0a if p is None else ws[p, 6]
        dh += ghs[t]
        dhx = _cell._gru_backward_rows(dh, ws[t, :3].reshape(-1), ws[t, 3:6].reshape(B, G), hprev[t], dgx[t],
                                       dhg[t])
        np.matmul(dhg[t], w, out=back)
        np.add(dhx, back, out=dh)
    rows = dhg.reshape(T * B, G)
    dw = np.matmul(rows.T, hprev.reshape(T * B, H)) if T * B else np.zeros((G, H), c)
    db = np.add.reduce(rows, axis=0)
    return tuple(a.astype(d.np, copy=False) for a in (dgx, dh, dw, db))


# ================================================================================================ cuda side

def _forward_ops(gates_x, h0, weight_hh, bias_hh, reverse: bool):
    """(hs list, hidden projections list) per step, in time order, as tensors."""
    from .matmul import matmul_op
    T = gates_x.shape[0]
    w_t = weight_hh.t()
    hs, hgs = [None] * T, [None] * T
    h = h0
    for t in steps(T, reverse):
        hgs[t] = matmul_op(h, w_t) + bias_hh
        h = _cell.gru_cell_op(gates_x[t], hgs[t], h)
        hs[t] = h
    return hs, hgs


def _gru_layer_cuda(meta, gates_x, h0, weight_hh, bias_hh, *, reverse=False):
    from ..autograd.grad_mode import no_grad
    with no_grad():
        gx, h, w, b = (t.to(meta.dtype) for t in (gates_x, h0, weight_hh, bias_hh))
        hs, _ = _forward_ops(gx, h, w, b, reverse)
        return stack_states(hs, gx, meta.shape, meta.dtype)


def _gru_layer_backward_cuda(meta, grad_hs, gates_x, h0, weight_hh, bias_hh, *, reverse=False, workspace=None):
    from ..autograd.grad_mode import no_grad
    from .creation import zeros
    from .matmul import matmul_op, mm_op
    from .movement import cat
    d = meta.dtype[0]
    T, B, G = meta.shape[0]
    H = G // 3
    with no_grad():
        gx, h0t, w, b, ghs = (t.to(d) for t in (gates_x, h0, weight_hh, bias_hh, grad_hs))
        hs, hgs = _forward_ops(gx, h0t, w, b, reverse)
        dgs, dhgs, hprev = [None] * T, [None] * T, [None] * T
        dh = zeros((B, H), dtype=d, device=gx.device)
        for t in steps(T, not reverse):
            p = prev_step(t, T, reverse)
            hprev[t] = h0t if p is None else hs[p]
            dgs[t], dhgs[t], dhx = _cell.gru_cell_backward_op(ghs[t] + dh, gx[t], hgs[t], hprev[t])
            dh = dhx + matmul_op(dhgs[t], w)
        if T * B:
            dgx = cat(dgs, 0).reshape(T, B, G)
            rows = cat(dhgs, 0)
            dw = mm_op(rows.t(), cat(hprev, 0))
            db = rows.sum(0)
        else:
            dgx = zeros((T, B, G), dtype=d, device=gx.device)
            dw, db = zeros((G, H), dtype=d, device=gx.device), zeros((G,), dtype=d, device=gx.device)
        return tuple(a.to(d)._data for a in (dgx, dh, dw, db))


# ======================================================================================================== refs

def _ref_forward(gates_x, h0, weight_hh, bias_hh, reverse=False):
    gx, h, w, b = _cell._f64(gates_x, h0, weight_hh, bias_hh)
    T = gx.shape[0]
    hs, hgs = np.zeros(gx.shape[:2] + (h.shape[-1],)), [None] * T
    for t in steps(T, reverse):
        hgs[t] = h @ w.T + b
        h = _cell._gru_ref(gx[t], hgs[t], h)
        hs[t] = h
    return hs, hgs


def _gru_layer_ref(gates_x, h0, weight_hh, bias_hh, reverse=False):
    return _ref_forward(gates_x, h0, weight_hh, bias_hh, reverse)[0]


def _gru_layer_backward_ref(grad_hs, gates_x, h0, weight_hh, bias_hh, reverse=False, workspace=None):
    ghs, gx, h0, w, b = _cell._f64(grad_hs, gates_x, h0, weight_hh, bias_hh)
    hs, hgs = _ref_forward(gx, h0, w, b, reverse)
    T = gx.shape[0]
    dgx, dw, db = np.zeros(gx.shape), np.zeros(w.shape), np.zeros(b.shape)
    dh = np.zeros(h0.shape)
    for t in steps(T, not reverse):
        p = prev_step(t, T, reverse)
        hx = h0 if p is None else hs[p]
        dgx[t], dhg, dhx = _cell._gru_backward_ref(ghs[t] + dh, gx[t], hgs[t], hx)
        dh = dhx + dhg @ w
        dw += dhg.T @ hx
        db += dhg.sum(0)
    return dgx, dh, dw, db


# ======================================================================================================== vjps

def _gru_layer_composed(gates_x, h0, weight_hh, bias_hh, reverse=False):
    """The layer in registered ops (differentiable to any order)."""
    import tritorch as tt
    T = gates_x.shape[0]
    if T == 0:   # (empty states that still depend on every input, so autograd can differentiate them)
        empty = gates_x[..., :h0.shape[-1]] * 0
        return empty + 0 * (h0.sum() + weight_hh.sum() + bias_hh.sum())
    hs = [None] * T
    h = h0
    for t in steps(T, reverse):
        h = _cell._gru_composed(gates_x[t], h @ weight_hh.t() + bias_hh, h)
        hs[t] = h
    return tt.stack(hs, 0)


def _gru_layer_vjp(ctx, grad_hs):
    gates_x, h0, weight_hh, bias_hh = ctx.inputs
    return gru_layer_backward_op(grad_hs, gates_x, h0, weight_hh, bias_hh, reverse=ctx.kwargs.get("reverse", False),
                                 workspace=_cell._take_workspace(ctx))


def _gru_layer_backward_vjp(ctx, *ggs):
    """The composed layer differentiated twice by the engine (nn_rnn_cell's rule, with this op's `reverse`)."""
    reverse = ctx.kwargs.get("reverse", False)
    return _cell._backward_vjp(lambda *a: _gru_layer_composed(*a, reverse=reverse), 1, lambda gs: gs)(ctx, *ggs)


# ===================================================================================================== samples

_ROLES = ("gates", "state", "weight", "bias")


def _layer_bytes(s, d):
    T, B, H = s
    return (T * B * (3 * H + H) + T * 3 * H * H) * d.itemsize   # gates in, states out, the weight per step


# ================================================================================================ declarations

gru_layer_op = register(OpDef(
    name="gru_layer", family=FAMILY, infer=_gru_layer_infer,
    impl={"cpu": _gru_layer_cpu, "cuda": _gru_layer_cuda}, ref=_gru_layer_ref,
    samples=layer_samples(0, SHAPES, "gru_layer", 3, _ROLES), dtypes=FLOATS, vjp=_gru_layer_vjp,
    autocast={"cuda": "lower"},   # (PyTorch's autocast lowers a GRU on cuda, not on cpu)
    bench=BenchSpec(sizes=SIZES, make=layer_bench(0, 3, _ROLES), bytes=_layer_bytes,
                    flops=lambda s: s[0] * (6 * s[1] * s[2] * s[2] + 30 * s[1] * s[2])),
    doc="every step's h of one GRU layer direction from the input projections, h0, weight_hh and bias_hh",
    extra={"torch": lambda torch, gx, h0, w, b, reverse=False: _torch_gru_layer(torch, gx, h0, w, b, reverse)}))

gru_layer_backward_op = register(OpDef(
    name="gru_layer_backward", family=FAMILY, infer=_gru_layer_backward_infer,
    impl={"cpu": _gru_layer_backward_cpu, "cuda": _gru_layer_backward_cuda}, ref=_gru_layer_backward_ref,
    samples=layer_samples(1, BWD_SHAPES, "gru_layer_bwd", 3, _ROLES), dtypes=FLOATS, n_outputs=4,
    vjp=_gru_layer_backward_vjp, double_backward=False,
    bench=BenchSpec(sizes=SIZES, make=layer_bench(1, 3, _ROLES), bytes=lambda s, d: 2 * _layer_bytes(s, d),
                    flops=lambda s: s[0] * (12 * s[1] * s[2] * s[2] + 40 * s[1] * s[2]), backward=False),
    doc="(d gates_x, d h0, d weight_hh, d bias_hh) of gru_layer from grad_hs; workspace= the cpu forward's gates, "
        "hidden projections and states"))


def _torch_gru_layer(torch, gx, h0, w, b, reverse=False):
    T = gx.shape[0]
    if T == 0:   # (empty states that still depend on gx)
        return gx[..., :h0.shape[-1]] * 0
    hs = [None] * T
    h = h0
    for t in steps(T, reverse):
        xr, xz, xn = gx[t].chunk(3, -1)
        hr, hz, hn = (h @ w.t() + b).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = n + z * (h - n)
        hs[t] = h
    return torch.stack(hs)


# ============================================================================================ public functions

def gru_layer(gates_x, h0, weight_hh, bias_hh, *, reverse=False):
    """hs: every step's hidden state of one GRU layer direction, from the input projections gates_x (T, B, 3H)
    (bias_ih included), the initial state h0 (B, H), weight_hh (3H, H) and bias_hh (3H,)."""
    return gru_layer_op(gates_x, h0, weight_hh, bias_hh, reverse=reverse)
