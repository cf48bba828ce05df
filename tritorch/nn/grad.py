"""tritorch.nn.grad: torch.nn.grad's gradients of a convolution with respect to its input and its weight.

conv1d/conv2d_input and _weight are the registered gradient ops of conv2d (conv2d_input_grad,
conv2d_weight_grad; 1-d on planes of height 1, as conv1d itself runs), so they run the same Triton kernels and
NumPy fallback as conv2d's backward and are differentiable again. conv3d is a composite of conv2d here, with no
gradient op of its own: its two functions differentiate conv3d through autograd (one forward on a zero tensor,
which the gradient does not depend on, as a convolution is linear in each operand)."""
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.tensor_methods import grad as _autograd_grad
from ..ops.creation import zeros
from ..ops.nn_conv import conv2d_input_grad_op, conv2d_weight_grad_op, conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _one(name: str, v):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(v) != 1:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 values to match the "
                           f"convolution dimensions, but got {name}={list(v)}")
    return v[0]


def _as_2d(stride, padding, dilation) -> dict:
    """A 1-d convolution's options for the same convolution on planes of height 1."""
    return dict(stride=(1, _one("stride", stride)), padding=(0, _one("padding", padding)),
                dilation=(1, _one("dilation", dilation)))


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv1d with respect to its input of size `input_size` (N, C_in, L)."""
    size = tuple(input_size)
    gx = conv2d_input_grad_op(grad_output.unsqueeze(-2), weight.unsqueeze(-2), input_size=size[:-1] + (1, size[-1]),
                              groups=groups, **_as_2d(stride, padding, dilation))
    return gx.squeeze(-2)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of conv1d with respect to its weight of size `weight_size` (C_out, C_in / groups, k)."""
    size = tuple(weight_size)
    gw = conv2d_weight_grad_op(input.unsqueeze(-2), grad_output.unsqueeze(-2), weight_size=size[:-1] + (1, size[-1]),
                               groups=groups, **_as_2d(stride, padding, dilation))
    return gw.squeeze(-2)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv2d with respect to its input of size `input_size` (N, C_in, H, W)."""
    return conv2d_input_grad_op(grad_output, weight, input_size=tuple(input_size), stride=stride, padding=padding,
                                dilation=dilation, groups=groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of conv2d with respect to its weight of size `weight_size` (C_out, C_in / groups, kH, kW)."""
    return conv2d_weight_grad_op(input, grad_output, weight_size=tuple(weight_size), stride=stride, padding=padding,
                                 dilation=dilation, groups=groups)


def _conv3d_grad(x, w, grad_output, wrt_input: bool, stride, padding, dilation, groups):
    # differentiable again when grad mode is on and an operand needs it, as PyTorch's are
    create_graph = is_grad_enabled() and (grad_output.requires_grad or (w if wrt_input else x).requires_grad)
    leaf = (x if wrt_input else w).requires_grad_(True)
    with enable_grad():
        out = conv3d(x, w, None, stride, padding, dilation, groups)
        (g,) = _autograd_grad(out, leaf, grad_output, create_graph=create_graph)
    return g


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv3d with respect to its input of size `input_size` (N, C_in, D, H, W)."""
    x = zeros(tuple(input_size), dtype=weight.dtype, device=weight.device)
    return _conv3d_grad(x, weight, grad_output, True, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of conv3d with respect to its weight of size `weight_size` (C_out, C_in / groups, kD, kH, kW)."""
    w = zeros(tuple(weight_size), dtype=input.dtype, device=input.device)
    return _conv3d_grad(input, w, grad_output, False, stride, padding, dilation, groups)
