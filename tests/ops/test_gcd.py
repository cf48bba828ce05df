"""gcd and lcm (ops/gcd.py) against PyTorch: every integer type's whole range (signs, zeros, the minimum whose |x|
wraps, lcm's overflow), broadcasting and promotion, the in-place methods, errors."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices

torch = pytest.importorskip("torch")

INTS = ["uint8", "int8", "int16", "int32", "int64"]


def _pairs(dt: str, for_lcm: bool):
    rng = np.random.default_rng(len(dt))
    info = np.iinfo(dt)
    edge = np.array([0, 1, info.max, info.min, info.min + 1, 12, 18], dtype=dt)
    a = np.concatenate([rng.integers(info.min, info.max, 150, dtype=dt, endpoint=True), edge, edge])
    b = np.concatenate([rng.integers(-50 if info.min else 0, 50, 150).astype(dt), edge, np.roll(edge, 3)])
    if for_lcm and dt in ("int32", "int64"):
        # PyTorch's own lcm divides min by -1 there (a crash, SIGFPE): not an oracle for those pairs
        keep = (a != info.min) & (b != info.min)
        a, b = a[keep], b[keep]
    return a, b


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dt", INTS)
@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_values_match_torch(name, dt, device):
    a, b = _pairs(dt, name == "lcm")
    want = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    got = getattr(tt, name)(tt.tensor(a, device=device), tt.tensor(b, device=device))
    assert got.dtype == getattr(tt, dt)
    np.testing.assert_array_equal(got.cpu().numpy(), want)


def test_sign_conventions_at_the_minimum():
    # |min| wraps to min in C, so PyTorch's gcd can be negative there
    for device in devices():
        a = tt.tensor([-128, -128, -128, 5], dtype=tt.int8, device=device)
        b = tt.tensor([5, 0, -128, -128], dtype=tt.int8, device=device)
        assert tt.gcd(a, b).tolist() == [-1, -128, -128, -1]
        zero_dim = tt.gcd(tt.tensor(-128, dtype=tt.int8, device=device), tt.tensor(5, dtype=tt.int8, device=device))
        assert zero_dim.shape == () and zero_dim.item() == -1
        assert tt.lcm(tt.tensor([100, -100], dtype=tt.int8, device=device),
                      tt.tensor([3, 7], dtype=tt.int8, device=device)).tolist() == [44, -68]


@pytest.mark.parametrize("device", devices())
def test_broadcasting_promotion_and_methods(device):
    a = tt.tensor([[12], [-18], [0]], dtype=tt.int32, device=device)
    b = tt.tensor([8, 27, 0, -5], dtype=tt.int8, device=device)
    ta, tb = torch.tensor(a.tolist(), dtype=torch.int32), torch.tensor(b.tolist(), dtype=torch.int8)
    for name in ("gcd", "lcm"):
        r = getattr(a, name)(b)
        assert r.dtype is tt.int32 and r.tolist() == getattr(ta, name)(tb).tolist()
    # a 0-dim tensor does not promote the other operand's type
    r = tt.gcd(b, tt.tensor(6, device=device))
    assert r.dtype is tt.int8 and r.tolist() == [2, 3, 6, 1]
    x = tt.tensor([4, 9], dtype=tt.int16, device=device)
    assert x.gcd_(tt.tensor([6, 12], device=device)) is x and x.tolist() == [2, 3] and x.dtype is tt.int16
    x.lcm_(tt.tensor([5, 4], dtype=tt.int16, device=device))
    assert x.tolist() == [10, 12]
    out = tt.empty(2, dtype=tt.int64, device=device)
    assert tt.lcm(tt.tensor([4, 6], device=device), tt.tensor([6, 4], device=device), out=out) is out
    assert out.tolist() == [12, 12]


def test_errors_match_torch():
    with pytest.raises(NotImplementedError, match='"gcd_cpu" not implemented for \'Float\''):
        tt.gcd(tt.tensor([1.0]), tt.tensor([2.0]))
    with pytest.raises(NotImplementedError, match='"lcm_cpu" not implemented for \'Bool\''):
        tt.lcm(tt.tensor([True]), tt.tensor([True]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
        tt.gcd(tt.tensor([4], dtype=tt.int16), tt.tensor([6.0]))
    with pytest.raises(TypeError, match=r"gcd\(\): argument 'other' \(position 2\) must be Tensor, not int"):
        tt.gcd(tt.tensor([4]), 6)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        tt.gcd(tt.tensor([4, 5]), tt.tensor([6, 7, 8]))
    x = tt.tensor([4], dtype=tt.int8)
    with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
        x.gcd_(tt.tensor([6.0]))
    assert x.gcd_(tt.tensor([6])).tolist() == [2] and x.dtype is tt.int8  # integer into integer casts, as torch

def test_not_differentiable():
    assert not tt.ops.registry.get("gcd").differentiable and not tt.ops.registry.get("lcm").differentiable
