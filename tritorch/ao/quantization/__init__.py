"""torch.ao.quantization as far as float models use it: QuantStub and DeQuantStub mark where a model would
quantize and dequantize its activations. Until a quantization workflow converts the model they pass their input
through, which is all they do here: tritorch has no quantized kernels, so prepare/convert and the observers are
absent (an AttributeError names them). torchvision's model definitions import the two at import time."""
from __future__ import annotations

from ...nn.modules.module import Module

__all__ = ["QuantStub", "DeQuantStub"]


class _FloatStub(Module):
    """A quantization boundary: the identity until a quantization workflow converts the model."""

    def __init__(self, qconfig=None):
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_FloatStub):
    """The point where a quantized model would quantize its input: the identity in a float model."""


class DeQuantStub(_FloatStub):
    """The point where a quantized model would dequantize its output: the identity in a float model."""
