"""A whole LSTM layer (one direction, every time step) in one op, as PyTorch's fused layer is one call.

  lstm_layer(gates_x, h0, c0, weight_hh, *, reverse=False) -> (hs, cs)
      gates_x (T, B, 4H): every step's input projection (x_t W_ih^T + b_ih + b_hh, gates [i f g o]);
      h0, c0 (B, H); weight_hh (4H, H). Step t takes a = gates_x[t] + h W_hh^T and fused_lstm_cell's formulas;
      hs, cs (T, B, H) are every step's hidden and cell states, in time order (reverse=True runs the steps from
      T - 1 down to 0: the backward direction of a bidirectional layer).
  lstm_layer_backward(grad_hs, grad_cs, gates_x, h0, c0, weight_hh, *, reverse=False, workspace=None)
      -> (d gates_x, d h0, d c0, d weight_hh)

Why one op: a layer of per-step ops paid, every step, two dispatches, two autograd nodes, fresh arrays and the
engine's bookkeeping on the way back (a 2-layer LSTM of 128 over 35 steps of batch 20 spent ~3/4 of its forward
outside the arithmetic). Here the steps are a loop inside one call.

cpu: each step is one GEMM (h W_hh^T) and the cell's passes into preallocated rows (nn_rnn_cell's row
functions, so a step gives bit for bit what fused_lstm_cell gives). A forward that autograd records keeps the
activated gates and the cell states as the backward's workspace. The backward runs the steps back with one
(B, 4H) x (4H, H) GEMM each for the state's gradient; the weight's gradient is then one GEMM over all steps.
cuda: a host loop over the Triton matmul and fused_lstm_cell kernels (the launches the per-step ops made, without
their autograd nodes); its backward recomputes the states with the forward's loop and runs the cell's backward
kernel step by step. Double backward differentiates the composed layer (registered ops) twice, on both devices.
Half-precision layers store every step's states in their dtype, as the per-step ops did; the cpu takes the hidden
product in float32, the cuda matmul kernel rounds it to the half dtype (its tensor-core GEMM).
"""
from __future__ import annotations


import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import nn_rnn_cell as _cell
from .nn_fused import _compute_np as _np_compute
from .registry import BenchSpec, Meta, OpDef, Sample, device_of, register
from .samples import make_tensor, rng_for

FAMILY = "nn_rnn_layer"

__all__ = ["lstm_layer"]

FLOATS = _cell.FLOATS
_HALF = (_dt.float16, _dt.bfloat16)


