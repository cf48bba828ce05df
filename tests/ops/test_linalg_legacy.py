"""The deprecated top-level linalg forms (torch.lu, lu_solve, triangular_solve, matrix_power, nuclear_norm,
frobenius_norm, norm(p='nuc'), chain_matmul) against torch: values, float64 gradients, errors; cpu and cuda (the Triton
interpreter without a GPU)."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

# the oracle's own deprecation notices for these forms (tritorch keeps them quiet)
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _np(x):
    return x.detach().cpu().numpy()


def compare(fn_tt, fn_torch, *arrays, device="cpu", grad=True, rtol=1e-10, atol=1e-12):
    """fn_tt(*tritorch tensors) against fn_torch(*torch tensors): every output, then the gradients of a weighted
    sum of the floating outputs."""
    t_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    x_in = [tt.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ref, out = fn_torch(*t_in), fn_tt(*x_in)
    refs, outs = (ref, out) if isinstance(ref, tuple) else ((ref,), (out,))
    assert len(refs) == len(outs)
    for r, o in zip(refs, outs):
        assert tuple(o.shape) == tuple(r.shape)
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(o), r.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return
    floats = [(r, o) for r, o in zip(refs, outs) if r.dtype.is_floating_point and r.requires_grad]
    t_loss = sum((r * torch.tensor(_rand(tuple(r.shape), 7 + i))).sum() for i, (r, _) in enumerate(floats))
    x_loss = sum((o * tt.tensor(_rand(tuple(r.shape), 7 + i), device=device)).sum()
                 for i, (r, o) in enumerate(floats))
    t_loss.backward()
    x_loss.backward()
    for x, t in zip(x_in, t_in):
        if t.requires_grad:
            np.testing.assert_allclose(_np(x.grad), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def raises_like(fn_tt, fn_torch):
    with pytest.raises(Exception) as ref:
        fn_torch()
    with pytest.raises(type(ref.value) if type(ref.value).__name__ != "_LinAlgError" else tt.linalg.LinAlgError,
                       match=None) as got:
        fn_tt()
    assert str(got.value) == str(ref.value)


# ================================================================================= deprecated top-level forms

@pytest.mark.parametrize("device", DEVICES)
def test_lu_and_lu_solve(device):
    a = _rand((2, 4, 4))
    compare(tt.lu, torch.lu, a, device=device)
    compare(lambda x: tt.lu(x, get_infos=True), lambda x: torch.lu(x, get_infos=True), a, device=device)
    compare(lambda x: x.lu(), lambda x: x.lu(), _rand((3, 5), 1), device=device)
    compare(lambda b, x: tt.lu_solve(b, *tt.lu(x)), lambda b, x: torch.lu_solve(b, *torch.lu(x)),
            _rand((2, 4, 3), 2), a, device=device, rtol=1e-9)
    compare(lambda b, x: b.lu_solve(*x.lu()), lambda b, x: b.lu_solve(*x.lu()), _rand((4, 1), 3), a[0],
            device=device, rtol=1e-9)
    z = np.zeros((3, 3))   # singular: no error, info names the first zero pivot
    compare(lambda x: tt.lu(x, get_infos=True), lambda x: torch.lu(x, get_infos=True), z, device=device,
            grad=False)


def test_lu_errors():
    raises_like(lambda: tt.lu(tt.zeros(3)), lambda: torch.lu(torch.zeros(3)))
    lu, piv = torch.linalg.lu_factor(torch.randn(3, 3))
    LU, PIV = tt.tensor(lu.numpy()), tt.tensor(piv.numpy())
    raises_like(lambda: tt.lu_solve(tt.zeros(3), LU, PIV), lambda: torch.lu_solve(torch.zeros(3), lu, piv))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("upper,transpose,unit", [(True, False, False), (False, True, False), (True, True, True),
                                                   (False, False, True)])
def test_triangular_solve(device, upper, transpose, unit):
    a = _rand((2, 4, 4)) + 3 * np.eye(4)

    def run(lib):
        return lambda b, A: lib.triangular_solve(b, A, upper, transpose, unit)
    compare(run(tt), run(torch), _rand((4, 3), 1), a, device=device, rtol=1e-9)
    compare(lambda b, A: b.triangular_solve(A, upper=upper), lambda b, A: b.triangular_solve(A, upper=upper),
            _rand((1, 4, 2), 2), a, device=device, rtol=1e-9)


def test_triangular_solve_errors():
    A, b = np.eye(3), _rand((3, 2))
    for bb, AA in ((_rand(3), A), (_rand((4, 2)), A), (b, A.astype(np.float32))):
        raises_like(lambda: tt.triangular_solve(tt.tensor(bb), tt.tensor(AA)),
                    lambda: torch.triangular_solve(torch.tensor(bb), torch.tensor(AA)))


@pytest.mark.parametrize("device", DEVICES)
def test_matrix_power_and_norms(device):
    a = _rand((2, 3, 3))
    for n in (0, 3, -2):
        compare(lambda x: tt.matrix_power(x, n), lambda x: torch.matrix_power(x, n), a, device=device, rtol=1e-9)
        compare(lambda x: x.matrix_power(n), lambda x: x.matrix_power(n), a, device=device, rtol=1e-9)
    b = _rand((2, 3, 4), 1)
    compare(tt.nuclear_norm, torch.nuclear_norm, b, device=device, rtol=1e-9)
    compare(lambda x: tt.nuclear_norm(x, True), lambda x: torch.nuclear_norm(x, True), b[0], device=device,
            rtol=1e-9)
    compare(lambda x: tt.nuclear_norm(x, (0, 2), keepdim=True),
            lambda x: torch.nuclear_norm(x, (0, 2), keepdim=True), b, device=device, rtol=1e-9)
    compare(lambda x: tt.norm(x, "nuc"), lambda x: torch.norm(x, "nuc"), b[0], device=device, rtol=1e-9)
    compare(lambda x: x.norm("nuc", dim=(0, 2), keepdim=True), lambda x: x.norm("nuc", dim=(0, 2), keepdim=True),
            b, device=device, rtol=1e-9)
    for dim in ((0, 2), 1, ()):
        compare(lambda x: tt.frobenius_norm(x, dim), lambda x: torch.frobenius_norm(x, dim), b, device=device)
    compare(lambda x: tt.frobenius_norm(x, (1,), True), lambda x: torch.frobenius_norm(x, (1,), True), b,
            device=device)
    mats = [_rand((3, 4)), _rand((4, 2), 1), _rand((2, 5), 2)]
    compare(tt.chain_matmul, torch.chain_matmul, *mats, device=device)
    compare(tt.chain_matmul, torch.chain_matmul, mats[0], device=device)


def test_matrix_power_and_norm_errors():
    raises_like(lambda: tt.matrix_power(tt.zeros(2, 3), 2), lambda: torch.matrix_power(torch.zeros(2, 3), 2))
    raises_like(lambda: tt.nuclear_norm(tt.zeros(3)), lambda: torch.nuclear_norm(torch.zeros(3)))
    for dim in (None, 1):
        raises_like(lambda: tt.norm(tt.zeros(2, 3, 4), "nuc", dim),
                    lambda: torch.norm(torch.zeros(2, 3, 4), "nuc", dim))
    raises_like(lambda: tt.frobenius_norm(tt.zeros(2, 2, 2), (0, 1, 2)),
                lambda: torch.frobenius_norm(torch.zeros(2, 2, 2), (0, 1, 2)))
    raises_like(lambda: tt.chain_matmul(), lambda: torch.chain_matmul())


def test_triangular_solve_out_writes_the_given_tensors():
    rng = np.random.default_rng(4)
    a = tt.tensor(np.triu(rng.standard_normal((3, 3))) + 3 * np.eye(3))
    b = tt.tensor(rng.standard_normal((3, 2)))
    out = (tt.empty(3, 2, dtype=tt.float64), tt.empty(3, 3, dtype=tt.float64))
    r = tt.triangular_solve(b, a, out=out)
    assert r[0] is out[0] and r[1] is out[1]
    expected = tt.triangular_solve(b, a)
    np.testing.assert_array_equal(out[0].numpy(), expected.solution.numpy())
    np.testing.assert_array_equal(out[1].numpy(), expected.cloned_coefficient.numpy())
