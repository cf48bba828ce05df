"""torch.distributed.checkpoint (DCP): not in tritorch, which saves with tritorch.save and safetensors; the package
and its storage classes exist for libraries that import them when torch.distributed is available
(distributed/_absent.py)."""
