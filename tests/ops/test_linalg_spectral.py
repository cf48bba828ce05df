"""SVD, eigh and what is built on them (qr, pinv, matrix_rank, lstsq, cond, the spectral matrix norms) against
torch.linalg, on cpu and cuda: values, gradients, the sign rule, full_matrices, errors. The ops themselves are
also covered by the registry's generated tests."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _signed(U, *others):
    """torch tensors under tritorch's sign rule (each column of U: first largest-magnitude entry positive)."""
    idx = U.detach().abs().argmax(-2, keepdim=True)
    f = torch.where(U.detach().gather(-2, idx) < 0, -1.0, 1.0).to(U.dtype)
    return (U * f,) + tuple(o * (f if axis == -1 else f.mT) for o, axis in others)


def _grad_pair(fn_tt, fn_torch, a, device, seed=5):
    x = tt.tensor(a, device=device, requires_grad=True)
    y = torch.tensor(a, requires_grad=True)
    outs_tt, outs_t = fn_tt(x), fn_torch(y)
    outs_tt = outs_tt if isinstance(outs_tt, tuple) else (outs_tt,)
    outs_t = outs_t if isinstance(outs_t, tuple) else (outs_t,)
    for o, r in zip(outs_tt, outs_t):
        np.testing.assert_allclose(o.detach().cpu().numpy(), r.detach().numpy(), rtol=1e-9, atol=1e-10)
    ws = [_rand(tuple(r.shape), seed + k) for k, r in enumerate(outs_t)]
    sum((r * torch.tensor(w)).sum() for r, w in zip(outs_t, ws)).backward()
    sum((o * tt.tensor(w, device=device)).sum() for o, w in zip(outs_tt, ws)).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), y.grad.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (2, 3, 5)])
def test_svd_matches_torch(device, shape):
    a = _rand(shape)
    _grad_pair(lambda A: tuple(tt.linalg.svd(A, full_matrices=False)),
               lambda A: (lambda U, S, Vh: (*_signed(U, (Vh, -2))[:1], S, _signed(U, (Vh, -2))[1]))(
                   *torch.linalg.svd(A, full_matrices=False)), a, device)
    _grad_pair(tt.linalg.svdvals, torch.linalg.svdvals, a, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_svd_full_matrices(device, shape):
    a = _rand(shape, 1)
    U, S, Vh = tt.linalg.svd(tt.tensor(a, device=device))
    U, S, Vh = (t.cpu().numpy() for t in (U, S, Vh))
    m, n = shape
    assert U.shape == (m, m) and Vh.shape == (n, n)
    np.testing.assert_allclose(U.T @ U, np.eye(m), atol=1e-12)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(n), atol=1e-12)
    k = min(m, n)
    np.testing.assert_allclose((U[:, :k] * S) @ Vh[:k], a, atol=1e-12)
    x = tt.tensor(a, device=device, requires_grad=True)
    U, S, Vh = tt.linalg.svd(x)
    S.sum().backward()   # the singular values alone have a derivative
    np.testing.assert_allclose(x.grad.cpu().numpy(), (U[:, :k] @ Vh[:k]).detach().cpu().numpy(), atol=1e-12)
    if m != n:
        with pytest.raises(RuntimeError, match="full_matrices=True"):
            U2, _, Vh2 = tt.linalg.svd(tt.tensor(a, device=device, requires_grad=True))
            (U2.sum() + Vh2.sum()).backward()


