"""nn.utils fusion (conv/linear + batch norm), skip_init, stateless.functional_call and the conv weight memory-format
conversions vs PyTorch: fused weights, outputs equal to the unfused pair, errors, warnings."""
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device

torch = pytest.importorskip("torch")


def _copy(m, tm):
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _trained_pair(make_t, make_tt, shape):
    """A torch module and our copy, whose batch norm has non-trivial running stats and affine parameters."""
    tm = make_t()
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    tm.train()
    tm(torch.randn(shape))
    tm.eval()
    m = make_tt()
    _copy(m, tm)
    m.eval()
    return m, tm


@pytest.mark.parametrize("transpose,affine", [(False, True), (True, True), (False, False)])
def test_fuse_conv_bn_eval(transpose, affine):
    conv = "ConvTranspose2d" if transpose else "Conv2d"

    def build(nn):
        return nn.Sequential(getattr(nn, conv)(2, 3, 3, bias=affine), nn.BatchNorm2d(3, affine=affine))
    m, tm = _trained_pair(lambda: build(torch.nn), lambda: build(tt.nn), (4, 2, 5, 5))
    fused = tt.nn.utils.fuse_conv_bn_eval(m[0], m[1], transpose=transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tm[0], tm[1], transpose=transpose)
    assert type(fused) is type(m[0]) and fused is not m[0] and isinstance(fused.weight, tt.nn.Parameter)
    for k, v in tfused.state_dict().items():
        np.testing.assert_allclose(fused.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(fused(tt.tensor(x)).detach().numpy(), m(tt.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_fuse_linear_bn_eval_and_weights():
    m, tm = _trained_pair(lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)),
                          lambda: tt.nn.Sequential(tt.nn.Linear(4, 3), tt.nn.BatchNorm1d(3)), (8, 4))
    fused, tfused = tt.nn.utils.fuse_linear_bn_eval(m[0], m[1]), torch.nn.utils.fuse_linear_bn_eval(tm[0], tm[1])
    for k, v in tfused.state_dict().items():
        np.testing.assert_allclose(fused.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6)
    x = tt.randn(5, 4)
    np.testing.assert_allclose(fused(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    w, b = tt.nn.utils.fuse_linear_bn_weights(m[0].weight, None, m[1].running_mean, m[1].running_var, 1e-5,
                                               m[1].weight, m[1].bias)
    tw, tb = torch.nn.utils.fuse_linear_bn_weights(tm[0].weight, None, tm[1].running_mean, tm[1].running_var, 1e-5,
                                                   tm[1].weight, tm[1].bias)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.detach().numpy(), tb.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert w.requires_grad and not b.requires_grad and tw.requires_grad and not tb.requires_grad


@pytest.mark.parametrize("case", ["train", "no_stats", "features"])
def test_fusion_errors(case):
    def run(nn, utils):
        lin, bn = nn.Linear(2, 3), nn.BatchNorm1d(2 if case == "features" else 3,
                                                  track_running_stats=case != "no_stats")
        lin.eval()
        if case != "train":
            bn.eval()
        return utils.fuse_linear_bn_eval(lin, bn)
    with pytest.raises(AssertionError) as theirs:
        run(torch.nn, torch.nn.utils)
    with pytest.raises(AssertionError) as ours:
        run(tt.nn, tt.nn.utils)
    assert str(ours.value) == str(theirs.value)


def test_skip_init():
    tt.manual_seed(0)
    before = tt.rand(3)
    tt.manual_seed(0)
    m = tt.nn.utils.skip_init(tt.nn.Linear, 5, 2, bias=True)
    assert type(m) is tt.nn.Linear and tuple(m.weight.shape) == (2, 5) and m.weight.device == tt.device("cpu")
    np.testing.assert_array_equal(tt.rand(3).numpy(), before.numpy())     # no random numbers were drawn
    m2 = tt.nn.utils.skip_init(tt.nn.Conv2d, in_channels=2, out_channels=3, kernel_size=3, device="cuda")
    assert m2.weight.device == as_device("cuda") and tuple(m2.weight.shape) == (3, 2, 3, 3)
    # the initialisers are themselves again afterwards
    w = tt.nn.init.kaiming_uniform_(tt.zeros(4, 4))
    assert float(w.abs().sum()) > 0

    class NoDevice(tt.nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        tt.nn.utils.skip_init(NoDevice)
    with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
        tt.nn.utils.skip_init(int)


def test_stateless_functional_call():
    m = tt.nn.Linear(2, 3)
    x = tt.ones(1, 2)
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        out = tt.nn.utils.stateless.functional_call(m, {"weight": tt.zeros(3, 2)}, (x,))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None], rtol=1e-6)
    assert float(m.weight.abs().sum()) > 0   # the module is left as it was


def test_memory_format_conversions_keep_weights():
    net = tt.nn.Sequential(tt.nn.Conv2d(2, 3, 3), tt.nn.Sequential(tt.nn.ConvTranspose3d(3, 2, 2)))
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tt.nn.utils.convert_conv2d_weight_memory_format(net, "channels_last") is net
        assert tt.nn.utils.convert_conv3d_weight_memory_format(net, "channels_last_3d") is net
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
        assert v.is_contiguous()
    with pytest.raises(TypeError):
        tt.nn.utils.convert_conv2d_weight_memory_format(tt.zeros(2), "channels_last")
