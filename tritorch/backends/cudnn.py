"""torch.backends.cudnn's flags, accepted for compatibility (tritorch's convolutions are its own kernels)."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False
