"""Every layer vs PyTorch's: same weights (loaded from torch's state_dict), forward, input and parameter
gradients; default initialisation; repr; one small cuda (interpreter) case per layer family."""
import math

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")

RTOL, ATOL = 2e-5, 2e-5


def _rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def compare(tm, m, *inputs, device="cpu", rtol=RTOL, atol=ATOL, grad=True, kwargs=None, out_index=None,
            load=True):
    """Load torch module tm's weights into m, run both on `inputs` (NumPy arrays), compare the outputs and,
    with grad, the gradients of a weighted sum w.r.t. float inputs and every parameter."""
    kwargs = kwargs or {}
    if load:
        m.load_state_dict(tm.state_dict())
    m.to(device)
    t_in = [torch.tensor(x, requires_grad=grad and x.dtype.kind == "f") for x in inputs]
    x_in = [tt.tensor(x, device=device, requires_grad=grad and x.dtype.kind == "f") for x in inputs]
    t_out = tm(*t_in, **{k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()})
    x_out = m(*x_in, **{k: (tt.tensor(v, device=device) if isinstance(v, np.ndarray) else v)
                        for k, v in kwargs.items()})
    if out_index is not None:
        t_out, x_out = t_out[out_index], x_out[out_index]
    np.testing.assert_allclose(x_out.detach().cpu().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return x_out
    w = _rand(tuple(t_out.shape), seed=99)
    (t_out * torch.tensor(w)).sum().backward()
    (x_out * tt.tensor(w, device=device)).sum().backward()
    for a, b in zip(x_in, t_in):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        if t_params[name].grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.cpu().numpy(), t_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    return x_out


def same_structure(tm, m):
    """Same state_dict keys, shapes and dtypes, and the same repr."""
    tsd, sd = tm.state_dict(), m.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
    assert repr(m) == repr(tm)


# ------------------------------------------------------------------------------------------------ linear

def test_linear_and_default_init():
    tm, m = torch.nn.Linear(5, 3), nn.Linear(5, 3)
    same_structure(tm, m)
    bound = 1 / math.sqrt(5)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    assert m.weight.detach().numpy().std() > bound / 4  # really filled
    compare(tm, m, _rand((4, 5)))
    compare(tm, m, _rand((2, 3, 5), 1))
    tm, m = torch.nn.Linear(4, 2, bias=False), nn.Linear(4, 2, bias=False, dtype=tt.float64)
    same_structure(tm, m)
    assert m.weight.dtype is tt.float64 and m.bias is None


def test_linear_cuda():
    compare(torch.nn.Linear(3, 2), nn.Linear(3, 2), _rand((2, 3)), device="cuda", rtol=1e-4, atol=1e-5)


def test_identity_flatten_unflatten():
    x = _rand((2, 3, 4))
    compare(torch.nn.Identity(54, foo=1), nn.Identity(54, foo=1), x)
    compare(torch.nn.Flatten(), nn.Flatten(), x)
    compare(torch.nn.Flatten(0, 1), nn.Flatten(0, 1), x)
    compare(torch.nn.Unflatten(2, (2, 2)), nn.Unflatten(2, (2, 2)), x)
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))


# ------------------------------------------------------------------------------------------- activations

ACTIVATIONS = [
    ("ReLU", (), {}), ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}), ("Tanh", (), {}),
    ("Sigmoid", (), {}), ("Softplus", (), {}), ("Softplus", (2.0, 1.0), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 0}), ("GLU", (), {}), ("Threshold", (0.1, -2.0), {}),
    ("ELU", (), {}), ("ELU", (0.5,), {}), ("LeakyReLU", (), {}), ("LeakyReLU", (0.2,), {}), ("Mish", (), {}),
    ("Hardtanh", (), {}), ("ReLU6", (), {}), ("SELU", (), {}), ("CELU", (0.7,), {}), ("Softsign", (), {}),
    ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("LogSigmoid", (), {}),
]




@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS,
                         ids=[f"{a[0]}{i}" for i, a in enumerate(ACTIVATIONS)])
def test_activation(name, args, kwargs):
    tm, m = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm)
    x = _rand((3, 4)) * 3
    compare(tm, m, x, rtol=1e-5, atol=1e-6)


def test_activation_cuda():
    compare(torch.nn.GELU(), nn.GELU(), _rand((2, 3)), device="cuda", rtol=1e-4, atol=1e-5)


def test_activation_inplace_repr():
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    assert repr(nn.LeakyReLU(0.1, inplace=True)) == repr(torch.nn.LeakyReLU(0.1, inplace=True))
    assert repr(nn.ELU(inplace=True)) == repr(torch.nn.ELU(inplace=True))
    assert repr(nn.SiLU(inplace=True)) == repr(torch.nn.SiLU(inplace=True))
    assert repr(nn.Mish(inplace=True)) == repr(torch.nn.Mish(inplace=True))
    x = tt.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]


# ------------------------------------------------------------------------------------------------- conv

