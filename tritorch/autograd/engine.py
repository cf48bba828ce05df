"""Recording op calls into the graph, and running it backwards (Tensor.backward, autograd.grad)."""
from __future__ import annotations

import itertools as _itertools
import sys as _sys
import weakref as _weakref

import numpy as _np

from .._state import AUTOCAST as _AUTOCAST
from .._state import FLAGS
from ..tensor import Tensor
from .. import dtypes as _dt
from . import grad_mode
from .graph import (_FREED, AccumulateGrad, InputMeta, Node, SavedTensor, accumulate_node, edge_of, forward_trace,
                    modified_message)

STATE = grad_mode.STATE


class _OpNodeSlots(Node):
    """The storage of OpNode (its slots are declared here so that OpNode can shadow the rarely set ones with
    class defaults)."""

    __slots__ = ("_args", "_output", "kwargs", "_meta", "_out_metas", "_versions", "_metas")


class OpNode(_OpNodeSlots):
    """The graph node of a registered op's call, which is also the context its vjp sees: the call's positional
    args (tensors saved as the op's `save` says, others as given), kwargs, meta, and the output when saved.

    vjp(ctx, grad_output) -> one gradient (or None) per tensor positional argument, in order.
    One object per recorded call (no node <-> context cycle), so a graph is freed by reference counting alone.

    Recording builds as few objects as it can (it runs on every op call under autograd):
    - an op that saves its inputs keeps the call's own args tuple (the tensors themselves) and, in `_versions`,
      the version of each tensor at the call; the tensors also stand for their own metadata;
    - any other op keeps, in `_metas` and in place of each tensor in `_args`, a (shape, dtype, device) triple,
      which `inputs` and `input_meta` show as an InputMeta;
    - `_meta` is the Meta that infer made, or the output's (shape, dtype, device) triple when a cpu shortcut
      recorded the call without running infer (`meta` makes the Meta on first use);
    - what most calls never set is a class default (one output, no output metas, hooks or retained grads): a
      node that needs one becomes an OpNodeFull (`full_node`), whose slots show through.

    Recording sets every other slot itself: OpNode() then runs no Python __init__, and costs ~45 ns less than
    object.__new__(OpNode) (which goes through tp_new_wrapper's argument tuple)."""

    __slots__ = ()
    __init__ = object.__init__
    n_outputs = 1
    _out_metas = None
    pre_hooks = None
    retained = None

    @property
    def meta(self):
        m = self._meta
        if m is None:
            # a cpu shortcut's call that saved its inputs: its Meta is what infer gives for those inputs (made on
            # first use; recording the output's shape for every call would cost more than the rare vjp that reads it)
            if self.freed:
                raise RuntimeError(_FREED)
            m = self._meta = self.op.infer(*self._args, **self.kwargs)
        elif m.__class__ is tuple:
            from ..ops.registry import Meta  # (the ops layer imports autograd's recorder, not the other way)
            m = self._meta = Meta(*m)
        return m

    @property
    def input_meta(self) -> tuple:
        """Per tensor input: an object with its shape, dtype and device (InputMeta, or the saved input itself)."""
        metas = self._metas
        if metas is None:
            if self.freed:
                raise RuntimeError(_FREED)
            return tuple([a for a in self._args if a.__class__ is Tensor])
        return tuple([InputMeta.of_triple(m) if m.__class__ is tuple else m for m in metas])

    @property
    def needs_input_grad(self) -> tuple:
        """Per tensor input: whether it requires grad (derived from the edges on each read: a rule reads it once,
        and a cache would be one more store on every recorded call)."""
        edges = self.next_functions
        if len(edges) == 2:
            return (edges[0] is not None, edges[1] is not None)
        return tuple([e is not None for e in edges])

    @property
    def trace(self):
        """The forward call's stack, kept only in anomaly mode (in a side table: recording then stores nothing
        for it)."""
        return _TRACES.get(self)

    @property
    def ctx(self):
        return self

    @property
    def node(self):
        return self

    @property
    def inputs(self) -> tuple:
        if self.freed:
            raise RuntimeError(_FREED)
        versions = self._versions
        if versions is None:
            return self._unpacked_args()
        args = self._args
        i = 0
        for a in args:
            if a.__class__ is Tensor:
                if a._version[0] != versions[i]:
                    raise RuntimeError(modified_message(a.dtype, a.device, a._data.shape, a._version[0], versions[i]))
                i += 1
        return args

    @property
    def args(self) -> tuple:
        """The positional args as recorded, unchecked: saved tensors as they are, others as (shape, dtype,
        device) triples. For rules that only need the non-tensor args or which args were tensors (add, sub):
        cheaper than `inputs`, which checks versions and makes InputMetas."""
        if self.freed:
            raise RuntimeError(_FREED)
        return self._args

    def _unpacked_args(self) -> tuple:
        """The args with saved tensors unpacked and metadata triples shown as InputMetas (a user's tuple argument,
        such as dims, is told from a triple by identity with `_metas`)."""
        metas = self._metas
        out = []
        i = 0
        for a in self._args:
            if a.__class__ is SavedTensor:
                a = a.unpack(self)
            elif a.__class__ is tuple and metas is not None and i < len(metas) and a is metas[i]:
                a = InputMeta.of_triple(a)
                i += 1
            out.append(a)
        return tuple(out)

    @property
    def output(self):
        if self.freed or self._output is None:
            raise RuntimeError(_FREED if self.freed else f"{self.op.name} did not save its output")
        outs = tuple(o.unpack(self) for o in self._output)
        return outs if len(outs) > 1 else outs[0]

    def checked_input(self, index: int):
        """Positional arg `index` as recorded, its version checked alone: for a rule whose formula reads one saved
        input (where's condition) while the others may be modified in place afterwards, as PyTorch allows. (An op
        that saved no inputs gives its (shape, dtype, device) triple, as `args` does.)"""
        if self.freed:
            raise RuntimeError(_FREED)
        args, versions = self._args, self._versions
        a = args[index]
        if versions is not None and a.__class__ is Tensor:
            k = sum(1 for b in args[:index] if b.__class__ is Tensor)
            if a._version[0] != versions[k]:
                raise RuntimeError(modified_message(a.dtype, a.device, a._data.shape, a._version[0], versions[k]))
        return a

    def saved_output(self, index: int):
        """Output `index` of a multi-output op that saved its outputs, checked against in-place changes alone: a
        rule that needs only the indices of (values, indices) lets the values be modified in place afterwards, as
        PyTorch's (which saves only what the formula reads)."""
        if self.freed or self._output is None:
            raise RuntimeError(_FREED if self.freed else f"{self.op.name} did not save its output")
        return self._output[index].unpack(self)

    @property
    def out_meta(self) -> tuple:
        return self._out_metas if self._out_metas is not None else (self.meta,)

    def apply(self, grads):
        if self.freed:
            raise RuntimeError(_FREED)
        return self.op.vjp(self, *grads) if self.n_outputs > 1 else self.op.vjp(self, grads[0])

    def release(self):
        self.freed = True
        if self._versions is not None:
            self._args = None   # the saved inputs (input_meta is read before the release)
        else:
            for a in self._args:
                if a.__class__ is SavedTensor:
                    a.release()
                elif a.__class__ is tuple and self.op.list_input:
                    for x in a:
                        if x.__class__ is SavedTensor:
                            x.release()
        self._output = None


