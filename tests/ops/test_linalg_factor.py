"""The factorisations and solves (ops/linalg_factor.py, ops/linalg_solve.py) as users call them, against
torch.linalg: values and gradients on cpu and cuda, LAPACK's info, LinAlgError messages and argument errors.
The ops themselves are also covered by the registry's generated tests (reference, cuda vs cpu, gradcheck)."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def _square(shape, seed=0):
    n = shape[-1]
    return _rand(shape, seed) + 2 * n ** 0.5 * np.eye(n) * np.sign(_rand(shape[:-1], seed + 1))[..., None]


def _spd(shape, seed=0):
    m = _rand(shape, seed)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def _outputs(r):
    return list(r) if isinstance(r, tuple) else [r]


def check(fn_tt, fn_torch, *arrays, device="cpu", grad=True, rtol=1e-9, masks=()):
    """fn on float64 copies of `arrays` in both libraries: every output, then (grad) the gradients of a weighted
    sum of the floating outputs with respect to every array (torch's i-th gradient through masks[i] if given)."""
    t_in = [torch.tensor(a, requires_grad=grad) for a in arrays]
    x_in = [tt.tensor(a, device=device, requires_grad=grad) for a in arrays]
    ref, out = _outputs(fn_torch(*t_in)), _outputs(fn_tt(*x_in))
    assert len(ref) == len(out)
    for o, r in zip(out, ref):
        assert tuple(o.shape) == tuple(r.shape), (tuple(o.shape), tuple(r.shape))
        assert o.dtype.name == str(r.dtype).removeprefix("torch.")
        np.testing.assert_allclose(o.detach().cpu().numpy(), r.detach().numpy(), rtol=rtol, atol=1e-10)
    if not grad:
        return
    floats = [(o, r) for o, r in zip(out, ref) if r.is_floating_point() and r.requires_grad]
    ws = [np.cos(np.arange(r.numel()) + k).reshape(tuple(r.shape)) for k, (_, r) in enumerate(floats)]
    sum((r * torch.tensor(w)).sum() for (_, r), w in zip(floats, ws)).backward()
    sum((o * tt.tensor(w, device=device)).sum() for (o, _), w in zip(floats, ws)).backward()
    for i, (a, b) in enumerate(zip(x_in, t_in)):
        want = b.grad.numpy() if i >= len(masks) or masks[i] is None else masks[i](b.grad.numpy())
        np.testing.assert_allclose(a.grad.cpu().numpy(), want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_cholesky_family(device):
    sym = lambda f: (lambda A, *r: f((A + A.mT) / 2, *r))  # noqa: E731  (gradients of symmetric inputs)
    a = _spd((2, 5, 5))
    check(sym(tt.linalg.cholesky), sym(torch.linalg.cholesky), a, device=device)
    check(sym(lambda A: tt.linalg.cholesky(A, upper=True)), sym(lambda A: torch.linalg.cholesky(A, upper=True)), a,
          device=device)
    check(sym(tt.linalg.cholesky_ex), sym(torch.linalg.cholesky_ex), a, device=device)
    check(lambda A: tt.cholesky(A), lambda A: torch.cholesky(A), a, device=device, grad=False)
    L = np.linalg.cholesky(a)
    b = _rand((2, 5, 3), 2)
    # The factor's gradient: tritorch's is the derivative of what the forward reads (one triangle), PyTorch's the
    # derivative of (F F^H)^-1 B for a full F; they agree on the triangle.
    for upper in (False, True):
        f = L if not upper else np.swapaxes(L, -1, -2)
        tri = np.triu if upper else np.tril
        check(lambda B, F: tt.cholesky_solve(B, F, upper), lambda B, F: torch.cholesky_solve(B, F, upper), b, f,
              device=device, masks=(None, tri))
        check(lambda F: tt.cholesky_inverse(F[0], upper), lambda F: torch.cholesky_inverse(F[0], upper), f,
              device=device, masks=(tri,))


@pytest.mark.parametrize("device", DEVICES)
def test_lu_family(device):
    for shape in ((4, 4), (2, 6, 6), (5, 3), (3, 5)):
        a = _rand(shape, len(shape))
        check(lambda A: tuple(tt.linalg.lu_factor(A)), lambda A: tuple(torch.linalg.lu_factor(A)), a, device=device)
        check(lambda A: tuple(tt.linalg.lu(A)), lambda A: tuple(torch.linalg.lu(A)), a, device=device)
    a, b = _square((2, 4, 4)), _rand((2, 4, 3), 1)
    LU, piv = torch.linalg.lu_factor(torch.tensor(a))
    for left in (True, False):
        for adjoint in (False, True):
            bb = b if left else np.swapaxes(b, -1, -2)
            check(lambda X, B: tt.linalg.lu_solve(X, tt.tensor(piv.numpy(), device=device), B, left=left,
                                                  adjoint=adjoint),
                  lambda X, B: torch.linalg.lu_solve(X, piv, B, left=left, adjoint=adjoint),
                  LU.numpy(), bb, device=device)
    check(lambda X: tuple(tt.lu_unpack(X, tt.tensor(piv.numpy(), device=device))),
          lambda X: tuple(torch.lu_unpack(X, piv)), LU.numpy(), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_solves(device):
    a = _square((3, 4, 4))
    check(tt.linalg.solve, torch.linalg.solve, a, _rand((3, 4, 2), 1), device=device)
    check(tt.linalg.solve, torch.linalg.solve, a, _rand((3, 4), 1), device=device)          # batch of vectors
    check(tt.linalg.solve, torch.linalg.solve, a[0], _rand(4, 1), device=device)              # one vector
    check(tt.linalg.solve, torch.linalg.solve, a[0], _rand((2, 3, 4, 2), 1), device=device)   # A broadcast
    check(lambda A, B: tt.linalg.solve(A, B, left=False), lambda A, B: torch.linalg.solve(A, B, left=False),
          a, _rand((3, 2, 4), 1), device=device)
    check(lambda A, B: tuple(tt.linalg.solve_ex(A, B)), lambda A, B: tuple(torch.linalg.solve_ex(A, B)),
          a, _rand((3, 4, 2), 1), device=device)
    for upper in (False, True):
        for left in (True, False):
            for unit in (False, True):
                b = _rand((3, 4, 2) if left else (3, 2, 4), 3)
                check(lambda A, B: tt.linalg.solve_triangular(A, B, upper=upper, left=left, unitriangular=unit),
                      lambda A, B: torch.linalg.solve_triangular(A, B, upper=upper, left=left, unitriangular=unit),
                      a, b, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_inverse_and_determinants(device):
    a = _square((2, 5, 5))
    for name in ("inv", "det", "slogdet"):
        f_tt, f_t = getattr(tt.linalg, name), getattr(torch.linalg, name)
        check(lambda A: tuple(f_tt(A)) if name == "slogdet" else f_tt(A),
              lambda A: tuple(f_t(A)) if name == "slogdet" else f_t(A), a, device=device)
    check(lambda A: tuple(tt.linalg.inv_ex(A)), lambda A: tuple(torch.linalg.inv_ex(A)), a, device=device)
    check(tt.inverse, torch.inverse, a, device=device)
    check(lambda A: A.inverse().det(), lambda A: A.inverse().det(), a, device=device)
    pos = _spd((2, 4, 4))
    check(tt.logdet, torch.logdet, pos, device=device)
    neg = pos.copy()
    neg[:, 0] *= -1
    check(lambda A: tt.logdet(A), lambda A: torch.logdet(A), neg, device=device, grad=False)   # nan


@pytest.mark.parametrize("device", DEVICES)
def test_double_backward_matches_torch(device):
    a, b = _square((4, 4)), _rand((4, 2), 1)

    def second(lib, A, B, fn):
        A = lib.tensor(A, requires_grad=True, **({} if lib is torch else {"device": device}))
        B = lib.tensor(B, requires_grad=True, **({} if lib is torch else {"device": device}))
        y = fn(lib, A, B)
        gA, = lib.autograd.grad((y * y).sum(), [A], create_graph=True)
        gA.sum().backward()
        return A.grad, B.grad

    fns = [lambda lib, A, B: lib.linalg.solve(A, B), lambda lib, A, B: lib.linalg.inv(A) @ B,
           lambda lib, A, B: lib.linalg.det(A) * B, lambda lib, A, B: lib.linalg.cholesky(A @ A.mT + 4 * lib.eye(
               4, dtype=A.dtype, **({} if lib is torch else {"device": device}))) @ B]
    for fn in fns:
        for x, y in zip(second(tt, a, b, fn), second(torch, a, b, fn)):
            np.testing.assert_allclose(x.cpu().numpy(), y.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_info_and_errors_on_bad_matrices(device):
    not_pd = np.stack([_spd((4, 4)), np.diag([1.0, 2.0, -1.0, 3.0])])
    L, info = tt.linalg.cholesky_ex(tt.tensor(not_pd, device=device))
    np.testing.assert_array_equal(info.cpu().numpy(), torch.linalg.cholesky_ex(torch.tensor(not_pd)).info.numpy())
    with pytest.raises(tt.linalg.LinAlgError, match=r"linalg.cholesky: \(Batch element 1\): The factorization "
                       r"could not be completed because the input is not positive-definite \(the leading minor of "
                       r"order 3 is not positive-definite\)."):
        tt.linalg.cholesky(tt.tensor(not_pd, device=device))
    with pytest.raises(RuntimeError, match="order 1 is not positive-definite"):
        tt.linalg.cholesky(-tt.eye(2, device=device))

    singular = np.stack([np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [1.0, 3.0, 0.0]]), np.eye(3)])
    ours = tt.linalg.lu_factor_ex(tt.tensor(singular, device=device))
    theirs = torch.linalg.lu_factor_ex(torch.tensor(singular))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.cpu().numpy(), t.numpy())
    x = tt.tensor(singular, device=device)
    with pytest.raises(tt.linalg.LinAlgError, match=r"\(Batch element 0\): The solver failed because the input "
                       r"matrix is singular"):
        tt.linalg.solve(x, tt.ones(2, 3, 1, dtype=tt.float64, device=device))
    with pytest.raises(tt.linalg.LinAlgError, match="The diagonal element 2 is zero"):
        tt.linalg.inv(x)
    with pytest.raises(tt.linalg.LinAlgError, match=r"U\[2,2\] is zero"):
        tt.linalg.lu_factor(x)
    _, info = tt.linalg.solve_ex(x, tt.ones(2, 3, 1, dtype=tt.float64, device=device))
    np.testing.assert_array_equal(info.cpu().numpy(), [2, 0])
    np.testing.assert_allclose(tt.linalg.det(x).cpu().numpy(), [0.0, 1.0])
    sign, logabs = tt.linalg.slogdet(x)
    np.testing.assert_array_equal(sign.cpu().numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(logabs.cpu().numpy(), [-np.inf, 0.0])
    # a zero on a triangle's diagonal gives inf/nan, as PyTorch's
    z = np.array([[0.0, 0.0], [1.0, 1.0]])
    got = tt.linalg.solve_triangular(tt.tensor(z, device=device), tt.ones(2, 1, dtype=tt.float64, device=device),
                                     upper=False).cpu().numpy()
    want = torch.linalg.solve_triangular(torch.tensor(z), torch.ones(2, 1, dtype=torch.float64), upper=False)
    np.testing.assert_array_equal(got, want.numpy())


def test_argument_errors_before_any_kernel():
    with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they are 3 by 4 matrices"):
        tt.linalg.solve(tt.ones(3, 4), tt.ones(3))
    with pytest.raises(RuntimeError, match="must have at least 2 dimensions"):
        tt.linalg.cholesky(tt.ones(3))
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        tt.linalg.det(tt.ones(3, 3, dtype=tt.int64))
    with pytest.raises(RuntimeError, match="not implemented for 'Half'"):
        tt.linalg.inv(tt.ones(3, 3, dtype=tt.float16))
    with pytest.raises(RuntimeError, match="Incompatible shapes of A and B"):
        tt.linalg.solve(tt.eye(3), tt.ones(4, 2))
    with pytest.raises(RuntimeError, match="not broadcastable"):
        tt.linalg.solve(tt.ones(2, 3, 3), tt.ones(4, 3, 1))
    with pytest.raises(RuntimeError, match="same dtype"):
        tt.linalg.solve(tt.eye(3), tt.ones(3, 1, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="B must have at least 2 dimensions"):
        tt.linalg.solve_triangular(tt.eye(3), tt.ones(3), upper=False)
    with pytest.raises(RuntimeError, match="LU without pivoting"):
        tt.linalg.lu_factor(tt.eye(3), pivot=False)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tt.linalg.solve(tt.eye(3), tt.ones(3, 1, device="cuda"))


@pytest.mark.parametrize("device", DEVICES)
def test_float32_large_and_batched(device):
    """Sizes past one tile of the kernels, in float32, against float64 LAPACK through torch."""
    a = _square((3, 40, 40)).astype(np.float32)
    b = _rand((3, 40, 70), 1).astype(np.float32)
    x = tt.linalg.solve(tt.tensor(a, device=device), tt.tensor(b, device=device)).cpu().numpy()
    np.testing.assert_allclose(x, np.linalg.solve(a.astype(np.float64), b), rtol=2e-4, atol=2e-5)
    s = _spd((2, 40, 40)).astype(np.float32)
    L = tt.linalg.cholesky(tt.tensor(s, device=device)).cpu().numpy()
    np.testing.assert_allclose(L, np.linalg.cholesky(s.astype(np.float64)), rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(tt.linalg.det(tt.tensor(a[:, :8, :8], device=device)).cpu().numpy(),
                               np.linalg.det(a[:, :8, :8].astype(np.float64)), rtol=1e-4)