CONVS = [
    ("Conv1d", (2, 4, 3), {}, (2, 2, 9)),
    ("Conv1d", (4, 4, 3), {"padding": "same", "dilation": 2, "groups": 2, "bias": False}, (1, 4, 7)),
    ("Conv1d", (2, 2, 3), {"padding": 1, "padding_mode": "reflect"}, (1, 2, 6)),
    ("Conv2d", (3, 4, 3), {}, (2, 3, 6, 5)),
    ("Conv2d", (2, 4, (3, 2)), {"stride": 2, "padding": (1, 0)}, (1, 2, 7, 6)),
    ("Conv2d", (4, 2, 3), {"padding": "same", "groups": 2}, (1, 4, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": "valid", "dilation": 2, "bias": False}, (1, 2, 7, 7)),
    ("Conv2d", (2, 2, 3), {"padding": 1, "padding_mode": "circular"}, (1, 2, 4, 5)),
    ("Conv2d", (2, 3, 3), {"padding": 2, "padding_mode": "replicate"}, (2, 4, 4)),
    ("ConvTranspose2d", (3, 2, 3), {}, (2, 3, 4, 4)),
    ("ConvTranspose2d", (2, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (1, 2, 3, 4)),
    ("ConvTranspose2d", (2, 2, 2), {"dilation": 2, "bias": False}, (1, 2, 3, 3)),
    ("ConvTranspose1d", (3, 2, 3), {}, (2, 3, 5)),
    ("Conv3d", (2, 4, 3), {}, (2, 2, 5, 6, 7)),
    ("Conv3d", (4, 6, (2, 3, 1)), {"stride": (2, 1, 2), "padding": (1, 0, 1), "dilation": (2, 1, 1), "groups": 2},
     (1, 4, 7, 5, 6)),
    ("Conv3d", (3, 2, 3), {"padding": "same", "bias": False}, (3, 5, 4, 6)),
    ("Conv3d", (2, 2, 3), {"padding": 1, "padding_mode": "replicate"}, (1, 2, 4, 4, 4)),
    ("ConvTranspose1d", (2, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2,
                                    "dilation": 2}, (2, 6)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONVS, ids=[f"{c[0]}{i}" for i, c in enumerate(CONVS)])
def test_conv(name, args, kwargs, shape):
    tm, m = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    same_structure(tm, m)
    compare(tm, m, _rand(shape), rtol=1e-4, atol=1e-5)


def test_conv_init_errors_and_cuda():
    m = nn.Conv2d(4, 6, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert np.abs(m.weight.detach().numpy()).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        nn.Conv2d(2, 2, 3, padding="full")
    compare(torch.nn.Conv2d(2, 2, 2), nn.Conv2d(2, 2, 2), _rand((1, 2, 3, 3)), device="cuda", rtol=1e-4, atol=1e-5)


def test_conv_transpose_output_size():
    tm, m = torch.nn.ConvTranspose2d(2, 2, 3, stride=2), nn.ConvTranspose2d(2, 2, 3, stride=2)
    m.load_state_dict(tm.state_dict())
    x = _rand((1, 2, 3, 3))
    out = m(tt.tensor(x), output_size=[8, 8])
    tout = tm(torch.tensor(x), output_size=[8, 8])
    assert tuple(out.shape) == tuple(tout.shape) == (1, 2, 8, 8)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    tm, m = torch.nn.ConvTranspose1d(2, 2, 3, stride=2), nn.ConvTranspose1d(2, 2, 3, stride=2)
    m.load_state_dict(tm.state_dict())
    x = _rand((1, 2, 3))
    out, tout = m(tt.tensor(x), output_size=[8]), tm(torch.tensor(x), output_size=[8])
    assert tuple(out.shape) == tuple(tout.shape) == (1, 2, 8)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"valid sizes range from \[7\] to \[8\]"):
        m(tt.tensor(x), output_size=[9])
    compare(torch.nn.ConvTranspose1d(2, 3, 3), nn.ConvTranspose1d(2, 3, 3), _rand((1, 2, 4)), device="cuda",
            rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) input to conv_transpose1d"):
        F.conv_transpose1d(tt.ones(1, 2, 3, 4), tt.ones(2, 2, 3))


# ------------------------------------------------------------------------------------------------ norms

@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (4, 3)), ("BatchNorm1d", (3, 3, 5)),
                                       ("BatchNorm2d", (2, 3, 4, 3)), ("BatchNorm3d", (2, 3, 2, 3, 2))])
def test_batchnorm_train_eval_running_stats(cls, shape, momentum):
    tm, m = getattr(torch.nn, cls)(3, momentum=momentum), getattr(nn, cls)(3, momentum=momentum)
    same_structure(tm, m)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-0.5, 0.5)
    m.load_state_dict(tm.state_dict())
    for step in range(3):  # three training steps move the running stats
        compare(tm, m, _rand(shape, seed=step) * 2 + 1, load=False, rtol=1e-4, atol=1e-5)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(m, key).numpy(), getattr(tm, key).numpy(), rtol=1e-5, atol=1e-6)
    assert m.num_batches_tracked.item() == 3
    tm.eval()
    m.eval()
    compare(tm, m, _rand(shape, seed=7), load=False, rtol=1e-4, atol=1e-5)
    assert m.num_batches_tracked.item() == 3


