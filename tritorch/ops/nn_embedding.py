"""embedding (padding_idx) and its deterministic scatter-add backward."""
__all__: list = []
