"""autograd.graph's node-level API: Node.register_hook / register_prehook / metadata, GradientEdge and
get_gradient_edge (as outputs and inputs of autograd.grad), register_multi_grad_hook, increment_version, and the
engine running only the nodes on a path to `inputs`. Each checked against what PyTorch does with the same
program, run on both libraries."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.autograd import graph
from tritorch.testing import assert_values_close as assert_close, devices

torch = pytest.importorskip("torch")


@pytest.fixture(params=devices())
def device(request):
    return request.param


def run_both(program, device):
    """program(lib, make) on tritorch and on torch (cpu): make(values) is a float64 leaf that requires grad."""
    ours = program(tt, lambda v: tt.tensor(v, dtype=tt.float64, device=device, requires_grad=True))
    theirs = program(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    return ours, theirs


def values(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [values(v) for v in x]
    return np.array(x.detach().cpu().numpy()) if hasattr(x, "detach") else x


def check_same(ours, theirs):
    ours, theirs = values(ours), values(theirs)
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            check_same(o, t)
    elif theirs is None:
        assert ours is None
    else:
        assert_close(ours, theirs)


def test_node_post_hook_sees_and_replaces_grad_inputs(device):
    def program(lib, make):
        a = make([1.0, 2.0, 3.0])
        b = a * a
        seen = []

        def hook(grad_inputs, grad_outputs):
            seen.append((values(grad_inputs[0]), values(grad_outputs[0])))
            return tuple(g * 10 for g in grad_inputs)
        handle = b.grad_fn.register_hook(hook)
        b.sum().backward(retain_graph=True)
        first = a.grad.clone()
        handle.remove()
        a.grad = None
        b.sum().backward()
        return first, a.grad, seen
    ours, theirs = run_both(program, device)
    check_same(ours[:2], theirs[:2])
    assert len(ours[2]) == len(theirs[2]) == 1
    check_same(list(ours[2][0]), list(theirs[2][0]))


def test_node_pre_hook_replaces_grad_outputs(device):
    def program(lib, make):
        a = make([1.0, -2.0])
        b = a.clone()
        handle = b.grad_fn.register_prehook(lambda gO: (gO[0] * 2,))
        (b * 3).sum().backward(retain_graph=True)
        first = a.grad.clone()
        handle.remove()
        a.grad = None
        (b * 3).sum().backward()
        return first, a.grad
    check_same(*run_both(program, device))


def test_hook_order_tensor_then_pre_then_post(device):
    def program(lib, make):
        a = make([1.0, 2.0])
        b = a * 2
        order = []
        b.register_hook(lambda g: order.append("tensor"))
        b.grad_fn.register_prehook(lambda gO: order.append("pre"))
        b.grad_fn.register_hook(lambda gI, gO: order.append("post"))
        b.sum().backward()
        return order
    ours, theirs = run_both(program, device)
    assert ours == theirs == ["tensor", "pre", "post"]


def test_accumulate_grad_node_hooks(device):
    def program(lib, make):
        a = make([1.0, 2.0])
        acc = graph.get_gradient_edge(a).node if lib is tt else torch.autograd.graph.get_gradient_edge(a).node
        calls = []
        acc.register_prehook(lambda gO: calls.append(("pre", values(gO[0]))))
        acc.register_hook(lambda gI, gO: calls.append(("post", len(gI), values(gO[0]))))
        (a * 3).sum().backward()
        return calls
    ours, theirs = run_both(program, device)
    assert [c[0] for c in ours] == [c[0] for c in theirs] == ["pre", "post"]
    assert ours[1][1] == theirs[1][1] == 0
    assert_close(ours[0][1], theirs[0][1])


def test_hook_returning_wrong_count_raises(device):
    a = tt.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = a * 2
    b.grad_fn.register_hook(lambda gI, gO: (gI[0], gI[0]))
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        b.sum().backward()


def test_node_metadata_is_kept_per_node(device):
    a = tt.tensor([1.0], device=device, requires_grad=True)
    b = a * 2
    b.grad_fn.metadata["tag"] = 7
    assert b.grad_fn.metadata == {"tag": 7}
    assert (b + 1).grad_fn.metadata == {}


def test_gradient_edge_as_input_and_output(device):
    def program(lib, make):
        g = graph if lib is tt else torch.autograd.graph
        x = make([1.0, 2.0, 3.0])
        h = x.sin()
        loss = (h * h).sum()
        by_tensor = lib.autograd.grad(loss, [h, x], retain_graph=True)
        by_edge = lib.autograd.grad(loss, [g.get_gradient_edge(h), g.get_gradient_edge(x)], retain_graph=True)
        # the split backward of pipeline schedules: the gradient of h first, then from h's edge to x
        gh, = lib.autograd.grad(loss, g.get_gradient_edge(h), retain_graph=True)
        gx, = lib.autograd.grad(g.get_gradient_edge(h), x, grad_outputs=gh)
        return list(by_tensor), list(by_edge), gx
    ours, theirs = run_both(program, device)
    check_same(ours[0], theirs[0])
    check_same(ours[1], theirs[1])
    check_same(ours[2], theirs[2])


def test_get_gradient_edge_of_a_tensor_without_grad_raises(device):
    with pytest.raises(RuntimeError, match="does not require gradients"):
        graph.get_gradient_edge(tt.ones(2, device=device))


@pytest.mark.parametrize("inputs", [None, "a"])
def test_multi_grad_hook_all_mode(device, inputs):
    def program(lib, make):
        g = graph if lib is tt else torch.autograd.graph
        a, b = make([1.0, 2.0]), make([3.0, 4.0])
        c, d = a * b, a * b
        calls = []
        g.register_multi_grad_hook((a, b, c, d), lambda grads: calls.append(values(list(grads))))
        c.sum().backward(retain_graph=True, inputs=None if inputs is None else (a,))
        c.sum().backward(retain_graph=True, inputs=None if inputs is None else (a,))
        return calls
    ours, theirs = run_both(program, device)
    assert len(ours) == len(theirs) == 2
    for o, t in zip(ours, theirs):
        assert [v is None for v in o] == [v is None for v in t]
        check_same(o, t)


def test_multi_grad_hook_any_mode_fires_once_per_pass(device):
    def program(lib, make):
        g = graph if lib is tt else torch.autograd.graph
        a, b = make([1.0, 2.0]), make([3.0, 4.0])
        calls = []
        handle = g.register_multi_grad_hook((a, b), lambda grad: calls.append(values(grad)), mode="any")
        (a * b).sum().backward()
        (a * b).sum().backward()
        handle.remove()
        (a * b).sum().backward()
        return calls
    ours, theirs = run_both(program, device)
    assert len(ours) == len(theirs) == 2


def test_multi_grad_hook_rejects_unknown_mode():
    a = tt.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="mode"):
        graph.register_multi_grad_hook((a,), print, mode="some")


def test_increment_version_makes_backward_raise(device):
    a = tt.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = a * 1.0
    c = b * b                      # saves b
    graph.increment_version(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()
    v = b._version[0]
    graph.increment_version([b, a])
    assert b._version[0] == v + 1


def test_grad_runs_only_what_reaches_its_inputs(device):
    """autograd.grad(loss, h) runs no node upstream of h: a hook there never fires (as in PyTorch)."""
    def program(lib, make):
        x = make([1.0, 2.0])
        fired = []
        x.register_hook(lambda g: fired.append("x"))
        h = x.exp()
        h.grad_fn.register_prehook(lambda gO: fired.append("exp"))
        loss = (h * 3).sum()
        gh, = lib.autograd.grad(loss, h)
        return gh, fired
    ours, theirs = run_both(program, device)
    check_same(ours[0], theirs[0])
    assert ours[1] == theirs[1] == []


def test_backward_inputs_non_leaf_gets_its_grad(device):
    def program(lib, make):
        a = make([1.0, -2.0, 3.0])
        h = a * 2
        (h * h).sum().backward(inputs=[h])
        return h.grad, a.grad
    check_same(*run_both(program, device))
