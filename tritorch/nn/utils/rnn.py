"""Variable-length sequences for the recurrent layers (torch.nn.utils.rnn): PackedSequence, pack_padded_sequence,
pad_packed_sequence, pad_sequence, pack_sequence, unpad_sequence, unpack_sequence.

A PackedSequence holds the time steps one after another, each with the rows of the sequences still running
(sorted longest first), as PyTorch lays it out: `batch_sizes[t]` rows for step t. Packing and padding are one
index_select each over a host-computed row map, so both devices work and gradients flow through them.
"""
from __future__ import annotations

import collections

import numpy as np

from ...tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


def _tt():
    import tritorch
    return tritorch


class PackedSequence(collections.namedtuple("PackedSequence",
                                            ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """data (sum of lengths, *), batch_sizes (max length,) int64 on the cpu, and the permutation that sorted the
    batch by decreasing length (None when it already was) with its inverse."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device
        moved = [None if t is None else t.to(device) for t in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *moved)

    def cuda(self, *args, **kwargs) -> "PackedSequence":
        return self.to("cuda")

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def invert_permutation(permutation):
    if permutation is None:
        return None
    tt = _tt()
    inverse = tt.empty_like(permutation)
    inverse.scatter_(0, permutation, tt.arange(permutation.numel(), device=permutation.device))
    return inverse


def _lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu":
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got 1D "
                               f"{lengths.device} {lengths.dtype} tensor")
        lengths = lengths.numpy()
    return np.asarray(lengths, np.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given lengths."""
    tt = _tt()
    n = _lengths(lengths)
    sorted_indices = None
    if enforce_sorted:
        if (np.diff(n) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                               "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                               "sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-n, kind="stable")
        n = n[order]
        sorted_indices = tt.tensor(order, device=input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    if n.size == 0 or n.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    steps, batch = input.shape[0], input.shape[1]
    if n[0] > steps:
        raise RuntimeError(f"Expected the longest length ({n[0]}) to be at most the sequence length ({steps})")
    batch_sizes = (n[None, :] > np.arange(n[0])[:, None]).sum(1)
    rows = np.concatenate([t * batch + np.arange(b) for t, b in enumerate(batch_sizes)])
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = flat.index_select(0, tt.tensor(rows, device=input.device))
    return PackedSequence(data, tt.tensor(batch_sizes.astype(np.int64)), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length=None) -> tuple:
    """(padded (T, B, *) or (B, T, *), lengths) of a PackedSequence, in the batch's original order."""
    tt = _tt()
    data, batch_sizes, _, unsorted = sequence
    sizes = _lengths(batch_sizes)
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = int(total_length)
    batch = int(sizes[0])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rows = np.full((steps, batch), data.shape[0], np.int64)      # row data.shape[0]: the padding row
    for t, (off, b) in enumerate(zip(offsets, sizes)):
        rows[t, :b] = off + np.arange(b)
    pad = tt.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    table = tt.cat([data, pad], 0)
    out = table.index_select(0, tt.tensor(rows.reshape(-1), device=data.device))
    out = out.reshape((steps, batch) + tuple(data.shape[1:]))
    lengths = (sizes[:, None] > np.arange(batch)[None, :]).sum(0)
    if unsorted is not None:
        out = out.index_select(1, unsorted)
        lengths = lengths[unsorted.cpu().numpy()]
    if batch_first:
        out = out.transpose(0, 1)
    return out, tt.tensor(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padded with padding_value on
    the right (or left)."""
    tt = _tt()
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = list(sequences.unbind(0)) if isinstance(sequences, Tensor) else list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        gap = longest - s.shape[0]
        if gap:
            fill = tt.full((gap,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = tt.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return tt.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) (decreasing lengths unless enforce_sorted=False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of sequences (L_i, *) of a padded batch."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences (L_i, *) of a PackedSequence, in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
