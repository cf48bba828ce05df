"""Fused losses (nn kernels family): cross_entropy and nll_loss."""
__all__: list = []
