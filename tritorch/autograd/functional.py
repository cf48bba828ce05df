"""Higher-level derivatives of a function (torch.autograd.functional): vjp, jvp, jacobian, hessian, vhp, hvp.

All are reverse mode on the define-by-run engine: a jacobian is one backward per output element (retaining the
graph), a jvp the double-vjp trick (differentiate a vjp with respect to its cotangent), a hessian the jacobian of
the gradient (computed with create_graph). They run on both devices, as the ops do.
"""
from __future__ import annotations

from ..tensor import Tensor
from .grad_mode import enable_grad
from .tensor_methods import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tt():
    import tritorch
    return tritorch


def _as_tuple(x, name: str, fn: str) -> tuple:
    if isinstance(x, Tensor):
        return (x,), False
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return tuple(x), True
    raise TypeError(f"The {name} given to {fn} must be either a Tensor or a tuple of Tensors but the given value "
                    f"is of type {type(x).__name__}.")


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs the function is differentiated at: fresh leaves, or (create_graph) views that keep their history."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _finish(grads, inputs, strict: bool, fn: str) -> tuple:
    tt = _tt()
    out = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   f"not allowed in strict mode.")
            g = tt.zeros_like(x)
        out.append(g)
    return tuple(out)


def _output(outputs, create_graph: bool):
    if create_graph:
        return outputs
    return tuple(o.detach() for o in outputs)


def _restore(values: tuple, is_tuple: bool):
    return values if is_tuple else values[0]


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    tt = _tt()
    inputs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, out_tuple = _as_tuple(func(*xs), "outputs of the user-provided function", "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            vs = (tt.ones_like(outputs[0]),)
        else:
            vs, _ = _as_tuple(v, "v", "vjp")
        needed = [(o, w) for o, w in zip(outputs, vs) if o.requires_grad]
        grads = _grad([o for o, _ in needed], xs, [w for _, w in needed], create_graph=create_graph,
                      allow_unused=True) if needed else (None,) * len(xs)
    return _restore(_output(outputs, create_graph), out_tuple), \
        _restore(_finish(grads, inputs, strict, "vjp"), in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product at inputs (the double-vjp trick)."""
    tt = _tt()
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                               "Tensor with a single element.")
        vs = (tt.ones_like(inputs[0]),)
    else:
        vs, _ = _as_tuple(v, "v", "jvp")
    with enable_grad():
        xs = _prepare(inputs, True)
        outputs, out_tuple = _as_tuple(func(*xs), "outputs of the user-provided function", "jvp")
        us = tuple(tt.zeros_like(o).requires_grad_(True) for o in outputs)   # the cotangents, as variables
        g = _grad(outputs, xs, us, create_graph=True, allow_unused=True)
        pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi is not None]
        if pairs:
            result = _grad([gi for gi, _ in pairs], us, [vi for _, vi in pairs], create_graph=create_graph,
                           allow_unused=True)
        else:
            result = (None,) * len(us)
    return _restore(_output(outputs, create_graph), out_tuple), \
        _restore(_finish(result, outputs, strict, "jvp"), out_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of func at inputs: for output i and input j a tensor of shape out_i.shape + in_j.shape,
    nested as PyTorch nests it (a tensor when both are single tensors)."""
    tt = _tt()
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, out_tuple = _as_tuple(func(*xs), "outputs of the user-provided function", "jacobian")
        result = []
        for out in outputs:
            rows = [[] for _ in xs]
            flat = out.reshape(-1)
            for k in range(flat.numel()):
                if out.requires_grad:
                    g = _grad([flat[k]], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
                else:
                    g = (None,) * len(xs)
                for j, (gj, x) in enumerate(zip(_finish(g, inputs, strict, "jacobian"), xs)):
                    rows[j].append(gj)
            per_input = []
            for j, x in enumerate(xs):
                block = tt.stack(rows[j], 0) if rows[j] else x.new_zeros((0,) + tuple(x.shape))
                per_input.append(block.reshape(tuple(out.shape) + tuple(x.shape)))
            result.append(tuple(per_input))
    if not create_graph:
        result = [tuple(b.detach() for b in r) for r in result]
    if not in_tuple:
        result = [r[0] for r in result]
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar func at inputs: the jacobian of its gradient."""
    inputs_t, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element.")
        g = _grad([out.reshape(())], xs, create_graph=True, allow_unused=True)
        return _finish(g, xs, strict, "hessian")

    result = jacobian(gradient if in_tuple else (lambda x: gradient(x)[0]), inputs_t if in_tuple else inputs_t[0],
                      create_graph=create_graph, strict=strict)
    return result


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H): the vector-Hessian product of a scalar func."""
    inputs_t, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    with enable_grad():
        xs = _prepare(inputs_t, True)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to vhp should return a single Tensor with a single element.")
        g = _finish(_grad([out.reshape(())], xs, create_graph=True, allow_unused=True), xs, strict, "vhp")
        vs, _ = _as_tuple(v, "v", "vhp") if v is not None else ((None,), False)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs = (_tt().ones_like(xs[0]),)
        pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        h = _grad([gi for gi, _ in pairs], xs, [vi for _, vi in pairs], create_graph=create_graph,
                  allow_unused=True) if pairs else (None,) * len(xs)
    value = out if create_graph else out.detach()
    return value, _restore(_finish(h, inputs_t, strict, "vhp"), in_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v): for a twice-differentiable scalar func the Hessian is symmetric, so H v = v^T H."""
    return vhp(func, inputs, v, create_graph, strict)
