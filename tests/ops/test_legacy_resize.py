"""Tensor.resize / resize_as: deprecated, shape-only (same element count), a view with gradients, as torch's."""
import pytest

import tritorch as tt


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_resize_is_a_view_with_gradient(device):
    x = tt.arange(6.0, device=device).requires_grad_()
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        y = x.resize(2, 3)
    assert y.shape == (2, 3) and y.data_ptr() == x.data_ptr()
    (y * tt.arange(6.0, device=device).view(2, 3)).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert x.resize_as(tt.ones(3, 2)).shape == (3, 2)


def test_resize_rejects_a_new_element_count():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as ours:
        tt.ones(6).resize(4)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as theirs:
        torch.ones(6).resize(4)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_set_shares_the_sources_memory(device):
    a = tt.arange(6.0, device=device)
    b = tt.zeros(2, device=device)
    assert b.set_(a) is b and b.shape == (6,) and b.data_ptr() == a.data_ptr()
    a[0] = 9.0
    assert b[0].item() == 9.0
    c = tt.zeros(1, device=device).set_(a, 1, (2, 2), (1, 2))
    assert c.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert tt.zeros(2, 3, device=device).set_(a[2:], size=(2, 2)).tolist() == [[9.0, 1.0], [2.0, 3.0]]
    assert tt.zeros(3, device=device).set_().shape == (0,)


def test_set_errors_match_torch():
    torch = pytest.importorskip("torch")
    cases = [(lambda m: m.zeros(2).set_(m.zeros(2, dtype=m.int64))),
             (lambda m: m.zeros(2, dtype=m.bfloat16).set_(m.zeros(2, dtype=m.float16))),
             (lambda m: m.zeros(2, requires_grad=True).set_(m.arange(3.0)))]
    for case in cases:
        with pytest.raises(RuntimeError) as ours:
            case(tt)
        with pytest.raises(RuntimeError) as theirs:
            case(torch)
        assert str(ours.value) == str(theirs.value)
    # torch grows the source's storage here; tritorch's storage cannot grow while shared, and says so
    with pytest.raises(RuntimeError, match=r"requiring a storage size of 28 are out of bounds for storage of size 24"):
        tt.zeros(2).set_(tt.arange(6.0), 0, (7,), (1,))
    with pytest.raises(RuntimeError, match="devices must match"):
        tt.zeros(2).set_(tt.zeros(2, device="cuda"))
    with pytest.raises(RuntimeError, match="does not differentiate set_"):
        tt.zeros(2).set_(tt.ones(2, requires_grad=True))
    with tt.no_grad():
        x = tt.zeros(2, requires_grad=True)
        assert x.set_(tt.arange(3.0)).tolist() == [0.0, 1.0, 2.0] and x.requires_grad


def test_set_on_a_view_stops_sharing_with_its_old_base():
    base = tt.zeros(4)
    view = base[:2]
    view.set_(tt.ones(3))
    view.add_(1)
    assert base.tolist() == [0.0, 0.0, 0.0, 0.0] and view.tolist() == [2.0, 2.0, 2.0]
