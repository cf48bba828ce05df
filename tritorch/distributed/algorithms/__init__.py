"""torch.distributed.algorithms: only the names of join (see tritorch.distributed.algorithms.join)."""
