"""The meta device: tensors with shapes, strides and dtypes and no data (tritorch/backends/meta.py).

Every registered op's forward on meta is checked by the generated op tests (tritorch.testing.check_meta_device);
here: gradients on meta for every differentiable op, factories, errors, the `with tt.device(...)` context,
modules built on meta and materialised (to_empty, load_state_dict(assign=True)), and PyTorch as the oracle."""
import numpy as np
import pytest

import tritorch as tt
from tritorch import nn
from tritorch.backends.meta import ValueDependentShape
from tritorch.ops import registry
from tritorch.testing import grad_positions, grads_on, to_meta_arg

META = tt.device("meta")


def _meta_leaves(op, args):
    """The sample's args on meta; the float tensors (and lists of them) the gradient tests differentiate in as
    leaves that require grad."""
    def conv(a, grad):
        if isinstance(a, tt.Tensor):
            m = to_meta_arg(a)
            return m.requires_grad_(True) if a.dtype.is_floating_point and grad else m
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], tt.Tensor):
            return type(a)(conv(x, grad) for x in a)
        return a
    positions = grad_positions(op, args)
    return [conv(a, i in positions) for i, a in enumerate(args)]


GRAD_OPS = sorted(op.name for op in registry.ops() if op.differentiable and op.vjp is not None
                  and op.samples is not None and tt.float32 in op.dtypes)


@pytest.mark.parametrize("name", GRAD_OPS)
def test_backward_on_meta_gives_the_gradient_shapes_the_cpu_gives(name):
    op = registry.get(name)
    checked = refused = 0
    for sample in list(op.samples("cpu", tt.float32))[:4]:
        cpu = grads_on(op, sample)
        if cpu is None:   # no float output needs a gradient (cast to an integer dtype)
            continue
        cpu_grads, cpu_leaves = cpu
        args = _meta_leaves(op, sample.args)
        kwargs = {k: (META if k == "device" else to_meta_arg(v)) for k, v in sample.kwargs.items()}
        try:
            outs = op(*args, **kwargs)
            outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.requires_grad]
            leaves = [a for a in args if isinstance(a, tt.Tensor) and a.requires_grad] + \
                     [x for a in args if isinstance(a, (list, tuple)) for x in a
                      if isinstance(x, tt.Tensor) and x.requires_grad]
            grads = tt.autograd.grad(outs, leaves, [tt.ones_like(o) for o in outs], allow_unused=True)
        except ValueDependentShape:   # masked_select's backward scatters by the mask's values
            refused += 1
            continue
        assert len(grads) == len(cpu_grads)
        for g, c, leaf in zip(grads, cpu_grads, leaves):
            assert (g is None) == (c is None), f"{name}[{sample.name}]: meta grad {g!r}, cpu grad {c!r}"
            if g is not None:
                assert g.device is META and tuple(g.shape) == tuple(leaf.shape) == tuple(c.shape), sample.name
                assert g.dtype is c.dtype, sample.name
        checked += 1
    assert not refused or name in VALUE_DEPENDENT, f"{name}: refused on meta"


# Their backward (or, with boolean masks, forward) selects by the values of a mask
VALUE_DEPENDENT = ("masked_select", "masked_scatter", "index", "index_put")


# ------------------------------------------------------------------------------------------------ tensors

def test_factories_and_printing_on_meta():
    x = tt.empty(2, 3, device="meta")
    assert x.device is META and x.is_meta and not x.is_cpu and x.shape == (2, 3) and x.stride() == (3, 1)
    assert repr(x) == "tensor(..., device='meta', size=(2, 3))"
    assert repr(tt.ones(2, device="meta", dtype=tt.float16, requires_grad=True)) == \
        "tensor(..., device='meta', size=(2,), dtype=tritorch.float16,\n       requires_grad=True)"
    assert repr(tt.zeros((), device="meta")) == "tensor(..., device='meta', size=())"
    assert repr(x.sum()) == "tensor(..., device='meta', size=())"
    for t, shape, dtype in ((tt.randn(4, 5, device="meta"), (4, 5), tt.float32),
                            (tt.arange(7, device="meta"), (7,), tt.int64),
                            (tt.linspace(0, 1, 9, device="meta"), (9,), tt.float32),
                            (tt.eye(3, device="meta"), (3, 3), tt.float32),
                            (tt.full((2,), 7, device="meta"), (2,), tt.int64),
                            (tt.tensor([[1, 2]], device="meta"), (1, 2), tt.int64),
                            (tt.randint(0, 5, (3,), device="meta"), (3,), tt.int64),
                            (tt.randperm(6, device="meta"), (6,), tt.int64),
                            (tt.empty_like(tt.ones(2, 2), device="meta"), (2, 2), tt.float32),
                            (tt.ones(3).to("meta"), (3,), tt.float32),
                            (x.new_empty(5), (5,), tt.float32)):
        assert t.device is META and tuple(t.shape) == shape and t.dtype is dtype
    assert tt.device("meta:0").index == 0 and str(tt.device("meta")) == "meta"
    assert x.data_ptr() == 0 and x.numel() == 6 and x.nbytes == 24
    storage = x.untyped_storage()
    assert storage.nbytes() == 24 and storage.data_ptr() == 0 and storage.device is META and not x.is_shared()
    assert tt.empty(0, device="meta").set_(storage).shape == (6,)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        storage.tolist()


