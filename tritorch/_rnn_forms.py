"""torch.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell: one recurrent step from given weights (what
nn.LSTMCell and friends compute), and torch.lstm / gru / rnn_tanh / rnn_relu: whole multi-layer recurrences over
a flat list of weights (what nn.LSTM and friends compute), padded or packed, with PyTorch's argument order and
checks; built from the same step and layer functions as tritorch's nn RNN modules, so they differentiate on
every device."""
from __future__ import annotations

from .nn import functional as F
from .nn.modules.rnn import _gru_step, _lstm_step, _rnn_step, run_layers
from .tensor import Tensor

__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm", "gru", "rnn_tanh", "rnn_relu"]


def _check(name: str, input, hx_list, w_ih, w_hh) -> None:
    for x, what, pos in ((input, "input", 1), (w_ih, "w_ih", 3), (w_hh, "w_hh", 4)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument '{what}' (position {pos}) must be Tensor, not {type(x).__name__}")
    if input.dim() != 2:
        raise RuntimeError(f"{name}: expected input to be 2-D (batch, input_size), got {input.dim()}-D")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    for i, h in enumerate(hx_list):
        if h.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                               f"{h.shape[0]}")
        if h.shape[1] != w_hh.shape[1]:
            raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                               f"{w_hh.shape[1]}")


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c') of one LSTM step; hx = (h, c)."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not {type(hx).__name__}")
    h, c = hx
    _check("lstm_cell", input, (h, c), w_ih, w_hh)
    return _lstm_step(F.linear(input, w_ih, b_ih), h, c, w_hh, b_hh, None)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check("gru_cell", input, (hx,), w_ih, w_hh)
    return _gru_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check("rnn_tanh_cell", input, (hx,), w_ih, w_hh)
    return _rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, False)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    _check("rnn_relu_cell", input, (hx,), w_ih, w_hh)
    return _rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, True)


# ------------------------------------------------------------------------------ whole recurrences (flat weights)

def _grouped(params, has_biases: bool, projected: bool, num_layers: int, directions: int) -> list:
    """The flat weight list as one dict per (layer, direction): w_ih, w_hh[, b_ih, b_hh][, w_hr]."""
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if has_biases else []) + \
        (["weight_hr"] if projected else [])
    params = list(params)
    if len(params) != len(names) * num_layers * directions:
        raise RuntimeError("got an incorrect number of RNN parameters")
    k = len(names)
    return [dict(zip(names, params[i * k:(i + 1) * k])) for i in range(num_layers * directions)]


def _recurrence(mode: str, args: tuple, hx_is_pair: bool):
    """Both of PyTorch's overloads: (input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first) over a padded (L, N, H) input, or (data, batch_sizes, hx, params, has_biases, num_layers,
    dropout, train, bidirectional) over a packed one. Returns (output, h_n, c_n)."""
    packed = len(args) > 3 and isinstance(args[3], (list, tuple))   # (the padded form has has_biases there)
    if packed:
        if len(args) != 9:
            raise TypeError(f"{mode.lower()}() takes 9 arguments ({len(args)} given)")
        data, batch_sizes_t, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
        batch_first = False
    else:
        if len(args) != 9:
            raise TypeError(f"{mode.lower()}() takes 9 arguments ({len(args)} given)")
        data, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
        batch_sizes_t = None
    name = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}[mode]
    if not isinstance(data, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(data).__name__}")
    if hx_is_pair:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{name}(): argument 'hx' must be tuple of Tensors (h0, c0), not {type(hx).__name__}")
        h0, c0 = hx
    else:
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}(): argument 'hx' must be Tensor, not {type(hx).__name__}")
        h0, c0 = hx, None
    directions = 2 if bidirectional else 1
    projected = c0 is not None and h0.shape[-1] != c0.shape[-1]
    grouped = _grouped(params, bool(has_biases), projected, int(num_layers), directions)
    if packed:
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
        x = data
    else:
        if data.dim() != 3:
            raise RuntimeError(f"{name}: expected input to be 3-D (seq, batch, features), got {data.dim()}-D")
        seq = data.transpose(0, 1) if batch_first else data
        steps, batch = seq.shape[0], seq.shape[1]
        batch_sizes = [batch] * steps
        x = seq.reshape(steps * batch, seq.shape[2])
    out, h_n, c_n = run_layers(mode, x, h0, c0, grouped, int(num_layers), bool(bidirectional), float(dropout),
                               bool(train), batch_sizes)
    if not packed:
        out = out.reshape(len(batch_sizes), batch_sizes[0], out.shape[-1])
        if batch_first:
            out = out.transpose(0, 1)
    return out, h_n, c_n


def lstm(*args):
    """torch.lstm(input, (h0, c0), params, has_biases, num_layers, dropout, train, bidirectional, batch_first) or
    torch.lstm(data, batch_sizes, (h0, c0), params, has_biases, num_layers, dropout, train, bidirectional) ->
    (output, h_n, c_n); params per layer and direction: w_ih, w_hh[, b_ih, b_hh][, w_hr when h0 is smaller than
    c0 (a projection)]."""
    return _recurrence("LSTM", args, True)


def _single_state(mode):
    def recurrence(*args):
        out, h_n, _ = _recurrence(mode, args, False)
        return out, h_n
    recurrence.__name__ = recurrence.__qualname__ = mode.lower()
    recurrence.__doc__ = (f"torch.{mode.lower()}(input, hx, params, has_biases, num_layers, dropout, train, "
                          f"bidirectional, batch_first) or (data, batch_sizes, hx, params, has_biases, num_layers, "
                          f"dropout, train, bidirectional) -> (output, h_n); params per layer and direction: w_ih, "
                          f"w_hh[, b_ih, b_hh].")
    return recurrence


gru = _single_state("GRU")
rnn_tanh = _single_state("RNN_TANH")
rnn_relu = _single_state("RNN_RELU")
