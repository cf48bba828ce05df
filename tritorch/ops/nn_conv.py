"""Convolutions (nn kernels family): conv1d, conv2d, conv_transpose2d as implicit GEMM."""
__all__: list = []
