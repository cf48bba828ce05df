"""nn.attention.flex_attention against PyTorch's (its eager path): outputs, log-sum-exps, max scores and gradients
for score_mods, mask_mods, GQA, batch broadcast and fully masked rows, on every device; BlockMask's structure
(kv/q block counts and indices, dense form, sparsity, drawing, slicing, cropping) equal to PyTorch's."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.nn.attention import flex_attention as ours
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
from torch.nn.attention import flex_attention as theirs  # noqa: E402

warnings.filterwarnings("ignore", message=".*flex_attention called without torch.compile.*")


def _lib(fa):
    return tt if fa is ours else torch


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def late_queries(b, h, q_idx, kv_idx):        # rows q_idx < 3 keep nothing: fully masked
    return (q_idx >= 3) & (kv_idx <= q_idx)


def soft_cap(score, b, h, q_idx, kv_idx):
    return (score / 2).tanh() * 2


rng = np.random.default_rng(0)
BIAS = rng.standard_normal(4)
DOCS = np.repeat(np.arange(4), 5)[:19]         # document id of each of 19 positions


def alibi(bias):
    def score_mod(score, b, h, q_idx, kv_idx):
        return score + bias[h] * (kv_idx - q_idx)
    return score_mod


def same_document(docs):
    def mask_mod(b, h, q_idx, kv_idx):
        return docs[q_idx] == docs[kv_idx]
    return mask_mod


CASES = {
    "plain": dict(),
    "causal": dict(mask=lambda fa, lib, dev: causal),
    "soft_cap_causal": dict(score_mod=lambda lib, dev: soft_cap, mask=lambda fa, lib, dev: causal),
    "alibi_documents": dict(score_mod=lambda lib, dev: alibi(lib.tensor(BIAS, device=dev)),
                            mask=lambda fa, lib, dev: fa.and_masks(causal, same_document(
                                lib.tensor(DOCS, device=dev)))),
    "fully_masked_rows": dict(mask=lambda fa, lib, dev: late_queries),
    "gqa": dict(kv_heads=2, enable_gqa=True, mask=lambda fa, lib, dev: causal),
    "batch_broadcast": dict(kv_batch=1, mask=lambda fa, lib, dev: fa.or_masks(causal, lambda b, h, q, kv: kv == 0)),
    "scale_and_value_dim": dict(scale=0.3, value_dim=3),
}


def call(fa, case, q, k, v, dev, aux=True):
    lib = _lib(fa)
    mask = case.get("mask")
    block_mask = None
    if mask is not None:
        block_mask = fa.create_block_mask(mask(fa, lib, dev), q.shape[0], q.shape[1], q.shape[2], k.shape[2],
                                          device=dev, BLOCK_SIZE=8)
    score_mod = case["score_mod"](lib, dev) if "score_mod" in case else None
    result = fa.flex_attention(q, k, v, score_mod=score_mod, block_mask=block_mask, scale=case.get("scale"),
                               enable_gqa=case.get("enable_gqa", False),
                               return_aux=fa.AuxRequest(lse=True, max_scores=True) if aux else None)
    return (result[0], result[1].lse, result[1].max_scores) if aux else result


def arrays_for(case, B=2, H=4, L=19, S=19, E=4, seed=1):
    r = np.random.default_rng(seed)
    kv = (case.get("kv_batch", B), case.get("kv_heads", H), S)
    return [r.standard_normal((B, H, L, E)), r.standard_normal(kv + (E,)),
            r.standard_normal(kv + (case.get("value_dim", E),))]


def torch_reference(case, q, k, v):
    """PyTorch's own eager reference of flex_attention (what its public function runs without torch.compile; on
    the cpu the public function returns neither log-sum-exps nor gradients): (out, lse, max scores)."""
    import math

    from torch._higher_order_ops.flex_attention import math_attention
    mask = case["mask"](theirs, torch, "cpu") if "mask" in case else theirs.noop_mask
    score_mod = case["score_mod"](torch, "cpu") if "score_mod" in case else (lambda s, b, h, m, n: s)
    scale = case.get("scale") or 1 / math.sqrt(q.shape[-1])
    out, lse, max_scores = math_attention(q, k, v, score_mod, (mask,), scale, {})
    return out, lse * math.log(2), max_scores * math.log(2)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_flex_attention_equals_torch(name, dtype_name, device):
    """Output, log-sum-exp, max scores and the gradients of q, k, v against PyTorch's eager reference; the output
    also against its public flex_attention."""
    case = CASES[name]
    arrays = arrays_for(case)
    mine = [tt.tensor(x, dtype=getattr(tt, dtype_name), device=device, requires_grad=True) for x in arrays]
    ref = [torch.tensor(x, dtype=getattr(torch, dtype_name), requires_grad=True) for x in arrays]
    a = call(ours, case, *mine, device)
    b = torch_reference(case, *ref)
    sum((o * o).sum() for o in (a[0], a[1].masked_fill(a[1] == -np.inf, 0))).backward()
    sum((o * o).sum() for o in (b[0], b[1].masked_fill(b[1] == -np.inf, 0))).backward()
    tol = 1e-10 if dtype_name == "float64" else 2e-5
    for x, y in zip(list(a) + [t.grad for t in mine], list(b) + [t.grad for t in ref]):
        assert_close(x, y.detach().numpy(), rtol=tol, atol=tol)
    with torch.no_grad():
        public = call(theirs, dict(case), *(torch.tensor(x, dtype=getattr(torch, dtype_name)) for x in arrays),
                      "cpu", aux=False)
    assert_close(a[0], public.numpy(), rtol=tol, atol=tol)
    if name == "fully_masked_rows":
        assert float(a[0][:, :, :3].abs().sum()) == 0 and float(a[1][:, :, :3].max()) == -np.inf


@pytest.mark.parametrize("name", ["alibi_documents", "fully_masked_rows", "gqa"])
def test_flex_attention_gradcheck(name):
    """gradcheck (float64 finite differences) of the output and the log-sum-exp with respect to q, k, v (on the
    cpu: the cuda gradients are held to PyTorch's above)."""
    case = CASES[name]
    arrays = arrays_for(case, B=1, L=7, S=7, E=2)
    inputs = [tt.tensor(x, requires_grad=True) for x in arrays]
    device = "cpu"

    def f(q, k, v):
        out, lse, _ = call(ours, case, q, k, v, device)
        return out, lse.masked_fill(lse == -np.inf, 0.0)
    assert tt.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5)


