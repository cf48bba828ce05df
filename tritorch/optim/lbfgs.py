"""L-BFGS (torch.optim.LBFGS): quasi-Newton steps from the last `history_size` curvature pairs, on all
parameters as one flat vector; each step() runs up to max_iter iterations, re-evaluating the closure.

The direction is the two-loop recursion over the pairs (s = x_{k+1} - x_k, y = g_{k+1} - g_k) with the initial
Hessian scaled by s.y / y.y; a pair is kept only when s.y > 1e-10 (curvature condition). The first iteration
takes a step of lr * min(1, 1/|g|_1) along -g, later ones lr along the direction, or, with
line_search_fn="strong_wolfe", a step satisfying the strong Wolfe conditions (bracketing, then zoom by cubic
interpolation; Nocedal & Wright, algorithms 3.5/3.6). The iteration stops on a small gradient (tolerance_grad),
a small step or change of the loss (tolerance_change), max_iter or max_eval.
"""
from __future__ import annotations

from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_minimum(x1, f1, g1, x2, f2, g2, lo, hi) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to [lo, hi] (their midpoint
    when the cubic has no real minimiser)."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2
    d2 = disc ** 0.5
    if x1 > x2:
        x1, f1, g1, x2, f2, g2 = x2, f2, g2, x1, f1, g1
    x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d with f(x + t d) <= f + c1 t gtd and |g(x + t d).d| <= -c2 gtd. evaluate(t) -> (loss,
    flat gradient) at x + t d. Returns (loss, gradient, t, evaluations)."""
    scale = float(d.abs().max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    bracket = None
    for _ in range(max_ls):
        if f_new > f + c1 * t * gtd or (evals > 1 and f_new >= f_prev):
            bracket = [(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]
            break
        if abs(gtd_new) <= -c2 * gtd:
            return f_new, g_new, t, evals
        if gtd_new >= 0:
            bracket = [(t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)]
            break
        lo, hi = t + 0.01 * (t - t_prev), t * 10            # extrapolate
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, lo, hi)
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
    else:
        return f_new, g_new, t, evals
    # zoom: keep bracket[0] the end with the lower loss
    for _ in range(max_ls - evals + 1):
        (t_a, f_a, g_a, gtd_a), (t_b, f_b, g_b, gtd_b) = bracket
        if abs(t_b - t_a) * scale < tolerance_change:
            break
        lo, hi = min(t_a, t_b), max(t_a, t_b)
        t = _cubic_minimum(t_a, f_a, gtd_a, t_b, f_b, gtd_b, lo, hi)
        margin = 0.1 * (hi - lo)                             # stay away from the ends of the bracket
        if min(hi - t, t - lo) < margin:
            t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
        if f_new > f + c1 * t * gtd or f_new >= f_a:
            bracket[1] = (t, f_new, g_new, gtd_new)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                return f_new, g_new, t, evals
            if gtd_new * (t_b - t_a) >= 0:
                bracket[1] = bracket[0]
            bracket[0] = (t, f_new, g_new, gtd_new)
    t_a, f_a, g_a, _ = bracket[0]
    return f_a, g_a, t_a, evals


class LBFGS(Optimizer):
    """L-BFGS over all parameters (one param group), driven by a closure that returns the loss."""

    def __init__(self, params, lr=1, max_iter: int = 20, max_eval=None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100, line_search_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval, "tolerance_grad": tolerance_grad,
                    "tolerance_change": tolerance_change, "history_size": history_size,
                    "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- the parameters as one flat vector

    def _flat_grad(self):
        from ..ops.movement import cat
        parts = [p.new_zeros((p.numel(),)) if p.grad is None else p.grad.reshape(-1) for p in self._params]
        return cat(parts, 0)

    def _add(self, t: float, d) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[offset:offset + n].reshape(p.shape), alpha=t)
            offset += n

    def _clone_params(self) -> list:
        return [p.detach().clone() for p in self._params]

    def _set_params(self, values) -> None:
        for p, v in zip(self._params, values):
            p.copy_(v)

    def step(self, closure):
        """Up to max_iter L-BFGS iterations; returns the closure's first loss."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history, line_search = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        def evaluate():
            with enable_grad():
                return closure()

        with no_grad():
            first_loss = evaluate()
            loss = float(first_loss)
            evals = 1
            state["func_evals"] += 1
            g = self._flat_grad()
            if float(g.abs().max()) <= tol_grad:
                return first_loss
            d, t = state.get("d"), state.get("t")
            dirs, steps, rho = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
            h_diag, g_prev, loss_prev = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
            n = 0
            while n < max_iter:
                n += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, dirs, steps, rho, h_diag = -g, [], [], [], 1.0
                else:
                    y = g - g_prev
                    s = d * t
                    ys = float(y.dot(s))
                    if ys > 1e-10:                            # curvature condition: keep the pair
                        if len(dirs) == history:
                            dirs.pop(0)
                            steps.pop(0)
                            rho.pop(0)
                        dirs.append(y)
                        steps.append(s)
                        rho.append(1.0 / ys)
                        h_diag = ys / float(y.dot(y))
                    q = -g                                    # two-loop recursion
                    alphas = [0.0] * len(dirs)
                    for i in range(len(dirs) - 1, -1, -1):
                        alphas[i] = float(steps[i].dot(q)) * rho[i]
                        q = q - dirs[i] * alphas[i]
                    r = q * h_diag
                    for i in range(len(dirs)):
                        beta = float(dirs[i].dot(r)) * rho[i]
                        r = r + steps[i] * (alphas[i] - beta)
                    d = r
                g_prev, loss_prev = g.clone(), loss
                t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
                gtd = float(g.dot(d))
                if gtd > -tol_change:                         # not a descent direction any more
                    break
                if line_search == "strong_wolfe":
                    start = self._clone_params()

                    def at(step_size):
                        self._set_params(start)
                        self._add(step_size, d)
                        value = float(evaluate())
                        return value, self._flat_grad()

                    loss, g, t, used = _strong_wolfe(at, t, d, loss, g, gtd, tolerance_change=tol_change)
                    self._set_params(start)
                    self._add(t, d)
                else:
                    self._add(t, d)
                    used = 0
                    if n != max_iter:
                        loss = float(evaluate())
                        g = self._flat_grad()
                        used = 1
                evals += used
                state["func_evals"] += used
                if n == max_iter or evals >= max_eval:
                    break
                if float(g.abs().max()) <= tol_grad:
                    break
                if float((d * t).abs().max()) <= tol_change or abs(loss - loss_prev) < tol_change:
                    break
            # al: the two-loop's last alphas, as PyTorch keeps them (a list of history_size; None where unused)
            al = state.get("al") or [None] * history
            if state["n_iter"] > 1 and dirs:
                al[:len(alphas)] = alphas
            state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rho, H_diag=h_diag, prev_flat_grad=g_prev,
                         prev_loss=loss_prev, al=al)
        return first_loss
