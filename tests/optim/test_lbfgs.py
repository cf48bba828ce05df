"""optim.LBFGS against torch.optim.LBFGS: the same iterates and evaluation counts on the Rosenbrock function
(plain steps and the strong-Wolfe line search), limited history, a float32 model, errors."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


def _run(lib, steps, **kwargs):
    x = lib.tensor(np.array([-1.2, 1.0, -0.5, 0.8]), requires_grad=True)
    opt = lib.optim.LBFGS([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    iterates = []
    for _ in range(steps):
        opt.step(closure)
        iterates.append(x.detach().numpy().copy())
    state = opt.state[x]
    alphas = [None if a is None else float(a) for a in state["al"]]   # the two-loop's last alphas
    return np.array(iterates), state["func_evals"], state["n_iter"], sorted(state), alphas


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kwargs", [{"lr": 1, "max_iter": 20}, {"lr": 0.5, "max_iter": 5, "history_size": 3}])
def test_iterates_match_torch(line_search_fn, kwargs):
    ours, ours_evals, ours_iters, ours_keys, ours_al = _run(tt, 8, line_search_fn=line_search_fn, **kwargs)
    theirs, evals, iters, keys, al = _run(torch, 8, line_search_fn=line_search_fn, **kwargs)
    # float64 Rosenbrock over up to 100 iterations: the rounding of equal formulas, amplified by the valley
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert (ours_evals, ours_iters) == (evals, iters)
    assert ours_keys == keys and len(ours_al) == len(al) and [a is None for a in ours_al] == [a is None for a in al]
    np.testing.assert_allclose([a for a in ours_al if a is not None], [a for a in al if a is not None], rtol=1e-4,
                               atol=1e-9)   # (alphas near convergence: tiny, their rounding amplified as above)


def test_trains_a_float32_model_and_errors():
    tt.manual_seed(0)
    model = tt.nn.Sequential(tt.nn.Linear(3, 8), tt.nn.Tanh(), tt.nn.Linear(8, 1))
    x = tt.randn(64, 3)
    y = (x[:, :1] * 2 - x[:, 1:2]).tanh()
    opt = tt.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = tt.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(4):
        opt.step(closure)
    assert float(closure()) < first / 20
    with pytest.raises(RuntimeError, match="requires a closure"):
        opt.step(None)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        tt.optim.LBFGS([{"params": [tt.ones(1, requires_grad=True)]}, {"params": [tt.ones(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        tt.optim.LBFGS(model.parameters(), line_search_fn="armijo")
