"""tritorch.autograd.graph.saved_tensors_hooks / save_on_cpu / disable_saved_tensors_hooks: what is packed and
unpacked, gradients unchanged (vs PyTorch's under the same hooks), innermost hooks win, per-thread hooks, custom
Functions, the in-place check, and the plain recorders back in place once no hooks are open."""
import threading

import numpy as np
import pytest

import tritorch as tt
from tritorch import _state
from tritorch.autograd import engine
from tritorch.autograd.graph import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks
from tritorch.testing import devices


def _model(lib, x, w):
    return ((x @ w).sin() * x.sum(1, keepdim=True)).exp().mean()


def test_pack_then_unpack_and_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    log = []

    def pack(t):
        log.append("pack")
        return ("boxed", t)

    def unpack(box):
        log.append("unpack")
        assert box[0] == "boxed"
        return box[1]

    x, w = tt.tensor(xv, requires_grad=True), tt.tensor(wv, requires_grad=True)
    with saved_tensors_hooks(pack, unpack):
        loss = _model(tt, x, w)
    packs = log.count("pack")
    assert packs > 0 and "unpack" not in log
    loss.backward()
    assert log.count("unpack") == packs
    tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        _model(torch, tx, tw).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    assert _state.recorder is engine.record and _state.record_small is engine.record_small


@pytest.mark.parametrize("device", devices())
def test_save_on_cpu_keeps_saved_tensors_on_the_host(device):
    seen = []
    a = tt.randn(5, device=device, dtype=tt.float64, requires_grad=True)
    with save_on_cpu(pin_memory=True):
        b = (a.exp() * a).sum()
    b.backward()
    assert a.grad.device == a.device
    want = (a.detach().exp() * (a.detach() + 1)).cpu().numpy()
    np.testing.assert_allclose(a.grad.cpu().numpy(), want, rtol=1e-12)
    with saved_tensors_hooks(lambda t: seen.append(t.device) or t, lambda t: t), save_on_cpu():
        c = a.sin()  # the innermost hooks (save_on_cpu) apply, not the outer ones
    assert seen == [] and c.grad_fn is not None


def test_an_in_place_change_after_packing_is_still_an_error():
    x = tt.randn(4, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        a = x * 2
        b = a * a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_custom_function_saved_tensors_are_packed():
    class Square(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * x
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return 2 * x * g

    packed = []
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: packed.append(1) or t.clone(), lambda t: t):
        y = Square.apply(x)
    assert len(packed) == 2
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_hooks_are_per_thread():
    packed = []
    inside, leave = threading.Event(), threading.Event()

    def other():
        with saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    try:
        x = tt.randn(3, requires_grad=True)
        (x.sin() * x).sum().backward()  # recorded here, while the other thread has hooks open
    finally:
        leave.set()
        thread.join()
    assert packed == [] and x.grad is not None
    assert _state.recorder is engine.record


def test_disable_saved_tensors_hooks():
    with disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with save_on_cpu():
                pass
    with save_on_cpu():
        pass


def test_double_backward_through_unpacked_tensors():
    x = tt.tensor([0.5, 1.5], dtype=tt.float64, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (x.sin() * x).sum()
    (g,) = tt.autograd.grad(y, x, create_graph=True)
    (gg,) = tt.autograd.grad(g.sum(), x)
    xv = x.detach().numpy()
    np.testing.assert_allclose(gg.numpy(), 2 * np.cos(xv) - xv * np.sin(xv), rtol=1e-12)


# ------------------------------------------------------------------------- allow_mutation_on_saved_tensors

def _mutating_program(lib, device):
    """Writes into tensors saved for backward (an input of pow, an output of exp, by an op and by copy_)."""
    a = lib.tensor([[0.5, -1.0, 2.0]], device=device, requires_grad=True)
    b = a.clone()
    out = (b ** 2).sum()
    b.sin_()
    c = a.clone()
    y = (c * 3).exp()
    z = y.sum()
    y.mul_(0)
    c.copy_(lib.zeros(1, 3, device=device))
    (out + z).backward()
    return a.grad


@pytest.mark.parametrize("device", devices())
def test_allow_mutation_on_saved_tensors_matches_pytorch(device):
    torch = pytest.importorskip("torch")
    with tt.autograd.graph.allow_mutation_on_saved_tensors():
        ours = _mutating_program(tt, device)
    with torch.autograd.graph.allow_mutation_on_saved_tensors():
        theirs = _mutating_program(torch, "cpu")
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)
    assert not _state.BEFORE_WRITE                        # nothing is left hooked into the writes
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation"):
        _mutating_program(tt, device)                     # outside it, the write is the usual error


def test_allow_mutation_on_saved_tensors_rules():
    graph = tt.autograd.graph
    with pytest.raises(RuntimeError, match="cannot be nested"):
        with graph.allow_mutation_on_saved_tensors():
            with graph.allow_mutation_on_saved_tensors():
                pass
    with graph.allow_mutation_on_saved_tensors():
        x = tt.ones(2, requires_grad=True)
        w = x.clone()
        s = (w * w).sum()
    with pytest.raises(AssertionError, match="Trying to backward outside of the 'allow_mutation_on_saved_tensors'"):
        s.backward()
    with graph.allow_mutation_on_saved_tensors() as ctx:   # only tensors actually written are copied
        x = tt.ones(3, requires_grad=True)
        w = x.clone()
        s = (w * w).sum()
        tt.zeros(3).add_(1)
        saved = [v for values in ctx.by_storage.values() for v in values]
        assert saved and all(v.copy is None for v in saved)
        w.add_(1)
        assert all(v.copy is not None for v in saved)
        s.backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
