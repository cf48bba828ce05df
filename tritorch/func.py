"""tritorch.func: PyTorch's function transforms (torch.func) on the define-by-run engine.

functional_call, stack_module_state, grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap,
functionalize, replace_all_batch_norm_modules_, debug_unwrap.

- The derivative transforms run the engine in reverse mode. Each one differentiates fresh aliases of its inputs,
  with create_graph when an input already carries history (an enclosing transform is differentiating it), so
  they compose: grad(grad(f)), jacrev(grad(f)), vmap(grad(f)) for per-sample gradients.
- jvp is the double-vjp trick; linearize keeps that trick's graph (linear in the tangents) and replays it per call;
  jacfwd computes the same Jacobian as jacrev (tritorch has no forward mode), so its
  cost is one backward per output element rather than one forward per input element.
- vmap runs the function once per index of the mapped dimension and stacks the results: PyTorch's semantics
  (in_dims/out_dims, nested structures, nesting), without its batching rules, so it costs B calls. Random ops
  inside draw independently per sample (PyTorch's randomness="different").
Inputs and outputs may be tensors or nested tuples/lists/dicts of tensors (and other leaves passed through).
"""
from __future__ import annotations

import contextlib

from .autograd.grad_mode import enable_grad
from .autograd.tensor_methods import grad as _autograd_grad
from ._einops import rearrange  # noqa: F401  (torch.func.rearrange)
from .tensor import Tensor

__all__ = ["functional_call", "stack_module_state", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "hessian", "vmap", "functionalize", "replace_all_batch_norm_modules_", "debug_unwrap",
           "rearrange"]


def _tt():
    import tritorch
    return tritorch


# ============================================================================================== pytrees

def _flatten(tree):
    """(leaves, rebuild) where rebuild(new_leaves) gives the same structure with new leaves."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(x) for x in tree]
        counts = [len(p[0]) for p in parts]

        def rebuild(leaves, parts=parts, counts=counts, kind=type(tree)):
            out, i = [], 0
            for (_, rb), c in zip(parts, counts):
                out.append(rb(leaves[i:i + c]))
                i += c
            return kind(out) if kind in (tuple, list) else kind(*out)
        return [leaf for p in parts for leaf in p[0]], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
        counts = [len(p[0]) for p in parts]

        def rebuild(leaves, parts=parts, counts=counts, keys=keys, kind=type(tree)):
            out, i = {}, 0
            for k, (_, rb), c in zip(keys, parts, counts):
                out[k] = rb(leaves[i:i + c])
                i += c
            return kind(out)
        return [leaf for p in parts for leaf in p[0]], rebuild
    return [tree], lambda leaves: leaves[0]


def _tensor_leaves(tree, what: str) -> tuple:
    leaves, rebuild = _flatten(tree)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise ValueError(f"{what}: expected only tensors as inputs to differentiate, got {type(x).__name__}")
    return leaves, rebuild


# ======================================================================================== functional_call

@contextlib.contextmanager
def _swapped(module, values: dict, strict: bool):
    """module's parameters/buffers named in `values` (dotted names) replaced by the given tensors for the block."""
    known = dict(module.named_parameters(remove_duplicate=False))
    known.update(dict(module.named_buffers(remove_duplicate=False)))
    if strict:
        missing = sorted(set(known) - set(values))
        unexpected = sorted(set(values) - set(known))
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
    saved = []
    try:
        for name, value in values.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            table = owner._parameters if attr in owner._parameters else (
                owner._buffers if attr in owner._buffers else None)
            if table is None:
                if strict:
                    raise RuntimeError(f"functional_call: {type(module).__name__} has no parameter or buffer '{name}'")
                saved.append((owner, attr, None, owner.__dict__.get(attr, _MISSING)))
                object.__setattr__(owner, attr, value)
                continue
            saved.append((owner, attr, table, table[attr]))
            table[attr] = value
        yield
    finally:
        for owner, attr, table, old in reversed(saved):
            if table is not None:
                table[attr] = old
            elif old is _MISSING:
                owner.__dict__.pop(attr, None)
            else:
                object.__setattr__(owner, attr, old)


_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """module(*args, **kwargs) with its parameters and buffers (by their state-dict names) taken from the given
    dict(s) for the call only; the module is left as it was."""
    dicts = parameter_and_buffer_dicts if isinstance(parameter_and_buffer_dicts, (tuple, list)) \
        else (parameter_and_buffer_dicts,)
    values = {}
    for d in dicts:
        for k, v in d.items():
            if k in values:
                raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is ambiguous")
            values[k] = v
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, values, strict):
        return module(*args, **(kwargs or {}))