class OpNodeFull(OpNode):
    """An OpNode with several outputs, hooks or retained grads: the same slots (so a node's class can change in
    place), with OpNode's class defaults unshadowed."""

    __slots__ = ()
    n_outputs = Node.__dict__["n_outputs"]
    _out_metas = _OpNodeSlots.__dict__["_out_metas"]
    pre_hooks = Node.__dict__["pre_hooks"]
    retained = Node.__dict__["retained"]


def full_node(node):
    """`node`, made an OpNodeFull if it is a plain OpNode (any other node is returned as it is)."""
    if node.__class__ is OpNode:
        node.__class__ = OpNodeFull
        node.n_outputs, node._out_metas, node.pre_hooks, node.retained = 1, None, None, None
    return node


_new = object.__new__
# anomaly mode's forward traces of OpNodes (OpNode.trace), dropped with their node
_TRACES = _weakref.WeakKeyDictionary()


def record(op, args, kwargs, result, meta) -> None:
    """Attach a graph node to `result` when a tensor input requires grad (called by OpDef.__call__).

    The hot path of every differentiable call under autograd: one OpNode and per tensor input one edge, built
    without __init__ calls; an op that saves its inputs keeps the args tuple as it is (plus the versions), any
    other op one (shape, dtype, device) triple per tensor input. Calls of one tensor, or of a tensor and one
    more argument, with one output (the unary and binary ops: most calls) go to record_small."""
    if op.list_input:
        return _record_lists(op, args, kwargs, result, meta)
    if op.vjp is None:
        tensors = [a for a in args if a.__class__ is Tensor]
        if any(t._requires_grad for t in tensors):
            _attach_missing_rule(op, result, tensors)
        return
    if not 0 < len(args) < 3 or result.__class__ is tuple or FLAGS.anomaly or args[0].__class__ is not Tensor:
        return _record_any(op, args, kwargs, result, meta)
    record_small(op, args, kwargs, result, meta)