def test_batchnorm_options_and_errors():
    for kw in ({"affine": False}, {"track_running_stats": False}, {"eps": 1e-3}, {"bias": False}):
        tm, m = torch.nn.BatchNorm2d(2, **kw), nn.BatchNorm2d(2, **kw)
        same_structure(tm, m)
        compare(tm, m, _rand((2, 2, 3, 3)), rtol=1e-4, atol=1e-5)
        tm.eval()
        m.eval()
        compare(tm, m, _rand((2, 2, 3, 3), 3), load=False, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(2)(tt.ones(2, 2, 2))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(2)(tt.ones(2, 2, 2, 2))


def test_batchnorm_cuda():
    tm, m = torch.nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    compare(tm, m, _rand((4, 3)), device="cuda", rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.running_var.cpu().numpy(), tm.running_var.numpy(), rtol=1e-5)


@pytest.mark.parametrize("cls,args,kwargs,shape", [
    ("LayerNorm", (5,), {}, (3, 5)), ("LayerNorm", ((2, 3),), {"eps": 1e-3}, (2, 2, 3)),
    ("LayerNorm", (4,), {"bias": False}, (2, 4)), ("LayerNorm", (4,), {"elementwise_affine": False}, (2, 4)),
    ("RMSNorm", (5,), {}, (3, 5)), ("RMSNorm", ([2, 3],), {"eps": 1e-4}, (2, 2, 3)),
    ("RMSNorm", (4,), {"elementwise_affine": False}, (2, 4)),
    ("GroupNorm", (2, 4), {}, (2, 4, 3)), ("GroupNorm", (1, 3), {"affine": False}, (2, 3, 2, 2)),
    ("GroupNorm", (3, 6), {"eps": 1e-3}, (1, 6, 2)), ("GroupNorm", (2, 4), {"bias": False}, (2, 4, 2)),
])
def test_norms(cls, args, kwargs, shape):
    tm, m = getattr(torch.nn, cls)(*args, **kwargs), getattr(nn, cls)(*args, **kwargs)
    same_structure(tm, m)
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(0.5, 1.5)
    compare(tm, m, _rand(shape) * 2 + 0.5, rtol=1e-4, atol=1e-5)


def test_norms_cuda_and_errors():
    compare(torch.nn.LayerNorm(3), nn.LayerNorm(3), _rand((2, 3)), device="cuda", rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(3, 4)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm2d", (2, 3, 4, 5)),
                                        ("InstanceNorm3d", (2, 3, 2, 3, 2)), ("InstanceNorm2d", (3, 4, 5))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True, "momentum": None}])
def test_instance_norm(cls, shape, kwargs):
    tm, m = getattr(torch.nn, cls)(3, **kwargs), getattr(nn, cls)(3, **kwargs)
    same_structure(tm, m)
    if m.affine:
        with torch.no_grad():
            for p in tm.parameters():
                p.uniform_(0.5, 1.5)
    m.load_state_dict(tm.state_dict())
    for step in range(2):
        compare(tm, m, _rand(shape, seed=step) * 2 + 1, load=False, rtol=1e-4, atol=1e-5)
    if m.track_running_stats:
        for key in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(m, key).numpy(), getattr(tm, key).numpy(), rtol=1e-5, atol=1e-6)
    tm.eval()
    m.eval()
    compare(tm, m, _rand(shape, seed=7), load=False, rtol=1e-4, atol=1e-5)