@pytest.mark.parametrize("device", DEVICES)
def test_torch_svd_and_rank_helpers(device):
    a = _rand((5, 3), 2)
    U, S, V = tt.svd(tt.tensor(a, device=device))
    np.testing.assert_allclose(((U * S) @ V.mT).cpu().numpy(), a, atol=1e-12)
    U0, S0, V0 = tt.svd(tt.tensor(a, device=device), compute_uv=False)
    assert float(U0.abs().sum()) == 0 and tuple(V0.shape) == (3, 3)
    deficient = _rand((6, 2), 3) @ _rand((2, 5), 4)   # rank 2
    for A in (a, deficient):
        ta, tta = torch.tensor(A), tt.tensor(A, device=device)
        assert int(tt.linalg.matrix_rank(tta)) == int(torch.linalg.matrix_rank(ta))
        np.testing.assert_allclose(tt.linalg.pinv(tta).cpu().numpy(), torch.linalg.pinv(ta).numpy(), atol=1e-10)
        np.testing.assert_allclose(tt.pinverse(tta).cpu().numpy(), torch.pinverse(ta).numpy(), atol=1e-10)
    b = _rand((5, 2), 5)
    sol = tt.linalg.lstsq(tt.tensor(a, device=device), tt.tensor(b, device=device))
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(sol.solution.cpu().numpy(), ref.solution.numpy(), atol=1e-10)
    assert int(sol.rank) == int(ref.rank) and sol.residuals.numel() == ref.residuals.numel() == 0
    sq = _rand((2, 4, 4), 6)
    # (on cuda one case of each: they are composites of the svd op, whose cuda path the other tests cover)
    for p in ((None, 2, -2) if device == "cpu" else (None,)):
        _grad_pair(lambda A: tt.linalg.cond(A, p), lambda A: torch.linalg.cond(A, p), sq, device)
    for p in (1, "fro"):   # (values only: PyTorch 2.13's own backward of these raises an in-place error)
        np.testing.assert_allclose(tt.linalg.cond(tt.tensor(sq, device=device), p).cpu().numpy(),
                                   torch.linalg.cond(torch.tensor(sq), p).numpy(), rtol=1e-10)
    for ord_ in ((2, -2, "nuc") if device == "cpu" else ("nuc",)):
        _grad_pair(lambda A: tt.linalg.matrix_norm(A, ord_), lambda A: torch.linalg.matrix_norm(A, ord_),
                   _rand((2, 3, 4), 7), device)
        _grad_pair(lambda A: tt.linalg.matrix_norm(A, ord_, dim=(0, 2), keepdim=True),
                   lambda A: torch.linalg.matrix_norm(A, ord_, dim=(0, 2), keepdim=True), _rand((3, 2, 4), 8), device)


@pytest.mark.parametrize("device", DEVICES)
def test_eigh_matches_torch(device):
    m = _rand((2, 5, 5), 9)
    a = m + np.swapaxes(m, -1, -2)
    sym = lambda f: (lambda A: f((A + A.mT) / 2))  # noqa: E731
    _grad_pair(sym(lambda A: tuple(tt.linalg.eigh(A))),
               sym(lambda A: (lambda L, Q: (L, _signed(Q)[0]))(*torch.linalg.eigh(A))), a, device)
    _grad_pair(sym(tt.linalg.eigvalsh), sym(torch.linalg.eigvalsh), a, device)
    junk = np.triu(_rand((5, 5), 10), 1)
    for uplo, x in (("L", a[0] + junk), ("U", a[0] + junk.T)):
        L, Q = tt.linalg.eigh(tt.tensor(x, device=device), UPLO=uplo)
        Lt, Qt = torch.linalg.eigh(torch.tensor(x), UPLO=uplo)
        np.testing.assert_allclose(L.cpu().numpy(), Lt.numpy(), atol=1e-10)
        np.testing.assert_allclose(Q.cpu().numpy(), _signed(Qt)[0].numpy(), atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (3, 5), (2, 6, 4)])
