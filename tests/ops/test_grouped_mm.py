"""F.grouped_mm (ops/grouped_mm.py) against torch.nn.functional.grouped_mm (CPU) for the four layouts, forward and
gradients, plus its argument errors; the registry's generated tests cover the float64 reference, cuda vs cpu and
gradcheck / gradgradcheck."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

DEVICES = ["cpu", "cuda"]

# (a shape, b shape, offs): torch's CPU kernel wants 16-byte aligned strides, so K and N are multiples of 8
_LAYOUTS = [((20, 16), (3, 16, 8), [5, 5, 17]),       # jagged M (an empty group; rows 17.. past offs[-1])
            ((3, 4, 16), (3, 16, 8), None),            # batched
            ((8, 24), (24, 16), [8, 8, 20]),           # jagged K (the weight gradient of the first)
            ((2, 8, 16), (16, 24), [8, 24])]           # jagged N


def _pair(shape, seed, dtype):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return (tt.tensor(a, dtype=dtype).requires_grad_(True),
            torch.tensor(a).to(getattr(torch, dtype.name)).requires_grad_(True))


def _valid(out: np.ndarray, a_shape, b_shape, offs) -> np.ndarray:
    """The part of a jagged output torch defines (it leaves rows/columns past offs[-1] unwritten)."""
    if offs is None or len(a_shape) + len(b_shape) == 4:
        return out
    if len(a_shape) == 2:
        return out[:offs[-1]]
    return out[:, :offs[-1]]


@pytest.mark.parametrize("dtype", [tt.float32, tt.bfloat16])
@pytest.mark.parametrize("layout", range(4))
def test_matches_torch_forward_and_gradients(layout, dtype):
    torch = pytest.importorskip("torch")
    a_shape, b_shape, ends = _LAYOUTS[layout]
    (a, ta), (b, tb) = _pair(a_shape, 1, dtype), _pair(b_shape, 2, dtype)
    offs = None if ends is None else tt.tensor(ends, dtype=tt.int32)
    t_offs = None if ends is None else torch.tensor(ends, dtype=torch.int32)
    out, t_out = F.grouped_mm(a, b, offs=offs), torch.nn.functional.grouped_mm(ta, tb, offs=t_offs)
    assert tuple(out.shape) == tuple(t_out.shape) and out.dtype.name == str(t_out.dtype).removeprefix("torch.")
    tol = 1e-5 if dtype is tt.float32 else 2e-2
    got = _valid(out.detach().float().numpy(), a_shape, b_shape, ends)
    want = _valid(t_out.detach().float().numpy(), a_shape, b_shape, ends)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    weights = np.cos(np.arange(out.numel())).reshape(out.shape).astype(np.float32)
    if ends is not None and len(a_shape) + len(b_shape) == 5:   # torch's rows past offs[-1] are garbage: weight 0
        mask = np.zeros(out.shape, np.float32)
        mask[(slice(None, ends[-1]),) if len(a_shape) == 2 else (slice(None), slice(None, ends[-1]))] = 1
        weights *= mask
    (out.float() * tt.tensor(weights)).sum().backward()
    (t_out.float() * torch.tensor(weights)).sum().backward()
    # (torch's gradients are garbage past offs[-1] too: rows of a's gradient for jagged M, columns of a's and rows
    # of b's for jagged K; ours are 0 there, which is checked against a plain product in the next test)
    keep_a, keep_b = (slice(None),), (slice(None),)
    if ends is not None and layout == 0:
        keep_a = (slice(None, ends[-1]),)
    if ends is not None and layout == 2:
        keep_a, keep_b = (slice(None), slice(None, ends[-1])), (slice(None, ends[-1]),)
    for mine, theirs, keep in ((a.grad, ta.grad, keep_a), (b.grad, tb.grad, keep_b)):
        w = theirs.float().numpy()[keep]
        np.testing.assert_allclose(mine.float().numpy()[keep], w, rtol=tol, atol=tol * np.abs(w).max())


@pytest.mark.parametrize("device", DEVICES)
def test_past_the_last_offset_is_zero_and_empty_groups(device):
    a = tt.ones(6, 4, device=device, requires_grad=True)
    b = tt.ones(3, 4, 2, device=device, requires_grad=True)
    out = F.grouped_mm(a, b, offs=tt.tensor([2, 2, 4], dtype=tt.int32, device=device))
    np.testing.assert_array_equal(out.detach().cpu().numpy(), [[4, 4]] * 4 + [[0, 0]] * 2)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.cpu().numpy(), [[2] * 4] * 4 + [[0] * 4] * 2)   # unused rows: 0
    np.testing.assert_array_equal(b.grad.cpu().numpy()[:, 0, 0], [2, 0, 2])                 # the empty group: 0
    k = F.grouped_mm(tt.ones(2, 5, device=device), tt.ones(5, 3, device=device),
                     offs=tt.tensor([0, 3], dtype=tt.int32, device=device))
    np.testing.assert_array_equal(k.cpu().numpy(), np.stack([np.zeros((2, 3)), np.full((2, 3), 3.0)]))


def test_out_dtype_and_errors():
    a, b = tt.ones(4, 8, dtype=tt.bfloat16), tt.ones(2, 8, 4, dtype=tt.bfloat16)
    offs = tt.tensor([2, 4], dtype=tt.int32)
    assert F.grouped_mm(a, b, offs=offs, out_dtype=tt.float32).dtype is tt.float32
    with pytest.raises(RuntimeError, match="output dtype must match"):
        F.grouped_mm(a.float(), b.float(), offs=offs, out_dtype=tt.float16)
    with pytest.raises(RuntimeError, match="Offsets have to be int32"):
        F.grouped_mm(a, b, offs=offs.long())
    with pytest.raises(RuntimeError, match="Have to provide offsets if there is a 2d matrix"):
        F.grouped_mm(a, b)
    with pytest.raises(RuntimeError, match="Have to provide offsets"):
        F.grouped_mm(tt.ones(2, 4, 8), b.float(), offs=offs)
    with pytest.raises(RuntimeError, match="mat_a has to be 2 or 3d"):
        F.grouped_mm(tt.ones(2, 2, 4, 8), b.float())
    with pytest.raises(RuntimeError, match="contraction dimension of mat_a and mat_b must match"):
        F.grouped_mm(tt.ones(4, 6), b.float(), offs=offs)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grouped_mm(a.float(), b, offs=offs)
    with pytest.raises(RuntimeError, match="Bias not supported yet"):
        F.grouped_mm(a, b, offs=offs, bias=tt.ones(4, dtype=tt.bfloat16))
    with pytest.raises(RuntimeError, match="offs must be non-decreasing"):
        F.grouped_mm(a, b, offs=tt.tensor([3, 2], dtype=tt.int32))
    with pytest.raises(RuntimeError, match="number of offsets"):
        F.grouped_mm(a, b, offs=tt.tensor([1, 2, 4], dtype=tt.int32))
    with pytest.raises(RuntimeError, match="Expected mat_a to be Float32"):
        F.grouped_mm(tt.ones(4, 8, dtype=tt.int32), tt.ones(2, 8, 4, dtype=tt.int32), offs=offs)


@pytest.mark.parametrize("device", DEVICES)
def test_moe_layer_trains(device):
    """A two-expert MoE forward (tokens sorted by expert) and its backward reach every expert's weight."""
    rng = np.random.default_rng(3)
    tokens = tt.tensor(rng.standard_normal((10, 4)), dtype=tt.float32, device=device)
    w_up = tt.tensor(rng.standard_normal((2, 4, 6)) * 0.5, dtype=tt.float32, device=device).requires_grad_(True)
    w_down = tt.tensor(rng.standard_normal((2, 6, 4)) * 0.5, dtype=tt.float32, device=device).requires_grad_(True)
    offs = tt.tensor([3, 10], dtype=tt.int32, device=device)
    h = F.gelu(F.grouped_mm(tokens, w_up, offs=offs))
    y = F.grouped_mm(h, w_down, offs=offs)
    y.square().mean().backward()
    for g in (0, 1):
        rows = slice(0, 3) if g == 0 else slice(3, 10)
        plain = (F.gelu(tokens[rows] @ w_up[g].detach()) @ w_down[g].detach())
        np.testing.assert_allclose(y[rows].detach().cpu().numpy(), plain.cpu().numpy(), rtol=1e-5, atol=1e-6)
    assert w_up.grad.abs().sum(dim=(1, 2)).cpu().numpy().min() > 0
    assert w_down.grad.abs().sum(dim=(1, 2)).cpu().numpy().min() > 0
