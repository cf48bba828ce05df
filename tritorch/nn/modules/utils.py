"""torch.nn.modules.utils: the argument helpers layers share (_single, _pair, ...) and
consume_prefix_in_state_dict_if_present, which strips a wrapper's key prefix ("module." of DataParallel / DDP,
"_orig_mod." of torch.compile) from a state dict before a plain model loads it."""
from __future__ import annotations

from ._common import _ntuple, _pair, _single, _triple

__all__ = ["consume_prefix_in_state_dict_if_present"]

_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """Each element of t, last first, n times: the (left, right) padding pairs F.pad takes from conv padding."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults) -> list:
    """An adaptive pooling's output size with its None entries taken from the input's trailing sizes."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    tail = list(defaults)[-len(out_size):]
    return [size if size is not None else default for size, default in zip(out_size, tail)]


def consume_prefix_in_state_dict_if_present(state_dict: dict, prefix: str) -> None:
    """Remove `prefix` from the start of every key of `state_dict` that has it, in place (and from the keys of its
    `_metadata`, where the wrapper's own entry, the prefix without its dot, becomes the root's '')."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[key[len(prefix):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is None:
        return
    for key in list(metadata):
        if key and (key == prefix.rstrip(".") or key.startswith(prefix)):
            metadata[key[len(prefix):]] = metadata.pop(key)


_ = (_pair, _single, _triple)
