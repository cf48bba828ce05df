"""softmax and log_softmax (nn kernels family): row-wise Triton kernels, NumPy fallbacks, backward rules."""
__all__: list = []