def test_return_lse_alone_and_errors():
    q = tt.ones(1, 2, 4, 8)
    with pytest.warns(FutureWarning, match="return_lse is deprecated"):
        out, lse = ours.flex_attention(q, q, q, return_lse=True)
    assert tuple(lse.shape) == (1, 2, 4)
    with pytest.raises(ValueError, match="same number of heads"):
        ours.flex_attention(q, tt.ones(1, 1, 4, 8), tt.ones(1, 1, 4, 8))
    with pytest.raises(ValueError, match="multiple of kv heads"):
        ours.flex_attention(tt.ones(1, 3, 4, 8), tt.ones(1, 2, 4, 8), tt.ones(1, 2, 4, 8), enable_gqa=True)
    bm = ours.create_block_mask(causal, 1, 2, 8, 8, device="cpu")
    with pytest.raises(ValueError, match="smaller length"):
        ours.flex_attention(tt.ones(1, 2, 9, 8), tt.ones(1, 2, 9, 8), tt.ones(1, 2, 9, 8), block_mask=bm)
    with pytest.raises(ValueError, match="_adjust"):
        ours.flex_attention(q, q, q, block_mask=bm)
    with pytest.raises(RuntimeError, match="sliced BlockMask"):
        ours.flex_attention(q[:, :1], q[:, :1], q[:, :1], block_mask=ours.create_block_mask(causal, 1, 2, 4, 4,
                                                                                             device="cpu")[:, :1])
    with pytest.raises(AssertionError, match="requires a mask_mod"):
        ours.create_block_mask(soft_cap, 1, 1, 4, 4, device="cpu")


