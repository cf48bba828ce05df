"""linalg.ldl_factor(_ex) and ldl_solve against torch (LAPACK's sytrf/sytrs): the compact LD, the Bunch-Kaufman
pivots and the solutions on symmetric indefinite inputs, cpu and cuda (the Triton interpreter without a GPU);
errors; ldl_solve's gradients by gradcheck (PyTorch has none; here they come from the component ops)."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.ops.linalg_ldl import _symmetric_indefinite

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _np(x):
    return x.detach().cpu().numpy()


def _inputs(shape, seed, zero_diagonal=False):
    a = _symmetric_indefinite(np.random.default_rng(seed), shape)
    if zero_diagonal:
        a[..., np.arange(shape[-1]), np.arange(shape[-1])] = 0.0
    return a


CASES = [((5, 5), 0, False), ((6, 6), 1, True), ((3, 7, 7), 2, False), ((12, 12), 3, True), ((2, 2), 4, False),
         ((1, 1), 5, False)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,seed,zero_diagonal", CASES)
def test_ldl_factor_matches_lapack(device, shape, seed, zero_diagonal):
    a = _inputs(shape, seed, zero_diagonal)
    ref = torch.linalg.ldl_factor_ex(torch.tensor(a))
    got = tt.linalg.ldl_factor_ex(tt.tensor(a, device=device))
    np.testing.assert_array_equal(_np(got.pivots), ref.pivots.numpy())
    np.testing.assert_array_equal(_np(got.info), ref.info.numpy())
    np.testing.assert_allclose(_np(got.LD), ref.LD.numpy(), rtol=1e-10, atol=1e-12)
    assert got.pivots.dtype is tt.int32 and got.info.dtype is tt.int32


def test_ldl_factor_uses_both_block_sizes():
    """The samples above take 1x1 pivots with and without interchanges and 2x2 pivots."""
    piv = np.concatenate([torch.linalg.ldl_factor(torch.tensor(_inputs(s, seed, z))).pivots.reshape(-1).numpy()
                          for s, seed, z in CASES])
    assert (piv < 0).any() and (piv > 0).any()


@pytest.mark.parametrize("device", DEVICES)
def test_ldl_factor_float32_and_upper_input_ignored(device):
    a = _inputs((6, 6), 7)
    upper_noise = np.triu(np.full((6, 6), 9.0), 1)   # only the lower triangle is read
    ref = torch.linalg.ldl_factor(torch.tensor(a, dtype=torch.float32))
    got = tt.linalg.ldl_factor(tt.tensor(np.tril(a) + upper_noise, dtype=tt.float32, device=device), hermitian=True)
    np.testing.assert_array_equal(_np(got.pivots), ref.pivots.numpy())
    np.testing.assert_allclose(_np(got.LD), ref.LD.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_ldl_singular(device):
    a = tt.tensor(np.diag([2.0, 0.0, 1.0]), device=device)
    ref = torch.linalg.ldl_factor_ex(torch.tensor(np.diag([2.0, 0.0, 1.0])))
    got = tt.linalg.ldl_factor_ex(a)
    assert int(_np(got.info)) == int(ref.info) == 2
    np.testing.assert_allclose(_np(got.LD), ref.LD.numpy())
    with pytest.raises(tt.linalg.LinAlgError, match="diagonal element 2 is zero"):
        tt.linalg.ldl_factor(a)
    with pytest.raises(tt.linalg.LinAlgError, match="diagonal element 2 is zero"):
        tt.linalg.ldl_factor_ex(a, check_errors=True)


def test_ldl_factor_has_no_derivative():
    a = tt.tensor(_inputs((4, 4), 8), requires_grad=True)
    LD, _ = tt.linalg.ldl_factor(a)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        LD.sum().backward()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,seed,zero_diagonal", CASES[:4])
def test_ldl_solve_matches_torch(device, shape, seed, zero_diagonal):
    a = _inputs(shape, seed, zero_diagonal)
    b = np.random.default_rng(seed + 10).standard_normal(shape[:-1] + (3,))
    LD, piv = torch.linalg.ldl_factor(torch.tensor(a))
    ref = torch.linalg.ldl_solve(LD, piv, torch.tensor(b))
    got = tt.linalg.ldl_solve(*tt.linalg.ldl_factor(tt.tensor(a, device=device)), tt.tensor(b, device=device))
    np.testing.assert_allclose(_np(got), ref.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a @ _np(got), b, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_ldl_solve_broadcasts_batches(device):
    a, b = _inputs((2, 5, 5), 11), np.random.default_rng(12).standard_normal((3, 1, 5, 2))
    LD, piv = tt.linalg.ldl_factor(tt.tensor(a, device=device))
    x = tt.linalg.ldl_solve(LD, piv, tt.tensor(b, device=device))
    assert tuple(x.shape) == (3, 2, 5, 2)
    np.testing.assert_allclose(a @ _np(x), np.broadcast_to(b, (3, 2, 5, 2)), atol=1e-9)


def test_ldl_solve_gradcheck():
    LD, piv = tt.linalg.ldl_factor(tt.tensor(_inputs((5, 5), 13, zero_diagonal=True)))
    b = tt.tensor(np.random.default_rng(14).standard_normal((5, 2)), requires_grad=True)
    LD = LD.detach().requires_grad_()
    assert tt.autograd.gradcheck(lambda ld, x: tt.linalg.ldl_solve(ld, piv, x), (LD, b))


def _same_error(fn_tt, fn_torch):
    with pytest.raises(RuntimeError) as ref:
        fn_torch()
    with pytest.raises(RuntimeError) as got:
        fn_tt()
    assert str(got.value) == str(ref.value)


def test_errors():
    for a in (np.zeros(3), np.zeros((2, 3)), np.zeros((3, 3), np.int64)):
        _same_error(lambda: tt.linalg.ldl_factor(tt.tensor(a)), lambda: torch.linalg.ldl_factor(torch.tensor(a)))
    a = _inputs((4, 4), 15)
    LD, piv = torch.linalg.ldl_factor(torch.tensor(a))
    LDx, pivx = tt.tensor(LD.numpy()), tt.tensor(piv.numpy())
    b = np.ones((4, 1))
    for args_tt, args_torch in (
            ((LDx, pivx.double(), tt.tensor(b)), (LD, piv.double(), torch.tensor(b))),
            ((LDx[:3], pivx[:3], tt.tensor(b[:3])), (LD[:3], piv[:3], torch.tensor(b[:3]))),
            ((LDx, pivx[:3], tt.tensor(b)), (LD, piv[:3], torch.tensor(b))),
            ((LDx, pivx, tt.tensor(np.ones((3, 1)))), (LD, piv, torch.ones(3, 1, dtype=torch.float64))),
            ((LDx, pivx, tt.tensor(b, dtype=tt.float32)), (LD, piv, torch.ones(4, 1)))):
        _same_error(lambda: tt.linalg.ldl_solve(*args_tt), lambda: torch.linalg.ldl_solve(*args_torch))


@pytest.mark.parametrize("device", DEVICES)
def test_ldl_2x2_block_last_and_interchanges(device):
    """A 2x2 block closing the factorisation (no trailing update after it), and a 1x1 pivot taken at imax."""
    last = np.array([[4.0, 0.5, 0.0], [0.5, 0.0, 1.0], [0.0, 1.0, 0.0]])
    swap = np.array([[1e-3, 1.0, 0.1], [1.0, 5.0, 0.2], [0.1, 0.2, 2.0]])
    for a in (last, swap):
        ref = torch.linalg.ldl_factor(torch.tensor(a))
        got = tt.linalg.ldl_factor(tt.tensor(a, device=device))
        np.testing.assert_array_equal(_np(got.pivots), ref.pivots.numpy())
        np.testing.assert_allclose(_np(got.LD), ref.LD.numpy(), rtol=1e-12, atol=1e-14)
        b = np.arange(3.0)[:, None]
        np.testing.assert_allclose(a @ _np(tt.linalg.ldl_solve(got.LD, got.pivots, tt.tensor(b, device=device))), b,
                                   atol=1e-12)
    assert list(torch.linalg.ldl_factor(torch.tensor(last)).pivots.numpy()) == [1, -3, -3]
    assert list(torch.linalg.ldl_factor(torch.tensor(swap)).pivots.numpy())[0] == 2


def test_ldl_factor_out_writes_the_given_tensors():
    a = tt.tensor(_symmetric_indefinite(np.random.default_rng(3), (5, 5)))
    ld, piv = tt.empty(5, 5, dtype=tt.float64), tt.empty(5, dtype=tt.int32)
    r = tt.linalg.ldl_factor(a, out=(ld, piv))
    assert r[0] is ld and r[1] is piv
    expected = tt.linalg.ldl_factor(a)
    np.testing.assert_array_equal(ld.numpy(), expected.LD.numpy())
    np.testing.assert_array_equal(piv.numpy(), expected.pivots.numpy())
