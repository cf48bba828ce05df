"""torch.nn.attention.flex_attention: attention whose scores a Python function modifies (score_mod) and whose
mask a Python function describes (mask_mod, compiled into a block-sparse BlockMask).

flex_attention runs as PyTorch's eager reference does (PyTorch fuses it into a kernel only under torch.compile):
scores = q @ k^T * scale in float32 (float64 for float64 inputs); score_mod(score, b, h, q_idx, kv_idx) and
mask_mod(b, h, q_idx, kv_idx) applied; a softmax that gives a fully masked row zeros (not NaN); the probabilities
in the inputs' dtype @ v. It is made of registered ops, so it runs and differentiates on both devices (the (L, S)
scores are materialised). Without a score_mod (and without max_scores asked for) it is the fused attention op
under mask_mod's boolean mask instead, whose cuda kernel keeps no scores (see _fused). The mods get broadcastable index tensors b (B,1,1,1), h (1,H,1,1), q_idx (1,1,L,1),
kv_idx (1,1,1,S) where PyTorch vmaps them over scalars: the same results for mods written with elementwise ops,
comparisons, torch.where and indexing by the indices (bias[h], doc_id[q_idx] == doc_id[kv_idx], ...), which is
what mods are; a mod that branches in Python on a value cannot be run either way.

BlockMask holds the block-sparse structure PyTorch's kernels read (per row of query blocks: how many key blocks
are partly / fully unmasked, and which), computed as PyTorch computes it; as in PyTorch's eager path, attention
itself applies the mask through mask_mod."""
from __future__ import annotations

import inspect
import itertools
import math
from typing import NamedTuple, TypedDict

from ... import dtypes as _dt
from ...device import as_device
from ...ops import creation as _creation
from ...tensor import Tensor

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions", "create_block_mask",
           "create_mask", "or_masks", "and_masks", "noop_mask"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


class FlexKernelOptions(TypedDict, total=False):
    """Tuning options of PyTorch's fused kernels (block sizes, warps, stages, backend); tritorch's eager
    flex_attention has no fused kernel to tune and accepts them as they are."""


class AuxRequest(NamedTuple):
    """Which auxiliary outputs flex_attention returns."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """flex_attention's auxiliary outputs: the rows' log-sum-exp and maximum of the modified scores (natural
    log; -inf for a fully masked row), None where not requested."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


# ---------------------------------------------------------------------------------------------- mods

def noop_mask(b, h, q_idx, kv_idx):
    """The mask_mod that masks nothing."""
    return b.new_ones((), dtype=_dt.bool_)