def record_small(op, args: tuple, kwargs: dict, result: Tensor, meta) -> None:
    """record() for a call whose `args` are (tensor,) or (tensor, tensor or other value), with one tensor
    result, of an op that takes no lists: the cpu shortcuts of unary and binary ops call it directly (anything
    else goes to record). The hottest path of autograd, so it builds the node without lists or helper calls,
    and edge_of's common cases are inline (a tensor that is no view and has a grad_fn; a leaf whose edge its
    extras keep): each Python call here costs ~50 ns, as much as five of the node's stores. Its callers never
    pass an op that takes lists (record checks; the shortcuts' ops are pointwise), so that is not checked here."""
    if op.vjp is None or FLAGS.anomaly:
        if op.differentiable:  # (a shortcut's op that is not differentiable records nothing)
            record(op, args, kwargs, result, meta)
        return
    a = args[0]
    if len(args) == 2:
        b = args[1]
        if b.__class__ is not Tensor:  # (a tensor and a non-tensor argument: x * 2.0, sum(x, dim))
            b = None
    else:
        b = None
    ea = eb = None
    if a._requires_grad:
        if a._base is not None:  # a view: edge_of checks whether its base was written in place
            ea = edge_of(a)
        else:
            fn = a.grad_fn
            ex = a._extra
            if fn is not None:
                ea = (fn, ex.get("output_nr", 0)) if ex else (fn, 0)
            elif ex is None or (ea := ex.get("edge")) is None:  # a leaf whose edge is not made yet
                ea = edge_of(a)
    if b is not None and b._requires_grad:
        if b._base is not None:
            eb = edge_of(b)
        else:
            fn = b.grad_fn
            ex = b._extra
            if fn is not None:
                eb = (fn, ex.get("output_nr", 0)) if ex else (fn, 0)
            elif ex is None or (eb := ex.get("edge")) is None:
                eb = edge_of(b)
    node = OpNode()
    node.op = op
    node.next_functions = (ea,) if b is None else (ea, eb)
    node.freed = False
    node.kwargs = kwargs
    save = op.save
    if save == "inputs":
        node._args = args
        node._metas = node._output = None
        node._versions = (a._version[0],) if b is None else (a._version[0], b._version[0])
        node._meta = meta  # None: `meta` infers it again when asked
    else:
        _keep_small(node, save, args, a, b, result, meta)
    if result.dtype.kind >= 2:  # only floating and complex outputs carry gradient
        result.grad_fn = node
        result._requires_grad = True


def _keep_small(node, save: str, args: tuple, a: Tensor, b, result: Tensor, meta) -> None:
    """What record_small's node keeps for an op that saves its output, both, or nothing."""
    if save == "both":
        node._args = args
        node._metas = None
        node._versions = (a._version[0],) if b is None else (a._version[0], b._version[0])
        node._meta = meta
    else:
        m = (a._data.shape, a.dtype, a.device)
        if b is not None:
            node._args = node._metas = (m, (b._data.shape, b.dtype, b.device))
        elif len(args) == 2:
            node._args = (m, args[1])
            node._metas = (m,)
        else:
            node._args = node._metas = (m,)
        node._versions = None
        node._meta = meta if meta is not None else (result._data.shape, result.dtype, result.device)
    node._output = (_saved_output(result, 0),) if save == "output" or save == "both" else None


