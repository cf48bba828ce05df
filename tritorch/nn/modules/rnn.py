"""Recurrent layers: RNN, LSTM (with projections), GRU and their cells, PyTorch's parameters, shapes and checks.

A layer's input projections for every time step are one GEMM (linear over the whole sequence); each step then
computes the hidden projection (a linear) and applies the cell, with PyTorch's gate order and formulas (LSTM:
input, forget, cell, output gates; GRU: reset, update, new, with the reset gate applied to the hidden projection
including its bias). The LSTM and GRU cells are one fused op each (ops/nn_rnn_cell.py; a dozen ops composed
before), so a step is two or three registered ops: the layers run on both devices and autograd differentiates
through time. An LSTM (without projection) or GRU direction is one lstm_layer / gru_layer op (ops/nn_rnn_layer.py,
ops/nn_gru_layer.py) per run of steps of one batch size (one run unless the input is packed): the steps loop
inside the op. A PackedSequence input runs each step on the rows of the sequences still running (PyTorch's
packed layout), so padding is never computed.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ...ops import creation as _creation
from ...ops import movement as _mv
from ...ops import unary as _unary
from ...ops.nn_rnn_cell import fused_gru_cell, fused_lstm_cell
from ...ops.nn_gru_layer import gru_layer
from ...ops.nn_rnn_layer import lstm_layer
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ._common import empty
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ------------------------------------------------------------------------------------------- cell steps
# gx: the input projection of this step (with bias_ih), h/c: the state; each returns the new state

def _rnn_step(gx, h, w_hh, b_hh, relu: bool):
    pre = F.linear(h, w_hh, b_hh) + gx
    return F.relu(pre) if relu else _unary.tanh(pre)


def _lstm_step(gx, h, c, w_hh, b_hh, w_hr):
    h, c = fused_lstm_cell(gx, F.linear(h, w_hh, b_hh), c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


def _gru_step(gx, h, w_hh, b_hh):
    return fused_gru_cell(gx, F.linear(h, w_hh, b_hh), h)


def _runs(batch_sizes) -> list:
    """(steps, batch) of each run of equal batch sizes, in time order (one run for a padded input; a packed one's
    batch shrinks as its sequences end)."""
    runs = []
    for b in batch_sizes:
        if runs and runs[-1][1] == b:
            runs[-1][0] += 1
        else:
            runs.append([1, b])
    return runs


def _layer_direction(mode: str, x, h, c, p: dict, reverse: bool, batch_sizes: list):
    """An LSTM (without projection) or GRU direction as one lstm_layer / gru_layer op per run of equal batch sizes
    (the steps loop inside the op); the rows of a run's batch carry their state into the next run, the others keep
    theirs. LSTM: both biases go into the input projection (one (4H,) sum instead of a bias add every step)."""
    w_hh, b_ih, b_hh = p["weight_hh"], p.get("bias_ih"), p.get("bias_hh")
    if mode == "LSTM":
        gx = F.linear(x, p["weight_ih"], None if b_ih is None else b_ih + b_hh)
    else:
        gx = F.linear(x, p["weight_ih"], b_ih)
        if b_hh is None:
            b_hh = _creation.zeros(w_hh.shape[0], dtype=w_hh.dtype, device=w_hh.device)
    runs = _runs(batch_sizes)
    parts = _mv.split(gx, [n * b for n, b in runs], 0) if len(runs) > 1 else [gx]
    full, outputs = h.shape[0], [None] * len(runs)
    for k in (range(len(runs) - 1, -1, -1) if reverse else range(len(runs))):
        n, b = runs[k]
        g = parts[k].reshape(n, b, gx.shape[-1])
        h_run = h if b == full else h[:b]
        if mode == "LSTM":
            hs, cs = lstm_layer(g, h_run, c if b == full else c[:b], w_hh, reverse=reverse)
            new_c = cs[0 if reverse else n - 1]
            c = new_c if b == full else _mv.cat([new_c, c[b:]], 0)
        else:
            hs = gru_layer(g, h_run, w_hh, b_hh, reverse=reverse)
        new_h = hs[0 if reverse else n - 1]
        h = new_h if b == full else _mv.cat([new_h, h[b:]], 0)
        outputs[k] = hs.reshape(n * b, hs.shape[-1])
    return (outputs[0] if len(outputs) == 1 else _mv.cat(outputs, 0)), h, c


def _direction(mode: str, x, h, c, p: dict, reverse: bool, batch_sizes: list):
    """One layer in one direction over x (rows, features), the rows of step t being the next batch_sizes[t]
    rows (every row of the batch for a padded input; the sequences still running, longest first, for a
    packed one: those rows update, the others keep their state). Returns (outputs (rows, H), h, c)."""
    if batch_sizes and (mode == "GRU" or (mode == "LSTM" and p.get("weight_hr") is None)):
        return _layer_direction(mode, x, h, c, p, reverse, batch_sizes)
    gx = F.linear(x, p["weight_ih"], p.get("bias_ih"))   # every step's input projection: one GEMM
    # the steps' rows as one split (its backward is one cat of the steps' gradients, where a slice per step made
    # each step's gradient a zero-filled copy of the whole sequence's: quadratic in its length)
    gxs = _mv.split(gx, list(batch_sizes), 0)
    w_hh, b_hh = p["weight_hh"], p.get("bias_hh")
    full = h.shape[0]
    outputs = [None] * len(batch_sizes)
    for t in (range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))):
        b = batch_sizes[t]
        g, h_run = gxs[t], h if b == full else h[:b]
        if mode == "LSTM":
            new_h, new_c = _lstm_step(g, h_run, c if b == full else c[:b], w_hh, b_hh, p.get("weight_hr"))
            c = new_c if b == full else _mv.cat([new_c, c[b:]], 0)
        elif mode == "GRU":
            new_h = _gru_step(g, h_run, w_hh, b_hh)
        else:
            new_h = _rnn_step(g, h_run, w_hh, b_hh, mode == "RNN_RELU")
        h = new_h if b == full else _mv.cat([new_h, h[b:]], 0)
        outputs[t] = new_h
    return _mv.cat(outputs, 0), h, c


def run_layers(mode: str, x, h0, c0, params: list, num_layers: int, bidirectional: bool, dropout: float,
               train: bool, batch_sizes: list):
    """Every layer and direction over x (rows, features) from the states h0/c0 (layers * directions, batch, size;
    c0 None but for LSTM); params[layer * directions + direction] is that one's dict of weights (weight_ih,
    weight_hh, and bias_ih, bias_hh, weight_hr where present). Dropout between layers when training. Returns
    (outputs (rows, H * directions), h_n, c_n)."""
    directions = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            i = layer * directions + d
            out, h, c = _direction(mode, x, h0[i], c0[i] if c0 is not None else None, params[i], d == 1,
                                   batch_sizes)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = outs[0] if directions == 1 else _mv.cat(outs, -1)
        if dropout and train and layer < num_layers - 1:
            x = F.dropout(x, dropout, True)
    return x, _mv.stack(hs, 0), (_mv.stack(cs, 0) if c0 is not None else None)


# ------------------------------------------------------------------------------------------------ layers

class RNNBase(Module):
    """The parameters, checks and layer/direction loop shared by RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, real_hidden)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(shape, device, dtype)))
                    names.append(name)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights into one buffer for cuDNN here; tritorch's layers use them as they are."""

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def _params(self, index: int) -> dict:
        return {name.split("_l")[0]: getattr(self, name) for name in self._all_weights[index]}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward

    def _check_input(self, input) -> bool:
        """PyTorch's checks; True for a batched (3-D) input."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        self._check_features(input)
        return input.dim() == 3

    def _check_features(self, input) -> None:
        weight = self.weight_ih_l0
        if input.dtype is not weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                             f"input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")

    def _state(self, hx, batched: bool, batch: int, size: int, input, what: str):
        """The initial state (layers * directions, batch, size): zeros, or hx checked and given a batch dim."""
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, size)
        if hx is None:
            return _creation.zeros(expected, dtype=input.dtype, device=input.device)
        if batched and hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        if not batched and hx.dim() != 2:
            raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
        state = hx if batched else hx.unsqueeze(1)
        if tuple(state.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(state.shape)}")
        return state

    def _run(self, input, hx):
        from ..utils.rnn import PackedSequence
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_idx, unsorted_idx = input
            self._check_input_packed(data)
            batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
            batch, batched, x = batch_sizes[0], True, data
        else:
            batched = self._check_input(input)
            seq = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                seq = seq.transpose(0, 1)
            if seq.shape[0] == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            steps, batch = seq.shape[0], seq.shape[1]
            batch_sizes = [batch] * steps
            x = seq.reshape(steps * batch, seq.shape[2])
            data = input
        lstm = self.mode == "LSTM"
        h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
        h0 = self._state(h0, batched, batch, self.proj_size or self.hidden_size, data,
                         "hidden[0]" if lstm else "hidden")
        c0 = self._state(c0, batched, batch, self.hidden_size, data, "hidden[1]") if lstm else None
        if packed and sorted_idx is not None and hx is not None:   # states given in the batch's own order
            h0 = h0.index_select(1, sorted_idx)
            c0 = c0.index_select(1, sorted_idx) if lstm else None
        params = [self._params(i) for i in range(len(self._all_weights))]
        x, h_n, c_n = run_layers(self.mode, x, h0, c0, params, self.num_layers, self.bidirectional, self.dropout,
                                 self.training, batch_sizes)
        if packed:
            if unsorted_idx is not None:
                h_n = h_n.index_select(1, unsorted_idx)
                c_n = c_n.index_select(1, unsorted_idx) if lstm else None
            out = PackedSequence(x, batch_sizes_t, sorted_idx, unsorted_idx)
        else:
            out = x.reshape(len(batch_sizes), batch, x.shape[-1])
            if batched and self.batch_first:
                out = out.transpose(0, 1)
            if not batched:
                out, h_n = out.squeeze(1), h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
        return out, ((h_n, c_n) if lstm else h_n)

    def _check_input_packed(self, data) -> None:
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        self._check_features(data)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class RNN(RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory, with an optional projection of the hidden state (proj_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and not isinstance(hx, (tuple, list)):
            raise TypeError("LSTM expects hx as a tuple (h_0, c_0)")
        return self._run(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# ------------------------------------------------------------------------------------------------- cells

class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), device, dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), device, dtype))
        if bias:
            self.bias_ih = Parameter(empty((num_chunks * hidden_size,), device, dtype))
            self.bias_hh = Parameter(empty((num_chunks * hidden_size,), device, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, states: tuple):
        """(batched input, states with a batch dim, whether the input was batched), with PyTorch's checks."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        out = []
        for i, s in enumerate(states):
            if s is None:
                s = _creation.zeros((x.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
            elif s.dim() != input.dim():
                raise ValueError(f"{type(self).__name__}: Expected hidden to be {input.dim()}D, got {s.dim()}D "
                                 f"instead")
            elif not batched:
                s = s.unsqueeze(0)
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{i} batch size "
                                   f"{s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected "
                                   f"{self.hidden_size}")
            out.append(s)
        return x, out, batched

    def _input_projection(self, x):
        return F.linear(x, self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        h = _rnn_step(self._input_projection(x), h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and not isinstance(hx, (tuple, list)):
            raise TypeError(f"lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
                            f"{type(hx).__name__}")
        x, (h, c), batched = self._prepare(input, (None, None) if hx is None else tuple(hx))
        h, c = _lstm_step(self._input_projection(x), h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        h = _gru_step(self._input_projection(x), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
