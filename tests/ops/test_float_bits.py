"""nextafter, frexp and ldexp (ops/float_bits.py) against PyTorch, bit for bit: every float dtype on both devices over
random magnitudes and the special values (signed zeros, subnormals, inf, NaN, the dtype's max), ldexp's two paths
and dtype rules, gradients, in-place and out= forms, errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.backends import cuda as _cuda
from tritorch.testing import devices

torch = pytest.importorskip("torch")

FLOATS = ["float16", "bfloat16", "float32", "float64"]
SPECIALS = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-40, -1e-45, 5e-324, 2.5, -3e38, 65504.0, 6e-8, 1e-5]


def _values(seed, n=120):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n), SPECIALS])


def _pair(dt, device, seed=0):
    """The same values as a torch tensor and a tritorch tensor of dtype dt (bfloat16 through float32)."""
    t = torch.tensor(_values(seed)).to(getattr(torch, dt))
    if dt == "bfloat16" and device != "cpu" and _cuda.INTERPRET:
        # Triton's interpreter flushes bfloat16 subnormals to 0 when it widens them (a GPU does not)
        t = torch.where(t.abs() < 1.2e-38, torch.zeros_like(t), t)
    x = tt.tensor(t.float().numpy() if dt == "bfloat16" else t.numpy(), device=device).to(getattr(tt, dt))
    return t, x


def _same_bits(got, want, device="cpu"):
    """Equal values with equal signs (NaN matching NaN); float64 compared as float64, the rest as float32."""
    wide = got.dtype is tt.float64
    got = got.cpu().numpy() if wide else got.cpu().float().numpy()
    want = want.numpy() if wide else want.float().numpy()
    if got.dtype == np.float32 and device != "cpu" and _cuda.INTERPRET:
        # (bfloat16 on the interpreter: its conversions of subnormals are wrong, so results near them are left out)
        keep = ~(((np.abs(want) < 1.2e-38) & (want != 0)) | ((np.abs(got) < 1.2e-38) & (got != 0)))
        got, want = got[keep], want[keep]
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (np.isnan(got) & np.isnan(want))
    assert same.all(), f"{got[~same][:4]} vs {want[~same][:4]}"


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dt", FLOATS)
def test_nextafter_matches_torch_bit_for_bit(dt, device):
    tx, x = _pair(dt, device, 0)
    ty, y = _pair(dt, device, 1)
    ty[:40], y[:40] = tx[:40], x[:40]                          # x == y
    ty[40:60] = torch.where(torch.arange(20) % 2 == 0, torch.tensor(np.inf), torch.tensor(-np.inf)).to(ty.dtype)
    y[40:60] = tt.tensor(ty[40:60].float().numpy(), device=device).to(y.dtype)
    r = tt.nextafter(x, y)
    assert r.dtype is getattr(tt, dt)
    _same_bits(r, torch.nextafter(tx, ty), device if dt == "bfloat16" else "cpu")


@pytest.mark.parametrize("device", devices())
def test_nextafter_special_cases(device):
    x = tt.tensor([0.0, 0.0, -0.0, np.inf, 1.0, 3.0], device=device)
    y = tt.tensor([-0.0, -1.0, 1.0, 0.0, np.nan, 3.0], device=device)
    r = tt.nextafter(x, y).cpu().numpy()
    assert r[0] == 0 and np.signbit(r[0])                       # +0 towards -0 is -0 (y)
    assert r[1] == -1.401298464324817e-45 and r[2] == 1.401298464324817e-45
    assert r[3] == np.finfo(np.float32).max and np.isnan(r[4]) and r[5] == 3.0
    # promotion: a 0-dim float64 tensor does not promote, a dimensioned one does; integers promote to float
    assert tt.nextafter(x, tt.tensor(1.0, dtype=tt.float64, device=device)).dtype is tt.float32
    assert tt.nextafter(x, y.double()).dtype is tt.float64
    assert tt.nextafter(tt.tensor([1, 2], device=device), tt.tensor([3.0], device=device)).dtype is tt.float32


def test_nextafter_errors_gradient_and_inplace():
    with pytest.raises(NotImplementedError, match='"nextafter_cpu" not implemented for \'Long\''):
        tt.nextafter(tt.tensor([1, 2]), tt.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"argument 'other' \(position 2\) must be Tensor, not float"):
        tt.nextafter(tt.tensor([1.0]), 2.0)
    xs, ys, g = [1.0, 3.0, 0.0, -2.0], [2.0, 3.0, 0.0, -5.0], [0.5, 0.7, 0.9, 1.1]
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(ys, dtype=torch.float64, requires_grad=True)
    torch.nextafter(tx, ty).backward(torch.tensor(g, dtype=torch.float64))
    x = tt.tensor(xs, dtype=tt.float64, requires_grad=True)
    y = tt.tensor(ys, dtype=tt.float64, requires_grad=True)
    tt.nextafter(x, y).backward(tt.tensor(g, dtype=tt.float64))
    assert x.grad.tolist() == tx.grad.tolist() and y.grad.tolist() == ty.grad.tolist()
    z = tt.tensor([1.0, 2.0])
    assert z.nextafter_(tt.tensor([2.0, 0.0])) is z
    assert z.tolist() == torch.tensor([1.0, 2.0]).nextafter_(torch.tensor([2.0, 0.0])).tolist()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dt", FLOATS)
def test_frexp_matches_torch_bit_for_bit(dt, device):
    tx, x = _pair(dt, device, 2)
    want = torch.frexp(tx)
    got = tt.frexp(x)
    assert type(got).__name__ == "frexp" and got.mantissa is got[0] and got.exponent is got[1]
    assert got.mantissa.dtype is getattr(tt, dt) and got.exponent.dtype is tt.int32
    _same_bits(got.mantissa, want.mantissa)
    np.testing.assert_array_equal(got.exponent.cpu().numpy(), want.exponent.numpy())


def test_frexp_gradient_out_and_errors():
    values = [1.0, 8.0, -0.3, 1e-310, 3.0]
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    torch.frexp(tx).mantissa.sum().backward()
    x = tt.tensor(values, dtype=tt.float64, requires_grad=True)
    m, e = x.frexp()
    assert not e.requires_grad
    m.sum().backward()
    assert x.grad.tolist() == tx.grad.tolist()
    h = tt.tensor([1.0, 2.0], dtype=tt.float16)
    m_out, e_out = tt.empty(2, dtype=tt.float16), tt.empty(2, dtype=tt.int32)
    r = tt.frexp(h, out=(m_out, e_out))
    assert r.mantissa is m_out and r.exponent is e_out and e_out.tolist() == [1, 2] and m_out.tolist() == [0.5, 0.5]
    with pytest.raises(RuntimeError, match="expects mantissa to have dtype c10::Half but got float"):
        tt.frexp(h, out=(tt.empty(2), tt.empty(2, dtype=tt.int32)))
    with pytest.raises(RuntimeError, match="expects exponent to have int dtype but got long int"):
        tt.frexp(h, out=(tt.empty(2, dtype=tt.float16), tt.empty(2, dtype=tt.int64)))
    with pytest.raises(RuntimeError, match=r"torch.frexp\(\) only supports floating-point dtypes"):
        tt.frexp(tt.tensor([1, 2]))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dt", FLOATS)
def test_ldexp_integer_exponents_match_torch_bit_for_bit(dt, device):
    tx, x = _pair(dt, device, 3)
    rng = np.random.default_rng(4)
    scale = 4 if dt == "float64" else 1
    for ndt in ("int32", "int64", "int16", "uint8"):
        n = rng.integers(-300 if ndt != "uint8" else 0, 300 if ndt != "uint8" else 256, tx.numel()) * scale
        n = n.astype(ndt if ndt != "int16" else "int64").astype(ndt)
        if ndt == "int64":
            n[:20] += (rng.integers(-3, 3, 20) << 32)                # PyTorch wraps these to int32
        want = torch.ldexp(tx, torch.from_numpy(n))
        got = tt.ldexp(x, tt.tensor(n, device=device))
        assert got.dtype is getattr(tt, dt)
        _same_bits(got, want, device if dt == "bfloat16" else "cpu")


@pytest.mark.parametrize("device", devices())
def test_ldexp_paths_and_dtypes(device):
    cases = [("float32", "int64"), ("float16", "int64"), ("int64", "int64"), ("int32", "float16"),
             ("float64", "float32"), ("float32", "float64"), ("bool", "bool"), ("bool", "int64")]
    for a, b in cases:
        ta = torch.tensor([0, 1, 3], dtype=getattr(torch, a))
        tb = torch.tensor([1, 0, 2], dtype=getattr(torch, b))
        want = torch.ldexp(ta, tb)
        got = tt.ldexp(tt.tensor(ta.numpy(), device=device), tt.tensor(tb.numpy(), device=device))
        assert got.dtype.name == str(want.dtype).removeprefix("torch.") and got.tolist() == want.tolist(), (a, b)
    # a 0-dim exponent does not promote; an integer input takes PyTorch's pow path (0 * 2^200 is NaN there)
    assert tt.ldexp(tt.tensor([1.0], dtype=tt.float16, device=device), tt.tensor(2.0, device=device)).dtype \
        is tt.float16
    r = tt.ldexp(tt.tensor([0, 1], device=device), tt.tensor([200, -200], device=device)).cpu().numpy()
    assert np.isnan(r[0]) and r[1] == 0.0
    r = tt.ldexp(tt.tensor([0.0, 1e30], device=device), tt.tensor([200, -200], device=device)).cpu().numpy()
    assert r[0] == 0.0 and r[1] == torch.ldexp(torch.tensor([1e30]), torch.tensor([-200])).item()


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_ldexp_float_exponents_within_an_ulp_of_torch(dt, device):
    # PyTorch computes x * pow(2, other) here; its pow and ours differ by at most an ulp, and not at all for
    # integral exponents
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(200) * 10).astype(dt)
    n = (rng.standard_normal(200) * 20).astype(dt)
    n[:50] = np.round(n[:50])
    want = torch.ldexp(torch.from_numpy(x), torch.from_numpy(n)).numpy()
    got = tt.ldexp(tt.tensor(x, device=device), tt.tensor(n, device=device)).cpu().numpy()
    np.testing.assert_array_equal(got[:50], want[:50])
    assert np.all(np.abs(got - want) <= 2 * np.spacing(np.abs(want)))


def test_ldexp_gradients_inplace_and_errors():
    # integral exponent: d/dx = 2^n exactly (PyTorch's own backward gives 0 for negative n: it raises 2 to the
    # integer power in integer arithmetic)
    x = tt.tensor([1.0, 1.0, 1.0, 3.0], dtype=tt.float64, requires_grad=True)
    tt.ldexp(x, tt.tensor([-3, 0, 2, -1])).sum().backward()
    assert x.grad.tolist() == [0.125, 1.0, 4.0, 0.5]
    tx = torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    tn = torch.tensor([0, 2])
    torch.ldexp(tx, tn).sum().backward()
    assert tx.grad.tolist() == [1.0, 4.0]                          # where PyTorch's is right, they agree
    # floating exponent: both operands get gradients, as PyTorch's
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    to = torch.tensor([1.0, 3.5], dtype=torch.float64, requires_grad=True)
    torch.ldexp(tx, to).sum().backward()
    x = tt.tensor([1.0, 2.0], dtype=tt.float64, requires_grad=True)
    o = tt.tensor([1.0, 3.5], dtype=tt.float64, requires_grad=True)
    tt.ldexp(x, o).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(o.grad.numpy(), to.grad.numpy(), rtol=1e-15)
    z = tt.tensor([3.0])
    assert z.ldexp_(tt.tensor([2])) is z and z.tolist() == [12.0]
    with pytest.raises(RuntimeError, match="ldexp can't be cast to the desired output type Long"):
        tt.tensor([3]).ldexp_(tt.tensor([2]))
    with pytest.raises(NotImplementedError, match='"ldexp_cpu_exp" not implemented for \'Bool\''):
        tt.ldexp(tt.tensor([1.5]), tt.tensor([True]))
    with pytest.raises(TypeError, match=r"ldexp\(\): argument 'other' \(position 2\) must be Tensor, not int"):
        tt.ldexp(tt.tensor([3.0]), 2)
    with pytest.raises(TypeError, match=r"ldexp\(\): argument 'input' \(position 1\) must be Tensor, not float"):
        tt.ldexp(1.0, tt.tensor([1]))