def steps(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def prev_step(t: int, T: int, reverse: bool):
    """The step whose state step t starts from, or None for the initial state."""
    p = t + 1 if reverse else t - 1
    return p if 0 <= p < T else None


# ================================================================================================ infer rules

def layer_shapes(name: str, n_gates: int, gates_x, weight_hh, **states) -> tuple:
    """(T, B, H) after PyTorch-style checks of a layer's operands: gates_x (T, B, n_gates * H), weight_hh
    (n_gates * H, H), and each named state (B, H)."""
    gs = tuple(gates_x._data.shape)
    if len(gs) != 3:
        raise RuntimeError(f"{name}: gates_x must be 3-D (steps, batch, {n_gates} * hidden_size), got shape "
                           f"{list(gs)}")
    T, B, G = gs
    ws = tuple(weight_hh._data.shape)
    if len(ws) != 2 or ws[0] != n_gates * ws[1] or ws[0] != G:
        raise RuntimeError(f"{name}: weight_hh of shape {list(ws)} does not match gates_x of shape {list(gs)} "
                           f"(expected [{G}, {G // n_gates}]: {n_gates} gates per hidden unit)")
    H = ws[1]
    for what, t in states.items():
        if tuple(t._data.shape) != (B, H):
            raise RuntimeError(f"{name}: Expected {what} size ({B}, {H}), got {list(t._data.shape)}")
    return T, B, H


def _lstm_layer_infer(gates_x, h0, c0, weight_hh, *, reverse=False):
    name = "lstm_layer"
    ts = (gates_x, h0, c0, weight_hh)
    _cell._check_tensors(name, ("gates_x", "h0", "c0", "weight_hh"), ts)
    dev = device_of(*ts)
    d = _cell._float_dtype(name, ts)
    s = layer_shapes(name, 4, gates_x, weight_hh, h0=h0, c0=c0)
    return Meta((s, s), (d, d), dev)


def _lstm_layer_backward_infer(grad_hs, grad_cs, gates_x, h0, c0, weight_hh, *, reverse=False, workspace=None):
    name = "lstm_layer_backward"
    ts = (grad_hs, grad_cs, gates_x, h0, c0, weight_hh)
    _cell._check_tensors(name, ("grad_hs", "grad_cs", "gates_x", "h0", "c0", "weight_hh"), ts)
    dev = device_of(*ts)
    d = _cell._float_dtype(name, ts)
    T, B, H = layer_shapes(name, 4, gates_x, weight_hh, h0=h0, c0=c0)
    for g, what in ((grad_hs, "grad_hs"), (grad_cs, "grad_cs")):
        if tuple(g._data.shape) != (T, B, H):
            raise RuntimeError(f"{name}: {what} of shape {list(g._data.shape)} does not match the states' "
                               f"{[T, B, H]}")
    _cell._check_workspace(name, workspace, (T, B, H), 6, dev)
    return Meta(((T, B, 4 * H), (B, H), (B, H), (4 * H, H)), (d,) * 4, dev)


# ================================================================================================ NumPy side
# The workspace is (T, 6, B, H): per step the cell's five gate-major blocks [i f o g tanh(cy)] (nn_rnn_cell's
# layout) and then cy itself.

def round_to(a: np.ndarray, d: _dt.dtype) -> None:
    """Round a compute-dtype array to a half dtype and back, in place (each step's state is stored in d)."""
    if d in _HALF:
        a[...] = a.astype(d.np).astype(a.dtype)


def _forward_np(gx, h0, c0, w, reverse: bool, d: _dt.dtype, ws: np.ndarray | None):
    """(hs, cs) in the compute dtype; ws (T, 6, B, H), when given, gets the activated gates and cy per step."""
    T, B, G = gx.shape
    H = G // 4
    c = gx.dtype
    hs, cs = np.empty((T, B, H), c), np.empty((T, B, H), c)
    w_t = np.ascontiguousarray(w.T)            # (H, 4H): one copy a call, the row-major B operand of every step
    hg = np.empty((B, G), c)
    five = np.empty(5 * B * H, c) if ws is None else None
    h, cx = h0, c0
    for t in steps(T, reverse):
        np.matmul(h, w_t, out=hg)
        gates = ws[t, :5].reshape(-1) if ws is not None else five
        _cell._lstm_rows(gx[t], hg, cx, hs[t], cs[t], gates)
        round_to(hs[t], d)
        round_to(cs[t], d)
        if ws is not None:
            ws[t, 5] = cs[t]
        h, cx = hs[t], cs[t]
    return hs, cs


def as_compute(t: Tensor, c) -> np.ndarray:
    return t._data.astype(c, copy=False)


def _lstm_layer_cpu(meta, gates_x, h0, c0, weight_hh, *, reverse=False):
    (T, B, H), d = meta.shape[0], meta.dtype[0]
    c = _np_compute(d)
    ws = np.empty((T, 6, B, H), c) if _cell._records_grad(gates_x, h0, c0, weight_hh) else None
    hs, cs = _forward_np(as_compute(gates_x, c), as_compute(h0, c), as_compute(c0, c),
                         as_compute(weight_hh, c), reverse, d, ws)
    if ws is not None:
        meta.aux = ws.reshape(-1)   # the backward's workspace (the vjp takes it)
    return hs.astype(d.np, copy=False), cs.astype(d.np, copy=False)


def _lstm_layer_backward_cpu(meta, grad_hs, grad_cs, gates_x, h0, c0, weight_hh, *, reverse=False,
                             workspace=None):
    d = meta.dtype[0]
    T, B, G = meta.shape[0]
    H = G // 4
    c = _np_compute(d)
    gx, w = as_compute(gates_x, c), as_compute(weight_hh, c)
    h0a, c0a = as_compute(h0, c), as_compute(c0, c)
    if workspace is not None:
        ws = workspace._data.astype(c, copy=False).reshape(T, 6, B, H)
    else:
        ws = np.empty((T, 6, B, H), c)
        _forward_np(gx, h0a, c0a, w, reverse, d, ws)
    ghs, gcs = as_compute(grad_hs, c), as_compute(grad_cs, c)
    dgx = np.empty((T, B, G), c)
    dh, dc = np.zeros((B, H), c), np.zeros((B, H), c)
    hprev = np.empty((T, B, H), c)   # the state each step started from, for the weight's gradient
    for t in steps(T, not reverse):            # the steps in the opposite order to the forward's
        p = prev_step(t, T, reverse)
        if p is None:
            hprev[t] = h0a
            cx = c0a
        else:
            np.multiply(ws[p, 2], ws[p, 4], out=hprev[t])   # h = o * tanh(cy), as the forward computed it
            round_to(hprev[t], d)
            cx = ws[p, 5]
        dh += ghs[t]
        dc += gcs[t]
        dc = _cell._lstm_backward_rows(dh, dc, ws[t, :5].reshape(-1), cx, dgx[t])
        np.matmul(dgx[t], w, out=dh)
    dw = np.matmul(dgx.reshape(T * B, G).T, hprev.reshape(T * B, H)) if T * B else np.zeros((G, H), c)
    return tuple(a.astype(d.np, copy=False) for a in (dgx, dh, dc, dw))


# ================================================================================================ cuda side
# Composed of the registered matmul and fused cell ops on the device, without autograd (this op's rules
# differentiate it).

def _forward_ops(gates_x, h0, c0, weight_hh, reverse: bool):
    """(hs list, cs list, hidden products list) per step, in time order, as tensors."""
    from .matmul import matmul_op
    T = gates_x.shape[0]
    w_t = weight_hh.t()
    hs, cs, hgs = [None] * T, [None] * T, [None] * T
    h, cx = h0, c0
    for t in steps(T, reverse):
        hgs[t] = matmul_op(h, w_t)
        h, cx = _cell.lstm_cell_op(gates_x[t], hgs[t], cx)
        hs[t], cs[t] = h, cx
    return hs, cs, hgs


def stack_states(states: list, like, shape: tuple, d: _dt.dtype):
    from .creation import empty
    from .movement import stack
    return stack(states, 0)._data if states else empty(shape, dtype=d, device=like.device)._data


def _lstm_layer_cuda(meta, gates_x, h0, c0, weight_hh, *, reverse=False):
    from ..autograd.grad_mode import no_grad
    shape, d = meta.shape[0], meta.dtype[0]
    with no_grad():
        gx, h, c, w = (t.to(d) for t in (gates_x, h0, c0, weight_hh))
        hs, cs, _ = _forward_ops(gx, h, c, w, reverse)
        return stack_states(hs, gx, shape, d), stack_states(cs, gx, shape, d)


def _lstm_layer_backward_cuda(meta, grad_hs, grad_cs, gates_x, h0, c0, weight_hh, *, reverse=False,
                              workspace=None):
    from ..autograd.grad_mode import no_grad
    from .creation import zeros
    from .matmul import matmul_op, mm_op
    from .movement import cat
    d = meta.dtype[0]
    T, B, G = meta.shape[0]
    H = G // 4
    with no_grad():
        gx, h0t, c0t, w, ghs, gcs = (t.to(d) for t in (gates_x, h0, c0, weight_hh, grad_hs, grad_cs))
        hs, cs, hgs = _forward_ops(gx, h0t, c0t, w, reverse)
        dgs, hprev = [None] * T, [None] * T
        dh, dc = zeros((B, H), dtype=d, device=gx.device), zeros((B, H), dtype=d, device=gx.device)
        for t in steps(T, not reverse):
            p = prev_step(t, T, reverse)
            hprev[t], cx = (h0t, c0t) if p is None else (hs[p], cs[p])
            dgs[t], dc = _cell.lstm_cell_backward_op(ghs[t] + dh, gcs[t] + dc, gx[t], hgs[t], cx)
            dh = matmul_op(dgs[t], w)
        if T * B:
            dgx = cat(dgs, 0)                                        # (T * B, 4H)
            dw = mm_op(dgx.t(), cat(hprev, 0))
            dgx = dgx.reshape(T, B, G)
        else:
            dgx = zeros((T, B, G), dtype=d, device=gx.device)
            dw = zeros((G, H), dtype=d, device=gx.device)
        return tuple(a.to(d)._data for a in (dgx, dh, dc, dw))


# ======================================================================================================== refs

def _ref_forward(gates_x, h0, c0, weight_hh, reverse=False):
    gx, h, c, w = _cell._f64(gates_x, h0, c0, weight_hh)
    T = gx.shape[0]
    hs, cs = np.zeros(gx.shape[:2] + (h.shape[-1],)), np.zeros(gx.shape[:2] + (h.shape[-1],))
    hgs = [None] * T
    for t in steps(T, reverse):
        hgs[t] = h @ w.T
        h, c = _cell._lstm_ref(gx[t], hgs[t], c)
        hs[t], cs[t] = h, c
    return hs, cs, hgs


def _lstm_layer_ref(gates_x, h0, c0, weight_hh, reverse=False):
    hs, cs, _ = _ref_forward(gates_x, h0, c0, weight_hh, reverse)
    return hs, cs


def _lstm_layer_backward_ref(grad_hs, grad_cs, gates_x, h0, c0, weight_hh, reverse=False, workspace=None):
    ghs, gcs, gx, h0, c0, w = _cell._f64(grad_hs, grad_cs, gates_x, h0, c0, weight_hh)
    hs, cs, hgs = _ref_forward(gx, h0, c0, w, reverse)
    T, B, G = gx.shape
    dgx, dw = np.zeros(gx.shape), np.zeros(w.shape)
    dh, dc = np.zeros(h0.shape), np.zeros(c0.shape)
    for t in steps(T, not reverse):
        p = prev_step(t, T, reverse)
        hx, cx = (h0, c0) if p is None else (hs[p], cs[p])
        dgx[t], dc = _cell._lstm_backward_ref(ghs[t] + dh, gcs[t] + dc, gx[t], hgs[t], cx)
        dh = dgx[t] @ w
        dw += dgx[t].T @ hx
    return dgx, dh, dc, dw


# ======================================================================================================== vjps

def _lstm_layer_composed(gates_x, h0, c0, weight_hh, reverse=False):
    """The layer in registered ops (differentiable to any order)."""
    import tritorch as tt
    T, B, H = gates_x.shape[0], h0.shape[0], h0.shape[-1]
    if T == 0:
        empty = tt.zeros((0, B, H), dtype=gates_x.dtype, device=gates_x.device)
        return empty + 0 * gates_x.sum(), empty + 0 * h0.sum() + 0 * c0.sum() + 0 * weight_hh.sum()
    hs, cs = [None] * T, [None] * T
    h, c = h0, c0
    for t in steps(T, reverse):
        h, c = _cell._lstm_composed(gates_x[t], h @ weight_hh.t(), c)
        hs[t], cs[t] = h, c
    return tt.stack(hs, 0), tt.stack(cs, 0)


def _lstm_layer_vjp(ctx, grad_hs, grad_cs):
    import tritorch as tt
    gates_x, h0, c0, weight_hh = ctx.inputs
    if grad_hs is None or grad_cs is None:   # one output unused (cs, typically, beyond its last step)
        zero = tt.zeros(ctx.meta.shape[0], dtype=ctx.meta.dtype[0], device=h0.device)
        grad_hs = zero if grad_hs is None else grad_hs
        grad_cs = zero if grad_cs is None else grad_cs
    return lstm_layer_backward_op(grad_hs, grad_cs, gates_x, h0, c0, weight_hh,
                                  reverse=ctx.kwargs.get("reverse", False), workspace=_cell._take_workspace(ctx))


# ===================================================================================================== samples

# (T, B, H, reverse): odd sizes, one step, no steps, an empty batch, the reverse direction, and sizes small
# enough for gradcheck (at most 40 elements in all)
SHAPES = [(3, 2, 5, False), (1, 1, 1, False), (4, 3, 3, True), (0, 2, 3, False), (2, 0, 3, False),
           (2, 1, 2, True)]
BWD_SHAPES = [(3, 2, 4, False), (3, 1, 3, True), (0, 2, 3, False), (2, 1, 1, False), (2, 1, 2, True)]


def layer_samples(n_grads: int, shapes, name: str, n_gates: int, roles: tuple):
    """Samples of a layer op (or its backward, with n_grads gradients of the states first): `roles` names its
    other operands in order, each "gates" (T, B, n_gates * H), "state" (B, H), "weight" (n_gates * H, H) or
    "bias" (n_gates * H,). Each shape of `shapes`, then strided operands (a column slice of the gates, a
    transposed weight, every-other-column states and bias) and saturated gates (sigmoids and tanhs at 0 and 1
    without overflow or NaN)."""
    def samples(device, dtype):
        rng = rng_for(name, dtype.name)

        def make(shape, low=-1.5, high=1.5, **kw):
            return make_tensor(shape, dtype, device, low=low, high=high, rng=rng, **kw)

        def operand(role, T, B, H, kind):
            G = n_gates * H
            wide = (-40, 40) if kind == "saturated" else ()
            if role == "gates":
                return make((T, B, G + 3))[..., 1:1 + G] if kind == "strided" else make((T, B, G), *wide)
            if role == "weight":
                return make((H, G), -0.6, 0.6).t() if kind == "strided" else make((G, H), -0.6, 0.6)
            shape = (B, H) if role == "state" else (G,)
            return make(shape, *(wide if role == "bias" else ()), noncontiguous=kind == "strided")

        def sample(T, B, H, kind, **kw):
            grads = tuple(make((T, B, H), noncontiguous=kind == "strided") for _ in range(n_grads))
            return Sample(grads + tuple(operand(r, T, B, H, kind) for r in roles), reduction_size=n_gates * H, **kw)

        for T, B, H, reverse in shapes:
            yield sample(T, B, H, "plain", kwargs={"reverse": reverse}, name=f"{T}x{B}x{H}{'r' if reverse else ''}")
        yield sample(3, 2, 4, "strided", name="strided")
        yield sample(2, 2, 3, "saturated", name="saturated")
    return samples


def layer_bench(n_grads: int, n_gates: int, roles: tuple):
    """A BenchSpec's make for a layer op: operands as layer_samples' roles, at the bench sizes (T, B, H)."""
    def make(size, device, dtype):
        T, B, H = size
        rng = rng_for(f"nn_rnn_layer_bench_{n_gates}", size)
        G = n_gates * H
        shapes = {"gates": (T, B, G), "state": (B, H), "weight": (G, H), "bias": (G,)}
        t = [make_tensor((T, B, H), dtype, device, rng=rng) for _ in range(n_grads)]
        t += [make_tensor(shapes[r], dtype, device, rng=rng, **({"low": -0.1, "high": 0.1} if r == "weight" else {}))
              for r in roles]
        return tuple(t), {}
    return make


_ROLES = ("gates", "state", "state", "weight")


# (steps, batch, hidden): pytorch/examples' word language model's shape, and a wider one
SIZES = ((35, 20, 128), (35, 64, 512))


def _layer_bytes(s, d):
    T, B, H = s
    return (T * B * (4 * H + 2 * H) + T * 4 * H * H) * d.itemsize   # gates in, states out, the weight per step


# ================================================================================================ declarations

lstm_layer_op = register(OpDef(
    name="lstm_layer", family=FAMILY, infer=_lstm_layer_infer,
    impl={"cpu": _lstm_layer_cpu, "cuda": _lstm_layer_cuda}, ref=_lstm_layer_ref,
    samples=layer_samples(0, SHAPES, "lstm_layer", 4, _ROLES), dtypes=FLOATS, n_outputs=2, vjp=_lstm_layer_vjp,
    save="both", autocast="lower",   # (PyTorch's autocast runs an LSTM layer in the region's dtype on cpu and cuda)
    bench=BenchSpec(sizes=SIZES, make=layer_bench(0, 4, _ROLES), bytes=_layer_bytes,
                    flops=lambda s: s[0] * (8 * s[1] * s[2] * s[2] + 40 * s[1] * s[2])),
    doc="every step's (h, c) of one LSTM layer direction from the input projections, h0, c0 and weight_hh",
    extra={"torch": lambda torch, gx, h0, c0, w, reverse=False: _torch_lstm_layer(torch, gx, h0, c0, w, reverse)}))


def _layer_backward_vjp(ctx, *ggs):
    """The vjp of lstm_layer_backward: the composed layer differentiated twice by the engine (nn_rnn_cell's rule
    for its cells' backward ops, with this op's `reverse`)."""
    reverse = ctx.kwargs.get("reverse", False)
    return _cell._backward_vjp(lambda *a: _lstm_layer_composed(*a, reverse=reverse), 2, lambda gs: gs)(ctx, *ggs)


lstm_layer_backward_op = register(OpDef(
    name="lstm_layer_backward", family=FAMILY, infer=_lstm_layer_backward_infer,
    impl={"cpu": _lstm_layer_backward_cpu, "cuda": _lstm_layer_backward_cuda}, ref=_lstm_layer_backward_ref,
    samples=layer_samples(2, BWD_SHAPES, "lstm_layer_bwd", 4, _ROLES), dtypes=FLOATS, n_outputs=4,
    vjp=_layer_backward_vjp, double_backward=False,
    bench=BenchSpec(sizes=SIZES, make=layer_bench(2, 4, _ROLES), bytes=lambda s, d: 2 * _layer_bytes(s, d),
                    flops=lambda s: s[0] * (16 * s[1] * s[2] * s[2] + 60 * s[1] * s[2]), backward=False),
    doc="(d gates_x, d h0, d c0, d weight_hh) of lstm_layer from (grad_hs, grad_cs); workspace= the cpu "
        "forward's gates and cell states"))


def _torch_lstm_layer(torch, gx, h0, c0, w, reverse=False):
    T = gx.shape[0]
    hs, cs = [None] * T, [None] * T
    h, c = h0, c0
    for t in steps(T, reverse):
        i, f, g, o = (gx[t] + h @ w.t()).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs[t], cs[t] = h, c
    if T == 0:   # (empty states that still depend on gx, so autograd can differentiate them)
        return gx[..., :h0.shape[-1]] * 0, gx[..., :h0.shape[-1]] * 0
    return torch.stack(hs), torch.stack(cs)


# ============================================================================================ public functions

def lstm_layer(gates_x, h0, c0, weight_hh, *, reverse=False):
    """(hs, cs): every step's hidden and cell state of one LSTM layer direction, from the input projections
    gates_x (T, B, 4H) (biases included), the initial states h0, c0 (B, H) and weight_hh (4H, H)."""
    return lstm_layer_op(gates_x, h0, c0, weight_hh, reverse=reverse)
