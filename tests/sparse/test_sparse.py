"""Sparse COO tensors against PyTorch's: construction and its errors, coalesce, to_dense / to_sparse, products with
dense and sparse operands (values and gradients, both devices), the arithmetic, a leaf's sparse .grad, the
refusal of ops without a sparse form, and pytorch/examples' GCN preprocessing and layer on a small graph."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")
DEVICES = devices()


def _pair(indices, values, size, dtype=np.float64, device="cpu"):
    i, v = np.asarray(indices), np.asarray(values, dtype)
    return (tt.sparse_coo_tensor(i, tt.tensor(v), size, device=device),
            torch.sparse_coo_tensor(torch.tensor(i), torch.tensor(v), size, check_invariants=True))


IDX = [[0, 2, 1, 2, 0], [1, 0, 3, 0, 1]]      # (0, 1) and (2, 0) repeat
VAL = [1.5, -2.0, 3.0, 4.0, 0.5]


def test_construction_and_structure():
    s, p = _pair(IDX, VAL, (3, 4))
    assert s.is_sparse and s.layout is tt.sparse_coo and s.shape == (3, 4) and s.dim() == 2
    assert (s.sparse_dim(), s.dense_dim(), s._nnz(), s.is_coalesced()) == (2, 0, 5, False)
    assert tt.sparse_coo_tensor(IDX, VAL).shape == (3, 4)                  # the size the indices need
    assert tt.sparse_coo_tensor(IDX, VAL, dtype=tt.float16).dtype is tt.float16
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced tensor"):
        s.indices()
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 1, size is 2 but found "
                                           "index 3"):
        tt.sparse_coo_tensor(IDX, VAL, (3, 2))
    with pytest.raises(RuntimeError, match="indices and values must have same nnz"):
        tt.sparse_coo_tensor(IDX, VAL[:4], (3, 4))
    with pytest.raises(RuntimeError, match="indices must be sparse_dim x nnz"):
        tt.sparse_coo_tensor([0, 1], [1.0, 2.0], (2,))
    hybrid = tt.sparse_coo_tensor([[0, 2]], tt.ones(2, 3), (4, 3))            # one sparse dim, one dense dim
    assert (hybrid.sparse_dim(), hybrid.dense_dim()) == (1, 1)
    np.testing.assert_array_equal(hybrid.to_dense().numpy(), [[1, 1, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]])
    assert "layout=torch.sparse_coo" in repr(s) and "nnz=5" in repr(s)


@pytest.mark.parametrize("device", DEVICES)
def test_coalesce_and_dense_forms_match_torch(device):
    s, p = _pair(IDX, VAL, (3, 4), device=device)
    c, q = s.coalesce(), p.coalesce()
    assert c.is_coalesced()
    np.testing.assert_array_equal(c.indices().cpu().numpy(), q.indices().numpy())
    np.testing.assert_array_equal(c.values().cpu().numpy(), q.values().numpy())
    np.testing.assert_array_equal(s.to_dense().cpu().numpy(), p.to_dense().numpy())
    dense = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    sp, tp = tt.tensor(dense, device=device).to_sparse(), torch.tensor(dense).to_sparse()
    assert sp.is_coalesced()
    np.testing.assert_array_equal(sp.indices().cpu().numpy(), tp.indices().numpy())
    np.testing.assert_array_equal(sp.values().cpu().numpy(), tp.values().numpy())
    rows = tt.tensor(dense, device=device).to_sparse(1)                       # sparse rows, dense columns
    assert (rows.sparse_dim(), rows._nnz()) == (1, 2)
    np.testing.assert_array_equal(rows.to_dense().cpu().numpy(), dense)
    assert sp.to(device).device.type == device and sp.cpu().device.type == "cpu"
    np.testing.assert_array_equal(s.t().to_dense().cpu().numpy(), p.t().to_dense().numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_products_and_gradients_match_torch(device):
    rng = np.random.default_rng(0)
    s, p = _pair(IDX, VAL, (3, 4), device=device)
    s.requires_grad_(True)
    p.requires_grad_(True)
    d = rng.standard_normal((4, 2))
    td, pd = tt.tensor(d, device=device, requires_grad=True), torch.tensor(d, requires_grad=True)
    left = rng.standard_normal((5, 3))
    tl, pl = tt.tensor(left, device=device, requires_grad=True), torch.tensor(left, requires_grad=True)
    ours = [tt.sparse.mm(s, td), s @ td, tt.spmm(s, td), tl @ s, tt.mm(s, td), s @ tt.tensor(d[:, 0], device=device)]
    theirs = [torch.sparse.mm(p, pd), p @ pd, torch.spmm(p, pd), pl @ p, torch.mm(p, pd), p @ torch.tensor(d[:, 0])]
    for o, t in zip(ours, theirs):
        assert_close(o, t.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = [np.cos(np.arange(o.numel())).reshape(tuple(o.shape)) for o in ours]
    sum(((o * tt.tensor(x, device=device)).sum() for o, x in zip(ours, w)), tt.zeros((), dtype=tt.float64,
                                                                             device=device)).backward()
    sum((t * torch.tensor(x)).sum() for t, x in zip(theirs, w)).backward()
    assert_close(td.grad, pd.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert_close(tl.grad, pl.grad.numpy(), rtol=1e-12, atol=1e-12)
    # the sparse leaf's gradient is the gradient of its stored values: a sparse tensor at its own entries, as
    # torch.sparse.mm gives it (torch.mm's is unmasked: it has values where the leaf has no entry)
    # (for a coalesced leaf; an uncoalesced one gets each stored entry's gradient)
    s, p = s.detach().coalesce().requires_grad_(True), p.detach().coalesce().requires_grad_(True)
    (tt.sparse.mm(s, td) * tt.tensor(w[0], device=device)).sum().backward()
    (torch.sparse.mm(p, pd) * torch.tensor(w[0])).sum().backward()
    assert s.grad.is_sparse and s.grad._nnz() == 3
    assert_close(s.grad.to_dense(), p.grad.to_dense().numpy(), rtol=1e-12, atol=1e-12)
    both = s.detach() @ s.detach().t()
    assert both.is_sparse
    assert_close(both.to_dense(), (p.detach() @ p.detach().t()).to_dense().numpy(), rtol=1e-12, atol=1e-12)


def test_arithmetic_matches_torch():
    s, p = _pair(IDX, VAL, (3, 4))
    s2, p2 = _pair([[1, 2], [3, 3]], [10.0, 20.0], (3, 4))
    dense = np.arange(12.0).reshape(3, 4)
    td, pd = tt.tensor(dense), torch.tensor(dense)
    # (torch refuses sparse + dense; tritorch adds, as for dense + sparse)
    pairs = [(td + s, pd + p), (s + td, pd + p), (td - s, pd - p), ((s + s2).to_dense(), (p + p2).to_dense()),
             ((s - s2).to_dense(), (p - p2).to_dense()), ((s * 3).to_dense(), (p * 3).to_dense()),
             ((2 * s).to_dense(), (2 * p).to_dense()), ((s / 4).to_dense(), (p / 4).to_dense()),
             ((-s).to_dense(), (-p).to_dense()), ((s * td).to_dense(), (p * pd).to_dense()),
             ((s * s2).to_dense(), (p * p2).to_dense()), (s.sum(), torch.sparse.sum(p)),
             (tt.add(td, s, alpha=2), torch.add(pd, p, alpha=2))]
    for i, (o, t) in enumerate(pairs):
        assert not o.is_sparse, i
        assert_close(o, t.numpy(), rtol=1e-12, atol=1e-12, msg=str(i))
    rows = tt.sparse.sum(s, 1)
    assert rows.is_sparse
    assert_close(rows.to_dense(), torch.sparse.sum(p, 1).to_dense().numpy(), rtol=1e-12, atol=0)
    # an int64 sparse matrix added to a float eye: a float dense result (GCN's self loops)
    ints = tt.sparse_coo_tensor([[0, 1], [1, 0]], tt.ones(2), (2, 2), dtype=tt.int64)
    mixed = tt.eye(2) + ints
    assert mixed.dtype is tt.float32 and mixed.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_ops_without_a_sparse_form_refuse():
    s, _ = _pair(IDX, VAL, (3, 4))
    with pytest.raises(RuntimeError, match="exp: tritorch has no sparse COO form of this op; call .to_dense()"):
        tt.exp(s)
    with pytest.raises(RuntimeError, match="with out="):
        tt.add(tt.zeros(3, 4, dtype=tt.float64), s, out=tt.zeros(3, 4, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="numpy\\(\\) of a sparse tensor"):
        s.numpy()
    with pytest.raises(RuntimeError, match="sizes \\[3, 4\\] and \\[4, 3\\] must match"):
        s + tt.zeros(4, 3)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        s @ tt.zeros(3, 2)
    with pytest.raises(RuntimeError, match="adds to tensors only"):
        s + 1


def test_gcn_layer_matches_torch():
    # pytorch/examples' GCN: the renormalised adjacency D^-1/2 (A + I) D^-1/2 from a sparse A, sparse features,
    # then spmm(adj, features @ W) twice; values and the weights' gradients
    rng = np.random.default_rng(1)
    V, F = 12, 6
    edges = rng.integers(0, V, (2, 20))
    feats = (rng.random((V, F)) < 0.3).astype(np.float64)
    w1, w2 = rng.standard_normal((F, 4)), rng.standard_normal((4, 3))

    def run(lib):
        adj = lib.sparse_coo_tensor(lib.tensor(edges), lib.ones(20, dtype=lib.float64), (V, V), dtype=lib.int64)
        adj = lib.eye(V, dtype=lib.float64) + adj
        deg = lib.sqrt(1 / lib.sum(adj, dim=1))
        deg[deg == float("inf")] = 0
        deg = lib.diag(deg).to_sparse()
        adj = (deg @ adj @ deg).to_sparse()
        x = lib.tensor(feats).to_sparse()
        a, b = lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)
        h = lib.relu(lib.spmm(adj, lib.mm(x, a)))
        out = lib.log_softmax(lib.spmm(adj, lib.mm(h, b)), dim=1)
        out.sum().backward()
        return out.detach(), a.grad, b.grad

    for ours, theirs in zip(run(tt), run(torch)):
        assert_close(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_softmax_and_spdiags_match_torch(device):
    idx, vals = [[0, 0, 1, 2, 2, 0], [0, 2, 1, 0, 2, 2]], [1.0, 2.0, 3.0, 4.0, 5.0, 0.5]     # (0, 2) repeats
    w = np.arange(9.0).reshape(3, 3)
    results = []
    for lib, dev in ((tt, device), (torch, "cpu")):
        s = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals, dtype=lib.float64), (3, 3))
        s = s.to(dev).coalesce().detach().requires_grad_(True)
        # (ours along -2; torch's along 0: its log_softmax backward along a negative dim is wrong in 2.13, it
        # differs from the numerical gradient where ours agrees)
        a, b = lib.sparse.softmax(s, 1), lib.sparse.log_softmax(s, -2 if lib is tt else 0)
        ww = lib.tensor(w).to(dev)
        ((a.to_dense() * ww).sum() + (b.to_dense() * ww).sum()).backward()
        results.append([a.to_dense().detach(), b.to_dense().detach(), s.grad.to_dense()])
    for ours, theirs in zip(*results):
        assert_close(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)
    d = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ours = tt.sparse.spdiags(tt.tensor(d), tt.tensor([0, -1]), (3, 3))
    np.testing.assert_array_equal(ours.to_dense().numpy(),
                                  torch.sparse.spdiags(torch.tensor(d), torch.tensor([0, -1]), (3, 3)).to_dense())


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "sparseadam"])
def test_sparse_embedding_gradients_train_as_torchs(optimizer):
    # nn.Embedding(sparse=True): a sparse gradient at the looked-up rows (padding left out), accumulated over
    # two backward passes, taken by SGD (momentum), Adagrad and SparseAdam as PyTorch takes it
    def run(lib):
        emb = lib.nn.Embedding(10, 4, sparse=True, padding_idx=0)
        head = lib.nn.Linear(4, 1)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.arange(40.0).reshape(10, 4) / 40))
            head.weight.fill_(0.5)
            head.bias.fill_(0.1)
        opt = {"sgd": lambda: lib.optim.SGD(emb.parameters(), lr=0.5, momentum=0.9),
               "adagrad": lambda: lib.optim.Adagrad(emb.parameters(), lr=0.5),
               "sparseadam": lambda: lib.optim.SparseAdam(emb.parameters(), lr=0.1)}[optimizer]()
        batches = [[[1, 2, 2], [0, 3, 1]], [[5, 5, 0]], [[7, 1, 1]]]
        for rows in batches:
            opt.zero_grad(set_to_none=False)
            for _ in range(2):      # two passes accumulate into one sparse gradient
                (head(emb(lib.tensor(rows))) ** 2).sum().backward()
            assert emb.weight.grad.is_sparse
            opt.step()
        return emb.weight.detach(), emb.weight.grad.to_dense()

    (w, g), (tw, tg) = run(tt), run(torch)
    assert_close(w, tw.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(g, tg.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_only_optimizers_refuse_sparse_gradients():
    emb = tt.nn.Embedding(5, 2, sparse=True)
    emb(tt.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        tt.optim.Adam(emb.parameters()).step()
    dense = tt.nn.Embedding(5, 2)
    dense(tt.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        tt.optim.SparseAdam(dense.parameters()).step()


def test_sparse_queries_on_dense_tensors():
    x = tt.ones(2, 3)
    assert x.sparse_dim() == 0 and x.dense_dim() == 2 and not x.is_sparse
    for name, what in (("is_coalesced", "sparse coordinate tensor"), ("coalesce", "sparse coordinate tensor"),
                       ("indices", "sparse coordinate tensor"), ("values", "sparse tensor")):
        with pytest.raises(RuntimeError, match=f"{name} expected {what} layout but got Strided"):
            getattr(x, name)()