def _combined(mask_mods, name: str, keep_all: bool):
    """The mask_mod keeping a position when all (keep_all) or any of mask_mods keeps it."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def combined(b, h, q_idx, kv_idx):
        result = b.new_ones((), dtype=_dt.bool_) if keep_all else b.new_zeros((), dtype=_dt.bool_)
        for mod in mask_mods:
            kept = mod(b, h, q_idx, kv_idx)
            result = result & kept if keep_all else result | kept
        return result
    combined.__name__ = combined.__qualname__ = name
    return combined


def or_masks(*mask_mods):
    """The mask_mod that keeps a position when any of mask_mods does."""
    return _combined(mask_mods, "or_mask", False)


def and_masks(*mask_mods):
    """The mask_mod that keeps a position when all of mask_mods do."""
    return _combined(mask_mods, "and_mask", True)


def _is_score_mod(fn) -> bool:
    """A score_mod takes five positional parameters (score, b, h, q_idx, kv_idx), a mask_mod four."""
    required = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
    if len(required) == 5:
        return True
    if len(required) == 4:
        return False
    raise AssertionError(f"a mod takes 4 (mask_mod) or 5 (score_mod) positional arguments, got {len(required)}")


def _indices(B: int, H: int, M: int, N: int, device):
    """b, h, q_idx, kv_idx as int64 tensors shaped to broadcast over (B, H, M, N)."""
    return (_creation.arange(B, device=device).view(B, 1, 1, 1), _creation.arange(H, device=device).view(1, H, 1, 1),
            _creation.arange(M, device=device).view(1, 1, M, 1), _creation.arange(N, device=device).view(1, 1, 1, N))


def _default_device(device):
    if device is not None:
        return as_device(device)
    from ... import cuda
    return as_device("cuda" if cuda.is_available() else "cpu")


def create_mask(mod_fn, B, H, Q_LEN: int, KV_LEN: int, device=None) -> Tensor:
    """The dense (B, H, Q_LEN, KV_LEN) boolean mask of a mask_mod, or of a score_mod (where it is not -inf)."""
    device = _default_device(device)
    B, H = B or 1, H or 1
    idx = _indices(B, H, Q_LEN, KV_LEN, device)
    if _is_score_mod(mod_fn):
        out = mod_fn(_creation.zeros(B, H, Q_LEN, KV_LEN, device=device), *idx)
        mask = ~out.isneginf()
    else:
        mask = mod_fn(*idx)
        if not isinstance(mask, Tensor):
            mask = _creation.tensor(bool(mask), device=device)
    return mask.expand(B, H, Q_LEN, KV_LEN).contiguous()


# --------------------------------------------------------------------------------- block-sparse structure

def _dense_to_ordered(dense: Tensor) -> tuple:
    """(blocks per row, column indices with the row's blocks first, in order): a dense 0/1 block matrix."""
    dense = dense.to(_dt.int32)
    return (dense.sum(-1).to(_dt.int32).contiguous(),
            dense.argsort(dim=-1, descending=True, stable=True).to(_dt.int32).contiguous())


def _ordered_to_dense(num_blocks: Tensor, indices: Tensor, num_cols: int) -> Tensor:
    """The dense 0/1 block matrix (int32) of (blocks per row, column indices)."""
    taken = _creation.arange(indices.shape[-1], device=indices.device) < num_blocks.unsqueeze(-1)
    columns = indices.long().masked_fill(~taken, num_cols)     # entries past a row's count land in a spare column
    dense = _creation.zeros(*indices.shape[:-1], num_cols + 1, dtype=_dt.int32, device=indices.device)
    dense.scatter_(-1, columns, 1)
    return dense[..., :num_cols].contiguous()


def _transpose_ordered(num_blocks: Tensor, indices: Tensor) -> tuple:
    return _dense_to_ordered(_ordered_to_dense(num_blocks, indices, indices.shape[-1]).transpose(-2, -1))


def _block_structure(mask: Tensor, q_block: int, kv_block: int, separate_full_blocks: bool) -> tuple:
    """(partial, full) dense block matrices (int8) of a (B, H, Q, KV) mask padded with masked positions to whole
    blocks: partial = blocks with some kept position (all but the full ones when separated), full = blocks with
    every position kept (None unless separated)."""
    from ..functional import pad
    B, H, Q, KV = mask.shape
    mask = pad(mask, (0, -KV % kv_block, 0, -Q % q_block))
    Qn, Kn = mask.shape[2] // q_block, mask.shape[3] // kv_block
    sums = mask.view(B, H, Qn, q_block, Kn, kv_block).permute(0, 1, 2, 4, 3, 5).sum((-2, -1))
    if not separate_full_blocks:
        return (sums > 0).to(_dt.int8), None
    whole = q_block * kv_block
    return ((sums > 0) & (sums < whole)).to(_dt.int8), (sums == whole).to(_dt.int8)


def _sliced_mask_mod_error(b, h, q_idx, kv_idx):
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")


class BlockMask:
    """The block-sparse structure of a mask (see the module docstring): per (batch, head, query block) the number
    of partly unmasked key blocks (kv_num_blocks) and their indices first in kv_indices, the same for fully
    unmasked ones (full_kv_*), the transposes for the backward (q_*, full_q_*), BLOCK_SIZE, the sequence lengths
    and the mask_mod."""

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num_blocks,
                 q_indices, full_q_num_blocks, full_q_indices,
                 BLOCK_SIZE=(_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE), mask_mod=noop_mask):
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided or omitted")
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks, kv_indices, full_kv_num_blocks=None, full_kv_indices=None,
                       BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE, mask_mod=None, seq_lengths=None,
                       compute_q_blocks: bool = True) -> "BlockMask":
        """A BlockMask from its key-block lists (the query-block lists computed from them)."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num, q_idx, full_q_num, full_q_idx = None, None, None, None
        if compute_q_blocks:
            q_num, q_idx = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num, full_q_idx = _transpose_ordered(full_kv_num_blocks, full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0], kv_indices.shape[-1] * BLOCK_SIZE[1])
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num, q_idx,
                   full_q_num, full_q_idx, BLOCK_SIZE, mask_mod if mask_mod is not None else noop_mask)

    @property
    def shape(self) -> tuple:
        return tuple(self.kv_indices.shape[:-2]) + self.seq_lengths

    def numel(self) -> int:
        """Positions in the mask (sparsity not accounted for)."""
        return math.prod(self.shape)

    def sparsity(self) -> float:
        """The percentage of the mask's positions in blocks that are not computed."""
        blocks = self.kv_num_blocks.sum().item()
        if self.full_kv_num_blocks is not None:
            blocks += self.full_kv_num_blocks.sum().item()
        return 100 * (1 - blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel())

    def to_dense(self) -> Tensor:
        """The (..., query blocks, key blocks) int32 matrix of computed blocks (partial or full)."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                              self.full_kv_indices.shape[-1])
        return dense

    def to_string(self, grid_size=(20, 20), limit: int = 4) -> str:
        """A drawing of the computed blocks per (batch, head), at most grid_size cells (-1: one per block): a full
        cell where all its blocks are computed, a light one where some are."""
        dense = self.to_dense()
        *batch_dims, rows, cols = dense.shape
        if isinstance(grid_size, int) and grid_size == -1:
            max_rows, max_cols = rows, cols
        elif isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        else:
            max_rows, max_cols = grid_size
        row_step, col_step = max(1, -(-rows // max_rows)), max(1, -(-cols // max_cols))
        dense = dense.cpu().numpy()
        drawings = []
        for n, idx in enumerate(itertools.product(*[range(d) for d in batch_dims])):
            if n == limit:
                drawings += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                             "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            grid = dense[idx]
            text = f"{idx}\n"
            for r in range(0, rows, row_step):
                for c in range(0, cols, col_step):
                    share = grid[r:r + row_step, c:c + col_step].mean()
                    text += ("█" if share == 1 else " " if share == 0 else "░") * 2
                text += "\n"
            drawings.append(text)
        return "\n".join(drawings)

    def __str__(self) -> str:
        return f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n{self.to_string().strip()}\n)"

    def __repr__(self) -> str:
        def shape_of(t):
            return t.shape if t is not None else None
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n    kv_num_blocks={self.kv_num_blocks.shape},\n    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_of(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_of(self.full_kv_indices)},\n"
                f"    q_num_blocks={shape_of(self.q_num_blocks)},\n    q_indices={shape_of(self.q_indices)},\n"
                f"    full_q_num_blocks={shape_of(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_of(self.full_q_indices)},\n    BLOCK_SIZE={self.BLOCK_SIZE},\n"
                f"    shape={self.shape},\n    sparsity={self.sparsity():.2f}%,\n    mask_mod={name}\n)")

    def __getitem__(self, index) -> "BlockMask":
        """The block structure of some batches, heads and query blocks (ints keep their dimension); its mask_mod
        cannot be used (it would need the positions re-indexed)."""
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i % n, i % n + 1) if isinstance(i, int) else i) for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else \
            (self.full_kv_num_blocks[index], self.full_kv_indices[index])
        return BlockMask.from_kv_blocks(self.kv_num_blocks[index], self.kv_indices[index], *full,
                                        BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
                                        seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None)

    def _adjust(self, new_q_len: int, new_kv_len: int) -> "BlockMask":
        """The mask cropped to its upper-left (new_q_len, new_kv_len) corner."""
        rows = -(-new_q_len // self.BLOCK_SIZE[0])
        cols = -(-new_kv_len // self.BLOCK_SIZE[1])

        def crop(num_blocks, indices):
            indices = indices[:, :, :rows, :cols]
            num_blocks = num_blocks[:, :, :rows].clamp(max=cols)
            return (indices < num_blocks.unsqueeze(-1)).sum(-1).to(_dt.int32), indices
        kv = crop(self.kv_num_blocks, self.kv_indices)
        full = (None, None) if self.full_kv_num_blocks is None else crop(self.full_kv_num_blocks,
                                                                         self.full_kv_indices)
        return self.from_kv_blocks(*kv, *full, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                   seq_lengths=(new_q_len, new_kv_len), compute_q_blocks=self.q_indices is not None)

    def to(self, device) -> "BlockMask":
        """A copy with its tensors on `device`."""
        def move(t):
            return t.to(device) if t is not None else None
        return BlockMask(self.seq_lengths, move(self.kv_num_blocks), move(self.kv_indices),
                         move(self.full_kv_num_blocks), move(self.full_kv_indices), move(self.q_num_blocks),
                         move(self.q_indices), move(self.full_q_num_blocks), move(self.full_q_indices),
                         self.BLOCK_SIZE, self.mask_mod)


def create_block_mask(mask_mod, B, H, Q_LEN: int, KV_LEN: int, device=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile=False, separate_full_blocks: bool = True, compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    """The BlockMask of a mask_mod over (B or 1, H or 1, Q_LEN, KV_LEN), on `device` (default: the accelerator
    if there is one)."""
    if _is_score_mod(mask_mod):
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    if compute_dq_write_order:
        raise ValueError("compute_dq_write_order: the dQ write order is metadata for PyTorch's deterministic fused "
                         "backward; tritorch's flex_attention does not read it")
    q_block, kv_block = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial, full = _block_structure(mask, q_block, kv_block, separate_full_blocks)
    partial = _dense_to_ordered(partial)
    full = _dense_to_ordered(full) if full is not None else (None, None)
    return BlockMask.from_kv_blocks(*partial, *full, BLOCK_SIZE=(q_block, kv_block), mask_mod=mask_mod,
                                    seq_lengths=(Q_LEN, KV_LEN))


# -------------------------------------------------------------------------------------------- attention

def _check(query, key, value, enable_gqa: bool, block_mask) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"flex_attention(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"flex_attention: query, key and value must be 4-D (batch, heads, length, features); "
                             f"{name} is {t.dim()}-D")
    if not (query.dtype == key.dtype == value.dtype) or not query.dtype.is_floating_point:
        raise ValueError(f"Expected query, key, and value to have the same floating dtype, but got "
                         f"query.dtype: {query.dtype}, key.dtype: {key.dtype}, and value.dtype: {value.dtype}")
    if not (query.device == key.device == value.device):
        raise ValueError(f"Expected query, key, and value to have the same device type, but got query.device: "
                         f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead.")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but got E={query.shape[-1]}"
                         f" and E={key.shape[-1]}.")
    if key.shape[:3] != value.shape[:3]:
        raise ValueError(f"key and value must agree in batch, heads and length, got {tuple(key.shape)} and "
                         f"{tuple(value.shape)}")
    Hq, Hkv = query.shape[1], key.shape[1]
    if not enable_gqa and Hq != Hkv:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got Hq={Hq} and "
                         f"Hkv={Hkv}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and Hq % Hkv != 0:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but got Hq={Hq} and "
                         f"Hkv={Hkv}.")
    Bq, Bkv = query.shape[0], key.shape[0]
    if Bq != Bkv and not (Bkv == 1 and block_mask is not None):
        raise ValueError(f"Expect query and key/value to have the same batch size, or non-none block_mask, but got "
                         f"block_mask=None, Bq={Bq}, and Bkv={Bkv}.")
    if block_mask is None or block_mask.BLOCK_SIZE == (_LARGE_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE):
        return
    mq, mkv = block_mask.shape[-2:]
    L, S = query.shape[2], key.shape[2]
    if L > mq or S > mkv:
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={L} and "
                         f"kv_len={S}. As the block mask was created for a smaller length than you're using it for, "
                         f"you likely need to create a new block mask.")
    if (L, S) != (mq, mkv):
        raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={L} and "
                         f"kv_len={S}. As the block mask was created for a larger length than you're using it for, "
                         f"you can either 1. create a new block mask with the correct length, or 2. 'adjust' the "
                         f"existing block mask to the correct length by calling block_mask._adjust(q_len, kv_len).")
    if block_mask.kv_num_blocks.device != query.device:
        raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got {query.device} and "
                           f"{block_mask.kv_num_blocks.device}.")
    if block_mask.mask_mod is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")


def _fused(query, key, value, block_mask, scale, enable_gqa):
    """Without a score_mod, flex_attention is scaled_dot_product_attention under the mask that mask_mod gives
    (evaluated once, as broadcast as the mod leaves it: a causal mod gives one (L, S) mask for every batch and
    head): the fused attention op, whose kernel keeps no (L, S) scores on cuda. A fully masked row comes out 0
    with a log-sum-exp of -inf, as flex_attention's."""
    from ...ops.nn_attention import sdpa_op
    mask = None
    if block_mask is not None and block_mask.mask_mod is not noop_mask:
        B, H, L, _ = query.shape
        mask = block_mask.mask_mod(*_indices(B, H, L, key.shape[2], query.device))
        if not isinstance(mask, Tensor):
            mask = _creation.tensor(bool(mask), device=query.device)
        if mask.dtype is not _dt.bool_:
            mask = mask.to(_dt.bool_)
    return sdpa_op(query, key, value, mask, scale=float(scale), enable_gqa=bool(enable_gqa))


