"""Autograd's Tensor methods: backward, detach, hooks, retain_grad (bound when tritorch.autograd is imported)."""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor, _make
from .engine import full_node, run_backward
from .graph import GradientEdge, _ListHandle, accumulate_node


def _grad_tensors(outputs, grad_outputs, create_graph):
    from ..ops.creation import ones_like
    grads = []
    for t, g in zip(outputs, grad_outputs):
        if not isinstance(t, Tensor):   # a GradientEdge: its gradient's shape, dtype and device stand for t
            t = _edge_stand_in(t)
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t.dtype.kind != 2:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
            d = t._data
            # a cpu loss (every training step's): the array directly, a quarter of ones_like's dispatch
            g = _make(np.ones(d.shape, d.dtype), t.dtype, t.device) if d.__class__ is np.ndarray else ones_like(t)
        elif not isinstance(g, Tensor):
            from ..ops.creation import full_like
            g = full_like(t, g)
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(g.shape)} and output[0] has "
                               f"a shape of {tuple(t.shape)}.")
        grads.append(g)
    return grads


def _edge_stand_in(edge) -> Tensor:
    """An uninitialised tensor with the shape, dtype and device of the gradient that flows along a GradientEdge
    (what the checks of grad_outputs and the implicit ones read)."""
    node, nr = edge.node, edge.output_nr
    leaf = getattr(node, "variable", None)
    if leaf is not None:
        m = leaf
    else:
        metas = getattr(node.ctx, "out_meta", None)
        if metas is None:
            raise RuntimeError(f"grad_outputs must be given for a GradientEdge of {node.name()}")
        m = metas[nr]
    from ..ops.creation import empty
    return empty(tuple(m.shape), dtype=m.dtype, device=m.device)


def _is_edge(x) -> bool:
    return isinstance(x, GradientEdge)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """torch.autograd.backward: accumulate d(tensors)/d(leaves) into the leaves' .grad (into the .grad of `inputs`
    only when given; a non-leaf input has its gradient retained, as retain_grad() does)."""
    tensors = [tensors] if isinstance(tensors, Tensor) or _is_edge(tensors) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) or _is_edge(inputs) else list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        for t in inputs:
            if isinstance(t, Tensor) and t.grad_fn is not None:
                t.retain_grad()
    run_backward(tensors, _grad_tensors(tensors, grad_tensors, create_graph), retain_graph, create_graph,
                 inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """torch.autograd.grad: the gradients of `outputs` with respect to `inputs` (no .grad is touched)."""
    outputs = [outputs] if isinstance(outputs, Tensor) or _is_edge(outputs) else list(outputs)
    single = isinstance(inputs, Tensor) or _is_edge(inputs)
    inputs = [inputs] if single else list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if isinstance(t, Tensor) and not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    res = run_backward(outputs, _grad_tensors(outputs, grad_outputs, create_graph), retain_graph, create_graph,
                       inputs=inputs, accumulate=False, allow_unused=allow_unused or materialize_grads)
    if materialize_grads:
        from ..ops.creation import zeros_like
        res = tuple((zeros_like(i if isinstance(i, Tensor) else _edge_stand_in(i)) if r is None else r)
                    for r, i in zip(res, inputs))
    return res


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)


def _detach(self):
    t = _make(self._data, self.dtype, self.device, version=self._version)
    t._base = self._base
    return t


def _detach_(self):
    if self._base is not None and self._base._requires_grad:
        raise RuntimeError("Can't detach views in-place. Use detach() instead.")
    self.grad_fn = None
    self._requires_grad = False
    return self


def _register_hook(self, hook):
    """hook(grad) -> Tensor or None, called with this tensor's gradient; a returned tensor replaces it."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:
        node, idx = accumulate_node(self), 0
    else:
        node, idx = full_node(self.grad_fn), (self._extra or {}).get("output_nr", 0)
    if node.pre_hooks is None:
        node.pre_hooks = {}
    node.pre_hooks.setdefault(idx, []).append(hook)
    return _ListHandle(node.pre_hooks[idx], hook)


def _register_post_accumulate_grad_hook(self, hook):
    """hook(tensor) -> None, called after backward has accumulated this leaf's .grad (to step an optimizer in
    backward, for example)."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    node = accumulate_node(self)
    if node.post_hooks is None:
        node.post_hooks = []
    node.post_hooks.append(hook)
    return _ListHandle(node.post_hooks, hook)


def _retain_grad(self):
    if not self._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if self.grad_fn is None:
        return
    node = full_node(self.grad_fn)
    if node.retained is None:
        node.retained = {}
    node.retained[(self._extra or {}).get("output_nr", 0)] = weakref.ref(self)
    extra = self._extra if self._extra is not None else {}
    extra["retains_grad"] = True
    self._extra = extra


def _retains_grad(self):
    return bool(self._extra and self._extra.get("retains_grad"))


def _output_nr(self):
    return (self._extra or {}).get("output_nr", 0)


Tensor.backward = _backward
Tensor.detach = _detach
Tensor.detach_ = _detach_
Tensor.register_hook = _register_hook
Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook
Tensor.retain_grad = _retain_grad
Tensor.retains_grad = property(_retains_grad)
Tensor.output_nr = property(_output_nr)
