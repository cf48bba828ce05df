"""Pooling (nn kernels family): max_pool2d, avg_pool2d, adaptive_avg_pool2d."""
__all__: list = []