def _record_any(op, args, kwargs, result, meta) -> None:
    """record() for any other call: a loop over the arguments, then _attach."""
    save = op.save
    save_inputs = save == "inputs" or save == "both"
    edges = []
    per_input = []  # saved inputs: their versions; otherwise their (shape, dtype, device) triples
    kept = []       # otherwise: args with each tensor replaced by its triple
    only_tensors = True
    for a in args:
        if a.__class__ is not Tensor:
            kept.append(a)
            only_tensors = False
            continue
        edges.append(edge_of(a))
        if save_inputs:
            per_input.append(a._version[0])
        else:
            m = (a._data.shape, a.dtype, a.device)
            kept.append(m)
            per_input.append(m)
    if save_inputs:
        _attach(op, tuple(edges), None, tuple(per_input), args, kwargs, result, meta, save == "both")
        return
    kept = tuple(kept)
    _attach(op, tuple(edges), kept if only_tensors else tuple(per_input), None, kept, kwargs, result, meta,
            save == "output")


def _attach(op, edges: tuple, metas, versions, args: tuple, kwargs, result, meta, save_output: bool) -> None:
    """Build the call's OpNode and make it the grad_fn of its floating outputs. metas: the inputs' (shape, dtype,
    device) triples (InputMetas for list inputs), or None when `args` holds the saved input tensors themselves,
    with their `versions` at the call."""
    node = OpNode() if result.__class__ is not tuple else full_node(OpNode())
    node.op = op
    node.next_functions = edges
    node._metas = metas
    node._versions = versions
    node._args = args
    node.freed = False
    if FLAGS.anomaly:
        _TRACES[node] = forward_trace()
    node.kwargs = kwargs
    if meta is None and versions is None:  # (with saved inputs, `meta` infers it again when asked)
        meta = (result._data.shape, result.dtype, result.device) if result.__class__ is not tuple else None
    node._meta = meta
    if result.__class__ is tuple:
        _attach_outputs(node, result, save_output)
        return
    node._output = (_saved_output(result, 0),) if save_output else None
    if result.dtype.kind >= 2:  # only floating and complex outputs carry gradient
        result.grad_fn = node
        result._requires_grad = True


def _saved_output(o: Tensor, index: int) -> SavedTensor:
    s = _new(SavedTensor)
    s.tensor = None
    s.data = o._data
    s.counter = c = o._version
    s.version = c[0]
    s.out_index = index
    s.shape = o._data.shape
    s.dtype = o.dtype
    s.device = o.device
    return s


def _attach_outputs(node, result: tuple, save_output: bool) -> None:
    node.n_outputs = len(result)
    node._out_metas = tuple([InputMeta(o) for o in result])
    node._output = tuple([_saved_output(o, i) for i, o in enumerate(result)]) if save_output else None
    for i, o in enumerate(result):
        if o.dtype.kind >= 2:  # only floating and complex outputs carry gradient
            o.grad_fn = node
            o._requires_grad = True
            if i:
                o._extra = {"output_nr": i}


def _record_lists(op, args, kwargs, result, meta) -> None:
    """record() for ops whose positional arguments may be lists of tensors (cat, stack)."""
    args = _flatten_args(args)
    tensors = []
    for a in args:
        if a.__class__ is Tensor:
            tensors.append(a)
        elif a.__class__ is tuple:
            tensors.extend(x for x in a if x.__class__ is Tensor)
    if not any(t._requires_grad for t in tensors):
        return
    if op.vjp is None:
        _attach_missing_rule(op, result, tensors)
        return
    save = op.save
    metas = tuple([InputMeta(t) for t in tensors])
    if save == "inputs" or save == "both":
        kept = tuple([SavedTensor(a) if a.__class__ is Tensor else
                      (tuple(SavedTensor(x) for x in a) if a.__class__ is tuple else a) for a in args])
    else:
        it = iter(metas)
        kept = tuple([next(it) if a.__class__ is Tensor else
                      (tuple(next(it) for _ in a) if a.__class__ is tuple else a) for a in args])
    _attach(op, tuple([edge_of(t) for t in tensors]), metas, None, kept, kwargs, result, meta,
            save == "output" or save == "both")