def test_instance_norm_cuda_and_errors():
    tm, m = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), \
        nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    compare(tm, m, _rand((2, 3, 4, 4)), device="cuda", rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.running_var.cpu().numpy(), tm.running_var.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm2d(3)(tt.ones(2, 3, 1, 1))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.InstanceNorm2d(3)(tt.ones(2, 3))
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm1d(4, affine=True)(tt.ones(2, 3, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(tt.ones(2, 3, 5))


# ------------------------------------------------------------------------------------------- attention

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multihead_attention(batch_first, need_weights, average):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    m = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    same_structure(tm, m)
    shape = (2, 3, 8) if batch_first else (3, 2, 8)
    kv_shape = (2, 4, 8) if batch_first else (4, 2, 8)
    q, k, v = _rand(shape, 1), _rand(kv_shape, 2), _rand(kv_shape, 3)
    kpm = np.array([[False, False, True, False], [False, True, False, False]])
    attn_mask = np.triu(np.ones((3, 4), bool), k=2)
    kw = {"key_padding_mask": kpm, "attn_mask": attn_mask, "need_weights": need_weights,
          "average_attn_weights": average}
    compare(tm, m, q, k, v, kwargs=kw, out_index=0, rtol=1e-4, atol=1e-5)
    if need_weights:
        m.zero_grad()
        compare(tm, m, q, k, v, kwargs=kw, out_index=1, rtol=1e-4, atol=1e-5, grad=False, load=False)


def test_multihead_attention_variants():
    torch.manual_seed(1)
    # float masks, kdim/vdim (separate projection weights), bias_kv, zero_attn, no bias
    tm = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True)
    same_structure(tm, m)
    q, k, v = _rand((3, 2, 4), 1), _rand((2, 2, 3), 2), _rand((2, 2, 5), 3)
    compare(tm, m, q, k, v, kwargs={"attn_mask": _rand((3, 2), 4)}, out_index=0, rtol=1e-4, atol=1e-5)
    tm, m = torch.nn.MultiheadAttention(4, 1, bias=False), nn.MultiheadAttention(4, 1, bias=False)
    same_structure(tm, m)
    compare(tm, m, q, q, q, out_index=0, rtol=1e-4, atol=1e-5)
    # unbatched input and the causal hint
    tm, m = torch.nn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2)
    causal = np.triu(np.ones((3, 3), bool), 1)
    compare(tm, m, q[:, 0], q[:, 0], q[:, 0], kwargs={"attn_mask": causal, "is_causal": True, "need_weights": False},
            out_index=0, rtol=1e-4, atol=1e-5)


def test_multihead_attention_default_init():
    m = nn.MultiheadAttention(8, 2)
    bound = math.sqrt(6.0 / (8 + 24))
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 4
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()


def test_multihead_attention_cuda():
    tm, m = torch.nn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2)
    q = _rand((2, 1, 4))
    compare(tm, m, q, q, q, out_index=0, device="cuda", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm_first,activation,batch_first", [(False, "relu", False), (True, "gelu", True)])
def test_transformer_encoder_layer(norm_first, activation, batch_first):
    torch.manual_seed(2)
    kw = {"dim_feedforward": 16, "dropout": 0.0, "activation": activation, "batch_first": batch_first,
          "norm_first": norm_first}
    tm, m = torch.nn.TransformerEncoderLayer(8, 2, **kw), nn.TransformerEncoderLayer(8, 2, **kw)
    same_structure(tm, m)
    x = _rand((2, 3, 8))
    kpm = np.array([[False, False, True], [False, False, False]]) if batch_first else \
        np.array([[False, True], [False, False], [False, False]])
    compare(tm, m, x, kwargs={"src_key_padding_mask": kpm}, rtol=1e-4, atol=1e-5)


def test_transformer_encoder():
    torch.manual_seed(3)
    tl = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    m = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    same_structure(tm, m)
    assert m.layers[0].linear1.weight is not m.layers[1].linear1.weight
    mask = np.triu(np.full((3, 3), -np.inf, np.float32), 1)
    compare(tm, m, _rand((2, 3, 8)), kwargs={"mask": mask, "is_causal": True}, rtol=1e-4, atol=1e-5)


def test_transformer_encoder_cuda():
    torch.manual_seed(4)
    tl = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    compare(tl, layer, _rand((2, 1, 4)), device="cuda", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu", "batch_first": True}])
def test_transformer_decoder_layer(kwargs):
    torch.manual_seed(5)
    tm = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    m = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    same_structure(tm, m)
    batch_first = kwargs.get("batch_first", False)
    tgt, memory = _rand((2, 5, 8) if batch_first else (5, 2, 8)), _rand((2, 7, 8) if batch_first else (7, 2, 8), 1)
    compare(tm, m, tgt, memory, rtol=1e-4, atol=1e-5)
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    padding = np.array([[False] * 6 + [True]] * 2)
    compare(tm, m, tgt, memory, rtol=1e-4, atol=1e-5, kwargs={"tgt_mask": causal, "memory_key_padding_mask": padding})


def test_transformer_and_decoder_stack():
    torch.manual_seed(6)
    tm, m = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0), nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)
    same_structure(tm, m)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    src, tgt = _rand((7, 2, 8)), _rand((5, 2, 8), 1)
    compare(tm, m, src, tgt, rtol=1e-4, atol=1e-5, kwargs={"tgt_mask": mask.numpy()})
    compare(tm, m, src[:, :1], tgt[:, :1], device="cuda", rtol=1e-4, atol=1e-5, kwargs={"tgt_mask": mask.numpy()})
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(tt.ones(7, 2, 8), tt.ones(5, 3, 8))
    td = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16), 2, torch.nn.LayerNorm(8))
    d = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2, nn.LayerNorm(8))
    same_structure(td, d)
    td.eval()
    d.eval()
    compare(td, d, tgt, src, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------------ pooling

POOLS = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 5)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True}, (1, 2, 7, 6)),
    ("MaxPool2d", ((2, 3),), {"stride": 1, "dilation": 2}, (2, 6, 7)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 5)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True}, (1, 2, 7, 6)),
    ("AvgPool2d", (2,), {"divisor_override": 3}, (1, 1, 4, 4)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 2, 5, 7)),
    ("AdaptiveAvgPool2d", (1,), {}, (1, 3, 4, 4)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9)),
    ("AvgPool1d", (2,), {"ceil_mode": True}, (2, 3, 9)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool1d", (4,), {}, (3, 9)),
    ("AdaptiveMaxPool2d", ((2, None),), {}, (2, 2, 5, 7)),
    ("AdaptiveMaxPool2d", (1,), {}, (1, 3, 4, 4)),
    ("LPPool2d", (2, 3), {}, (2, 3, 7, 6)),
    ("LPPool2d", (1, (2, 3)), {"stride": 1, "ceil_mode": True}, (2, 2, 5, 7)),
    ("LPPool1d", (3, 2), {"stride": 1}, (2, 3, 7)),
    ("MaxPool3d", (2,), {}, (2, 3, 4, 6, 5)),
    ("MaxPool3d", (3,), {"stride": 2, "padding": 1, "dilation": (1, 2, 1), "ceil_mode": True}, (1, 2, 7, 9, 6)),
    ("MaxPool3d", ((1, 2, 3),), {"stride": (1, 2, 1)}, (3, 4, 5, 6)),
    ("AvgPool3d", (2,), {}, (2, 3, 4, 6, 5)),
    ("AvgPool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}, (1, 2, 7, 6, 5)),
    ("AvgPool3d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 7, 6, 5)),
    ("AvgPool3d", ((2, 3, 2),), {"stride": 1, "divisor_override": 5}, (2, 5, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", POOLS, ids=[f"{p[0]}{i}" for i, p in enumerate(POOLS)])
def test_pool(name, args, kwargs, shape):
    tm, m = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm)
    compare(tm, m, _rand(shape), rtol=1e-5, atol=1e-6)


def test_max_pool_return_indices_and_cuda():
    tm, m = torch.nn.MaxPool2d(2, return_indices=True), nn.MaxPool2d(2, return_indices=True)
    x = _rand((1, 2, 4, 4))
    out, idx = m(tt.tensor(x))
    tout, tidx = tm(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_allclose(out.numpy(), tout.numpy())
    compare(torch.nn.MaxPool2d(2), nn.MaxPool2d(2), _rand((1, 1, 4, 4)), device="cuda")


# ------------------------------------------------------------------------------------------- dropout

def test_dropout():
    m = nn.Dropout(0.3)
    assert repr(m) == repr(torch.nn.Dropout(0.3))
    x = tt.ones(2000, requires_grad=True)
    y = m(x)
    kept = y.detach().numpy() != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.7, 0.0), rtol=1e-6)
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    tt.manual_seed(5)
    a = nn.Dropout(0.5)(tt.ones(16, device="cuda")).cpu().numpy()
    tt.manual_seed(5)
    b = nn.Dropout(0.5)(tt.ones(16, device="cuda")).cpu().numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}


@pytest.mark.parametrize("name, shape", [("Dropout1d", (4, 50, 3)), ("Dropout2d", (4, 50, 3, 2)),
                                         ("Dropout3d", (50, 2, 3, 2))])
def test_channel_dropout(name, shape):
    m = getattr(nn, name)(0.4)
    assert repr(m) == repr(getattr(torch.nn, name)(0.4))
    x = tt.ones(*shape, requires_grad=True)
    tt.manual_seed(11)
    y = m(x)
    out = y.detach().numpy()
    channel_dims = len(shape) - (2 if name == "Dropout1d" else 3 if name == "Dropout2d" else 4) + 1
    planes = out.reshape(int(np.prod(shape[:channel_dims])), -1)
    assert (planes == planes[:, :1]).all()           # whole channels kept or dropped
    assert set(np.unique(planes)) == {0.0, np.float32(1 / 0.6)}
    assert 0.4 < (planes[:, 0] != 0).mean() < 0.8
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out)   # d(x * mask)/dx = mask
    tt.manual_seed(11)
    np.testing.assert_array_equal(m(tt.ones(*shape, device="cuda")).cpu().numpy(), out)   # same mask on cuda
    m.eval()
    assert m(x) is x


def test_channel_dropout_edges_and_warnings():
    assert not nn.Dropout2d(1.0)(tt.ones(2, 3, 2, 2)).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(tt.ones(2, 3, 2, 2), -0.1)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(tt.ones(2, 3, 4, 5))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(tt.ones(2, 3, 4))
    x = tt.ones(2, 3, 4, 4)
    assert F.dropout2d(x, 0.5, inplace=True) is x


# ------------------------------------------------------------------------------------------- embedding

@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True}])
def test_embedding(kwargs):
    tm, m = torch.nn.Embedding(5, 3, **kwargs), nn.Embedding(5, 3, **kwargs)
    same_structure(tm, m)
    if "padding_idx" in kwargs:
        assert not m.weight.detach().numpy()[m.padding_idx].any()
    compare(tm, m, np.array([[0, 1, 4], [1, 1, 3]]))


