"""torch.nn.functional.conv_transpose3d as a composite of conv_transpose2d, the way conv3d is one of conv2d.

A transposed 3-d convolution scatters every input depth slice di through every depth tap k of the kernel into output
depth di * stride_d + k * dilation_d (then padding_d is cut from both ends). The (H, W) part of each (slice, tap)
pair is a 2-d transposed convolution of the slice with that tap's (kH, kW) kernel, so all pairs are one
conv_transpose2d call: the depth slices go into the batch (N * D planes) and the kd taps into the output channels
(weight (Cin, Cout/groups, kd, kH, kW) read as (Cin, Cout/groups * kd, kH, kW), which keeps each group's channels
together). One index_add along depth then sums the N x Cout x (D * kd) planes into their output depths. Both
devices, the gradients (conv_transpose2d's rules and index_add's gather) and double backward come from those ops.
Memory: kd times the output's planes before the sum.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .nn_conv import _check_groups, _check_params, _check_tensors, _int_tuple, conv_transpose2d

__all__ = ["conv_transpose3d"]


def _geometry(input: Tensor, weight: Tensor, bias, stride, padding, output_padding, groups, dilation):
    """PyTorch's checks (and messages) for conv_transpose3d; returns the per-dim (stride, padding, output_padding,
    dilation) and the output depth."""
    fn = "conv_transpose3d"
    _check_tensors(fn, input, weight, bias)
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(xs) not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to {fn}, but got input of size: {list(xs)}")
    xb = xs if len(xs) == 5 else (1,) + xs
    if len(ws) != 5:
        raise RuntimeError(f"Expected 5-dimensional weight for {fn}, but got weight of size {list(ws)}")
    if isinstance(padding, str):
        raise TypeError(f"{fn}(): argument 'padding' must be tuple of ints, not str")
    s, p = _int_tuple("stride", stride, 3), _int_tuple("padding", padding, 3)
    op, d = _int_tuple("output_padding", output_padding, 3), _int_tuple("dilation", dilation, 3)
    _check_params(s, d, tuple((v, v) for v in p), groups)
    if any(v < 0 for v in op):
        raise RuntimeError("negative output_padding is not supported")
    _check_groups(ws, groups)
    if xb[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected input{list(xb)} to have "
                           f"{ws[0]} channels, but got {xb[1]} channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != ws[1] * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected bias to be 1-dimensional with "
                           f"{ws[1] * groups} elements, but got bias of size {list(bias.shape)} instead")
    if any(o >= si and o >= di for o, si, di in zip(op, s, d)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_depth: {op[0]} output_padding_height: {op[1]} output_padding_width: "
                           f"{op[2]} stride_depth: {s[0]} stride_height: {s[1]} stride_width: {s[2]} dilation_depth: "
                           f"{d[0]} dilation_height: {d[1]} dilation_width: {d[2]}")
    size = tuple((xb[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op[i] + 1 for i in range(3))
    if any(v <= 0 for v in size):
        raise RuntimeError(f"Given input size per channel: ({xb[2]} x {xb[3]} x {xb[4]}). Calculated output size per "
                           f"channel: ({size[0]} x {size[1]} x {size[2]}). Output size is too small")
    return s, p, op, d, size[0]


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """torch.nn.functional.conv_transpose3d: input (N, Cin, D, H, W) or (Cin, D, H, W), weight
    (Cin, Cout/groups, kD, kH, kW); the gradient of conv3d with respect to its input, plus a bias."""
    s, p, op, d, depth_out = _geometry(input, weight, bias, stride, padding, output_padding, groups, dilation)
    x = input if input.dim() == 5 else input.unsqueeze(0)
    n, cin, depth, h, w = x.shape
    cog, kd = weight.shape[1], weight.shape[2]
    cout = cog * groups
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * depth, cin, h, w)
    w2 = weight.reshape(cin, cog * kd, weight.shape[3], weight.shape[4])
    y = conv_transpose2d(planes, w2, None, s[1:], p[1:], op[1:], groups, d[1:])   # (N * D, Cout * kd, Ho, Wo)
    ho, wo = y.shape[2], y.shape[3]
    y = y.reshape(n, depth, cout, kd, ho, wo).permute(0, 2, 1, 3, 4, 5).reshape(n, cout, depth * kd, ho, wo)
    from .creation import tensor as _tensor, zeros
    from .indexing import index_add
    taps = (np.arange(depth)[:, None] * s[0] + np.arange(kd)[None, :] * d[0]).reshape(-1)
    full = zeros((n, cout, depth_out + 2 * p[0], ho, wo), dtype=y.dtype, device=y.device)
    out = index_add(full, 2, _tensor(taps.astype(np.int64), device=y.device), y)
    if p[0]:
        out = out[:, :, p[0]:p[0] + depth_out]
    if bias is not None:
        out = out + bias.reshape(1, cout, 1, 1, 1)
    return out if input.dim() == 5 else out.squeeze(0)
