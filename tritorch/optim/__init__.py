"""tritorch.optim: optimizers (fused Triton update kernel per parameter on cuda) and lr schedulers."""