def test_embedding_from_pretrained_max_norm_and_cuda():
    w = _rand((4, 3)) * 3
    m = nn.Embedding.from_pretrained(tt.tensor(w))
    tm = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert not m.weight.requires_grad and repr(m) == repr(tm)
    idx = np.array([3, 0])
    np.testing.assert_allclose(m(tt.tensor(idx)).numpy(), tm(torch.tensor(idx)).numpy())
    tm, m = torch.nn.Embedding(4, 3, max_norm=1.0), nn.Embedding(4, 3, max_norm=1.0)
    m.load_state_dict(tm.state_dict())
    with torch.no_grad():
        tout = tm(torch.tensor(idx))
    out = m(tt.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    compare(torch.nn.Embedding(4, 2, padding_idx=0), nn.Embedding(4, 2, padding_idx=0), np.array([0, 2, 2]),
            device="cuda")


# ------------------------------------------------------------------------------------- whole models

def _cnn(lib):
    n = lib.nn
    return n.Sequential(n.Conv2d(1, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(4, 4, 3, padding="same", bias=False), n.GroupNorm(2, 4), n.SiLU(),
                        n.AdaptiveAvgPool2d(1), n.Flatten(), n.Dropout(0.0), n.Linear(4, 3))


def test_small_cnn_with_loss_matches_torch():
    tm, m = _cnn(torch), _cnn(tt)
    same_structure(tm, m)
    m.load_state_dict(tm.state_dict())
    x, y = _rand((3, 1, 6, 6)), np.array([0, 2, 1])
    t_loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(tm(torch.tensor(x)), torch.tensor(y))
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(m(tt.tensor(x)), tt.tensor(y))
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
    t_loss.backward()
    loss.backward()
    t_params = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(m[1].running_mean.numpy(), tm[1].running_mean.numpy(), rtol=1e-5, atol=1e-6)


class _TinyGPT:
    """Embedding + causal TransformerEncoder + LayerNorm + Linear head, built from either library."""

    @staticmethod
    def build(lib):
        n = lib.nn
        layer = n.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu",
                                          batch_first=True, norm_first=True)
        return n.ModuleDict({"tok": n.Embedding(7, 8), "blocks": n.TransformerEncoder(layer, 2,
                                                                                      enable_nested_tensor=False),
                             "ln": n.LayerNorm(8), "head": n.Linear(8, 7, bias=False)})

    @staticmethod
    def forward(lib, model, idx, mask):
        h = model["blocks"](model["tok"](idx), mask=mask, is_causal=True)
        return model["head"](model["ln"](h))


def test_tiny_gpt_matches_torch():
    torch.manual_seed(0)
    tm, m = _TinyGPT.build(torch), _TinyGPT.build(tt)
    same_structure(tm, m)
    m.load_state_dict(tm.state_dict())
    idx = np.array([[1, 2, 3, 4], [6, 5, 0, 1]])
    mask = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    t_logits = _TinyGPT.forward(torch, tm, torch.tensor(idx), torch.tensor(mask))
    logits = _TinyGPT.forward(tt, m, tt.tensor(idx), tt.tensor(mask))
    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), rtol=1e-4, atol=1e-5)
    target = np.array([[2, 3, 4, 5], [5, 0, 1, 2]])
    torch.nn.functional.cross_entropy(t_logits.reshape(-1, 7), torch.tensor(target).reshape(-1)).backward()
    nn.functional.cross_entropy(logits.reshape(-1, 7), tt.tensor(target).reshape(-1)).backward()
    t_params = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