def test_views_on_meta_keep_the_cpu_geometry():
    cpu = tt.zeros(4, 6)
    meta = tt.empty(4, 6, device="meta")
    for f in (lambda t: t.t(), lambda t: t[1:, ::2], lambda t: t.view(2, 12), lambda t: t.unsqueeze(1).expand(4, 3, 6),
              lambda t: t.permute(1, 0)[2], lambda t: t.as_strided((3, 3), (1, 6), 2), lambda t: t.diagonal(),
              lambda t: t.view(tt.int32)):
        c, m = f(cpu), f(meta)
        assert (tuple(m.shape), m.stride(), m.storage_offset(), m.is_contiguous()) == \
               (tuple(c.shape), c.stride(), c.storage_offset(), c.is_contiguous())
        assert m._base is meta and m._version is meta._version
    assert meta.t().contiguous().stride() == (4, 1)
    with pytest.raises(RuntimeError, match="out of bounds"):
        meta.as_strided((5, 5), (6, 1))


def test_data_cannot_leave_the_meta_device():
    x = tt.ones(2, 3, device="meta")
    for f, err, msg in ((lambda: x.cpu(), NotImplementedError, "Cannot copy out of meta tensor; no data!"),
                        (lambda: x.to("cpu"), NotImplementedError, "Cannot copy out of meta tensor"),
                        (lambda: x.tolist(), NotImplementedError, "Cannot copy out of meta tensor"),
                        (lambda: tt.ones(2, 3).copy_(x), NotImplementedError, "Cannot copy out of meta tensor"),
                        (lambda: x[0, 0].item(), RuntimeError, "Tensor.item\\(\\) cannot be called on meta tensors"),
                        (lambda: float(x[0, 0]), RuntimeError, "cannot be called on meta tensors"),
                        (lambda: bool(x[0, 0]), RuntimeError, "cannot be called on meta tensors"),
                        (lambda: x.numpy(), TypeError, "can't convert meta device type tensor to numpy"),
                        (lambda: np.asarray(x), NotImplementedError, "Cannot copy out of meta tensor"),
                        (lambda: x + tt.ones(2, 3), RuntimeError, "found at least two devices, meta and cpu"),
                        (lambda: x.nonzero(), NotImplementedError, "depends on its input's values"),
                        (lambda: x[x > 0], NotImplementedError, "depends on its input's values"),
                        (lambda: x.masked_select(x > 0), NotImplementedError, "depends on its input's values")):
        with pytest.raises(err, match=msg):
            f()
    assert (x + tt.tensor(2.0)).device is META   # a 0-dim cpu tensor joins as a scalar, as in PyTorch
    y = tt.zeros(2, 3, device="meta")
    v = y._version_count
    assert y.copy_(tt.ones(2, 3)) is y and y.add_(1) is y and y._version_count == v + 2   # writes with no data
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        y.copy_(tt.ones(4))


def test_meta_draws_no_random_numbers():
    tt.manual_seed(3)
    expected = tt.rand(4)
    tt.manual_seed(3)
    tt.randn(100, device="meta")
    tt.nn.functional.dropout(tt.ones(50, device="meta"), 0.5)
    tt.empty(3, 3, device="meta").uniform_()
    assert tt.equal(tt.rand(4), expected)


