"""Fused recurrent cells: the elementwise half of an LSTM step and of a GRU step, as PyTorch's fused cells.

  fused_lstm_cell(input_gates, hidden_gates, cx) -> (hy, cy)
      a = input_gates + hidden_gates, laid out [i | f | g | o] along the last dim (4H), cx of width H:
      cy = sigmoid(a_f) * cx + sigmoid(a_i) * tanh(a_g),   hy = sigmoid(a_o) * tanh(cy)
  fused_gru_cell(input_gates, hidden_gates, hx) -> hy
      both laid out [r | z | n] (3H), hidden_gates including the hidden bias (PyTorch's GRU applies r to it):
      r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n),   hy = n + z * (hx - n)

The matrix products stay outside (linear ops: one GEMM over the sequence for the inputs, one per step for the
hidden state); each step is then one op where the unfused formulas made a dozen, each with its own autograd
node and its own pass over memory. Each backward is a registered op of its own (one kernel giving every gate's
gradient and the state's), and those take their own gradient by differentiating the composed formulas with the
engine, so double backward works on both devices.

On the cpu, a forward that autograd records keeps the activated gates (and tanh(cy)) as a workspace for its
backward, as PyTorch's fused cells do: the backward then makes no exp or tanh at all. The Triton backward
recomputes them from the gate pre-activations in registers instead (reading 9H values a row where a workspace
would take 5H: a GPU does the arithmetic for free). Half-precision operands are computed in fp32 and rounded once.
"""
from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make
from . import launch
from . import pointwise as pw
from .nn_fused import _compute, _compute_np as _np_compute
from ._cpu_parallel import run_row_blocks
from .nn_softmax import row_layout
from .registry import BenchSpec, Meta, OpDef, Sample, _type_name, device_of, register
from .samples import make_tensor, rng_for
from .unary import _sigmoid_stable, _tanh_accurate

FAMILY = "nn_rnn_cell"

__all__ = ["fused_lstm_cell", "fused_gru_cell"]

FLOATS = (_dt.float32, _dt.float64, _dt.float16, _dt.bfloat16)


# ============================================================================================== Triton kernels
# One program per (row, block of BLOCK hidden units); gate k of unit j sits at column k * H + j of its row. Rows
# and columns are strided (any view whose leading dims collapse to one stride), outputs contiguous.

@triton.jit
def _gate(ig, hg, k, H, igc, hgc, mask, COMPUTE: tl.constexpr):
    # gate k's input and hidden pre-activations at this row's units (ig, hg: pointers at unit j of gate 0)
    return (tl.load(ig + k * H * igc, mask=mask, other=0).to(COMPUTE),
            tl.load(hg + k * H * hgc, mask=mask, other=0).to(COMPUTE))


@triton.jit
def _lstm_gates(ig, hg, H, igc, hgc, mask, COMPUTE: tl.constexpr):
    # the activated gates (i, f, g, o)
    xi, hi = _gate(ig, hg, 0, H, igc, hgc, mask, COMPUTE)
    xf, hf = _gate(ig, hg, 1, H, igc, hgc, mask, COMPUTE)
    xg, hgg = _gate(ig, hg, 2, H, igc, hgc, mask, COMPUTE)
    xo, ho = _gate(ig, hg, 3, H, igc, hgc, mask, COMPUTE)
    return _sigmoid_stable(xi + hi), _sigmoid_stable(xf + hf), _tanh_accurate(xg + hgg), _sigmoid_stable(xo + ho)


@triton.jit
def _gru_gates(ig, hg, H, igc, hgc, mask, COMPUTE: tl.constexpr):
    # (r, z, n, h_n): the reset and update gates, the new gate, and the hidden projection's n part
    xr, hr = _gate(ig, hg, 0, H, igc, hgc, mask, COMPUTE)
    xz, hz = _gate(ig, hg, 1, H, igc, hgc, mask, COMPUTE)
    xn, hn = _gate(ig, hg, 2, H, igc, hgc, mask, COMPUTE)
    r = _sigmoid_stable(xr + hr)
    return r, _sigmoid_stable(xz + hz), _tanh_accurate(xn + r * hn), hn


