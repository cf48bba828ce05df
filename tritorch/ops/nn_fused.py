"""Fused activations a training step profits from: bias + gelu, swiglu."""
__all__: list = []
