"""torch.distributed._composable: the older home of fully_shard (see tritorch.distributed.fsdp)."""
