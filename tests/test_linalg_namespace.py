"""tritorch.linalg (norms and products) against torch.linalg: values and gradients, cpu and cuda, errors."""
import math
import re

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def check(name, *arrays, device="cpu", **kwargs):
    t_in = [torch.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) else a for a in arrays]
    x_in = [tt.tensor(a, device=device, requires_grad=True) if isinstance(a, np.ndarray) else a for a in arrays]
    ref, out = getattr(torch.linalg, name)(*t_in, **kwargs), getattr(tt.linalg, name)(*x_in, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = _rand(tuple(ref.shape), 9)
    (ref * torch.tensor(w)).sum().backward()
    (out * tt.tensor(w, device=device)).sum().backward()
    for a, b in zip(x_in, t_in):
        if not isinstance(b, torch.Tensor):
            continue
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_norms(device):
    a, v = _rand((3, 4, 5)), _rand(6, 1)
    for ord_ in (2, 1, 3.5, math.inf, -math.inf):
        check("vector_norm", a, ord=ord_, device=device)
        check("vector_norm", a, ord=ord_, dim=(0, 2), keepdim=True, device=device)
    for ord_ in ("fro", 1, -1, math.inf, -math.inf):
        check("matrix_norm", a, ord=ord_, device=device)
        check("matrix_norm", a, ord=ord_, dim=(0, 2), keepdim=True, device=device)
    check("norm", v, device=device)
    check("norm", a[0], device=device)
    check("norm", a[0], ord=1, device=device)
    check("norm", v, ord=math.inf, device=device)
    check("norm", a, dim=(1, 2), device=device)
    check("norm", a, ord=3, dim=1, device=device)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_products(device):
    check("vecdot", _rand((3, 4)), _rand((3, 4), 1), device=device)
    check("cross", _rand((4, 3)), _rand((4, 3), 1), device=device)
    mats = [_rand((3, 4)), _rand((4, 2), 1), _rand((2, 5), 2)]
    t_out = torch.linalg.multi_dot([torch.tensor(m) for m in mats])
    np.testing.assert_allclose(tt.linalg.multi_dot([tt.tensor(m, device=device) for m in mats]).cpu().numpy(),
                               t_out.numpy(), rtol=1e-10)
    for n in (1, 2, 5, -1, -2):
        check("matrix_power", _rand((2, 3, 3)), n, device=device)
    a = _rand((2, 3, 3))
    np.testing.assert_array_equal(tt.linalg.matrix_power(tt.tensor(a, device=device), 0).cpu().numpy(),
                                  torch.linalg.matrix_power(torch.tensor(a), 0).numpy())


def test_errors():
    with pytest.raises(RuntimeError, match="must be 1D or 2D"):
        tt.linalg.norm(tt.ones(2, 2, 2), ord=1)
    with pytest.raises(tt.linalg.LinAlgError, match="input matrix is singular"):
        tt.linalg.matrix_power(tt.ones(2, 2), -1)


def _same_error(fn_tt, fn_torch):
    with pytest.raises(RuntimeError) as ref:
        fn_torch()
    with pytest.raises(RuntimeError) as got:
        fn_tt()
    assert str(got.value) == str(ref.value)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_vander(device):
    check("vander", _rand((2, 3)), device=device)
    check("vander", _rand(4), N=5, device=device)
    ints = np.array([1, -2, 3], np.int32)
    got, ref = tt.linalg.vander(tt.tensor(ints, device=device)), torch.linalg.vander(torch.tensor(ints))
    assert got.dtype is tt.int64 and ref.dtype is torch.int64
    np.testing.assert_array_equal(got.cpu().numpy(), ref.numpy())


def test_vander_errors():
    for x, n in ((np.array([1.0, 2.0]), 1), (np.array(2.0), None), (np.array([True]), None)):
        _same_error(lambda: tt.linalg.vander(tt.tensor(x), N=n), lambda: torch.linalg.vander(torch.tensor(x), N=n))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_tensorinv_and_tensorsolve(device):
    check("tensorinv", (_rand((24, 24)) + 6 * np.eye(24)).reshape(4, 6, 8, 3), device=device)
    check("tensorinv", (_rand((6, 6), 1) + 4 * np.eye(6)).reshape(6, 2, 3), ind=1, device=device)
    check("tensorsolve", (_rand((6, 6)) + 4 * np.eye(6)).reshape(2, 3, 6), _rand((2, 3), 1), device=device)
    check("tensorsolve", (_rand((6, 6), 2) + 4 * np.eye(6)).reshape(6, 3, 2), _rand((3, 2), 3), dims=(0,),
          device=device)


def test_tensorinv_and_tensorsolve_errors():
    for shape, ind in (((4, 6, 8, 2), 2), ((4, 6, 8, 3), 0), ((4, 6, 8, 3), 1)):
        a = _rand(shape)
        _same_error(lambda: tt.linalg.tensorinv(tt.tensor(a), ind=ind),
                    lambda: torch.linalg.tensorinv(torch.tensor(a), ind=ind))
    with pytest.raises(tt.linalg.LinAlgError, match="^inv: The diagonal element 1 is zero"):
        tt.linalg.tensorinv(tt.zeros(2, 2, 2, 2, dtype=tt.float64))
    b = _rand((2, 3))
    _same_error(lambda: tt.linalg.tensorsolve(tt.tensor(_rand((2, 3, 5))), tt.tensor(b)),
                lambda: torch.linalg.tensorsolve(torch.tensor(_rand((2, 3, 5))), torch.tensor(b)))
    with pytest.raises(tt.linalg.LinAlgError, match="The solver failed because the input matrix is singular"):
        tt.linalg.tensorsolve(tt.zeros(2, 3, 6, dtype=tt.float64), tt.tensor(b))


def test_multi_dot_checks_shapes_as_torch():
    torch = pytest.importorskip("torch")
    for shapes in (((2, 2, 2), (2, 2)), ((2, 2), (2, 2, 2)), ((2, 2), (2, 2, 2), (2, 2)), ((2, 3), (4, 2)),
                   ((2,),), ((3,), (3,)), ((3,), (3, 2), (2,))):
        try:
            expected = tuple(torch.linalg.multi_dot([torch.ones(s) for s in shapes]).shape)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=re.escape(str(e))):
                tt.linalg.multi_dot([tt.ones(s) for s in shapes])
            continue
        assert tuple(tt.linalg.multi_dot([tt.ones(s) for s in shapes]).shape) == expected
