"""The define-by-run graph: nodes recorded by op calls, and the engine that walks them backwards.

Every differentiable op call under grad mode whose inputs require grad records a `Node`: the op, what its vjp
needs (saved tensors, keyword arguments), one edge per tensor input, and the inputs' metadata (shape, dtype,
device) so that the engine can reduce a broadcast gradient and match dtype and device without the op's help.
`backward`/`grad` walk the graph iteratively in dependency order (no recursion), so arbitrarily long chains work,
and free each node's saved tensors as soon as it ran unless `retain_graph`.
"""
from __future__ import annotations

import os
import traceback
import weakref
from typing import NamedTuple

from .._state import FLAGS
from ..tensor import Tensor, _make

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
          "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
          "if you need to access saved tensors after calling backward.")


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def forward_trace() -> list:
    """The stack of the op call being recorded, as anomaly mode shows it: formatted frames up to the last one
    outside tritorch (the frames of dispatch and recording are left out)."""
    frames = traceback.extract_stack()
    end = len(frames)
    while end > 1 and frames[end - 1].filename.startswith(_PACKAGE_DIR):
        end -= 1
    return traceback.format_list(frames[:end])


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved (an in-place change is an error).

    An input is kept as the tensor itself, so that gradients of a double backward reach the same leaf or node;
    it also serves as that input's metadata (shape, dtype, device) for the engine, as an InputMeta does.
    An op's own output is kept without its grad_fn (no reference cycle output -> node -> output) and re-attached
    to the node on unpack, so that double backward still sees it as a function of the inputs."""

    __slots__ = ("tensor", "data", "shape", "dtype", "device", "version", "counter", "out_index")

    def __init__(self, t: Tensor, is_output: bool = False, out_index: int = 0):
        self.counter = t._version
        self.version = t._version[0]
        self.out_index = out_index
        self.shape, self.dtype, self.device = t._data.shape, t.dtype, t.device
        if is_output:
            self.tensor = None
            self.data = t._data
        else:
            self.tensor = t
            self.data = None

    @property
    def is_output(self) -> bool:
        return self.data is not None

    def unpack(self, node: "Node") -> Tensor:
        if self.counter[0] != self.version:
            raise RuntimeError(modified_message(self.dtype, self.device, self.shape, self.counter[0], self.version))
        if self.tensor is not None:
            return self.tensor
        if self.data is None:
            raise RuntimeError(_FREED)
        t = _make(self.data, self.dtype, self.device, version=self.counter)
        t.grad_fn = node
        t._requires_grad = True
        if self.out_index:
            t._extra = {"output_nr": self.out_index}
        return t

    def release(self) -> None:
        self.tensor = self.data = None


def modified_message(dtype, device, shape, version: int, expected: int) -> str:
    """PyTorch's error for a saved tensor that was changed in place after it was saved."""
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[{_type_str(dtype, device, shape)}] is at version {version}; expected version {expected} instead. "
            "Hint: the backtrace further above can show the operation that failed to compute its gradient. The "
            "variable in question was changed in there or anywhere later. Good luck!")


def _type_str(dtype, device, shape) -> str:
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
             "int32": "Int", "bool": "Bool", "int16": "Short", "int8": "Char", "uint8": "Byte"}
    prefix = "torch.cuda." if device.type == "cuda" else "torch."
    return f"{prefix}{names[dtype.name]}Tensor [{', '.join(str(n) for n in shape)}]"


class InputMeta:
    """An input's shape, dtype and device, kept in place of a tensor that backward does not need."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, t: Tensor):
        self.shape, self.dtype, self.device = tuple(t._data.shape), t.dtype, t.device

    @classmethod
    def of_triple(cls, triple: tuple) -> "InputMeta":
        m = object.__new__(cls)
        m.shape, m.dtype, m.device = triple
        return m


class Node:
    """A recorded op call (the `grad_fn` of its outputs)."""

    __slots__ = ("op", "ctx", "next_functions", "input_meta", "n_outputs", "freed", "pre_hooks", "trace",
                 "retained", "__weakref__")

    def __init__(self, op, ctx, next_functions, input_meta, n_outputs=1):
        self.op = op
        self.ctx = ctx
        self.next_functions = next_functions
        self.input_meta = input_meta
        self.n_outputs = n_outputs
        self.freed = False
        self.pre_hooks = None   # {output_nr: [hook]} from Tensor.register_hook on non-leaf outputs
        self.retained = None    # {output_nr: weakref to tensor} for retain_grad()
        self.trace = forward_trace() if FLAGS.anomaly else None

    def name(self) -> str:
        n = getattr(self.op, "backward_name", None)
        if n:
            return n
        base = "".join(p.capitalize() for p in self.op.name.split("_"))
        return f"{base}Backward0"

    def apply(self, grads):
        if self.freed:
            raise RuntimeError(_FREED)
        return self.op.vjp(self.ctx, *grads) if self.n_outputs > 1 else self.op.vjp(self.ctx, grads[0])

    def release(self):
        self.freed = True
        self.ctx.release()

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> new grad_inputs or None, called each time the node has run in a
        backward pass (grad_inputs: what it returned per input, grad_outputs: what it received)."""
        return _add_node_hook(self, "node_post", fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) -> new grad_outputs or None, called each time the node is about to run."""
        return _add_node_hook(self, "node_pre", fn)

    @property
    def metadata(self) -> dict:
        """A dict of the user's own, kept with the node."""
        return _metadata(self)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    __str__ = __repr__