# ====================================================================================== reverse mode

def _alias(t: Tensor) -> Tensor:
    """A differentiable stand-in for t: a view that keeps t's history when t already has one (an enclosing
    transform differentiates through it), else a fresh leaf."""
    if t.requires_grad:
        return t.view_as(t)
    return t.detach().requires_grad_(True)


def _argnums(argnums, n: int) -> tuple:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("grad: argnums must be non-empty")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _prepare(args: tuple, argnums, what: str):
    """(call args with the differentiated ones aliased, flat aliases, rebuild per argnum, create_graph)."""
    nums = _argnums(argnums, len(args))
    call = list(args)
    flat, rebuilds, nested = [], [], False
    for a in nums:
        leaves, rebuild = _tensor_leaves(args[a], what)
        nested = nested or any(x.requires_grad for x in leaves)
        aliases = [_alias(x) for x in leaves]
        call[a] = rebuild(aliases)
        flat.append(aliases)
        rebuilds.append(rebuild)
    return call, nums, flat, rebuilds, nested


def _grads(out: Tensor, inputs: list, create_graph: bool) -> list:
    if not inputs:   # (an argument with no tensors in it: nothing to differentiate)
        return []
    gs = _autograd_grad([out], inputs, create_graph=create_graph, allow_unused=True)
    return [g if g is not None else x.new_zeros(tuple(x.shape)).detach() for g, x in zip(gs, inputs)]


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """A function returning (gradient of func's scalar output with respect to args[argnums], value), each
    gradient shaped as its argument (a tuple for a tuple of argnums)."""
    def wrapper(*args, **kwargs):
        with enable_grad():
            call, nums, flat, rebuilds, nested = _prepare(args, argnums, "grad")
            result = func(*call, **kwargs)
            if has_aux:
                if not isinstance(result, tuple) or len(result) != 2:
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                       "(output, aux) if has_aux is True")
                out, aux = result
            else:
                out, aux = result, None
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out).__name__}")
            if out.numel() != 1:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                                   f"instead?")
            all_inputs = [x for aliases in flat for x in aliases]
            if out.requires_grad:
                gs = _grads(out, all_inputs, nested)
            else:
                gs = [x.new_zeros(tuple(x.shape)) for x in all_inputs]
        per_arg, i = [], 0
        for aliases, rebuild in zip(flat, rebuilds):
            per_arg.append(rebuild(gs[i:i + len(aliases)]))
            i += len(aliases)
        g = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
        value = out if nested else out.detach()
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """A function returning the gradient of func's scalar output with respect to args[argnums] (and aux)."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]); vjp_fn(cotangents) returns one gradient per primal."""
    with enable_grad():
        call, nums, flat, rebuilds, nested = _prepare(primals, tuple(range(len(primals))), "vjp")
        result = func(*call)
        out, aux = result if has_aux else (result, None)
    out_leaves, out_rebuild = _tensor_leaves(out, "vjp")
    inputs = [x for aliases in flat for x in aliases]

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        ct, _ = _tensor_leaves(cotangents, "vjp")
        if len(ct) != len(out_leaves):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function ({len(ct)} vs {len(out_leaves)} tensors)")
        pairs = [(o, c) for o, c in zip(out_leaves, ct) if o.requires_grad]
        cg = nested or any(c.requires_grad for c in ct) if create_graph is None else create_graph
        with enable_grad():
            gs = _autograd_grad([o for o, _ in pairs], inputs, [c for _, c in pairs], retain_graph=True,
                                create_graph=cg, allow_unused=True) if pairs and inputs else [None] * len(inputs)
        gs = [g if g is not None else x.new_zeros(tuple(x.shape)) for g, x in zip(gs, inputs)]
        per_arg, i = [], 0
        for aliases, rebuild in zip(flat, rebuilds):
            per_arg.append(rebuild(gs[i:i + len(aliases)]))
            i += len(aliases)
        return tuple(per_arg)

    shown = out if nested else out_rebuild([o.detach() for o in out_leaves])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), the directional derivative along tangents), by differentiating a vjp with respect to its
    cotangent (the double-vjp trick)."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    result = vjp(func, *primals, has_aux=has_aux)
    out, fn = result[0], result[1]
    out_leaves, out_rebuild = _tensor_leaves(out, "jvp")
    with enable_grad():
        dummies = [o.detach().new_zeros(tuple(o.shape)).requires_grad_(True) for o in out_leaves]
        gs = fn(out_rebuild(dummies), create_graph=True)
        flat_g = [x for g in gs for x in _flatten(g)[0]]
        flat_t = [x for t in tangents for x in _flatten(t)[0]]
        pairs = [(g, t) for g, t in zip(flat_g, flat_t) if g.requires_grad]
        tj = _autograd_grad([g for g, _ in pairs], dummies, [t for _, t in pairs], allow_unused=True) \
            if pairs else [None] * len(dummies)
    tj = [t if t is not None else d.detach() * 0 for t, d in zip(tj, dummies)]
    outs = (out, out_rebuild(tj))
    return outs + (result[2],) if has_aux else outs