@triton.jit
def _lstm_cell_kernel(
    ig_ptr, hg_ptr,             # input / hidden gate pre-activations (rows, 4H)
    cx_ptr,                     # cell state (rows, H)
    hy_ptr, cy_ptr,             # outputs (rows, H), contiguous
    H,                          # hidden size
    igr, igc, hgr, hgc,         # row / column strides of the two gate tensors
    cxr, cxc,                   # row / column strides of cx
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,        # hidden units per program
):
    # bytes: reads 8H gate values and H states a row, writes 2H
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = j < H
    i, f, g, o = _lstm_gates(ig_ptr + row * igr + j * igc, hg_ptr + row * hgr + j * hgc, H, igc, hgc, mask, COMPUTE)
    c = tl.load(cx_ptr + row * cxr + j * cxc, mask=mask, other=0).to(COMPUTE)
    cy = f * c + i * g
    hy = o * _tanh_accurate(cy)
    tl.store(cy_ptr + row * H + j, cy.to(cy_ptr.dtype.element_ty), mask=mask)
    tl.store(hy_ptr + row * H + j, hy.to(hy_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _lstm_cell_backward_kernel(
    ghy_ptr, gcy_ptr,           # gradients of hy and cy (rows, H)
    ig_ptr, hg_ptr,             # the forward's gate pre-activations (rows, 4H)
    cx_ptr,                     # the forward's cell state (rows, H)
    dg_ptr, dcx_ptr,            # outputs: the gates' gradient (rows, 4H) and cx's (rows, H), contiguous
    H,                          # hidden size
    ghr, ghc, gcr, gcc,         # row / column strides of the two incoming gradients
    igr, igc, hgr, hgc,         # row / column strides of the two gate tensors
    cxr, cxc,                   # row / column strides of cx
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,        # hidden units per program
):
    # bytes: reads 2H gradients, 8H gate values and H states a row, writes 5H
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = j < H
    i, f, g, o = _lstm_gates(ig_ptr + row * igr + j * igc, hg_ptr + row * hgr + j * hgc, H, igc, hgc, mask, COMPUTE)
    c = tl.load(cx_ptr + row * cxr + j * cxc, mask=mask, other=0).to(COMPUTE)
    ghy = tl.load(ghy_ptr + row * ghr + j * ghc, mask=mask, other=0).to(COMPUTE)
    gcy = tl.load(gcy_ptr + row * gcr + j * gcc, mask=mask, other=0).to(COMPUTE)
    tc = _tanh_accurate(f * c + i * g)
    dcy = gcy + ghy * o * (1.0 - tc * tc)
    out = dg_ptr + row * 4 * H + j
    ty = dg_ptr.dtype.element_ty
    tl.store(out, (dcy * g * i * (1.0 - i)).to(ty), mask=mask)
    tl.store(out + H, (dcy * c * f * (1.0 - f)).to(ty), mask=mask)
    tl.store(out + 2 * H, (dcy * i * (1.0 - g * g)).to(ty), mask=mask)
    tl.store(out + 3 * H, (ghy * tc * o * (1.0 - o)).to(ty), mask=mask)
    tl.store(dcx_ptr + row * H + j, (dcy * f).to(dcx_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _gru_cell_kernel(
    ig_ptr, hg_ptr,             # input / hidden gate pre-activations (rows, 3H), hidden bias included
    hx_ptr,                     # hidden state (rows, H)
    hy_ptr,                     # output (rows, H), contiguous
    H,                          # hidden size
    igr, igc, hgr, hgc,         # row / column strides of the two gate tensors
    hxr, hxc,                   # row / column strides of hx
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,        # hidden units per program
):
    # bytes: reads 6H gate values and H states a row, writes H
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = j < H
    r, z, n, _ = _gru_gates(ig_ptr + row * igr + j * igc, hg_ptr + row * hgr + j * hgc, H, igc, hgc, mask, COMPUTE)
    h = tl.load(hx_ptr + row * hxr + j * hxc, mask=mask, other=0).to(COMPUTE)
    tl.store(hy_ptr + row * H + j, (n + z * (h - n)).to(hy_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _gru_cell_backward_kernel(
    ghy_ptr,                    # gradient of hy (rows, H)
    ig_ptr, hg_ptr,             # the forward's gate pre-activations (rows, 3H)
    hx_ptr,                     # the forward's hidden state (rows, H)
    dig_ptr, dhg_ptr,           # outputs: the two gate tensors' gradients (rows, 3H), contiguous
    dhx_ptr,                    # output: hx's gradient (rows, H), contiguous
    H,                          # hidden size
    ghr, ghc,                   # row / column strides of the incoming gradient
    igr, igc, hgr, hgc,         # row / column strides of the two gate tensors
    hxr, hxc,                   # row / column strides of hx
    COMPUTE: tl.constexpr,      # fp32 (fp16/bf16/fp32) or fp64
    BLOCK: tl.constexpr,        # hidden units per program
):
    # bytes: reads H gradients, 6H gate values and H states a row, writes 7H
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = j < H
    r, z, n, hn = _gru_gates(ig_ptr + row * igr + j * igc, hg_ptr + row * hgr + j * hgc, H, igc, hgc, mask, COMPUTE)
    h = tl.load(hx_ptr + row * hxr + j * hxc, mask=mask, other=0).to(COMPUTE)
    ghy = tl.load(ghy_ptr + row * ghr + j * ghc, mask=mask, other=0).to(COMPUTE)
    dn = ghy * (1.0 - z) * (1.0 - n * n)
    dz = ghy * (h - n) * z * (1.0 - z)
    dr = dn * hn * r * (1.0 - r)
    ty = dig_ptr.dtype.element_ty
    di = dig_ptr + row * 3 * H + j
    dh = dhg_ptr + row * 3 * H + j
    tl.store(di, dr.to(ty), mask=mask)
    tl.store(di + H, dz.to(ty), mask=mask)
    tl.store(di + 2 * H, dn.to(ty), mask=mask)
    tl.store(dh, dr.to(ty), mask=mask)
    tl.store(dh + H, dz.to(ty), mask=mask)
    tl.store(dh + 2 * H, (dn * r).to(ty), mask=mask)
    tl.store(dhx_ptr + row * H + j, (ghy * z).to(dhx_ptr.dtype.element_ty), mask=mask)


def _launch(kernel, H: int, rows: int, ins: list, outs: list, compute: _dt.dtype):
    """kernel over a (rows, ceil(H / BLOCK)) grid: `ins` are CudaArrays seen as rows along their last dim (their
    row and column strides follow the output pointers), `outs` contiguous CudaArrays."""
    if rows == 0 or H == 0:
        return
    strides = []
    arrays = []
    for a in ins:
        if len(a.shape) == 1:
            a = a.view_as((1,) + tuple(a.shape), (0,) + tuple(a.strides), a.offset)
        a, so, _, sc = row_layout(a, len(a.shape) - 1)
        arrays.append(a)
        strides += [so, sc]
    block = min(1024, launch.next_pow2(H))
    kernel[(rows, launch.cdiv(H, block))](*arrays, *outs, H, *strides, COMPUTE=pw.TL_COMPUTE[compute], BLOCK=block)


# ================================================================================================ NumPy side
# Each formula runs on row blocks (cache-sized, on the thread pool for large inputs) with every pass in place.

def _sigmoid_inplace(a: np.ndarray) -> None:
    # 1 / (1 + exp(-a)): exp overflows to inf below -88.7 (float32) and the result is 0, as PyTorch's
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)


def _rows2d(t: Tensor, width: int, c) -> np.ndarray:
    a = t._data
    return a.reshape((math.prod(a.shape[:-1]), width)).astype(c, copy=False)


# The cpu workspace is gate-major: gate k of every row is one contiguous (rows, H) block, so each pass below runs
# over contiguous memory (NumPy's in-place passes over the strided per-gate columns of a (rows, 4H) array ran at
# half the speed). LSTM: one flat buffer of [i, f, o, g, tanh(cy)] (5 blocks; o before g, so that the three
# sigmoids are one contiguous run); GRU: [r, z, n].

# The blocks run on the calling thread: each makes a dozen or more NumPy calls, and two threads taking turns at
# the GIL for them ran slower than one (LSTM 64 x 1024 forward 641 vs 487 us, backward 632 vs 367 us here).
_NO_POOL = 1 << 62


def lstm_workspace(rows: int, H: int, c) -> np.ndarray:
    return np.empty(5 * rows * H, c)


def _blocks(ws: np.ndarray, k: int, rows: int, H: int) -> np.ndarray:
    return ws.reshape(k, rows, H)


def _lstm_rows(ig, hg, cx, hy, cy, ws):
    """LSTM cell over row blocks: ig, hg (rows, 4H), cx (rows, H) into hy, cy (rows, H); ws (flat, 5 * rows * H)
    gets the activated gates and tanh(cy)."""
    rows, H = cx.shape
    w = _blocks(ws, 5, rows, H)
    ig4, hg4 = ig.reshape(rows, 4, H), hg.reshape(rows, 4, H)

    def block(sl):
        g5 = w[:, sl]                                  # (5, r, H): i f o g tanh(cy)
        gates = g5[:4].transpose(1, 0, 2)              # (r, 4, H) view in the gates' own order
        np.add(ig4[sl, :2], hg4[sl, :2], out=gates[:, :2])
        np.add(ig4[sl, 3:1:-1], hg4[sl, 3:1:-1], out=gates[:, 2:])       # (o, g) from (g, o)
        _sigmoid_inplace(g5[:3])
        i, f, o, g, tc = g5
        np.tanh(g, out=g)
        c = cy[sl]
        np.multiply(f, cx[sl], out=c)
        np.multiply(i, g, out=tc)
        c += tc
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=hy[sl])

    run_row_blocks(block, rows, 5 * H, min_elems=_NO_POOL)


def _lstm_backward_rows(ghy, gcy, ws, cx, dg):
    """From the workspace: the gates' gradient dg (rows, 4H); returns cx's (rows, H)."""
    rows, H = cx.shape
    w = _blocks(ws, 5, rows, H)
    dg4 = dg.reshape(rows, 4, H)
    dcx = np.empty((rows, H), cx.dtype)
    tmp = np.empty((4, rows, H), cx.dtype)

    def block(sl):
        i, f, o, g, tc = w[:, sl]
        t = tmp[:, sl]
        gh, dc, d = ghy[sl], dcx[sl], dg4[sl]
        np.subtract(1, w[:3, sl], out=t[:3])           # s (1 - s) for i, f, o
        t[:3] *= w[:3, sl]
        np.multiply(tc, tc, out=dc)                    # dcy = gcy + ghy * o * (1 - tanh(cy)^2), in dcx's rows
        np.subtract(1, dc, out=dc)
        dc *= o
        dc *= gh
        dc += gcy[sl]
        t[2] *= gh                                     # do = ghy * tanh(cy) * o (1 - o)
        np.multiply(t[2], tc, out=d[:, 3])
        t[0] *= g                                      # di = dcy * g * i (1 - i)
        np.multiply(t[0], dc, out=d[:, 0])
        t[1] *= cx[sl]                                 # df = dcy * cx * f (1 - f)
        np.multiply(t[1], dc, out=d[:, 1])
        np.multiply(g, g, out=t[3])                    # dg = dcy * i * (1 - g^2)
        np.subtract(1, t[3], out=t[3])
        t[3] *= i
        np.multiply(t[3], dc, out=d[:, 2])
        dc *= f                                        # dcx = dcy * f

    run_row_blocks(block, rows, 5 * H, min_elems=_NO_POOL)
    return dcx


def _gru_rows(ig, hg, hx, hy, ws):
    """GRU cell over row blocks: ig, hg (rows, 3H), hx (rows, H) into hy (rows, H); ws (flat, 3 * rows * H) gets
    [r, z, n]."""
    rows, H = hx.shape
    w = _blocks(ws, 3, rows, H)
    ig3, hg3 = ig.reshape(rows, 3, H), hg.reshape(rows, 3, H)

    def block(sl):
        g3 = w[:, sl]
        np.add(ig3[sl, :2], hg3[sl, :2], out=g3[:2].transpose(1, 0, 2))
        _sigmoid_inplace(g3[:2])
        r, z, n = g3
        np.multiply(hg3[sl, 2], r, out=n)
        n += ig3[sl, 2]
        np.tanh(n, out=n)
        h = hy[sl]
        np.subtract(hx[sl], n, out=h)
        h *= z
        h += n

    run_row_blocks(block, rows, 3 * H, min_elems=_NO_POOL)


def _gru_backward_rows(ghy, ws, hg, hx, dig, dhg):
    """From the workspace [r z n] and the hidden gates (their n part): the two gate tensors' gradients dig, dhg
    (rows, 3H); returns hx's (rows, H)."""
    rows, H = hx.shape
    w = _blocks(ws, 3, rows, H)
    hg3, di3, dh3 = hg.reshape(rows, 3, H), dig.reshape(rows, 3, H), dhg.reshape(rows, 3, H)
    dhx = np.empty((rows, H), hx.dtype)
    tmp = np.empty((3, rows, H), hx.dtype)

    def block(sl):
        r, z, n = w[:, sl]
        a, b, dn = tmp[:, sl]
        gh, di, dh = ghy[sl], di3[sl], dh3[sl]
        np.multiply(gh, z, out=dhx[sl])                # dhx = ghy * z
        np.subtract(1, z, out=dn)                      # dz = ghy (hx - n) z (1 - z)
        np.subtract(hx[sl], n, out=a)
        a *= gh
        a *= z
        np.multiply(a, dn, out=di[:, 1])
        dn *= gh                                       # dn = ghy (1 - z) (1 - n^2)
        np.multiply(n, n, out=b)
        np.subtract(1, b, out=b)
        dn *= b
        np.subtract(1, r, out=a)                       # dr = dn h_n r (1 - r)
        a *= r
        a *= dn
        np.multiply(a, hg3[sl, 2], out=di[:, 0])
        np.copyto(di[:, 2], dn)
        np.copyto(dh[:, :2], di[:, :2])
        np.multiply(dn, r, out=dh[:, 2])

    run_row_blocks(block, rows, 3 * H, min_elems=_NO_POOL)
    return dhx


def _records_grad(*tensors) -> bool:
    return (not _state.FLAGS.grad_off or _state.GRAD.enabled) and any(t._requires_grad for t in tensors)


def _result(r: np.ndarray, shape: tuple, d: _dt.dtype) -> np.ndarray:
    return r.reshape(shape).astype(d.np, copy=False)


# ================================================================================================ infer rules

def _check_tensors(name: str, names: tuple, tensors: tuple) -> None:
    for i, (t, what) in enumerate(zip(tensors, names)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' (position {i + 1}) must be Tensor, not {type(t).__name__}")


def _float_dtype(name: str, tensors) -> _dt.dtype:
    d = tensors[0].dtype
    for t in tensors[1:]:
        d = _dt.promote_types(d, t.dtype)
    if d not in FLOATS:
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(d)}\'')
    return d


def _cell_shapes(name: str, gates: int, ig, hg, state, state_name: str) -> tuple:
    """The state's shape, after PyTorch's checks of a fused cell's operands: both gate tensors of one shape
    (..., gates * H), the state (..., H) with the same leading dims."""
    gs, hs, ss = tuple(ig._data.shape), tuple(hg._data.shape), tuple(state._data.shape)
    if not gs or gs != hs:
        raise RuntimeError(f"{name}: input_gates of shape {list(gs)} and hidden_gates of shape {list(hs)} must have "
                           f"one shape of at least one dim")
    if not ss or ss[:-1] != gs[:-1] or gs[-1] != gates * ss[-1]:
        raise RuntimeError(f"{name}: {state_name} of shape {list(ss)} does not match gates of shape {list(gs)} "
                           f"(expected {list(gs[:-1] + (gs[-1] // gates,))}: the gates hold {gates} per hidden unit)")
    return ss


def _lstm_infer(input_gates, hidden_gates, cx):
    name = "fused_lstm_cell"
    _check_tensors(name, ("input_gates", "hidden_gates", "cx"), (input_gates, hidden_gates, cx))
    dev = device_of(input_gates, hidden_gates, cx)
    d = _float_dtype(name, (input_gates, hidden_gates, cx))
    s = _cell_shapes(name, 4, input_gates, hidden_gates, cx, "cx")
    return Meta((s, s), (d, d), dev)


def _lstm_backward_infer(grad_hy, grad_cy, input_gates, hidden_gates, cx, workspace=None):
    name = "fused_lstm_cell_backward"
    ts = (grad_hy, grad_cy, input_gates, hidden_gates, cx)
    _check_tensors(name, ("grad_hy", "grad_cy", "input_gates", "hidden_gates", "cx"), ts)
    dev = device_of(*ts)
    d = _float_dtype(name, ts)
    s = _cell_shapes(name, 4, input_gates, hidden_gates, cx, "cx")
    for g, what in ((grad_hy, "grad_hy"), (grad_cy, "grad_cy")):
        if tuple(g._data.shape) != s:
            raise RuntimeError(f"{name}: {what} of shape {list(g._data.shape)} does not match cx of shape {list(s)}")
    _check_workspace(name, workspace, s, 5, dev)
    return Meta((tuple(input_gates._data.shape), s), (d, d), dev)


def _gru_infer(input_gates, hidden_gates, hx):
    name = "fused_gru_cell"
    _check_tensors(name, ("input_gates", "hidden_gates", "hx"), (input_gates, hidden_gates, hx))
    dev = device_of(input_gates, hidden_gates, hx)
    d = _float_dtype(name, (input_gates, hidden_gates, hx))
    return Meta(_cell_shapes(name, 3, input_gates, hidden_gates, hx, "hx"), d, dev)


def _gru_backward_infer(grad_hy, input_gates, hidden_gates, hx, workspace=None):
    name = "fused_gru_cell_backward"
    ts = (grad_hy, input_gates, hidden_gates, hx)
    _check_tensors(name, ("grad_hy", "input_gates", "hidden_gates", "hx"), ts)
    dev = device_of(*ts)
    d = _float_dtype(name, ts)
    s = _cell_shapes(name, 3, input_gates, hidden_gates, hx, "hx")
    if tuple(grad_hy._data.shape) != s:
        raise RuntimeError(f"{name}: grad_hy of shape {list(grad_hy._data.shape)} does not match hx of shape {list(s)}")
    _check_workspace(name, workspace, s, 3, dev)
    g = tuple(input_gates._data.shape)
    return Meta((g, g, s), (d, d, d), dev)


def _check_workspace(name, workspace, state_shape: tuple, width: int, dev) -> None:
    if workspace is None:
        return
    want = (width * math.prod(state_shape),)
    if not isinstance(workspace, Tensor) or tuple(workspace._data.shape) != want or workspace.device is not dev:
        raise RuntimeError(f"{name}: workspace must be the forward's, a tensor of shape {list(want)}")


# ======================================================================================================= impls

def _lstm_cpu(meta, input_gates, hidden_gates, cx):
    shape, d = meta.shape[0], meta.dtype[0]
    c = _np_compute(d)
    rows, H = math.prod(shape[:-1]), shape[-1]
    hy, cy, ws = np.empty((rows, H), c), np.empty((rows, H), c), lstm_workspace(rows, H, c)
    _lstm_rows(_rows2d(input_gates, 4 * H, c), _rows2d(hidden_gates, 4 * H, c), _rows2d(cx, H, c), hy, cy, ws)
    if _records_grad(input_gates, hidden_gates, cx):
        meta.aux = ws     # the backward's workspace (the vjp takes it)
    return _result(hy, shape, d), _result(cy, shape, d)


def _lstm_cuda(meta, input_gates, hidden_gates, cx):
    shape, d = meta.shape[0], meta.dtype[0]
    hy, cy = CudaArray.empty(shape, d.np), CudaArray.empty(shape, d.np)
    _launch(_lstm_cell_kernel, shape[-1], math.prod(shape[:-1]),
            [input_gates._data, hidden_gates._data, cx._data], [hy, cy], _compute(d))
    return hy, cy


def _lstm_backward_cpu(meta, grad_hy, grad_cy, input_gates, hidden_gates, cx, workspace=None):
    (gshape, shape), d = meta.shape, meta.dtype[0]
    c = _np_compute(d)
    rows, H = math.prod(shape[:-1]), shape[-1]
    cs = _rows2d(cx, H, c)
    if workspace is not None:
        ws = workspace._data.astype(c, copy=False)
    else:
        ws = lstm_workspace(rows, H, c)
        _lstm_rows(_rows2d(input_gates, 4 * H, c), _rows2d(hidden_gates, 4 * H, c), cs, np.empty((rows, H), c),
                   np.empty((rows, H), c), ws)
    dg = np.empty((rows, 4 * H), c)
    dcx = _lstm_backward_rows(_rows2d(grad_hy, H, c), _rows2d(grad_cy, H, c), ws, cs, dg)
    return _result(dg, gshape, d), _result(dcx, shape, d)


def _lstm_backward_cuda(meta, grad_hy, grad_cy, input_gates, hidden_gates, cx, workspace=None):
    (gshape, shape), d = meta.shape, meta.dtype[0]
    dg, dcx = CudaArray.empty(gshape, d.np), CudaArray.empty(shape, d.np)
    _launch(_lstm_cell_backward_kernel, shape[-1], math.prod(shape[:-1]),
            [grad_hy._data, grad_cy._data, input_gates._data, hidden_gates._data, cx._data], [dg, dcx], _compute(d))
    return dg, dcx


def _gru_cpu(meta, input_gates, hidden_gates, hx):
    shape, d = meta.shape, meta.dtype
    c = _np_compute(d)
    rows, H = math.prod(shape[:-1]), shape[-1]
    hy, ws = np.empty((rows, H), c), np.empty(3 * rows * H, c)
    _gru_rows(_rows2d(input_gates, 3 * H, c), _rows2d(hidden_gates, 3 * H, c), _rows2d(hx, H, c), hy, ws)
    if _records_grad(input_gates, hidden_gates, hx):
        meta.aux = ws
    return _result(hy, shape, d)


def _gru_cuda(meta, input_gates, hidden_gates, hx):
    shape, d = meta.shape, meta.dtype
    hy = CudaArray.empty(shape, d.np)
    _launch(_gru_cell_kernel, shape[-1], math.prod(shape[:-1]), [input_gates._data, hidden_gates._data, hx._data],
            [hy], _compute(d))
    return hy


def _gru_backward_cpu(meta, grad_hy, input_gates, hidden_gates, hx, workspace=None):
    (gshape, _, shape), d = meta.shape, meta.dtype[0]
    c = _np_compute(d)
    rows, H = math.prod(shape[:-1]), shape[-1]
    hg, hs = _rows2d(hidden_gates, 3 * H, c), _rows2d(hx, H, c)
    if workspace is not None:
        ws = workspace._data.astype(c, copy=False)
    else:
        ws = np.empty(3 * rows * H, c)
        _gru_rows(_rows2d(input_gates, 3 * H, c), hg, hs, np.empty((rows, H), c), ws)
    dig, dhg = np.empty((rows, 3 * H), c), np.empty((rows, 3 * H), c)
    dhx = _gru_backward_rows(_rows2d(grad_hy, H, c), ws, hg, hs, dig, dhg)
    return _result(dig, gshape, d), _result(dhg, gshape, d), _result(dhx, shape, d)


def _gru_backward_cuda(meta, grad_hy, input_gates, hidden_gates, hx, workspace=None):
    (gshape, _, shape), d = meta.shape, meta.dtype[0]
    dig, dhg, dhx = CudaArray.empty(gshape, d.np), CudaArray.empty(gshape, d.np), CudaArray.empty(shape, d.np)
    _launch(_gru_cell_backward_kernel, shape[-1], math.prod(shape[:-1]),
            [grad_hy._data, input_gates._data, hidden_gates._data, hx._data], [dig, dhg, dhx], _compute(d))
    return dig, dhg, dhx


# ======================================================================================================== refs

def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _split(a, k):
    H = a.shape[-1] // k
    return [a[..., j * H:(j + 1) * H] for j in range(k)]


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def _lstm_ref(input_gates, hidden_gates, cx):
    ig, hg, c = _f64(input_gates, hidden_gates, cx)
    ai, af, ag, ao = _split(ig + hg, 4)
    cy = _sig(af) * c + _sig(ai) * np.tanh(ag)
    return _sig(ao) * np.tanh(cy), cy


def _lstm_backward_ref(grad_hy, grad_cy, input_gates, hidden_gates, cx, workspace=None):
    ghy, gcy, ig, hg, c = _f64(grad_hy, grad_cy, input_gates, hidden_gates, cx)
    ai, af, ag, ao = _split(ig + hg, 4)
    i, f, g, o = _sig(ai), _sig(af), np.tanh(ag), _sig(ao)
    tc = np.tanh(f * c + i * g)
    dcy = gcy + ghy * o * (1 - tc * tc)
    dg = np.concatenate([dcy * g * i * (1 - i), dcy * c * f * (1 - f), dcy * i * (1 - g * g),
                         ghy * tc * o * (1 - o)], -1)
    return dg, dcy * f


def _gru_ref(input_gates, hidden_gates, hx):
    ig, hg, h = _f64(input_gates, hidden_gates, hx)
    (xr, xz, xn), (hr, hz, hn) = _split(ig, 3), _split(hg, 3)
    r, z = _sig(xr + hr), _sig(xz + hz)
    n = np.tanh(xn + r * hn)
    return n + z * (h - n)


def _gru_backward_ref(grad_hy, input_gates, hidden_gates, hx, workspace=None):
    ghy, ig, hg, h = _f64(grad_hy, input_gates, hidden_gates, hx)
    (xr, xz, xn), (hr, hz, hn) = _split(ig, 3), _split(hg, 3)
    r, z = _sig(xr + hr), _sig(xz + hz)
    n = np.tanh(xn + r * hn)
    dn = ghy * (1 - z) * (1 - n * n)
    dz = ghy * (h - n) * z * (1 - z)
    dr = dn * hn * r * (1 - r)
    return np.concatenate([dr, dz, dn], -1), np.concatenate([dr, dz, dn * r], -1), ghy * z


# ======================================================================================================== vjps

def _lstm_composed(ig, hg, cx):
    """The LSTM cell in registered ops (differentiable to any order)."""
    import tritorch as tt
    i, f, g, o = (ig + hg).chunk(4, -1)
    cy = tt.sigmoid(f) * cx + tt.sigmoid(i) * tt.tanh(g)
    return tt.sigmoid(o) * tt.tanh(cy), cy


def _gru_composed(ig, hg, hx):
    import tritorch as tt
    xr, xz, xn = ig.chunk(3, -1)
    hr, hz, hn = hg.chunk(3, -1)
    r, z = tt.sigmoid(xr + hr), tt.sigmoid(xz + hz)
    n = tt.tanh(xn + r * hn)
    return n + z * (hx - n)


def _take_workspace(ctx):
    """The forward's cpu workspace as a tensor, used once (a second backward through a retained graph, whose
    incoming gradients may differ, recomputes it)."""
    ws = ctx.meta.aux
    if ws is None:
        return None
    ctx.meta.aux = None
    return _make(ws, _dt.from_numpy_dtype(ws.dtype), ctx.inputs[0].device)


def _lstm_vjp(ctx, grad_hy, grad_cy):
    import tritorch as tt
    ig, hg, cx = ctx.inputs
    if grad_hy is None or grad_cy is None:   # one of the outputs unused (the last step's cy, typically)
        zero = tt.zeros(ctx.meta.shape[0], dtype=ctx.meta.dtype[0], device=cx.device)
        grad_hy = zero if grad_hy is None else grad_hy
        grad_cy = zero if grad_cy is None else grad_cy
    dg, dcx = lstm_cell_backward_op(grad_hy, grad_cy, ig, hg, cx, workspace=_take_workspace(ctx))
    return dg, dg, dcx


def _gru_vjp(ctx, grad_hy):
    ig, hg, hx = ctx.inputs
    return gru_cell_backward_op(grad_hy, ig, hg, hx, workspace=_take_workspace(ctx))


def _backward_vjp(composed, n_grads: int, first_order):
    """The vjp of a fused backward op whose inputs are (the forward's output gradients..., the forward's
    inputs...): the composed forward differentiated twice by the engine. first_order(grads) maps the composed
    forward's input gradients to the backward op's outputs. The partial derivatives are taken at detached copies
    of the inputs (through the inputs themselves the inner gradients would also run along one input's history to
    another and count those paths twice), so the result is not differentiable again: the backward ops declare
    double_backward=False (second derivatives of the cells are right; third ones are not available)."""
    def vjp(ctx, *ggs):
        from ..autograd import grad as autograd_grad
        from ..autograd.grad_mode import STATE, enable_grad
        create = bool(STATE.enabled)
        leaves = [a.detach().requires_grad_(True) for a in ctx.inputs]
        with enable_grad():
            outs = composed(*leaves[n_grads:])
            outs = outs if isinstance(outs, tuple) else (outs,)
            firsts = first_order(autograd_grad(outs, leaves[n_grads:], leaves[:n_grads], create_graph=True))
            pairs = [(f, g) for f, g in zip(firsts, ggs) if g is not None]
            if not pairs:
                return (None,) * len(leaves)
            return tuple(autograd_grad([f for f, _ in pairs], leaves, [g for _, g in pairs], create_graph=create,
                                       allow_unused=True))
    return vjp


# ===================================================================================================== samples

# (leading dims, H): odd sizes, one empty batch, one unbatched, a hidden size past a 32-wide block
_SHAPES = [((3,), 5), ((1,), 1), ((0,), 4), ((2, 3), 7), ((), 6), ((4,), 37)]
_BWD_SHAPES = [((3,), 5), ((0,), 4), ((2, 3), 3), ((), 6), ((1,), 2)]   # the last small enough for gradcheck


def _cell_samples(gates: int, n_grads: int, shapes, name: str):
    def samples(device, dtype):
        rng = rng_for(name, dtype.name)

        def make(shape, **kw):
            return make_tensor(shape, dtype, device, low=-3, high=3, rng=rng, **kw)

        for lead, H in shapes:
            grads = tuple(make(lead + (H,)) for _ in range(n_grads))
            yield Sample(grads + (make(lead + (gates * H,)), make(lead + (gates * H,)), make(lead + (H,))),
                         name=f"{lead}x{H}")
        # strided operands: a column slice, a transposed matrix, a every-other-column view
        H = 4
        wide = make((3, gates * H + 5))[:, 2:2 + gates * H]
        tall = make((gates * H, 3)).t()
        grads = tuple(make((3, H), noncontiguous=True) for _ in range(n_grads))
        yield Sample(grads + (wide, tall, make((3, H), noncontiguous=True)), name="strided")
        # saturated gates (|a| up to 40): the sigmoids and tanhs at 0 and 1 without overflow or NaN
        big = make_tensor((2, gates * 3), dtype, device, low=-40, high=40, rng=rng)
        grads = tuple(make((2, 3)) for _ in range(n_grads))
        yield Sample(grads + (big, make((2, gates * 3)), make((2, 3))), name="saturated")
    return samples


def _bench(gates: int, n_grads: int):
    def make(size, device, dtype):
        rows, H = size
        rng = rng_for("nn_rnn_cell_bench", size)
        t = [make_tensor((rows, H), dtype, device, rng=rng) for _ in range(n_grads)]
        t += [make_tensor((rows, gates * H), dtype, device, rng=rng) for _ in range(2)]
        return tuple(t) + (make_tensor((rows, H), dtype, device, rng=rng),), {}
    return make


_SIZES = ((64, 1024), (1024, 1024))


# ================================================================================================ declarations

# PyTorch's autocast lowers lstm_cell and gru_cell on cuda; on cpu they run as given (its cpu list has neither)
_CUDA_LOWER = {"cuda": "lower"}

lstm_cell_op = register(OpDef(
    name="fused_lstm_cell", family=FAMILY, infer=_lstm_infer, impl={"cpu": _lstm_cpu, "cuda": _lstm_cuda},
    ref=_lstm_ref, samples=_cell_samples(4, 0, _SHAPES, "lstm"), dtypes=FLOATS, n_outputs=2, vjp=_lstm_vjp,
    autocast=_CUDA_LOWER,
    bench=BenchSpec(sizes=_SIZES, make=_bench(4, 0), bytes=lambda s, d: 11 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 40 * s[0] * s[1]),
    doc="(hy, cy) of an LSTM step from the input and hidden gate pre-activations [i f g o] and cx, one kernel",
    extra={"torch": lambda torch, ig, hg, cx: _torch_lstm(torch, ig, hg, cx)}))

lstm_cell_backward_op = register(OpDef(
    name="fused_lstm_cell_backward", family=FAMILY, infer=_lstm_backward_infer,
    impl={"cpu": _lstm_backward_cpu, "cuda": _lstm_backward_cuda}, ref=_lstm_backward_ref,
    samples=_cell_samples(4, 2, _BWD_SHAPES, "lstm_bwd"), dtypes=FLOATS, n_outputs=2,
    vjp=_backward_vjp(_lstm_composed, 2, lambda gs: (gs[0], gs[2])), double_backward=False,
    bench=BenchSpec(sizes=_SIZES, make=_bench(4, 2), bytes=lambda s, d: 16 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 60 * s[0] * s[1], backward=False),
    doc="(d gates, d cx) of fused_lstm_cell from (grad_hy, grad_cy); workspace= the cpu forward's activated gates"))

gru_cell_op = register(OpDef(
    name="fused_gru_cell", family=FAMILY, infer=_gru_infer, impl={"cpu": _gru_cpu, "cuda": _gru_cuda},
    ref=_gru_ref, samples=_cell_samples(3, 0, _SHAPES, "gru"), dtypes=FLOATS, vjp=_gru_vjp, autocast=_CUDA_LOWER,
    bench=BenchSpec(sizes=_SIZES, make=_bench(3, 0), bytes=lambda s, d: 8 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 30 * s[0] * s[1]),
    doc="hy of a GRU step from the input and hidden gate pre-activations [r z n] (hidden bias included) and hx",
    extra={"torch": lambda torch, ig, hg, hx: _torch_gru(torch, ig, hg, hx)}))

gru_cell_backward_op = register(OpDef(
    name="fused_gru_cell_backward", family=FAMILY, infer=_gru_backward_infer,
    impl={"cpu": _gru_backward_cpu, "cuda": _gru_backward_cuda}, ref=_gru_backward_ref,
    samples=_cell_samples(3, 1, _BWD_SHAPES, "gru_bwd"), dtypes=FLOATS, n_outputs=3,
    vjp=_backward_vjp(_gru_composed, 1, lambda gs: gs), double_backward=False,
    bench=BenchSpec(sizes=_SIZES, make=_bench(3, 1), bytes=lambda s, d: 15 * s[0] * s[1] * d.itemsize,
                    flops=lambda s: 40 * s[0] * s[1], backward=False),
    doc="(d input_gates, d hidden_gates, d hx) of fused_gru_cell from grad_hy; workspace= the cpu forward's gates"))


def _torch_lstm(torch, ig, hg, cx):
    i, f, g, o = (ig + hg).chunk(4, -1)
    cy = torch.sigmoid(f) * cx + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(cy), cy


def _torch_gru(torch, ig, hg, hx):
    xr, xz, xn = ig.chunk(3, -1)
    hr, hz, hn = hg.chunk(3, -1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return n + z * (hx - n)


# ============================================================================================ public functions

def fused_lstm_cell(input_gates, hidden_gates, cx):
    """(hy, cy) of one LSTM step from its gate pre-activations (input and hidden projections, [i f g o] along
    the last dim) and the cell state cx: the elementwise half of torch.lstm_cell in one op."""
    return lstm_cell_op(input_gates, hidden_gates, cx)


def fused_gru_cell(input_gates, hidden_gates, hx):
    """hy of one GRU step from its gate pre-activations ([r z n]; the hidden ones including the hidden bias) and
    the hidden state hx: the elementwise half of torch.gru_cell in one op."""
    return gru_cell_op(input_gates, hidden_gates, hx)