def test_device_context_sets_the_factories_default():
    with tt.device("meta") as d:
        assert d is META and tt.ones(2).device is META and tt.get_default_device() is META
        with tt.device("cpu"):
            assert tt.zeros(1).device is tt.device("cpu")
        assert tt.randn(2).is_meta
        assert tt.ones(2, device="cpu").is_cpu   # an explicit device wins
    assert tt.ones(2).is_cpu
    with pytest.raises(ValueError):
        with tt.device("meta"):
            raise ValueError
    assert tt.ones(2).is_cpu and tt.get_default_device() is tt.device("cpu")


# ------------------------------------------------------------------------------------------------ modules

class _Net(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, device=device)
        self.bn = nn.BatchNorm2d(8, device=device)
        self.attn = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True, device=device)
        self.head = nn.Linear(8, 5, device=device)

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()                     # (N, 8, H, W)
        h = self.attn(h.flatten(2).transpose(1, 2))          # (N, H*W, 8)
        return self.head(h.mean(1))


def test_a_model_built_on_meta_trains_on_meta_with_the_cpu_shapes():
    tt.manual_seed(0)
    cpu = _Net()
    with tt.device("meta"):
        meta = _Net()
    assert all(p.is_meta for p in meta.parameters()) and all(b.is_meta for b in meta.buffers())
    assert [(n, p.shape) for n, p in meta.named_parameters()] == [(n, p.shape) for n, p in cpu.named_parameters()]
    x = tt.randn(2, 3, 4, 4)
    opt = tt.optim.AdamW(meta.parameters(), lr=1e-3)
    out = meta(x.to("meta"))
    assert out.is_meta and out.shape == cpu(x).shape == (2, 5)
    tt.nn.functional.cross_entropy(out, tt.tensor([1, 3], device="meta")).backward()
    assert all(p.grad is not None and p.grad.is_meta and p.grad.shape == p.shape for p in meta.parameters())
    opt.step()
    assert all(p.is_meta for p in meta.parameters())
    assert all(s["exp_avg"].is_meta for s in opt.state.values())


def test_to_empty_then_load_state_dict_matches_the_cpu_model():
    tt.manual_seed(0)
    cpu = _Net().eval()
    meta = _Net(device="meta")
    with pytest.warns(UserWarning, match="copying from a non-meta parameter in the checkpoint to a meta parameter"):
        meta.load_state_dict(cpu.state_dict())
    assert all(p.is_meta for p in meta.parameters())
    weight = meta.head.weight
    meta.to_empty(device="cpu")
    assert meta.head.weight is weight and weight.is_cpu   # parameters keep their identity
    meta.load_state_dict(cpu.state_dict())
    x = tt.randn(2, 3, 4, 4)
    assert tt.equal(meta.eval()(x), cpu(x))


def test_load_state_dict_assign_materialises_a_meta_model():
    tt.manual_seed(0)
    cpu = _Net().eval()
    with tt.device("meta"):
        meta = _Net()
    meta.load_state_dict(cpu.state_dict(), assign=True)
    assert not any(p.is_meta for p in meta.parameters()) and not any(b.is_meta for b in meta.buffers())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in meta.parameters())
    x = tt.randn(2, 3, 4, 4)
    assert tt.equal(meta.eval()(x), cpu(x))


def test_against_pytorch_meta_tensors():
    torch = pytest.importorskip("torch")
    cases = [lambda m, x: m.nn.functional.conv2d(x.reshape(2, 3, 4, 5), m.empty(6, 3, 3, 3, device="meta"),
                                                 stride=2, padding=1),
             lambda m, x: m.einsum("ij,kj->ik", x, x)[:, 1:].t(),
             lambda m, x: m.nn.functional.scaled_dot_product_attention(*(x.reshape(2, 3, 2, 10),) * 3),
             lambda m, x: m.max(x, dim=1),
             lambda m, x: m.cat([x, x.exp()], 1).unflatten(1, (4, 10)).sum((0, 2), keepdim=True),
             lambda m, x: m.nn.functional.embedding(m.zeros(7, 2, dtype=m.long, device="meta"), x)]
    for case in cases:
        ours = case(tt, tt.empty(6, 20, device="meta"))
        theirs = case(torch, torch.empty(6, 20, device="meta"))
        ours = ours if isinstance(ours, tuple) else (ours,)
        theirs = theirs if isinstance(theirs, tuple) else (theirs,)
        for o, t in zip(ours, theirs):
            assert o.is_meta and t.is_meta
            assert (tuple(o.shape), o.dtype.name, o.stride()) == (tuple(t.shape), str(t.dtype)[6:], t.stride())
        assert str(ours[0]).replace("tritorch", "torch") == str(theirs[0])
