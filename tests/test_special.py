"""tritorch.special against torch.special: values and gradients on cpu and cuda."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("name,make,args", [
    ("expit", lambda r: r.standard_normal(7) * 3, ()),
    ("logit", lambda r: r.uniform(0.05, 0.95, 7), ()),
    ("logit", lambda r: r.uniform(0.0, 1.0, 7), (0.1,)),
    ("erf", lambda r: r.standard_normal(7), ()),
    ("erfinv", lambda r: r.uniform(-0.9, 0.9, 7), ()),
    ("exp2", lambda r: r.standard_normal(7), ()),
    ("expm1", lambda r: r.standard_normal(7) * 1e-3, ()),
    ("log1p", lambda r: r.uniform(-0.5, 2, 7), ()),
    ("sinc", lambda r: np.r_[0.0, r.standard_normal(6)], ()),
    ("entr", lambda r: r.uniform(0.01, 3, 7), ()),   # (at 0 the gradient is nan here, +inf in torch)
    ("ndtr", lambda r: r.standard_normal(7) * 2, ()),
    ("ndtri", lambda r: r.uniform(0.02, 0.98, 7), ()),
    ("softmax", lambda r: r.standard_normal((3, 4)), (1,)),
    ("log_softmax", lambda r: r.standard_normal((3, 4)), (0,)),
    ("logsumexp", lambda r: r.standard_normal((3, 4)), (1,)),
])
def test_matches_torch_special(device, name, make, args):
    a = make(np.random.default_rng(0))
    x = tt.tensor(a, device=device, requires_grad=True)
    y = torch.tensor(a, requires_grad=True)
    out, ref = getattr(tt.special, name)(x, *args), getattr(torch.special, name)(y, *args)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.cos(np.arange(ref.numel())).reshape(tuple(ref.shape))
    (out * tt.tensor(w, device=device)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), y.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_xlogy_family_and_entr_edges(device):
    x = np.array([0.0, 0.0, 1.5, 2.0, -1.0])
    y = np.array([0.0, np.nan, 0.5, 3.0, 1.0])
    for name in ("xlogy", "xlog1py"):
        got = getattr(tt.special, name)(tt.tensor(x, device=device), tt.tensor(y, device=device))
        want = getattr(torch.special, name)(torch.tensor(x), torch.tensor(y))
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12)
    e = np.array([-1.0, 0.0, np.nan, 0.5])
    np.testing.assert_array_equal(tt.special.entr(tt.tensor(e, device=device)).cpu().numpy(),
                                  torch.special.entr(torch.tensor(e)).numpy())
