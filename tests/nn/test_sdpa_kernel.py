"""tritorch.nn.attention: SDPBackend's names and values, and sdpa_kernel's validation, nesting and restoring, as
torch.nn.attention's; attention inside the block gives the same result as outside (one kernel per device)."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.nn.attention import SDPBackend, enabled_backends, sdpa_kernel
from tritorch.testing import devices


def test_backend_names_and_values_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.attention.SDPBackend
    assert {b.name: int(b) for b in SDPBackend} == {n: int(v) for n, v in theirs.__members__.items()}
    assert str(SDPBackend.MATH) == str(theirs.MATH)


def test_selection_is_visible_nested_and_restored():
    everything = enabled_backends()
    assert set(everything) == set(SDPBackend) - {SDPBackend.ERROR}
    with sdpa_kernel(SDPBackend.MATH) as ctx:
        assert ctx == {} and enabled_backends() == [SDPBackend.MATH]
        with sdpa_kernel([SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
            assert enabled_backends() == [SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]
        with sdpa_kernel([SDPBackend.MATH, SDPBackend.FLASH_ATTENTION], set_priority=True):
            assert enabled_backends() == [SDPBackend.MATH, SDPBackend.FLASH_ATTENTION]
        assert enabled_backends() == [SDPBackend.MATH]
    assert enabled_backends() == everything
    with pytest.raises(RuntimeError), sdpa_kernel(SDPBackend.MATH):
        raise RuntimeError("restored after an error too")
    assert enabled_backends() == everything


@pytest.mark.parametrize("bad", ["math", (SDPBackend.MATH,), [SDPBackend.MATH, "flash"]])
def test_invalid_selection_is_an_assertion_error(bad):
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"), sdpa_kernel(bad):
        pass


@pytest.mark.parametrize("device", devices())
def test_attention_runs_its_one_kernel_whatever_the_selection(device):
    rng = np.random.default_rng(0)
    q, k, v = (tt.tensor(rng.standard_normal((1, 2, 5, 4)).astype(np.float32), device=device) for _ in range(3))
    F = tt.nn.functional
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True).cpu().numpy()
    for chosen in (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, [SDPBackend.EFFICIENT_ATTENTION]):
        with sdpa_kernel(chosen):
            got = F.scaled_dot_product_attention(q, k, v, is_causal=True).cpu().numpy()
        np.testing.assert_array_equal(got, expected)
