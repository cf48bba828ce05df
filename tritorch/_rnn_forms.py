"""torch.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell: one recurrent step from given weights (what
nn.LSTMCell and friends compute), with PyTorch's argument order and checks; built from the same step functions
as tritorch's nn RNN modules, so they differentiate on every device."""
from __future__ import annotations

from .nn import functional as F
from .nn.modules.rnn import _gru_step, _lstm_step, _rnn_step
from .tensor import Tensor

__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]


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
