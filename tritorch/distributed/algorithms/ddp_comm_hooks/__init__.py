"""torch.distributed.algorithms.ddp_comm_hooks: only post_localSGD_hook's state class (see the parent package)."""
