"""fmod / remainder / floor division of float32 on the cpu (ops/_float_modulo.py): the float64 form is PyTorch's
result bit for bit (zero signs included) wherever it applies, and the blocks it declines fall back to NumPy."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import _float_modulo as fm

torch = pytest.importorskip("torch")
KINDS = {"fmod": torch.fmod, "remainder": torch.remainder, "floor": torch.floor_divide}


def _bits(a):
    a = np.asarray(a, np.float32)
    return np.where(np.isnan(a), np.float32(np.nan), a).view(np.int32)   # (one NaN pattern: payloads differ)


def _operands(rng, n):
    """float32 x and y across 60 binades, a third of the x exact multiples of y (zero remainders)."""
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    y = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    k = rng.integers(-1000, 1000, n // 3).astype(np.float32)
    x[: n // 3] = k * y[: n // 3]
    return x, y


@pytest.mark.parametrize("kind", list(KINDS))
def test_float64_form_is_torchs_result_bit_for_bit(kind):
    rng = np.random.default_rng(0)
    x, y = _operands(rng, 20000)
    for divisor, theirs in ((y, None), (np.float32(0.1), 0.1), (np.float32(-3), -3)):
        ok = np.abs(np.trunc(x.astype(np.float64) / divisor)) < 2 ** 21   # inside the exact range
        xs, ds = x[ok], (divisor[ok] if np.ndim(divisor) else divisor)
        got = fm._block_f64(xs, ds, kind)
        assert got is not None and ok.mean() > 0.3
        want = KINDS[kind](torch.from_numpy(xs), torch.from_numpy(ds) if theirs is None else theirs).numpy()
        assert np.array_equal(got.view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("kind", list(KINDS))
def test_large_inputs_in_blocks_with_special_values(kind):
    """Blocks on the thread pool; the blocks holding infinities, NaN, zero divisors or huge quotients take NumPy."""
    rng = np.random.default_rng(1)
    x, y = _operands(rng, 300001)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -1e-45], np.float32)
    x[rng.integers(0, x.size, 30)] = rng.choice(special, 30)
    y[rng.integers(0, y.size, 30)] = rng.choice(special, 30)
    y[y == 0] = 1.0                  # (PyTorch's vectorised fmod gives NaN for some finite x / 1e-45 quotients past
    x[np.abs(x) > 1e30] = 2.0        # float32's range, where C's fmod is exact; such quotients are not compared)
    y[np.abs(y) < 1e-38] = 1.0
    for divisor, theirs in ((y, torch.from_numpy(y)), (2.5, 2.5), (-7, -7)):
        got = fm.float_modulo(x, divisor, kind)
        want = KINDS[kind](torch.from_numpy(x), theirs).numpy()
        assert got.dtype == np.float32 and np.array_equal(_bits(got), _bits(want))


def test_public_ops_match_torch_on_zeros_and_infinities():
    x = [-6.0, 6.0, -0.0, 0.0, 5.0, -5.0, np.inf, 7.5, -7.5, 1e-3]
    y = [3.0, -3.0, 3.0, -3.0, np.inf, np.inf, 2.0, 0.0, -2.5, -7.0]
    for dtype in (np.float32, np.float64):
        a, b = np.array(x, dtype), np.array(y, dtype)
        for name in ("fmod", "remainder", "floor_divide"):
            got = getattr(tt, name)(tt.tensor(a), tt.tensor(b)).numpy()
            want = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
            assert np.array_equal(np.isnan(got), np.isnan(want))
            assert np.array_equal(np.nan_to_num(got), np.nan_to_num(want))
            assert np.array_equal(np.signbit(got)[~np.isnan(got)], np.signbit(want)[~np.isnan(want)]), name
    assert np.signbit((tt.tensor([-6.0]) % 3).numpy()).all()    # PyTorch: -0.0 (NumPy's remainder: +0.0)