def linearize(func, *primals):
    """(func(*primals), jvp_fn) where jvp_fn(*tangents) is the Jacobian-vector product at primals, as
    jvp(func, primals, tangents)[1], without running func again: the linear map is kept as the graph of func's vjp
    differentiated with respect to its cotangent, and each call replays that graph."""
    out, fn = vjp(func, *primals)
    out_leaves, out_rebuild = _tensor_leaves(out, "linearize")
    flat_primals, _ = _flatten(primals)
    with enable_grad():
        dummies = [o.detach().new_zeros(tuple(o.shape)).requires_grad_(True) for o in out_leaves]
        flat_g = [x for g in fn(out_rebuild(dummies), create_graph=True) for x in _flatten(g)[0]]

    def jvp_fn(*tangents):
        flat_t, _ = _flatten(tangents)
        if len(flat_t) != len(flat_primals):
            raise RuntimeError(f"Expected the tangents to have the same argspec as the primals ({len(flat_t)} vs "
                               f"{len(flat_primals)} leaves)")
        for i, (t, p) in enumerate(zip(flat_t, flat_primals)):
            for what, a, b in (("shape", t.shape, p.shape), ("device", t.device, p.device),
                               ("dtype", t.dtype, p.dtype)):
                if a != b:
                    raise RuntimeError(f"tangent:{i} with {what} {a} in flattened pytree doesn't match the "
                                       f"{what} {b} of the corresponding primal.")
        pairs = [(g, t) for g, t in zip(flat_g, flat_t) if g.requires_grad]
        with enable_grad():
            tj = _autograd_grad([g for g, _ in pairs], dummies, [t for _, t in pairs], retain_graph=True,
                                allow_unused=True) if pairs else [None] * len(dummies)
        return out_rebuild([t.detach() if t is not None else d.detach() * 0 for t, d in zip(tj, dummies)])

    return out, jvp_fn


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """A function returning the Jacobian of func's output(s) with respect to args[argnums]: for each output, a
    tensor of shape output.shape + input.shape (nested as the outputs and argnums are)."""
    def wrapper(*args, **kwargs):
        tt = _tt()
        with enable_grad():
            call, nums, flat, rebuilds, nested = _prepare(args, argnums, "jacrev")
            result = func(*call, **kwargs)
            out, aux = result if has_aux else (result, None)
            out_leaves, out_rebuild = _tensor_leaves(out, "jacrev")
            inputs = [x for aliases in flat for x in aliases]
            per_out = []
            for o in out_leaves:
                rows = []
                flat_o = o.reshape(-1)
                for k in range(flat_o.numel()):
                    if o.requires_grad:
                        gs = _autograd_grad([flat_o[k]], inputs, retain_graph=True, create_graph=nested,
                                            allow_unused=True)
                    else:
                        gs = [None] * len(inputs)
                    rows.append([g if g is not None else x.new_zeros(tuple(x.shape)) for g, x in zip(gs, inputs)])
                jac = []
                for j, x in enumerate(inputs):
                    col = tt.stack([r[j] for r in rows]) if rows else x.new_zeros((0,) + tuple(x.shape))
                    jac.append(col.reshape(tuple(o.shape) + tuple(x.shape)))
                per_arg, i = [], 0
                for aliases, rebuild in zip(flat, rebuilds):
                    per_arg.append(rebuild(jac[i:i + len(aliases)]))
                    i += len(aliases)
                per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jacobian = out_rebuild(per_out)
        return (jacobian, aux) if has_aux else jacobian
    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The same Jacobian as jacrev (tritorch has no forward mode: computed in reverse mode)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """The Jacobian of the gradient: shape output.shape + input.shape + input.shape."""
    return jacfwd(jacrev(func, argnums), argnums)


# ================================================================================================= vmap

