"""Hand-written tests of tritorch/ops/linalg.py (einsum, tensordot, outer/ger, kron, diag, diag_embed, trace,
cross, cdist, baddbmm/addbmm/addmv/addr): values and gradients against PyTorch in float64 on cpu, a cuda run of
einsum, and PyTorch's errors. These are functions composed of registered ops, so their gradients come from the
component ops' rules."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _pair(shape, seed, device="cpu"):
    a = np.random.default_rng(seed).standard_normal(shape)
    return tt.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)


def _np(x):
    return x.detach().cpu().numpy()


def _check(fn_tt, fn_torch, shapes, device="cpu", seed=0, kw=None):
    """Values and gradients of fn over float64 inputs of `shapes`, against PyTorch."""
    kw = kw or {}
    pairs = [_pair(s, seed + i, device) for i, s in enumerate(shapes)]
    ours = fn_tt(*[p[0] for p in pairs], **kw)
    theirs = fn_torch(*[p[1] for p in pairs], **kw)
    np.testing.assert_allclose(_np(ours), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed + 99).standard_normal(tuple(theirs.shape))
    ours.backward(tt.tensor(g, device=device))
    theirs.backward(torch.tensor(g))
    for (a, ta) in pairs:
        np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bii->b", [(2, 3, 3)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(5,), (5,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ("ij,kj", [(3, 4), (2, 4)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),
])
def test_einsum_matches_torch(eq, shapes):
    _check(lambda *xs: tt.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), shapes)


def test_einsum_on_cuda_and_list_operands():
    _check(lambda a, b: tt.einsum("bij,bjk->bik", [a, b]), lambda a, b: torch.einsum("bij,bjk->bik", [a, b]),
           [(2, 3, 4), (2, 4, 5)], device="cuda")


def test_einsum_errors():
    a = tt.ones(2, 3)
    with pytest.raises(RuntimeError, match="subscripts"):
        tt.einsum("ijk->i", a)
    with pytest.raises(RuntimeError, match="operands"):
        tt.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match="output subscript"):
        tt.einsum("ij->z", a)


@pytest.mark.parametrize("dims,shapes", [(2, [(2, 3, 4), (3, 4, 5)]), (1, [(3, 4), (4, 2)]), (0, [(2,), (3,)]),
                                         (([1, 0], [0, 1]), [(3, 4, 2), (4, 3)])])
def test_tensordot(dims, shapes):
    _check(lambda a, b: tt.tensordot(a, b, dims), lambda a, b: torch.tensordot(a, b, dims), shapes)


def test_outer_ger_kron():
    _check(tt.outer, torch.outer, [(3,), (4,)])
    _check(tt.ger, torch.outer, [(2,), (5,)])
    _check(tt.kron, torch.kron, [(2, 3), (3, 2)])
    _check(tt.kron, torch.kron, [(2,), (2, 3)])
    with pytest.raises(RuntimeError, match="1-D"):
        tt.outer(tt.ones(2, 2), tt.ones(2))


@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diag_and_diag_embed(offset):
    _check(lambda v: tt.diag(v, offset), lambda v: torch.diag(v, offset), [(3,)])
    _check(lambda m: tt.diag(m, offset), lambda m: torch.diag(m, offset), [(4, 3)])
    _check(lambda v: tt.diag_embed(v, offset), lambda v: torch.diag_embed(v, offset), [(2, 3)])
    _check(lambda v: tt.diag_embed(v, offset, 0, 2), lambda v: torch.diag_embed(v, offset, 0, 2), [(2, 3)])


def test_diag_keeps_nan_off_the_diagonal():
    v = tt.tensor([1.0, float("nan")])
    np.testing.assert_array_equal(np.isnan(tt.diag(v).numpy()), [[False, False], [False, True]])


def test_trace():
    _check(tt.trace, torch.trace, [(3, 4)])
    assert tt.trace(tt.tensor([[1, 2], [3, 4]])).dtype == tt.int64
    with pytest.raises(RuntimeError, match="expected a matrix"):
        tt.trace(tt.ones(3))


def test_cross():
    _check(lambda a, b: tt.cross(a, b, dim=1), lambda a, b: torch.cross(a, b, dim=1), [(2, 3, 2), (2, 3, 2)])
    _check(lambda a, b: tt.cross(a, b, dim=-1), lambda a, b: torch.linalg.cross(a, b), [(4, 3), (1, 3)])
    with pytest.raises(RuntimeError, match="length 3"):
        tt.cross(tt.ones(2, 4), tt.ones(2, 4), dim=1)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_cdist(p):
    _check(lambda a, b: tt.cdist(a, b, p=p), lambda a, b: torch.cdist(a, b, p=p), [(2, 4, 3), (2, 5, 3)])


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_compute_modes(mode):
    """p = 2 through a GEMM (PyTorch's modes: beyond 25 rows, always, never), coincident rows included."""
    _check(lambda a, b: tt.cdist(a, b, compute_mode=mode), lambda a, b: torch.cdist(a, b, compute_mode=mode),
           [(2, 30, 3), (2, 7, 3)])
    a = tt.tensor(np.arange(60.0).reshape(30, 2) % 7, dtype=tt.float64, requires_grad=True)
    ta = torch.tensor(np.arange(60.0).reshape(30, 2) % 7, dtype=torch.float64, requires_grad=True)
    d, td = tt.cdist(a, a, compute_mode=mode), torch.cdist(ta, ta, compute_mode=mode)
    np.testing.assert_allclose(_np(d.detach()), td.detach().numpy(), atol=1e-12)
    d.sum().backward()
    td.sum().backward()
    np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="not a valid value for compute_mode"):
        tt.cdist(a, a, compute_mode="fastest")