class AccumulateGrad:
    """The edge into a leaf tensor: adds the incoming gradient to `leaf.grad`."""

    __slots__ = ("leaf_ref", "pre_hooks", "post_hooks", "next_functions", "__weakref__")

    def __init__(self, leaf: Tensor):
        self.leaf_ref = weakref.ref(leaf)
        self.pre_hooks = None
        self.post_hooks = None   # [hook(leaf)] from Tensor.register_post_accumulate_grad_hook
        self.next_functions = ()

    @property
    def variable(self):
        return self.leaf_ref()

    def name(self) -> str:
        return "AccumulateGrad"

    register_hook = Node.register_hook
    register_prehook = Node.register_prehook
    metadata = Node.metadata

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class GradientEdge(NamedTuple):
    """Where a tensor's gradient flows in the graph: its grad_fn (a leaf's AccumulateGrad) and output number.
    autograd.grad and backward take one in place of a tensor, as output or input."""

    node: object
    output_nr: int
    ownership_token: object = None


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """The GradientEdge of `tensor`: autograd.grad(loss, get_gradient_edge(x)) equals autograd.grad(loss, x)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require "
                           "gradients")
    node, nr = edge_of(tensor)
    return GradientEdge(node, nr)


def increment_version(tensor) -> None:
    """Count an in-place change made behind autograd's back (through data_ptr, say) on a tensor or each of an
    iterable of tensors, so that backward through a node that saved it raises as after any in-place op."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        t._version[0] += 1


class _MultiHandle:
    """The handle of register_multi_grad_hook: removes every tensor hook it added."""

    def __init__(self, handles: tuple):
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def register_multi_grad_hook(tensors, fn, *, mode: str = "all"):
    """mode "all": fn(grads) once per backward pass, after the gradients of every tensor of `tensors` that the
    pass computes have been (grads: one per tensor, None for the ones it does not reach, or which are off the
    paths to its `inputs`). mode "any": fn(grad) with the first of them each pass. fn should not modify them."""
    import threading

    from .engine import current_task
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    lock = threading.Lock()
    tensors = list(tensors)
    if mode == "any":
        ran: set = set()

        def any_hook(grad):
            task = current_task().id
            with lock:
                first = task not in ran
                ran.add(task)
            if first:
                fn(grad)
        return _MultiHandle(tuple(t.register_hook(any_hook) for t in tensors if t.requires_grad))

    nodes = [t.node if isinstance(t, GradientEdge) else edge_of(t)[0] if t.requires_grad else None for t in tensors]
    pending: dict = {}   # per backward pass: [gradients so far, how many the pass will deliver]

    def hook_of(i):
        def hook(grad):
            task = current_task()
            with lock:
                state = pending.get(task.id)
                if state is None:
                    state = pending[task.id] = [[None] * len(tensors),
                                                sum(1 for n in nodes if n is not None and task.will_execute(n))]
                state[0][i] = grad
                state[1] -= 1
                done = state[1] <= 0
                if done:
                    del pending[task.id]
            if done:
                fn(state[0])
        return hook

    return _MultiHandle(tuple(t.register_hook(hook_of(i)) for i, t in enumerate(tensors)))


_METADATA = weakref.WeakKeyDictionary()   # Node.metadata, made on first use


def _metadata(node) -> dict:
    d = _METADATA.get(node)
    if d is None:
        d = _METADATA[node] = {}
    return d


def _add_node_hook(node, key: str, fn):
    from .engine import full_node   # (the engine imports this module)
    node = full_node(node)
    if node.pre_hooks is None:
        node.pre_hooks = {}
    fns = node.pre_hooks.setdefault(key, [])
    fns.append(fn)
    return _ListHandle(fns, fn)


class _ListHandle:
    """Removes one hook from the list it was added to (RemovableHandle's interface)."""

    __slots__ = ("_list", "_hook")

    def __init__(self, lst: list, hook):
        self._list, self._hook = lst, hook

    def remove(self) -> None:
        if self._hook in self._list:
            self._list.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def accumulate_node(leaf: Tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node (one per leaf, kept in the leaf's extras with its edge, so that recording
    an op makes no tuple for it)."""
    extra = leaf._extra
    if extra is None:
        extra = leaf._extra = {}
    acc = extra.get("accumulate")
    if acc is None:
        acc = extra["accumulate"] = AccumulateGrad(leaf)
        extra["edge"] = (acc, 0)
    return acc


# regenerate(view, base, token): set by autograd/inplace.py (a view whose base was written in place since).
REGENERATE = None


def edge_of(t: Tensor):
    """(node, output_nr) where gradient for `t` flows, or None when t does not require grad."""
    base = t._base
    if base is not None and base._extra is not None:
        token = base._extra.get("rebased")
        if token is not None and (t._extra is None or t._extra.get("rebased_seen") is not token):
            REGENERATE(t, base, token)
    if not t._requires_grad:
        return None
    fn = t.grad_fn
    extra = t._extra
    if fn is None:  # a leaf: its AccumulateGrad edge (made on first use)
        edge = extra.get("edge") if extra is not None else None
        return edge if edge is not None else (accumulate_node(t), 0)
    return (fn, extra.get("output_nr", 0) if extra else 0)


def __getattr__(name):
    # torch.autograd.graph's saved-tensor hooks live in saved_hooks.py (it imports the engine, which imports this)
    if name in ("saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
                "allow_mutation_on_saved_tensors"):
        from . import saved_hooks
        return getattr(saved_hooks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