# ------------------------------------------------------------------------------ PReLU, padding, distance, resampling

@pytest.mark.parametrize("args, shape", [((), (2, 3, 4)), ((3, 0.1), (2, 3, 4)), ((3,), (2, 3)), ((), (5,))])
def test_prelu(args, shape):
    tm, m = torch.nn.PReLU(*args), nn.PReLU(*args)
    same_structure(tm, m)
    np.testing.assert_array_equal(m.weight.detach().numpy(), tm.weight.detach().numpy())
    x = _rand(shape)
    x.flat[0] = 0.0   # the kink: PyTorch takes the negative side's slope for the weight there, 1 for the input
    compare(tm, m, x)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        nn.PReLU(4)(tt.ones(2, 3))


PADS = [("ZeroPad1d", ((1, 2),), (2, 3, 5)), ("ConstantPad1d", (2, 3.5), (3, 5)), ("ReflectionPad1d", (2,), (2, 3, 5)),
        ("ReplicationPad1d", ((0, 3),), (2, 3, 5)), ("CircularPad1d", (1,), (2, 3, 5)),
        ("ZeroPad2d", ((1, 0, 2, 3),), (2, 3, 4, 5)), ("ConstantPad2d", (1, -1.0), (3, 4, 5)),
        ("ReflectionPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5)), ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
        ("CircularPad2d", (1,), (2, 3, 4, 5)), ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)),
        ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 2.0), (1, 2, 3, 4, 5)), ("ReflectionPad3d", (1,), (1, 2, 3, 4, 5)),
        ("ReplicationPad3d", (1,), (1, 2, 3, 4, 5)), ("CircularPad3d", (1,), (1, 2, 3, 4, 5))]


@pytest.mark.parametrize("name, args, shape", PADS, ids=[p[0] for p in PADS])
def test_padding_layers(name, args, shape):
    tm, m = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(m) == repr(tm)
    compare(tm, m, _rand(shape))


def test_distance_layers():
    for tm, m in ((torch.nn.CosineSimilarity(), nn.CosineSimilarity()),
                  (torch.nn.CosineSimilarity(dim=0, eps=1e-3), nn.CosineSimilarity(dim=0, eps=1e-3)),
                  (torch.nn.PairwiseDistance(), nn.PairwiseDistance()),
                  (torch.nn.PairwiseDistance(p=1.0, keepdim=True), nn.PairwiseDistance(p=1.0, keepdim=True))):
        assert repr(m) == repr(tm)
        compare(tm, m, _rand((4, 5)), _rand((4, 5), 1))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Upsample(scale_factor=2),
    lambda lib: lib.nn.Upsample(size=(4, 5), mode="bilinear", align_corners=True),
    lambda lib: lib.nn.Upsample(scale_factor=(1.5, 2), mode="bicubic"),
    lambda lib: lib.nn.UpsamplingNearest2d(scale_factor=3),
    lambda lib: lib.nn.UpsamplingBilinear2d(size=7),
    lambda lib: lib.nn.PixelShuffle(2),
    lambda lib: lib.nn.PixelUnshuffle(2),
])
def test_resampling_layers(make):
    tm, m = make(torch), make(tt)
    assert repr(m) == repr(tm)
    compare(tm, m, _rand((2, 4, 4, 6)), atol=1e-5)