def flex_attention(query: Tensor, key: Tensor, value: Tensor, score_mod=None, block_mask: BlockMask | None = None,
                   scale: float | None = None, enable_gqa: bool = False, return_lse: bool = False,
                   kernel_options: FlexKernelOptions | None = None, *, return_aux: AuxRequest | None = None):
    """softmax(mask(score_mod(q @ k^T * scale))) @ v over (B, H, L, E) queries and (B, Hkv, S, E|Ev) keys and
    values (see the module docstring). Returns the output (B, H, L, Ev); with return_lse also the rows'
    log-sum-exp; with return_aux an AuxOutput of what it requests."""
    import warnings

    from ...ops.reduce import logsumexp
    from ...ops.ternary import where
    _check(query, key, value, enable_gqa, block_mask)
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is deprecated, please use "
                         "return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=2)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    B, H, L, _ = query.shape
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    if score_mod is None and not want_max and key.shape[0] == B:
        out, lse = _fused(query, key, value, block_mask, scale, enable_gqa)
        lse = lse if want_lse else None
        if return_aux is not None:
            return out, AuxOutput(lse=lse)
        return (out, lse) if return_lse else out
    groups = H // key.shape[1]
    if groups > 1:
        key, value = key.repeat_interleave(groups, 1), value.repeat_interleave(groups, 1)
    if key.shape[0] != B:
        key, value = key.expand(B, *key.shape[1:]), value.expand(B, *value.shape[1:])
    S = key.shape[2]
    work = _dt.float64 if query.dtype is _dt.float64 else _dt.float32
    scores = (query.to(work) @ key.to(work).transpose(-2, -1)) * scale
    idx = _indices(B, H, L, S, query.device)
    modded = scores if score_mod is None else score_mod(scores, *idx)
    if block_mask is not None and block_mask.mask_mod is not noop_mask:
        keep = block_mask.mask_mod(*idx)
        modded = where(keep, modded, _creation.tensor(-math.inf, dtype=work, device=query.device))
    modded = modded.to(work).expand(B, H, L, S)
    masked_row = (modded == -math.inf).all(-1)
    # a fully masked row: its scores are set to 0 before the softmax (no NaN, in the values or the gradients) and
    # its probabilities to 0 after it, so its output is 0, as PyTorch's safe softmax gives
    safe = modded.masked_fill(masked_row.unsqueeze(-1), 0.0)
    probs = safe.softmax(-1).masked_fill(masked_row.unsqueeze(-1), 0.0)
    out = probs.to(query.dtype) @ value.to(query.dtype)
    lse = max_scores = None
    if want_lse:
        lse = logsumexp(safe, -1).masked_fill(masked_row, -math.inf)
    if want_max:
        max_scores = modded.max(-1).values
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    return (out, lse) if return_lse else out
