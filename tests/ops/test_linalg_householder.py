"""geqrf, linalg.householder_product (orgqr) and ormqr against torch: values on cpu and cuda (the Triton interpreter
without a GPU), gradients (against torch's and by gradcheck in float64), errors."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _np(x):
    return x.detach().cpu().numpy()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5, 5), (9, 4), (3, 6), (2, 4, 3), (0, 3)])
def test_geqrf_matches_lapack(device, shape):
    a = _rand(shape)
    ref = torch.geqrf(torch.tensor(a))
    got = tt.geqrf(tt.tensor(a, device=device))
    for r, g in zip(ref, got):
        assert tuple(g.shape) == tuple(r.shape)
        np.testing.assert_allclose(_np(g), r.numpy(), rtol=1e-12, atol=1e-13)
    got32 = tt.tensor(a.astype(np.float32), device=device).geqrf()
    ref32 = torch.tensor(a.astype(np.float32)).geqrf()
    for r, g in zip(ref32, got32):
        assert g.dtype is tt.float32
        np.testing.assert_allclose(_np(g), r.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_geqrf_zero_column_and_no_derivative(device):
    a = _rand((4, 3))
    a[1:, 0] = 0
    ref = torch.geqrf(torch.tensor(a))
    x = tt.tensor(a, device=device, requires_grad=True)
    got = tt.geqrf(x)
    assert float(_np(got.tau)[0]) == 0.0
    np.testing.assert_allclose(_np(got.a), ref.a.numpy(), rtol=1e-12, atol=1e-13)
    with pytest.raises(NotImplementedError, match="the derivative for 'geqrf' is not implemented"):
        got.a.sum().backward()


def test_geqrf_errors():
    with pytest.raises(RuntimeError, match="torch.geqrf: input must have at least 2 dimensions."):
        tt.geqrf(tt.zeros(3))
    with pytest.raises(RuntimeError, match="Long"):
        tt.geqrf(tt.zeros(3, 3, dtype=tt.int64))


def _grads(out_t, out_x, ins_t, ins_x, device):
    w = _rand(tuple(out_t.shape), 5)
    (out_t * torch.tensor(w)).sum().backward()
    (out_x * tt.tensor(w, device=device)).sum().backward()
    for t, x in zip(ins_t, ins_x):
        np.testing.assert_allclose(_np(x.grad), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((4, 4), 2), ((2, 6, 3), 3)])
def test_householder_product(device, shape, k):
    a, tau = _rand(shape), _rand(shape[:-2] + (k,), 1)
    ins_t = [torch.tensor(a, requires_grad=True), torch.tensor(tau, requires_grad=True)]
    ins_x = [tt.tensor(a, device=device, requires_grad=True), tt.tensor(tau, device=device, requires_grad=True)]
    ref, got = torch.linalg.householder_product(*ins_t), tt.linalg.householder_product(*ins_x)
    np.testing.assert_allclose(_np(got), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    _grads(ref, got, ins_t, ins_x, device)
    np.testing.assert_allclose(_np(tt.orgqr(*ins_x)), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_np(ins_x[0].orgqr(ins_x[1])), ref.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_householder_product_reconstructs_qr():
    a = _rand((6, 4))
    h, tau = tt.geqrf(tt.tensor(a))
    Q = tt.linalg.householder_product(h, tau)
    np.testing.assert_allclose(_np(Q @ h.triu()[:4]), a, rtol=1e-12, atol=1e-12)


def test_householder_product_gradcheck():
    a = tt.tensor(_rand((5, 3)), requires_grad=True)
    tau = tt.tensor(_rand(2, 1), requires_grad=True)
    assert tt.autograd.gradcheck(tt.linalg.householder_product, (a, tau))
    assert tt.autograd.gradgradcheck(tt.linalg.householder_product, (a, tau))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("left,transpose", [(True, False), (True, True), (False, False), (False, True)])
def test_ormqr(device, left, transpose):
    a = _rand((2, 5, 3))
    h, tau = torch.geqrf(torch.tensor(a))
    c = _rand((2, 5, 4) if left else (2, 4, 5), 2)
    ins_t = [torch.tensor(h.numpy(), requires_grad=True), torch.tensor(tau.numpy(), requires_grad=True),
             torch.tensor(c, requires_grad=True)]
    ins_x = [tt.tensor(t.detach().numpy(), device=device, requires_grad=True) for t in ins_t]
    ref = torch.ormqr(*ins_t, left=left, transpose=transpose)
    got = tt.ormqr(*ins_x, left=left, transpose=transpose)
    np.testing.assert_allclose(_np(got), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    _grads(ref, got, ins_t, ins_x, device)
    np.testing.assert_allclose(_np(ins_x[0].ormqr(ins_x[1], ins_x[2], left, transpose)), ref.detach().numpy(),
                               rtol=1e-12, atol=1e-13)


def test_ormqr_gradcheck():
    h, tau = tt.geqrf(tt.tensor(_rand((4, 3))))
    args = (h.requires_grad_(), tau.requires_grad_(), tt.tensor(_rand((4, 2), 1), requires_grad=True))
    assert tt.autograd.gradcheck(lambda x, t, c: tt.ormqr(x, t, c, transpose=True), args)


def _same_error(fn_tt, fn_torch):
    with pytest.raises(RuntimeError) as ref:
        fn_torch()
    with pytest.raises(RuntimeError) as got:
        fn_tt()
    assert str(got.value) == str(ref.value)


@pytest.mark.parametrize("shapes", [((3, 2), (3,)), ((2, 3), (2,)), ((3,), (1,)), ((2, 3, 2), (3, 2)),
                                    ((3, 2), (2, 2)), ((3, 3, 2), (2, 2))])
def test_householder_product_errors(shapes):
    a, t = (_rand(s) for s in shapes)
    _same_error(lambda: tt.linalg.householder_product(tt.tensor(a), tt.tensor(t)),
                lambda: torch.linalg.householder_product(torch.tensor(a), torch.tensor(t)))
    _same_error(lambda: tt.linalg.householder_product(tt.tensor(_rand((3, 2))), tt.tensor(_rand(2), dtype=tt.float32)),
                lambda: torch.linalg.householder_product(torch.randn(3, 2, dtype=torch.float64), torch.randn(2)))


@pytest.mark.parametrize("shapes,left", [(((3, 2), (2,), (4, 2)), True), (((3, 2), (3,), (3, 3)), True),
                                         (((3, 2), (3,), (3, 3)), False), (((3, 2), (2,), (3, 4)), False),
                                         (((3,), (3,), (3, 3)), True), (((3, 2), (2,), (3,)), True),
                                         (((2, 3, 2), (2,), (2, 3, 4)), True), (((2, 3, 2), (3, 2), (2, 3, 4)), True),
                                         (((2, 3, 2), (2, 2), (1, 3, 4)), True), (((2, 3, 2), (2, 2), (3, 4)), True)])
def test_ormqr_errors(shapes, left):
    a, t, c = (_rand(s) for s in shapes)
    _same_error(lambda: tt.ormqr(tt.tensor(a), tt.tensor(t), tt.tensor(c), left),
                lambda: torch.ormqr(torch.tensor(a), torch.tensor(t), torch.tensor(c), left))
    a, t, c = _rand((3, 2)), _rand(2), _rand((3, 4)).astype(np.float32)
    _same_error(lambda: tt.ormqr(tt.tensor(a), tt.tensor(t), tt.tensor(c)),
                lambda: torch.ormqr(torch.tensor(a), torch.tensor(t), torch.tensor(c)))
