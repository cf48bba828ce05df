"""torch.distributed.algorithms, as far as libraries import it: join's names (see .join) and the post-local-SGD
hook's state class (Lightning's DDP strategy checks its comm-hook state against it). tritorch's
DistributedDataParallel has no communication hooks (register_comm_hook) and there is no model averaging, so
nothing else is here."""
