"""Tensors through multiprocessing (tritorch/multiprocessing/reductions.py, tritorch/_shared_memory.py): copies,
and shared memory that the receiving process maps (share_memory_())."""
import multiprocessing

import pytest

import tritorch as tt
import tritorch.multiprocessing  # noqa: F401  (registers the reducer)


def _write_shared(t, inbox, outbox):
    t.add_(1)                      # the parent's memory, received as a Process argument
    view = inbox.get(timeout=60)   # a shared view, received through a queue
    view[1:].mul_(10)
    outbox.put((view.is_shared(), tuple(view.shape), view.stride(), view.storage_offset(),
                view.untyped_storage().nbytes()))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_shared_tensors_are_the_same_memory_in_the_child(method):
    ctx = multiprocessing.get_context(method)
    t = tt.zeros(2, 3).share_memory_()
    base = tt.arange(8.0).reshape(2, 4).share_memory_()
    assert t.is_shared() and base.is_shared() and not tt.zeros(1).is_shared()
    inbox, outbox = ctx.Queue(), ctx.Queue()
    child = ctx.Process(target=_write_shared, args=(t, inbox, outbox))
    child.start()
    inbox.put(base[:, 1:])
    assert outbox.get(timeout=60) == (True, (2, 3), (4, 1), 1, 32)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert t.tolist() == [[1.0] * 3] * 2
    assert base.tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 50.0, 60.0, 70.0]]


def test_unshared_tensors_are_copied():
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    x = tt.arange(3.0)
    q.put(x)
    y = q.get(timeout=30)
    y.add_(1)
    assert x.tolist() == [0.0, 1.0, 2.0] and y.tolist() == [1.0, 2.0, 3.0] and not y.is_shared()


def _sgd_step(model):
    # a Hogwild worker: one optimizer step on the module it was sent (pytorch/examples' mnist_hogwild)
    opt = tt.optim.SGD(model.parameters(), lr=1.0)
    model(tt.ones(1, 3)).sum().backward()
    opt.step()


def test_module_share_memory_trains_the_parents_weights():
    model = tt.nn.Linear(3, 2)
    with tt.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_sgd_step, args=(model,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    # d/dw sum(w x + b) = 1 for every weight and bias: one step of lr 1 leaves -1 everywhere, in the parent
    assert model.weight.tolist() == [[-1.0] * 3] * 2 and model.bias.tolist() == [-1.0, -1.0]


def test_sparse_tensors_travel_through_queues():
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    s = tt.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
    q.put(s)
    got = q.get(timeout=30)
    assert got.is_sparse and got.to_dense().tolist() == [[0.0, 1.0], [2.0, 0.0]]


class _Boxes(tt.Tensor):
    """torchvision's BoundingBoxes pattern: a subclass with attributes of its own."""


class _SelfPickling(tt.Tensor):
    def __reduce_ex__(self, protocol):
        return (str, ("mine",))


def test_tensor_subclasses_travel_with_their_class_and_attributes():
    from multiprocessing.reduction import ForkingPickler
    import pickle
    b = tt.tensor([[1, 2, 3, 4]]).as_subclass(_Boxes)
    b.canvas_size = (10, 20)
    r = pickle.loads(ForkingPickler.dumps(b))     # (_Boxes is defined after the reducers were registered)
    assert type(r) is _Boxes and r.tolist() == b.tolist() and r.__dict__ == {"canvas_size": (10, 20)}
    assert pickle.loads(ForkingPickler.dumps(tt.ones(1).as_subclass(_SelfPickling))) == "mine"
    q = multiprocessing.get_context("fork").Queue()
    q.put({"boxes": b})
    got = q.get(timeout=30)["boxes"]
    assert type(got) is _Boxes and got.canvas_size == (10, 20)