def test_qr(device, shape):
    a = _rand(shape, 11)
    _grad_pair(lambda A: tuple(tt.linalg.qr(A)), lambda A: tuple(torch.linalg.qr(A)), a, device)  # LAPACK's signs
    Q, R = tt.linalg.qr(tt.tensor(a, device=device), mode="complete")
    Qt, Rt = torch.linalg.qr(torch.tensor(a), mode="complete")
    np.testing.assert_allclose(Q.cpu().numpy(), Qt.numpy(), atol=1e-12)
    np.testing.assert_allclose(R.cpu().numpy(), Rt.numpy(), atol=1e-12)
    Q, R = Q.cpu().numpy(), R.cpu().numpy()
    m = shape[-2]
    assert Q.shape[-2:] == (m, m) and R.shape[-2:] == (m, shape[-1])
    np.testing.assert_allclose(np.swapaxes(Q, -1, -2) @ Q, np.broadcast_to(np.eye(m), Q.shape), atol=1e-12)
    np.testing.assert_allclose(Q @ R, a, atol=1e-12)
    assert tt.linalg.qr(tt.tensor(a, device=device), mode="r").Q.numel() == 0
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        tt.linalg.qr(tt.tensor(a), mode="full")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_qr_rank_deficient_and_ill_conditioned(device, dtype):
    """Householder QR factors any matrix: Q orthonormal and Q R = A to rounding, for a rank-deficient matrix (the
    CholeskyQR2 it replaced raised there) and a condition number of 1e6 (where CholeskyQR2's float32 Q was not
    orthogonal)."""
    rng = np.random.default_rng(3)
    deficient = rng.integers(-3, 4, (7, 5)).astype(np.float64)
    deficient[:, 2] = deficient[:, 0] - deficient[:, 1]
    deficient[:, 4] = 0.0
    u, _, vt = np.linalg.svd(rng.standard_normal((9, 6)), full_matrices=False)
    ill = (u * np.logspace(0, -6, 6)) @ vt
    eps = float(np.finfo(dtype.np).eps)
    for a in (deficient, ill, deficient.T):
        for mode in ("reduced", "complete"):
            Q, R = (t.cpu().numpy().astype(np.float64) for t in tt.linalg.qr(tt.tensor(a, dtype=dtype, device=device),
                                                                             mode=mode))
            k = Q.shape[-1]
            assert np.abs(Q.T @ Q - np.eye(k)).max() < 30 * eps
            assert np.abs(Q @ R - a).max() < 30 * eps * np.abs(a).max()
            assert np.array_equal(R, np.triu(R))


@pytest.mark.parametrize("device", DEVICES)
def test_qr_backward_refusals(device):
    tall = tt.tensor(_rand((5, 3), 4), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        tt.linalg.qr(tall, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        tt.linalg.qr(tall, mode="complete").Q.sum().backward()
    wide = tt.tensor(_rand((3, 5), 4), device=device, requires_grad=True)
    Q, R = tt.linalg.qr(wide, mode="complete")   # (square Q: differentiable, as PyTorch's)
    (Q.sum() + R.sum()).backward()
    w = torch.tensor(_rand((3, 5), 4), requires_grad=True)
    Qt, Rt = torch.linalg.qr(w, mode="complete")
    (Qt.sum() + Rt.sum()).backward()
    np.testing.assert_allclose(wide.grad.cpu().numpy(), w.grad.numpy(), atol=1e-10)


def test_float32_svd_eigh_cross_tiles():
    """float32, sizes past one interpreter tile, against float64 LAPACK: singular values and reconstruction."""
    a = _rand((1, 19, 10), 12).astype(np.float32)
    for device in DEVICES:
        U, S, Vh = tt.linalg.svd(tt.tensor(a, device=device), full_matrices=False)
        np.testing.assert_allclose(S.cpu().numpy(), np.linalg.svd(a.astype(np.float64), compute_uv=False),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(((U * S.unsqueeze(-2)) @ Vh).cpu().numpy(), a, atol=2e-5)
        s = a[0, :10] + a[0, :10].T
        L, Q = tt.linalg.eigh(tt.tensor(s, device=device))
        np.testing.assert_allclose(L.cpu().numpy(), np.linalg.eigvalsh(s.astype(np.float64)), rtol=1e-5, atol=2e-5)
        np.testing.assert_allclose(((Q * L.unsqueeze(-2)) @ Q.mT).cpu().numpy(), s, atol=5e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_matrix_exp(device):
    for scale in (0.3, 4.0, 40.0):   # no scaling, and 2^s scaling with s > 0
        _grad_pair(tt.linalg.matrix_exp, torch.linalg.matrix_exp, _rand((2, 4, 4), 13) * scale, device)
    _grad_pair(lambda A: A.matrix_exp(), torch.matrix_exp, _rand((3, 3), 14), device)


@pytest.mark.parametrize("device", DEVICES)
def test_complete_basis_always_fills_the_basis(device):
    # (a 0.5-threshold scan of e_0, e_1, ... left a zero column here: 12 x 6, seed 0)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((12, 12)))[0][:, :6]
    from tritorch.ops.linalg_spectral import complete_basis_op
    full = complete_basis_op(tt.tensor(q, device=device)).cpu().numpy()
    np.testing.assert_allclose(full.T @ full, np.eye(12), atol=1e-12)
    np.testing.assert_array_equal(full[:, :6], q)
