"""tritorch.nn: modules, layers, losses, functional ops, init, utils (PyTorch-shaped)."""