def test_new_layers_cuda():
    compare(torch.nn.PReLU(3), nn.PReLU(3), _rand((2, 3, 4)), device="cuda")
    compare(torch.nn.ReflectionPad2d(1), nn.ReflectionPad2d(1), _rand((1, 2, 3, 4)), device="cuda")
    compare(torch.nn.Upsample(scale_factor=2, mode="bilinear"), nn.Upsample(scale_factor=2, mode="bilinear"),
            _rand((1, 2, 3, 4)), device="cuda")
    compare(torch.nn.AdaptiveMaxPool2d(2), nn.AdaptiveMaxPool2d(2), _rand((1, 2, 5, 5)), device="cuda")
    compare(torch.nn.Conv3d(2, 3, 2), nn.Conv3d(2, 3, 2), _rand((1, 2, 3, 4, 4)), device="cuda", rtol=1e-4, atol=1e-5)
    compare(torch.nn.MaxPool3d(2), nn.MaxPool3d(2), _rand((1, 2, 4, 4, 4)), device="cuda")
    compare(torch.nn.AvgPool3d(2, ceil_mode=True), nn.AvgPool3d(2, ceil_mode=True), _rand((1, 2, 3, 5, 4)),
            device="cuda", rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------ recurrent

RNNS = [("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}),
        ("LSTM", {}), ("LSTM", {"num_layers": 2, "batch_first": True, "bidirectional": True, "proj_size": 3}),
        ("GRU", {"bias": False}), ("GRU", {"num_layers": 2, "batch_first": True})]


@pytest.mark.parametrize("cls, kwargs", RNNS, ids=[f"{c}{i}" for i, (c, _) in enumerate(RNNS)])
def test_recurrent_layers(cls, kwargs):
    tm, m = getattr(torch.nn, cls)(5, 4, **kwargs), getattr(nn, cls)(5, 4, **kwargs)
    same_structure(tm, m)
    batch_first = kwargs.get("batch_first", False)
    x = _rand((2, 7, 5) if batch_first else (7, 2, 5))
    compare(tm, m, x, rtol=1e-4, atol=1e-5, out_index=0)         # output; gradients of every parameter
    states = (2 if kwargs.get("bidirectional") else 1) * kwargs.get("num_layers", 1)
    h0 = _rand((states, 2, kwargs.get("proj_size") or 4), 3)
    c0 = _rand((states, 2, 4), 4)
    t_hx = (torch.tensor(h0), torch.tensor(c0)) if cls == "LSTM" else torch.tensor(h0)
    hx = (tt.tensor(h0), tt.tensor(c0)) if cls == "LSTM" else tt.tensor(h0)
    t_out, t_hn = tm(torch.tensor(x), t_hx)
    out, hn = m(tt.tensor(x), hx)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(hn if cls == "LSTM" else (hn,), t_hn if cls == "LSTM" else (t_hn,)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    unbatched = x[0] if batch_first else x[:, 0]     # (L, features), no batch dim
    np.testing.assert_allclose(m(tt.tensor(unbatched))[0].detach().numpy(),
                               tm(torch.tensor(unbatched))[0].detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, kwargs", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
                                         ("LSTMCell", {}), ("GRUCell", {})])
def test_recurrent_cells(cls, kwargs):
    tm, m = getattr(torch.nn, cls)(5, 4, **kwargs), getattr(nn, cls)(5, 4, **kwargs)
    same_structure(tm, m)
    compare(tm, m, _rand((3, 5)), rtol=1e-4, atol=1e-5, out_index=0 if cls == "LSTMCell" else None)
    h = _rand((4,), 2)
    x = _rand((5,), 5)
    if cls == "LSTMCell":
        ours, theirs = m(tt.tensor(x), (tt.tensor(h), tt.tensor(h))), tm(torch.tensor(x), (torch.tensor(h),) * 2)
    else:
        ours, theirs = (m(tt.tensor(x), tt.tensor(h)),), (tm(torch.tensor(x), torch.tensor(h)),)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_recurrent_cuda_dropout_and_errors():
    compare(torch.nn.LSTM(3, 4, bidirectional=True), nn.LSTM(3, 4, bidirectional=True), _rand((5, 2, 3)),
            device="cuda", rtol=1e-4, atol=1e-5, out_index=0)
    compare(torch.nn.GRUCell(3, 4), nn.GRUCell(3, 4), _rand((2, 3)), device="cuda", rtol=1e-4, atol=1e-5)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    out, _ = m(tt.ones(6, 2, 3))
    assert tuple(out.shape) == (6, 2, 4)
    m.flatten_parameters()
    assert len(m.all_weights) == 2 and len(m.all_weights[0]) == 4
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sig'"):
        nn.RNN(3, 4, nonlinearity="sig")
    gru = nn.GRU(3, 4)
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
        gru(tt.ones(5, 3), tt.ones(1, 2, 4))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        gru(tt.ones(5, 2, 3), tt.ones(1, 3, 4))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 4"):
        gru(tt.ones(5, 2, 4))
    with pytest.raises(ValueError, match="GRU: Expected input to be 2D or 3D, got 4D instead"):
        gru(tt.ones(2, 5, 2, 3))
    with pytest.raises(ValueError, match="RNN input dtype"):
        gru(tt.ones(5, 2, 3, dtype=tt.float64))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 3"):
        nn.GRUCell(3, 4)(tt.ones(2, 5))
    with pytest.raises(TypeError, match="must be tuple of Tensors"):
        nn.LSTMCell(3, 4)(tt.ones(2, 3), tt.ones(2, 4))


# ------------------------------------------------------------------ shrinks, LRN, bilinear, alpha dropout

@pytest.mark.parametrize("name, args", [("Hardshrink", ()), ("Softshrink", (0.3,)), ("Tanhshrink", ()),
                                        ("LocalResponseNorm", (3,)), ("LocalResponseNorm", (2, 1e-2, 0.5, 2.0))])
def test_shrink_and_lrn_layers(name, args):
    tm, m = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(m) == repr(tm)
    compare(tm, m, _rand((2, 5, 3, 4)), rtol=1e-5, atol=1e-6)
    compare(tm, m, _rand((2, 5, 3), 1), device="cuda", rtol=1e-5, atol=1e-6)


def test_bilinear():
    tm, m = torch.nn.Bilinear(3, 4, 5), nn.Bilinear(3, 4, 5)
    same_structure(tm, m)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(3)
    compare(tm, m, _rand((6, 3)), _rand((6, 4), 1), rtol=1e-5, atol=1e-5)
    compare(torch.nn.Bilinear(3, 4, 2, bias=False), nn.Bilinear(3, 4, 2, bias=False), _rand((2, 6, 3)),
            _rand((2, 6, 4), 1), device="cuda", rtol=1e-5, atol=1e-5)


def test_alpha_dropout():
    tt.manual_seed(0)
    x = tt.randn(100000)
    for p in (0.1, 0.5):
        y = F.alpha_dropout(x, p, True).numpy()
        assert abs(y.mean()) < 0.02 and abs(y.var() - 1) < 0.02   # SELU's fixed point kept
        a = 1 / math.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
        dropped = np.isclose(y, a * 1.7580993408473766 * (p - 1), rtol=1e-6)
        assert abs(dropped.mean() - p) < 0.01
    assert F.alpha_dropout(x, 0.5) is x                            # training=False by default, as in PyTorch
    m = nn.AlphaDropout(0.2)
    assert repr(m) == repr(torch.nn.AlphaDropout(0.2)) and m.eval()(x) is x
    y = F.feature_alpha_dropout(tt.ones(4, 6, 3, 3), 0.5, True).numpy()
    assert (y == y[:, :, :1, :1]).all() and len(np.unique(y)) == 2
    masks = []
    for device in ("cpu", "cuda"):
        tt.manual_seed(4)
        masks.append(F.alpha_dropout(tt.ones(16, device=device), 0.5, True).cpu().numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not F.alpha_dropout(tt.ones(3), 1.0, True).numpy().any()


# ---------------------------------------------------------------------------------------------- embedding bag

BAG_INPUTS = [(np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0]), np.array([0, 4, 4, 7]), {}),      # an empty bag
              (np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0]), np.array([0, 4, 4, 7, 10]), {"include_last_offset": True}),
              (np.array([[1, 2, 0], [4, 4, 3], [0, 0, 0]]), None, {})]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 0])