def _flatten_args(args):
    """Lists of tensors (cat, stack) become tuples, so a vjp sees the same structure of saved tensors."""
    flat = []
    for a in args:
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            flat.append(tuple(a))
        else:
            flat.append(a)
    return flat


class _MissingRule:
    """The grad_fn of a result whose op has no backward rule: backward through it raises, never a silent zero."""

    def __init__(self, op):
        self.name = op.name
        self.backward_name = f"{''.join(p.capitalize() for p in op.name.split('_'))}Backward0"

    def vjp(self, ctx, *grads):
        raise RuntimeError(f"the derivative for '{self.name}' is not implemented")


def _attach_missing_rule(op, result, tensors):
    if not op.differentiable:
        return
    node = Node(_MissingRule(op), _NoCtx(), tuple(edge_of(t) for t in tensors), tuple(InputMeta(t) for t in tensors),
                op.n_outputs if op.n_outputs == 1 else len(result))
    for o in (result if isinstance(result, tuple) else (result,)):
        if o.dtype.kind >= 2:
            o.grad_fn = node
            o._requires_grad = True


class _NoCtx:
    def release(self):
        pass


# ------------------------------------------------------------------------------------------------ engine

def _reduce_to(g: Tensor, shape: tuple, dtype, device) -> Tensor:
    """Make a gradient fit its input: sum broadcast dims, cast to the input's dtype, move to its device."""
    gs = tuple(g._data.shape)
    if gs != shape:
        lead = len(gs) - len(shape)
        dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and gs[lead + i] != 1)
        if dims:
            g = g.sum(dim=dims, keepdim=True)
        if lead:
            g = g.reshape(shape)
        elif tuple(g._data.shape) != shape:
            g = g.reshape(shape)
    if g.dtype is not dtype:
        if g.dtype.kind == _dt.COMPLEX and dtype.kind != _dt.COMPLEX:
            from ..ops.complex import real
            g = real(g)   # a real input of an op with a complex result: the real part (PyTorch's handle_r_to_c)
        g = g.to(dtype)
    if g.device is not device:
        g = g.to(device)
    return g


