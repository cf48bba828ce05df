"""Top-level runtime names: OutOfMemoryError, is_distributed, compiled_with_cxx11_abi, gcd_ / lcm_ / ldexp_."""
import pytest

import tritorch as tt


def test_top_level_names():
    assert tt.OutOfMemoryError is tt.cuda.OutOfMemoryError
    assert tt.is_distributed(tt.ones(2)) is False
    with pytest.raises(TypeError, match="must be Tensor"):
        tt.is_distributed(1)
    assert tt.compiled_with_cxx11_abi() is True


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_in_place_function_forms(device):
    torch = pytest.importorskip("torch")
    a, ta = tt.tensor([4, 6, 9], device=device), torch.tensor([4, 6, 9])
    assert tt.gcd_(a, tt.tensor([6, 4, 3], device=device)) is a
    torch.gcd_(ta, torch.tensor([6, 4, 3]))
    assert a.tolist() == ta.tolist()
    assert tt.lcm_(a, tt.tensor([3, 5, 2], device=device)) is a
    torch.lcm_(ta, torch.tensor([3, 5, 2]))
    assert a.tolist() == ta.tolist()
    b, tb = tt.ones(3, device=device), torch.ones(3)
    assert tt.ldexp_(b, tt.tensor([1, 2, -1], device=device)) is b
    torch.ldexp_(tb, torch.tensor([1, 2, -1]))
    assert b.tolist() == tb.tolist()


def test_grad_scaler_sym_types_and_copy_views():
    """torch.GradScaler is torch.amp's; SymInt/SymFloat/SymBool exist for isinstance checks and match nothing;
    view_as_real_copy / view_as_complex_copy return new memory; Tensor.cfloat / cdouble cast."""
    assert tt.GradScaler is tt.amp.GradScaler
    assert not any(isinstance(v, (tt.SymInt, tt.SymFloat, tt.SymBool)) for v in (3, 2.5, True, tt.tensor(1)))
    z = tt.tensor([1 + 2j, 3 - 1j])
    r = tt.view_as_real_copy(z)
    r[0, 0] = 9.0
    assert r.tolist() == [[9.0, 2.0], [3.0, -1.0]] and z.tolist() == [1 + 2j, 3 - 1j]
    assert tt.view_as_complex_copy(tt.tensor([[1.0, 2.0]])).tolist() == [1 + 2j]
    x = tt.tensor([1.5, -2.0])
    assert x.cfloat().dtype is tt.complex64 and x.cdouble().dtype is tt.complex128
    assert x.cfloat().tolist() == [1.5 + 0j, -2 + 0j]
