"""gradcheck / gradgradcheck: analytic gradients against float64 central differences."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _host(t: Tensor) -> np.ndarray:
    return np.array(t.detach()._host(), dtype=np.float64)


def _rebuild(t: Tensor, values: np.ndarray) -> Tensor:
    from ..ops.creation import tensor
    return tensor(values.astype(t.dtype.np), dtype=t.dtype, device=t.device)


class GradcheckError(RuntimeError):
    pass


def _numerical_jacobians(func, inputs, diff_idx, eps):
    """{(input i, output j): matrix (numel(out_j), numel(in_i))} by central differences on the host values."""
    base = [x.detach().requires_grad_(x.requires_grad) if isinstance(x, Tensor) else x for x in inputs]
    jac = {}
    for i in diff_idx:
        x = inputs[i]
        flat = _host(x).reshape(-1)
        cols = []
        for k in range(flat.size):
            vals = []
            for sign in (1, -1):
                p = flat.copy()
                p[k] += sign * eps
                args = list(base)
                args[i] = _rebuild(x, p.reshape(x.shape)).requires_grad_(x.requires_grad)
                # grad mode stays on: gradgradcheck's func itself calls autograd.grad
                outs = _as_tuple(func(*args))
                vals.append([_host(o).reshape(-1) for o in outs if isinstance(o, Tensor)])
            cols.append([(a - b) / (2 * eps) for a, b in zip(*vals)])
        n_out = len(cols[0]) if cols else 0
        for j in range(n_out):
            jac[(i, j)] = np.stack([c[j] for c in cols], axis=1) if cols else None
    return jac


def _analytical_jacobians(outputs, inputs, diff_idx):
    from ..ops.creation import zeros_like
    from .tensor_methods import grad as autograd_grad
    jac = {}
    diff_inputs = [inputs[i] for i in diff_idx]
    for j, o in enumerate(outputs):
        n = o.numel()
        rows = {i: np.zeros((n, inputs[i].numel())) for i in diff_idx}
        if o.grad_fn is None and not o.requires_grad:
            for i in diff_idx:
                jac[(i, j)] = rows[i]
            continue
        for r in range(n):
            g = np.zeros(n)
            g[r] = 1.0
            go = _rebuild(o, g.reshape(o.shape))
            grads = autograd_grad([o], diff_inputs, [go], retain_graph=True, allow_unused=True)
            for i, gi in zip(diff_idx, grads):
                if gi is not None:
                    rows[i][r] = _host(gi).reshape(-1)
        for i in diff_idx:
            jac[(i, j)] = rows[i]
        _ = zeros_like
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_unused) -> bool:
    """Check the gradients of `func` at `inputs` (float64 tensors that require grad) against finite differences.
    On failure raises GradcheckError naming the input, output and element that differ (or returns False)."""
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff_idx:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "gradcheck is only reliable in float64.")
    outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]
    analytical = _analytical_jacobians(outputs, inputs, diff_idx)
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)
    for (i, j), num in numerical.items():
        ana = analytical[(i, j)]
        if num is None:
            continue
        bad = ~(np.abs(ana - num) <= atol + rtol * np.abs(num))
        if np.any(bad):
            r, c = (int(v) for v in np.argwhere(bad)[0])
            msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                   f"numerical:{num}\nanalytical:{ana}\n"
                   f"first mismatch at output element {r}, input element {c}: numerical {num[r, c]!r} vs analytical "
                   f"{ana[r, c]!r} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_unused) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> d func/d inputs . grad_outputs."""
    from ..ops.random import randn
    from .tensor_methods import grad as autograd_grad
    inputs = _as_tuple(inputs)
    outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]
    if grad_outputs is None:
        grad_outputs = tuple(randn(*o.shape, dtype=o.dtype, device=o.device).requires_grad_(True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_grads(*args):
        from .grad_mode import enable_grad
        ins, gos = list(args[:n_in]), args[n_in:]
        with enable_grad():
            for i in diff_idx:
                if not ins[i].requires_grad:
                    ins[i] = ins[i].detach().requires_grad_(True)
            outs = [o for o in _as_tuple(func(*ins)) if isinstance(o, Tensor)]
            gs = autograd_grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True, allow_unused=True)
        from ..ops.creation import zeros_like
        return tuple(zeros_like(ins[i]) if g is None else g for g, i in zip(gs, diff_idx))

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