def _add_grads(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def run_backward(outputs, grad_outputs, retain_graph: bool, create_graph: bool, inputs=None,
                 accumulate: bool = True, allow_unused: bool = False):
    """Propagate `grad_outputs` from `outputs` through the graph.

    accumulate=True (Tensor.backward): add into the .grad of leaves (or of `inputs` only).
    accumulate=False (autograd.grad): return the gradients of `inputs`, touching no .grad.

    Nodes are dict keys by identity. Each node's incoming gradients gather in a buffer (one slot per output);
    a node runs once every edge into it has delivered (dependency counts from one pass over the graph)."""
    roots = []
    for t, g in zip(outputs, grad_outputs):
        e = _edge(t)
        if e is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        roots.append((e, g))

    # Which (node, output_nr) pairs are captured for autograd.grad / backward(inputs=...)
    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            e = _edge(t)
            if e is None:
                if not allow_unused and not accumulate:
                    raise RuntimeError("One of the differentiated Tensors does not require grad")
                continue
            capture.setdefault(e, []).append(i)

    deps = _dependencies([e[0] for e, _ in roots])
    # with `inputs`, only the nodes on a path to one of them run (as in PyTorch: autograd.grad(loss, hidden)
    # computes nothing upstream of `hidden`, and hooks of tensors off those paths do not fire)
    captured = {n for n, _ in capture}
    execute = None if inputs is None else _on_paths_to([e[0] for e, _ in roots], captured, accumulate)
    buffers: dict = {}
    for (node, idx), g in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node.n_outputs if node.__class__ is not AccumulateGrad else [None]
        buf[idx] = g if buf[idx] is None else buf[idx] + g
    ready = list({n: None for (n, _), _ in roots if deps.get(n, 0) == 0})
    results = [None] * (len(inputs) if inputs is not None else 0)
    anomaly = FLAGS.anomaly and FLAGS.anomaly_check_nan

    prev = (STATE.enabled, STATE.inference)
    STATE.enabled = bool(create_graph)
    autocast = _AUTOCAST.devices
    if autocast:   # backward runs in the dtypes the forward's recorded casts fixed, not the region's
        _AUTOCAST.devices = {}
    tasks = STATE.__dict__.setdefault("tasks", [])
    tasks.append(_Task(deps, execute, roots))
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is None:
                continue
            if execute is not None and node not in execute and node not in captured:
                continue   # off every path to `inputs`: neither run nor hooked
            hooks = node.pre_hooks
            if hooks:
                grads = _run_pre_hooks(node, grads)
            if capture:
                for i, g in enumerate(grads):
                    pos = capture.get((node, i))
                    if pos is not None and g is not None:
                        for p in pos:
                            results[p] = g
            if execute is not None and node not in execute:
                continue
            cls = node.__class__
            if cls is AccumulateGrad:
                if hooks and _NODE_PRE in hooks:
                    grads = _run_node_pre_hooks(hooks, grads)
                if accumulate and (inputs is None or (node, 0) in capture):
                    _accumulate(node, grads, create_graph)
                if hooks and _NODE_POST in hooks:
                    _run_node_post_hooks(hooks, (), grads)
                continue
            if node.retained:
                for i, ref in node.retained.items():
                    t = ref()
                    if t is not None and grads[i] is not None:
                        t._grad = grads[i] if t._grad is None else t._grad + grads[i]
            if hooks and _NODE_PRE in hooks:
                grads = _run_node_pre_hooks(hooks, grads)
            try:
                if cls is OpNode:  # (one output) the common case, without apply's frame
                    if node.freed:
                        raise RuntimeError(_FREED)
                    g0 = grads[0]
                    in_grads = node.op.vjp(node, g0 if g0 is not None else _dense(g0, node))
                elif node.n_outputs == 1:
                    g0 = grads[0]
                    in_grads = node.apply((g0 if g0 is not None else _dense(g0, node),))
                else:
                    in_grads = node.apply(grads)
            except Exception as exc:
                if node.trace is not None:
                    exc.args = (f"{exc.args[0] if exc.args else exc}\n\nForward call of {node.name()}:\n"
                                + "".join(node.trace),) + exc.args[1:]
                raise
            if in_grads.__class__ is not tuple and in_grads.__class__ is not list:
                in_grads = (in_grads,)
            if hooks and _NODE_POST in hooks:
                in_grads = _run_node_post_hooks(hooks, in_grads, grads)
            if anomaly:
                _check_anomaly(node, in_grads)
            metas = node._metas if cls is OpNode else node.input_meta
            if metas is None:  # saved inputs: the tensors are their own metadata
                metas = node._args
                edges = node.next_functions
                # args that are all tensors, or a tensor then Python values (x * 2.0, sum(x, dim)), line up with the
                # edges (zip stops at the last edge); any other order is sorted out by input_meta
                if len(metas) != len(edges) and (len(edges) != 1 or metas[0].__class__ is not Tensor):
                    metas = node.input_meta
            if not retain_graph:
                if cls is OpNode and not node.op.list_input:
                    # release(), inlined: saved tensors go as soon as the node ran (metas holds saved inputs to
                    # the end of this iteration); other args are metadata triples and non-tensor values
                    node.freed = True
                    if node._versions is not None:
                        node._args = None
                    node._output = None
                elif cls is OpNode:
                    node.freed = True
                    for a in node._args:
                        if a.__class__ is SavedTensor:
                            a.tensor = a.data = None
                        elif a.__class__ is tuple:
                            for x in a:
                                if x.__class__ is SavedTensor:
                                    x.tensor = x.data = None
                    node._output = None
                else:
                    node.release()
            for edge, g, meta in zip(node.next_functions, in_grads, metas):
                if edge is None:
                    continue
                nxt, idx = edge
                if g is not None:
                    if meta.__class__ is tuple:
                        shape, dtype, dev = meta
                    elif meta.__class__ is Tensor:
                        shape, dtype, dev = meta._data.shape, meta.dtype, meta.device
                    else:
                        shape, dtype, dev = meta.shape, meta.dtype, meta.device
                    if g._data.shape != shape or g.dtype is not dtype or g.device is not dev:
                        g = _reduce_to(g, tuple(shape), dtype, dev)
                    buf = buffers.get(nxt)
                    if buf is None:
                        if nxt.__class__ is AccumulateGrad or nxt.n_outputs == 1:
                            buffers[nxt] = [g]
                        else:
                            buf = buffers[nxt] = [None] * nxt.n_outputs
                            buf[idx] = g
                    else:
                        buf[idx] = g if buf[idx] is None else buf[idx] + g
                d = deps[nxt] - 1
                if d:
                    deps[nxt] = d
                else:
                    ready.append(nxt)
            # drop this frame's references, so a gradient held only by a buffer can become a leaf's .grad as is
            in_grads = g = grads = metas = None
    finally:
        task = tasks.pop()
        STATE.enabled, STATE.inference = prev
        if autocast:
            _AUTOCAST.devices = autocast
    if task.callbacks:
        callbacks = task.callbacks
        tasks.append(task)   # (a callback may queue another: it runs too)
        try:
            while callbacks:
                callbacks.pop(0)()
        finally:
            tasks.pop()
    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
        return tuple(results)
    return None


def _dependencies(starts) -> dict:
    """For every node reachable from `starts`: how many edges lead into it (iterative DFS, no recursion)."""
    deps: dict = {}
    seen = set(starts)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            nxt = edge[0]
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _edge(x):
    """The (node, output_nr) edge of a tensor (None when it does not require grad) or of a GradientEdge."""
    return edge_of(x) if x.__class__ is Tensor or isinstance(x, Tensor) else (x.node, x.output_nr)


def _on_paths_to(roots: list, targets: set, include_targets: bool) -> set:
    """The nodes reachable from `roots` from which a path leads to one of `targets`; the targets themselves too
    when `include_targets` (backward(inputs=...) runs the nodes of its inputs, autograd.grad only reads what
    reaches them). One iterative post-order walk."""
    on_path: set = set()
    done: set = set()
    for start in roots:
        if start in done:
            continue
        stack = [(start, iter(e[0] for e in start.next_functions if e is not None))]
        done.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is not None:
                if child not in done:
                    done.add(child)
                    stack.append((child, iter(e[0] for e in child.next_functions if e is not None)))
                continue
            stack.pop()
            if any(e is not None and (e[0] in on_path or e[0] in targets) for e in node.next_functions):
                on_path.add(node)
    if include_targets:
        on_path |= targets
    return on_path


_TASK_IDS = _itertools.count()


class _Task:
    """One backward pass (a "graph task"), for the hooks that ask which nodes it runs
    (autograd.graph.register_multi_grad_hook)."""

    __slots__ = ("id", "deps", "execute", "roots", "callbacks")

    def __init__(self, deps, execute, roots):
        self.id = next(_TASK_IDS)
        self.deps, self.execute, self.roots = deps, execute, roots
        self.callbacks = None   # queue_callback's, run once the pass has finished

    def will_execute(self, node) -> bool:
        if self.execute is not None:
            return node in self.execute
        return node in self.deps or any(node is n for (n, _), _ in self.roots)


def current_task():
    """The innermost backward pass running on this thread, or None."""
    tasks = STATE.__dict__.get("tasks")
    return tasks[-1] if tasks else None


def queue_callback(callback) -> None:
    """Run callback() once the backward pass running now has finished (PyTorch's
    Variable._execution_engine.queue_callback); only inside a backward pass (a hook)."""
    task = current_task()
    if task is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    if task.callbacks is None:
        task.callbacks = []
    task.callbacks.append(callback)


def _dense(g, node):
    if g is None:
        # an output that received no gradient (e.g. unused) counts as zeros
        m = node.ctx.out_meta[0]
        from ..ops.creation import zeros
        return zeros(*m.shape, dtype=m.dtype, device=m.device)
    return g


# Keys of a node's own hooks (Node.register_prehook / register_hook) in its pre_hooks dict, next to the
# output numbers of its tensors' hooks: the engine's one check of pre_hooks covers both.
_NODE_PRE, _NODE_POST = "node_pre", "node_post"


def _run_pre_hooks(node, grads):
    """The hooks of the node's output tensors (Tensor.register_hook), each on its tensor's gradient."""
    hooks = node.pre_hooks
    if not hooks:
        return grads
    grads = list(grads)
    for i, fns in hooks.items():
        if i.__class__ is not int:
            continue
        for fn in list(fns):
            if grads[i] is None:
                continue
            r = fn(grads[i])
            if r is not None:
                grads[i] = r
    return grads


def _hook_result(fn, r, n: int) -> list:
    name = getattr(fn, "__name__", type(fn).__name__)
    if not isinstance(r, (tuple, list)):
        raise TypeError(f"expected tuple, but hook '{name}' returned '{type(r).__name__}'")
    if len(r) != n:
        raise RuntimeError(f"hook '{name}' has returned an incorrect number of values (got {len(r)}, but expected "
                           f"{n})")
    return list(r)


def _run_node_pre_hooks(hooks, grads):
    """Node.register_prehook's hooks: fn(grad_outputs) -> new grad_outputs or None."""
    for fn in list(hooks[_NODE_PRE]):
        r = fn(tuple(grads))
        if r is not None:
            grads = _hook_result(fn, r, len(grads))
    return grads


def _run_node_post_hooks(hooks, in_grads, grads):
    """Node.register_hook's hooks: fn(grad_inputs, grad_outputs) -> new grad_inputs or None."""
    for fn in list(hooks[_NODE_POST]):
        r = fn(tuple(in_grads), tuple(grads))
        if r is not None:
            in_grads = _hook_result(fn, r, len(in_grads))
    return in_grads


def _accumulate(acc: AccumulateGrad, grads: list, create_graph: bool):
    """Add grads[0] into the leaf's .grad. A fresh gradient that nothing else holds becomes .grad as it is (as
    PyTorch steals it); one that is shared (a + b sends one tensor to both leaves), a view, or the caller's own
    tensor is copied, so that in-place changes to one .grad (zero_, clipping) never reach another tensor."""
    leaf = acc.leaf_ref()
    g = grads[0]
    if leaf is None or g is None:
        return
    extra = leaf._extra
    if extra and "grad_dtype" in extra:   # a set Tensor.grad_dtype: the gradient arrives in it (None: as it comes)
        want = extra["grad_dtype"]
        if want is not None and g.dtype is not want:
            g = grads[0] = g.to(want)
    if create_graph:
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif g.grad_fn is None and leaf._grad is None:
        grads[0] = None
        # references now: `g` here and getrefcount's argument; anything more is another holder. A NumPy view
        # (a reshaped gradient) may be kept too when nothing else holds its base (the view's own reference and
        # getrefcount's argument: no other array shares that memory) and it is writeable.
        d = g._data
        if g._base is not None or _sys.getrefcount(g) > 2 or (
                d.__class__ is _np.ndarray and d.base is not None
                and (_sys.getrefcount(d.base) > 2 or not d.flags.writeable)):
            g = g.clone()
        leaf._grad = g
    else:
        if g.grad_fn is not None:
            g = g.detach()
        leaf._grad = g.clone() if leaf._grad is None else leaf._grad + g
    if acc.post_hooks:
        for hook in list(acc.post_hooks):
            hook(leaf)


def _check_anomaly(node, in_grads):
    from ..ops import reduce as _r  # noqa: F401
    for i, g in enumerate(in_grads):
        if g is None or g.dtype.kind != 2:
            continue
        finite = g.isfinite().all().item()
        if not finite:
            where = "".join(node.trace) if node.trace else ""
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                               f"Traceback of forward call that caused the error:\n{where}")
