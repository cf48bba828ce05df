"""Normalisation (nn kernels family): layer_norm, rms_norm, group_norm, batch_norm, forward and backward fused."""
__all__: list = []