def test_cdist_zero_distance_has_zero_gradient():
    a = tt.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tt.float64, requires_grad=True)
    ta = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    tt.cdist(a, a).sum().backward()
    torch.cdist(ta, ta).sum().backward()
    np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), atol=1e-12)


def test_baddbmm_addbmm_addmv():
    _check(lambda i, a, b: tt.baddbmm(i, a, b, beta=0.5, alpha=2.0),
           lambda i, a, b: torch.baddbmm(i, a, b, beta=0.5, alpha=2.0), [(2, 3, 4), (2, 3, 5), (2, 5, 4)])
    _check(lambda i, a, b: tt.addbmm(i, a, b, alpha=-1.5), lambda i, a, b: torch.addbmm(i, a, b, alpha=-1.5),
           [(3, 4), (2, 3, 5), (2, 5, 4)])
    _check(lambda i, m, v: tt.addmv(i, m, v, beta=2), lambda i, m, v: torch.addmv(i, m, v, beta=2),
           [(3,), (3, 4), (4,)])
    x = tt.tensor([float("nan"), 1.0], dtype=tt.float64)
    r = tt.addmv(x, tt.ones(2, 2, dtype=tt.float64), tt.ones(2, dtype=tt.float64), beta=0)
    np.testing.assert_array_equal(r.numpy(), [2.0, 2.0])
    _check(lambda i, a, b: tt.addr(i, a, b, beta=0.5, alpha=2.0),
           lambda i, a, b: torch.addr(i, a, b, beta=0.5, alpha=2.0), [(2, 3), (2,), (3,)])
    _check(lambda i, a, b: i.addr(a, b), lambda i, a, b: i.addr(a, b), [(3,), (2,), (3,)])
    r = tt.addr(tt.full((2, 2), float("nan"), dtype=tt.float64), tt.ones(2, dtype=tt.float64),
                tt.ones(2, dtype=tt.float64), beta=0)
    np.testing.assert_array_equal(r.numpy(), np.ones((2, 2)))
    ints = tt.zeros(2, 3, dtype=tt.int64).addr_(tt.arange(2), tt.arange(3), alpha=2)
    np.testing.assert_array_equal(ints.numpy(), torch.zeros(2, 3, dtype=torch.int64).addr_(
        torch.arange(2), torch.arange(3), alpha=2).numpy())
    y = tt.zeros(2, 3, 4, dtype=tt.float64)
    y.baddbmm_(tt.ones(2, 3, 5, dtype=tt.float64), tt.ones(2, 5, 4, dtype=tt.float64))
    np.testing.assert_array_equal(y.numpy(), np.full((2, 3, 4), 5.0))


def test_addr_errors():
    cases = [((2, 3), (2, 1), (3,), {}), ((2, 3), (2,), (4,), {}), ((2, 3), (2,), (3,), {"beta": 0.5})]
    for shape, s1, s2, kw in cases:
        dtype = (tt.int64, torch.int64) if kw else (tt.float32, torch.float32)
        with pytest.raises(RuntimeError) as ref:
            torch.addr(torch.zeros(shape, dtype=dtype[1]), torch.ones(s1, dtype=dtype[1]),
                       torch.ones(s2, dtype=dtype[1]), **kw)
        with pytest.raises(RuntimeError) as got:
            tt.addr(tt.zeros(shape, dtype=dtype[0]), tt.ones(s1, dtype=dtype[0]), tt.ones(s2, dtype=dtype[0]), **kw)
        assert str(got.value) == str(ref.value)


def test_beta_zero_input_gets_a_zero_gradient_not_none():
    # baddbmm/addbmm/addmv with beta=0 ignore input's values (NaN does not propagate) but keep it in the graph,
    # as PyTorch: its gradient is zeros (it was None, leaving input.grad unset)
    for fn, shapes in ((tt.baddbmm, [(2, 3, 2), (2, 3, 4), (2, 4, 2)]), (tt.addbmm, [(3, 2), (2, 3, 4), (2, 4, 2)]),
                       (tt.addmv, [(3,), (3, 4), (4,)])):
        c = tt.full(shapes[0], float("nan"), requires_grad=True)
        r = fn(c, tt.ones(*shapes[1]), tt.ones(*shapes[2]), beta=0)
        r.sum().backward()
        assert not r.isnan().any() and c.grad is not None and c.grad.abs().sum().item() == 0
