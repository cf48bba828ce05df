"""scaled_dot_product_attention: a flash-attention-style tiled Triton kernel and a NumPy fallback."""
__all__: list = []
