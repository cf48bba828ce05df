"""torch.layout / torch.memory_format (tritorch/_memory_format.py): channels-last layouts through is_contiguous,
contiguous, to and clone, against torch's strides; gradients through the conversions; conv on such inputs."""
import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "cuda"]


def test_names():
    assert tt.ones(1).layout is tt.strided and repr(tt.strided) == "tritorch.strided"
    assert isinstance(tt.channels_last, tt.memory_format) and isinstance(tt.strided, tt.layout)
    assert repr(tt.channels_last) == "tritorch.channels_last"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,fmt", [((2, 3, 4, 5), "channels_last"), ((2, 3, 2, 4, 3), "channels_last_3d")])
def test_conversions_match_torch_strides_and_keep_gradients(device, shape, fmt):
    tfmt, rfmt = getattr(tt, fmt), getattr(torch, fmt)
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 7.0
    x = tt.tensor(values, device=device).requires_grad_()
    xr = torch.tensor(values).requires_grad_()
    y, yr = x.contiguous(memory_format=tfmt), xr.contiguous(memory_format=rfmt)
    assert y.stride() == yr.stride() and y.is_contiguous(memory_format=tfmt) and not y.is_contiguous()
    assert y.is_contiguous(memory_format=tfmt) == yr.is_contiguous(memory_format=rfmt)
    assert y.contiguous(memory_format=tfmt) is y
    assert y.clone().stride() == yr.clone().stride()  # preserve_format keeps the layout
    assert y.contiguous().stride() == yr.contiguous().stride()
    assert x.clone(memory_format=tfmt).stride() == xr.clone(memory_format=rfmt).stride()
    assert x.to(memory_format=tfmt).stride() == xr.to(memory_format=rfmt).stride()
    assert tt.clone(x, memory_format=tfmt).stride() == torch.clone(xr, memory_format=rfmt).stride()
    np.testing.assert_array_equal(y.detach().cpu().numpy(), values)
    ((y * 3) ** 2).sum().backward()
    ((yr * 3) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xr.grad.numpy())


def test_rank_errors_and_size_one_dims():
    for t, r in [(tt.ones(2, 3, 1, 1), torch.ones(2, 3, 1, 1)), (tt.ones(2, 3, 4, 5), torch.ones(2, 3, 4, 5)),
                 (tt.ones(3), torch.ones(3))]:
        assert t.is_contiguous(memory_format=tt.channels_last) == r.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        tt.ones(3).contiguous(memory_format=tt.channels_last)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d format"):
        tt.ones(2, 3, 4, 5).contiguous(memory_format=tt.channels_last_3d)


@pytest.mark.parametrize("device", DEVICES)
def test_conv_on_channels_last_operands(device):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    a = tt.conv2d(tt.tensor(x, device=device), tt.tensor(w, device=device))
    b = tt.conv2d(tt.tensor(x, device=device).contiguous(memory_format=tt.channels_last),
                  tt.tensor(w, device=device).contiguous(memory_format=tt.channels_last))
    np.testing.assert_allclose(a.cpu().numpy(), b.cpu().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_in_a_memory_format(device):
    for shape, fmt in [((2, 3, 4, 5), "channels_last"), ((1, 2, 3, 4, 5), "channels_last_3d")]:
        e = tt.empty(*shape, memory_format=getattr(tt, fmt), device=device)
        assert e.stride() == torch.empty(*shape, memory_format=getattr(torch, fmt)).stride() and e._base is None
        e.fill_(1.5)
        assert e.sum().item() == 1.5 * np.prod(shape)
    with pytest.raises(RuntimeError, match="required rank 4"):
        tt.empty(2, 3, memory_format=tt.channels_last)


def test_module_to_memory_format_converts_4d_and_5d_parameters_as_torch():
    torch = pytest.importorskip("torch")
    m = tt.nn.Sequential(tt.nn.Conv2d(3, 8, 3), tt.nn.BatchNorm2d(8))
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    weight = m[0].weight
    assert m.to(memory_format=tt.channels_last) is m
    tm.to(memory_format=torch.channels_last)
    assert m[0].weight is weight   # the same Parameter, its storage reordered
    for p, tp in zip(m.parameters(), tm.parameters()):
        assert p.stride() == tp.stride() and tuple(p.shape) == tuple(tp.shape)
    assert m[0].weight.is_contiguous(memory_format=tt.channels_last)
    m(tt.randn(2, 3, 8, 8)).sum().backward()
    assert m[0].weight.grad.shape == weight.shape
    c3 = tt.nn.Conv3d(2, 4, 2).to(memory_format=tt.channels_last_3d)
    t3 = torch.nn.Conv3d(2, 4, 2).to(memory_format=torch.channels_last_3d)
    assert c3.weight.stride() == t3.weight.stride()