@pytest.mark.parametrize("case", range(len(BAG_INPUTS)))
def test_embedding_bag(mode, padding_idx, case):
    indices, offsets, kwargs = BAG_INPUTS[case]
    tm = torch.nn.EmbeddingBag(10, 3, mode=mode, padding_idx=padding_idx, **kwargs)
    m = nn.EmbeddingBag(10, 3, mode=mode, padding_idx=padding_idx, **kwargs)
    same_structure(tm, m)
    if padding_idx is not None:
        assert not m.weight.detach().numpy()[padding_idx].any()
    if offsets is None:
        compare(tm, m, indices, rtol=1e-5, atol=1e-6)
    else:
        compare(tm, m, indices, offsets, rtol=1e-5, atol=1e-6)


def test_embedding_bag_per_sample_weights_cuda_and_errors():
    w = _rand((10, 3))
    indices, offsets = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2, 5])
    psw = _rand(6, 1)
    for device in ("cpu", "cuda"):
        tw, xw = torch.tensor(w, requires_grad=True), tt.tensor(w, device=device, requires_grad=True)
        tp, xp = torch.tensor(psw, requires_grad=True), tt.tensor(psw, device=device, requires_grad=True)
        ref = torch.nn.functional.embedding_bag(torch.tensor(indices), tw, torch.tensor(offsets), mode="sum",
                                                per_sample_weights=tp)
        out = F.embedding_bag(tt.tensor(indices, device=device), xw, tt.tensor(offsets, device=device), mode="sum",
                              per_sample_weights=xp)
        np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
        ref.sum().backward()
        out.sum().backward()
        np.testing.assert_allclose(xw.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(xp.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)
    wt = tt.tensor(w)
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(tt.tensor([1, 2]), wt, tt.tensor([1]))
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(tt.tensor([[1, 2]]), wt, tt.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(tt.tensor([1, 2]), wt, tt.tensor([0]), per_sample_weights=tt.ones(2))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        F.embedding_bag(tt.tensor([1, 2]), wt)
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(tt.tensor([1, 2]), wt, tt.tensor([0]), mode="foo")
    tm = torch.nn.EmbeddingBag(10, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum",
                               padding_idx=2)
    assert repr(nn.EmbeddingBag(10, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum",
                                padding_idx=2)) == repr(tm)
    bag = nn.EmbeddingBag.from_pretrained(wt, mode="max")
    assert not bag.weight.requires_grad and bag.mode == "max"


# ------------------------------------------------------------------- gumbel softmax, Softmax2d, channel shuffle

def test_gumbel_softmax_softmax2d_channel_shuffle():
    logits = tt.tensor(_rand((4000, 3)) * 0 + np.log(np.array([0.2, 0.3, 0.5], np.float32)), requires_grad=True)
    tt.manual_seed(0)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().numpy().sum(1), 1.0, rtol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(1) == 1).all()
    np.testing.assert_allclose(h.mean(0), [0.2, 0.3, 0.5], atol=0.03)   # a Gumbel-max sample of the categorical
    (hard * tt.tensor([1.0, 2.0, 3.0])).sum().backward()                # straight-through: the soft gradient
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    assert repr(nn.Softmax2d()) == repr(torch.nn.Softmax2d())
    compare(torch.nn.Softmax2d(), nn.Softmax2d(), _rand((2, 3, 4, 5)), rtol=1e-5, atol=1e-6)
    compare(torch.nn.ChannelShuffle(2), nn.ChannelShuffle(2), _rand((2, 6, 3, 2)), rtol=0, atol=0)
    assert repr(nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups"):
        F.channel_shuffle(tt.ones(1, 5, 2, 2), 2)


def test_constructor_keywords_of_torch_2_13():
    # every keyword of torch.nn's, torch.optim's, lr_scheduler's and torch.utils.data's constructors is taken
    import inspect
    gaps = {}
    for theirs, ours in ((torch.nn, nn), (torch.optim, tt.optim), (torch.optim.lr_scheduler, tt.optim.lr_scheduler),
                         (torch.utils.data, tt.utils.data)):
        for name in dir(theirs):
            C, D = getattr(theirs, name), getattr(ours, name, None)
            if name.startswith("_") or not isinstance(C, type) or D is None:
                continue
            try:
                want, have = inspect.signature(C.__init__).parameters, inspect.signature(D.__init__).parameters
            except (TypeError, ValueError):
                continue
            if not any(p.kind == p.VAR_KEYWORD for p in have.values()):
                missing = {k for k, p in want.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
                if missing - set(have):
                    gaps[name] = missing - set(have)
    assert gaps == {}
    m = nn.InstanceNorm2d(3, affine=True, bias=False)
    assert m.bias is None and m.weight.shape == (3,)
    lazy = nn.LazyBatchNorm1d(bias=False)
    lazy(tt.randn(4, 5))
    assert lazy.bias is None and lazy.weight.shape == (5,)
    with pytest.warns(FutureWarning, match="deprecated"):
        assert nn.Hardtanh(min_value=-2.0).min_val == -2.0