def _structure(bm):
    fields = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks", "q_indices",
              "full_q_num_blocks", "full_q_indices"]
    out = {f: (None if getattr(bm, f) is None else getattr(bm, f).tolist()) for f in fields}
    out.update(shape=tuple(bm.shape), block=tuple(bm.BLOCK_SIZE), sparsity=round(bm.sparsity(), 9),
               dense=bm.to_dense().tolist(), text=str(bm).replace("tritorch", "torch"), numel=bm.numel())
    return out


@pytest.mark.parametrize("separate", [True, False])
def test_block_mask_structure_equals_torch(separate):
    def sliding(b, h, q_idx, kv_idx):
        return (q_idx - kv_idx).abs() <= 37 + h

    def build(fa):
        return fa.create_block_mask(fa.and_masks(causal, sliding), 2, 3, 300, 260, device="cpu", BLOCK_SIZE=(64, 32),
                                    separate_full_blocks=separate)
    a, b = build(ours), build(theirs)
    assert _structure(a) == _structure(b)
    assert _structure(a[1]) == _structure(b[1])
    assert _structure(a[:, 2]) == _structure(b[:, 2])
    assert _structure(a._adjust(200, 150)) == _structure(b._adjust(200, 150))
    assert a.to_string(grid_size=-1, limit=2) == b.to_string(grid_size=-1, limit=2)
    assert repr(a).replace("tritorch", "torch") == repr(b)
    mask = ours.create_mask(sliding, 2, 3, 30, 20, device="cpu")
    assert mask.tolist() == theirs.create_mask(sliding, 2, 3, 30, 20, device="cpu").tolist()
    assert ours.create_mask(soft_cap, None, None, 3, 3, device="cpu").tolist() == [[[[True] * 3] * 3]]


def test_block_mask_from_kv_blocks_and_to_device(device="cpu"):
    num = np.array([[[1, 2]]], np.int32)
    idx = np.array([[[[0, 1], [1, 0]]]], np.int32)
    a = ours.BlockMask.from_kv_blocks(tt.tensor(num), tt.tensor(idx), BLOCK_SIZE=16)
    b = theirs.BlockMask.from_kv_blocks(torch.tensor(num), torch.tensor(idx), BLOCK_SIZE=16)
    assert _structure(a) == _structure(b)
    for dev in devices():
        moved = a.to(dev)
        assert moved.kv_indices.device is as_device(dev) and moved.to_dense().tolist() == a.to_dense().tolist()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("name", ["plain", "causal", "fully_masked_rows", "gqa", "scale_and_value_dim"])
def test_without_score_mod_runs_the_fused_op(name, dtype_name, device, monkeypatch):
    """No score_mod: the fused attention op under mask_mod's mask; output, log-sum-exp and gradients equal
    PyTorch's reference all the same."""
    from tritorch.nn.attention import flex_attention as module
    fused_calls = []
    real = module._fused
    monkeypatch.setattr(module, "_fused", lambda *a: fused_calls.append(1) or real(*a))
    case = CASES[name]
    arrays = arrays_for(case, E=16)
    mine = [tt.tensor(x, dtype=getattr(tt, dtype_name), device=device, requires_grad=True) for x in arrays]
    ref = [torch.tensor(x, dtype=getattr(torch, dtype_name), requires_grad=True) for x in arrays]
    bm = (ours.create_block_mask(case["mask"](ours, tt, device), 2, 4, 19, 19, device=device, BLOCK_SIZE=8)
          if "mask" in case else None)
    out, aux = ours.flex_attention(*mine, block_mask=bm, scale=case.get("scale"),
                                   enable_gqa=case.get("enable_gqa", False), return_aux=ours.AuxRequest(lse=True))
    assert fused_calls and aux.max_scores is None
    b = torch_reference(case, *ref)
    sum((o * o).sum() for o in (out, aux.lse.masked_fill(aux.lse == -np.inf, 0))).backward()
    sum((o * o).sum() for o in (b[0], b[1].masked_fill(b[1] == -np.inf, 0))).backward()
    tol = 1e-9 if dtype_name == "float64" else 2e-5
    for x, y in zip([out, aux.lse] + [t.grad for t in mine], [b[0], b[1]] + [t.grad for t in ref]):
        assert_close(x, y.detach().numpy(), rtol=tol, atol=tol)
