"""cummax / cummin / logcumsumexp (ops/cumulative.py) beyond the generated tests: the cpu paths that the small
samples do not reach, against PyTorch."""
import numpy as np
import pytest

import tritorch as tt


def test_cumulative_extremes_and_logcumsumexp_at_scale_match_torch():
    """cummax / cummin / logcumsumexp (ops/cumulative.py) on inputs large enough for the cpu's row blocks on the
    thread pool (last dim) and its position-by-position scan (leading dim): values, indices (ties to the later
    element, NaN wins and stays) and gradients equal PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.integers(-3, 4, (600, 1024)).astype(np.float32)
    a[1, 18] = a[2, 7] = a[300, 1000] = np.nan
    for fn in ("cummax", "cummin"):
        for d in (0, 1):
            got, want = getattr(tt.tensor(a), fn)(d), getattr(torch.tensor(a), fn)(d)
            assert np.array_equal(got.values.numpy(), want.values.numpy(), equal_nan=True)
            assert np.array_equal(got.indices.numpy(), want.indices.numpy())
    x = (rng.standard_normal((600, 1024)) * 5).astype(np.float32)
    x[3, 5:9] = -np.inf
    x[4, 0] = x[0, 7] = -2000.0   # prefixes far below their max: float64 exp underflows, the recurrence does not
    for d in (0, 1):
        want = torch.logcumsumexp(torch.tensor(x, dtype=torch.float64), d).numpy()
        np.testing.assert_allclose(tt.tensor(x).logcumsumexp(d).numpy(), want, rtol=2e-6, atol=2e-6)
    x64 = rng.standard_normal((3, 53)) * 5
    g = rng.standard_normal(x64.shape)
    ours, theirs = tt.tensor(x64, requires_grad=True), torch.tensor(x64, requires_grad=True)
    ours.logcumsumexp(1).backward(tt.tensor(g))
    theirs.logcumsumexp(1).backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-10)
