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


def _forward_jacobians(func, inputs, diff_idx):
    """{(input i, output j): matrix} by forward-mode AD: one dual pass per input element (tangent e_k)."""
    from . import forward_ad
    jac = {}
    for i in diff_idx:
        x = inputs[i]
        n = x.numel()
        cols = []
        for k in range(n):
            tangent = np.zeros(n)
            tangent[k] = 1.0
            with forward_ad.dual_level():
                args = list(inputs)
                args[i] = forward_ad.make_dual(x.detach(), _rebuild(x, tangent.reshape(x.shape)))
                outs = [o for o in _as_tuple(func(*args)) if isinstance(o, Tensor)]
                col = []
                for o in outs:
                    t = forward_ad.unpack_dual(o).tangent
                    col.append(np.zeros(o.numel()) if t is None else _host(t).reshape(-1))
            cols.append(col)
        for j in range(len(cols[0]) if cols else 0):
            jac[(i, j)] = np.stack([c[j] for c in cols], axis=1)
    return jac


def _mismatch(numerical, analytical, atol, rtol, mode):
    """The error message for the first element where the two Jacobians differ, or None."""
    for (i, j), num in numerical.items():
        ana = analytical.get((i, j))
        if num is None or ana is None:
            continue
        bad = ~(np.abs(ana - num) <= atol + rtol * np.abs(num))
        if np.any(bad):
            r, c = (int(v) for v in np.argwhere(bad)[0])
            return (f"Jacobian mismatch for output {j} with respect to input {i}{mode},\n"
                    f"numerical:{num}\nanalytical:{ana}\n"
                    f"first mismatch at output element {r}, input element {c}: numerical {num[r, c]!r} vs "
                    f"analytical {ana[r, c]!r} (atol={atol}, rtol={rtol})")
    return None


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked=None) -> bool:
    """Check the gradients of `func` at `inputs` (float64 tensors that require grad) against finite differences:
    the backward-mode Jacobian (check_backward_ad) and/or the forward-mode one (check_forward_ad, through dual
    tensors). On failure raises GradcheckError naming the mode, input, output and element that differ (or returns
    False). The batched, undefined-grad and dtype checks and fast_mode are accepted; the full Jacobians are
    always compared."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    inputs = _as_tuple(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff_idx:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "gradcheck is only reliable in float64.")
    numerical = _numerical_jacobians(func, inputs, diff_idx, eps)
    checks = []
    if check_backward_ad:
        outputs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]
        checks.append(("", lambda: _analytical_jacobians(outputs, inputs, diff_idx)))
    if check_forward_ad:
        checks.append((" (forward mode)", lambda: _forward_jacobians(func, inputs, diff_idx)))
    for mode, analytical in checks:
        msg = _mismatch(numerical, analytical(), atol, rtol, mode)
        if msg is not None:
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