def _dims_for(tree, dims, what: str):
    """Per leaf of `tree`, its mapped dim (or None), from an int/None or a structure matching tree's prefix."""
    if dims is None or isinstance(dims, int):
        return [dims] * len(_flatten(tree)[0])
    if isinstance(dims, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(dims) != len(tree):
            raise ValueError(f"vmap: {what} has {len(dims)} entries but the value has {len(tree)}")
        return [d for sub, dd in zip(tree, dims) for d in _dims_for(sub, dd, what)]
    if isinstance(dims, dict) and isinstance(tree, dict):
        return [d for k in tree for d in _dims_for(tree[k], dims[k], what)]
    raise ValueError(f"vmap: {what} must be an int, None, or a structure matching the value ({type(dims).__name__} "
                     f"given)")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """func mapped over a dimension of its inputs: called once per index of the mapped dims (in_dims: per
    argument, an int, None for unmapped, or a nested structure), outputs stacked along out_dims."""
    def wrapper(*args, **kwargs):
        tt = _tt()
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if isinstance(in_dims, (tuple, list)) and len(in_dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                             f"structure of `inputs`. in_dims has structure with {len(in_dims)} entries but "
                             f"inputs has {len(args)}.")
        leaves, rebuild = _flatten(list(args))
        leaf_dims = _dims_for(list(args), list(dims), "in_dims")
        size = None
        for x, d in zip(leaves, leaf_dims):
            if d is None:
                continue
            if not isinstance(x, Tensor):
                raise ValueError(f"vmap: Got in_dim={d} for an input but the input is of type {type(x).__name__}. "
                                 "We cannot vmap over non-Tensor arguments; please use None as the respective "
                                 "in_dim")
            if not -x.dim() <= d < max(x.dim(), 1) or x.dim() == 0:
                raise ValueError(f"vmap: Got in_dim={d} for an input but the input is of dimension {x.dim()}")
            n = x.shape[d]
            if size is not None and n != size:
                raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got "
                                 f"sizes {size} and {n} for the mapped dimension")
            size = n
        if size is None:
            raise ValueError("vmap: at least one input must be mapped (in_dims not all None)")
        results = []
        for i in range(size):
            sliced = [x.select(d, i) if d is not None else x for x, d in zip(leaves, leaf_dims)]
            results.append(func(*rebuild(sliced), **kwargs))
        out_leaves0, out_rebuild = _flatten(results[0])
        per = [_flatten(r)[0] for r in results]
        odims = _dims_for(results[0], out_dims, "out_dims")
        stacked = []
        for j, d in enumerate(odims):
            col = [p[j] for p in per]
            if d is None:
                stacked.append(col[0])
                continue
            if not isinstance(col[0], Tensor):
                col = [tt.tensor(c) for c in col]
            stacked.append(tt.stack(col, d))
        return out_rebuild(stacked)
    return wrapper


# ================================================================================================ helpers

def stack_module_state(models) -> tuple:
    """(params, buffers): each parameter and buffer of the same-class modules `models` stacked along a new first
    dim (for vmap over functional_call: model ensembling). Stacked parameters are new leaves that require grad when
    the models' do."""
    tt = _tt()
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def leaf(tensors, name):
        wants = [t.requires_grad for t in tensors]
        if any(wants) and not all(wants):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        stacked = tt.stack(tensors)
        return stacked.detach().requires_grad_() if all(wants) else stacked

    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: leaf(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: leaf(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers


def functionalize(func, *, remove: str = "mutations"):
    """torch.func.functionalize: func with its in-place and view operations replaced by out-of-place ones, which
    returns the same values and mutates its inputs the same way. tritorch runs eagerly with no graph to rewrite,
    so the function is run as it is: the results are those functionalize guarantees."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place equivalents.\n     "
                           "remove='mutations_and_views': In addition to the above, all aliasing operators {view} "
                           "will be replaced with their non-aliasing counterparts, {view}_copy.\n")

    import functools

    @functools.wraps(func)
    def functionalized(*args, **kwargs):
        return func(*args, **kwargs)

    return functionalized


def replace_all_batch_norm_modules_(root):
    """Every BatchNorm module under `root` (itself included) stops tracking running statistics: running_mean,
    running_var and num_batches_tracked become None (so they are batch statistics under vmap). Returns root."""
    from .nn.modules.normalization import _BatchNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def debug_unwrap(tensor, *, recurse: bool = True):
    """The tensor a transform wraps: tritorch's transforms hand functions plain tensors, so the tensor itself."""
    return tensor
