"""Module machinery: registration, iteration, modes, to(), state_dict, hooks, repr, containers."""
from collections import OrderedDict
import copy

import numpy as np
import pytest

import tritorch as tt
import tritorch.nn as nn

torch = pytest.importorskip("torch")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(tt.ones(2))
        self.register_buffer("steps", tt.zeros((), dtype=tt.int64))
        self.register_buffer("cache", tt.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(4, 2, bias=False)
        self.scale = torch.nn.Parameter(torch.ones(2))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("cache", torch.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_parameter_basics():
    p = nn.Parameter(tt.randn(2, 3))
    assert isinstance(p, nn.Parameter) and isinstance(p, tt.Tensor)
    assert p.requires_grad and p.is_leaf
    assert not isinstance(tt.randn(2), nn.Parameter)
    assert not isinstance(p * 2, nn.Parameter) and not isinstance(p.detach(), nn.Parameter)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(tt.ones(2), requires_grad=False).requires_grad
    base = tt.ones(3)
    q = nn.Parameter(base)
    with tt.no_grad():
        q.mul_(2)
    assert base.tolist() == [2.0, 2.0, 2.0]  # shares storage, as in PyTorch
    assert nn.Parameter().shape == (0,)


def test_registration_and_iteration_names_match_torch():
    m, tm = Net(), TorchNet()
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in tm.named_children()]
    assert list(m.state_dict()) == list(tm.state_dict())
    assert len(list(m.parameters(recurse=False))) == 1
    assert len(list(m.modules())) == 4 and len(list(m.children())) == 3
    assert [n for n, _ in m.named_parameters(prefix="net")][:2] == ["net.scale", "net.fc1.weight"]


def test_setattr_rules_and_errors():
    m = Net()
    m.fc1 = None
    assert m.fc1 is None and "fc1" in m._modules
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'scale'"):
        m.scale = 3
    m.scale = None
    assert m.scale is None and [n for n, _ in m.named_parameters()] == ["fc2.weight"]
    m.steps = tt.ones(())
    assert m.steps.item() == 1.0
    with pytest.raises(TypeError, match="as buffer"):
        m.steps = 5
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("fc2", tt.ones(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", nn.Parameter(tt.ones(1)))
    with pytest.raises(TypeError, match="torch.nn.Parameter or None required"):
        m.register_parameter("w", tt.ones(1))
    m.add_module("extra", nn.Identity())
    assert "extra" in dict(m.named_children())
    del m.extra
    assert "extra" not in m._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        m.nope
    m.buf = nn.Buffer(tt.ones(2), persistent=False)
    assert "buf" in m._buffers and "buf" not in m.state_dict()


def test_forward_and_gradients_match_torch():
    m, tm = Net(), TorchNet()
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out = m(tt.tensor(x))
    tout = tm(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.square().sum().backward()
    tout.square().sum().backward()
    for (n, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


def test_state_dict_round_trip_and_sharing():
    m = Net()
    sd = m.state_dict()
    assert "cache" not in sd and "steps" in sd
    assert not sd["fc1.weight"].requires_grad and not isinstance(sd["fc1.weight"], nn.Parameter)
    assert isinstance(m.state_dict(keep_vars=True)["fc1.weight"], nn.Parameter)
    m2 = Net()
    result = m2.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for k, v in m2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    # load_state_dict copies in place: the parameter objects stay the same
    w = m2.fc1.weight
    m2.load_state_dict(Net().state_dict())
    assert m2.fc1.weight is w


def test_load_state_dict_strict_errors():
    m = Net()
    sd = m.state_dict()
    del sd["fc1.bias"]
    sd["fc3.weight"] = tt.ones(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: \"fc1.bias\". ")
    assert 'Unexpected key(s) in state_dict: "fc3.weight". ' in msg
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.bias"] and result.unexpected_keys == ["fc3.weight"]
    assert result == (["fc1.bias"], ["fc3.weight"])
    bad = m.state_dict()
    bad["fc1.weight"] = tt.ones(2, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.weight: copying a param with shape "
                                           r"tritorch.Size\(\[2, 2\]\) from checkpoint"):
        m.load_state_dict(bad, strict=False)
    # torch's own message for the same situation, for comparison of the key report
    tm = TorchNet()
    tsd = tm.state_dict()
    del tsd["fc1.bias"]
    tsd["fc3.weight"] = torch.ones(1)
    tres = tm.load_state_dict(tsd, strict=False)
    assert (tres.missing_keys, tres.unexpected_keys) == (result.missing_keys, result.unexpected_keys)


def test_extra_state_in_state_dict():
    # get_extra_state/set_extra_state, saved under "<prefix>_extra_state" (transformers' loader compares keys with
    # torch.nn.modules.module._EXTRA_STATE_KEY_SUFFIX)
    from tritorch.nn.modules.module import _EXTRA_STATE_KEY_SUFFIX
    assert _EXTRA_STATE_KEY_SUFFIX == "_extra_state"

    class WithExtra(nn.Linear):
        def get_extra_state(self):
            return {"version": 3}

        def set_extra_state(self, state):
            self.restored = state

    outer = nn.Sequential(WithExtra(2, 2))
    sd = outer.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "0._extra_state"] and sd["0._extra_state"] == {"version": 3}
    outer.load_state_dict(sd)
    assert outer[0].restored == {"version": 3}
    del sd["0._extra_state"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0._extra_state"'):
        outer.load_state_dict(sd)
    plain = nn.Linear(2, 2)
    assert list(plain.state_dict()) == ["weight", "bias"]
    r = plain.load_state_dict({**plain.state_dict(), "_extra_state": 1}, strict=False)
    assert r.unexpected_keys == ["_extra_state"] and r.missing_keys == []
    with pytest.raises(RuntimeError, match="should never be called"):
        plain.get_extra_state()


def test_state_dict_and_load_state_dict_hooks():
    # Mamba renames old checkpoint keys in a _register_load_state_dict_pre_hook; the order and arguments below are
    # PyTorch's (checked against it in the same sequence)
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    log = []
    m[0].register_state_dict_pre_hook(lambda mod, prefix, keep_vars: log.append(("pre", prefix, keep_vars)))
    h = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: log.append(("post", prefix, sorted(sd))))
    assert sorted(m.state_dict()) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert log == [("pre", "0.", False), ("post", "", ["0.bias", "0.weight", "1.bias", "1.weight"])]
    h.remove()
    private = m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"only": 1})
    assert m.state_dict() == {"only": 1}
    private.remove()
    bad = m.register_state_dict_post_hook(lambda *a: {})
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        m.state_dict()
    bad.remove()

    def rename(sd, prefix, *rest):
        assert len(rest) == 5   # local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        if prefix + "w" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "w")

    m[0]._register_load_state_dict_pre_hook(rename)
    seen = []
    m[1].register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: seen.append((mod is m[1], prefix)))

    def drop_junk(mod, keys):
        seen.append(("post", list(keys.missing_keys), list(keys.unexpected_keys)))
        if "junk" in keys.unexpected_keys:
            keys.unexpected_keys.remove("junk")

    m.register_load_state_dict_post_hook(drop_junk)
    sd = dict(m.state_dict())
    sd["0.w"] = sd.pop("0.weight")
    sd["junk"] = tt.zeros(1)
    original = dict(sd)
    assert m.load_state_dict(sd) == ([], [])
    assert seen == [(True, "1."), ("post", [], ["junk"])] and sd == original   # (the hooks edit a copy)


def test_load_state_dict_assign():
    m = Net()
    new_w = tt.full((4, 3), 2.0)
    sd = m.state_dict()
    sd["fc1.weight"] = new_w
    m.load_state_dict(sd, assign=True)
    assert isinstance(m.fc1.weight, nn.Parameter) and m.fc1.weight.requires_grad
    assert m.fc1.weight.data_ptr() == new_w.data_ptr()


@pytest.mark.parametrize("lib", ["tritorch", "torch"])
def test_load_from_state_dict_overrides_take_pytorchs_seven_arguments(lib):
    # torchmetrics' Metric overrides _load_from_state_dict with exactly these parameters and calls super's;
    # assign reaches it in local_metadata
    mod = tt if lib == "tritorch" else torch
    seen = []

    class Child(mod.nn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                  error_msgs):
            seen.append((prefix, dict(local_metadata).get("assign_to_params_buffers", False)))
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)

    m = mod.nn.Sequential(Child(2, 2))
    sd = {k: mod.ones_like(v) for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    new_w = mod.full((2, 2), 3.0)
    m.load_state_dict({**sd, "0.weight": new_w}, assign=True)
    assert seen == [("0.", False), ("0.", True)]
    assert m[0].weight.data_ptr() == new_w.data_ptr() and m[0].bias.tolist() == [1.0, 1.0]


def test_train_eval_requires_grad_zero_grad_apply():
    m = Net()
    assert m.training and m.fc1.training
    m.eval()
    assert not m.training and not m.fc1.training
    m.train()
    assert m.fc2.training
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_(True)
    m(tt.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ReLU", "Linear", "Net"]


def test_to_dtype_and_device_keep_parameter_identity():
    m = Net()
    w = m.fc1.weight
    m.double()
    assert m.fc1.weight is w and w.dtype is tt.float64 and isinstance(w, nn.Parameter)
    assert m.steps.dtype is tt.int64  # only floating-point tensors change dtype
    m.to(tt.float32)
    assert w.dtype is tt.float32
    m.half()
    assert w.dtype is tt.float16
    m.bfloat16()
    assert w.dtype is tt.bfloat16
    m.float()
    with pytest.raises(TypeError, match="floating point"):
        m.to(tt.int32)
    m(tt.randn(2, 3)).sum().backward()
    m.to("cuda")
    assert w.device.type == "cuda" and w.grad.device.type == "cuda" and m.steps.device.type == "cuda"
    assert m.cache.device.type == "cuda"
    m.cpu()
    assert w.device.type == "cpu"
    m.cuda()
    assert w.device.type == "cuda"
    m.to(tt.zeros(1, dtype=tt.float64))  # to(tensor): its device and dtype
    assert w.device.type == "cpu" and w.dtype is tt.float64


def test_module_on_cuda_interpreter_forward_backward():
    m, tm = Net(), TorchNet()
    m.load_state_dict(tm.state_dict())
    m.to("cuda")
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    out = m(tt.tensor(x, device="cuda"))
    out.sum().backward()
    tout = tm(torch.tensor(x))
    tout.sum().backward()
    np.testing.assert_allclose(out.cpu().detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.fc1.weight.grad.cpu().numpy(), tm.fc1.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    # cpu <-> cuda state dict round trip
    m2 = Net()
    m2.load_state_dict(m.state_dict())
    assert m2.fc1.weight.device.type == "cpu"
    np.testing.assert_array_equal(m2.fc1.weight.detach().numpy(), m.fc1.weight.cpu().detach().numpy())


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    out = m(tt.ones(1, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    out = m(tt.ones(1, 2))
    assert calls == ["pre", "post"]
    # with_kwargs, prepend, handle as context manager
    order = []
    m.register_forward_hook(lambda mod, a, o: order.append("b"))
    m.register_forward_hook(lambda mod, a, o: order.append("a"), prepend=True)
    with m.register_forward_pre_hook(lambda mod, a, kw: ((a[0] * 2,), kw), with_kwargs=True):
        m(tt.ones(1, 2))
    assert order == ["a", "b"]
    assert len(m._forward_pre_hooks) == 0
    got = []
    m.register_forward_hook(lambda mod, a, kw, o: got.append(sorted(kw)), with_kwargs=True)
    m(input=tt.ones(1, 2))
    assert got == [["input"]]


def test_always_call_hook_runs_when_forward_raises():
    m = nn.Linear(2, 2)
    seen = []
    m.register_forward_hook(lambda mod, a, o: seen.append(o), always_call=True)
    with pytest.raises(RuntimeError):
        m(tt.ones(1, 3))
    assert seen == [None]


def test_repr_matches_torch():
    m, tm = Net(), TorchNet()
    assert repr(m).replace("Net", "X") == repr(tm).replace("TorchNet", "X")
    seq = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.2)), nn.GELU(approximate="tanh"))
    tseq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Dropout(0.2)),
                               torch.nn.GELU(approximate="tanh"))
    assert repr(seq) == repr(tseq)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(ml) == repr(tml)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_sequential():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    named = nn.Sequential(OrderedDict([("a", nn.Linear(2, 2)), ("b", nn.Tanh())]))
    assert list(named.state_dict()) == ["a.weight", "a.bias"] and named.b is named[1]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4
    del seq[1]
    assert [k for k in seq._modules] == ["0", "1", "2"]
    seq.insert(1, nn.ReLU())
    assert isinstance(seq[1], nn.ReLU) and len(seq) == 4
    out = seq(tt.randn(5, 2))
    assert out.shape == (5, 1)
    with pytest.raises(IndexError):
        seq[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml += [nn.Sigmoid()]
    assert len(ml) == 4 and isinstance(ml[-1], nn.Sigmoid)
    ml.insert(0, nn.Identity())
    assert isinstance(ml[0], nn.Identity) and list(ml._modules) == ["0", "1", "2", "3", "4"]
    assert len(list(ml.parameters())) == 2
    md = nn.ModuleDict({"lin": nn.Linear(1, 2), "act": nn.ReLU()})
    assert list(md.keys()) == ["lin", "act"] and "lin" in md and len(md) == 2
    md["out"] = nn.Linear(2, 1)
    assert list(md.state_dict()) == ["lin.weight", "lin.bias", "out.weight", "out.bias"]
    assert isinstance(md.pop("act"), nn.ReLU) and len(md) == 2


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(tt.ones(2)), tt.zeros(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    pl.append(tt.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3), torch.ones(1)])
    assert repr(pl).replace("tritorch.", "torch.") == repr(tpl)
    pd = nn.ParameterDict({"a": tt.ones(2)})
    pd["b"] = nn.Parameter(tt.zeros(1))
    assert list(pd.keys()) == ["a", "b"] and isinstance(pd["a"], nn.Parameter) and len(pd) == 2
    assert list(pd.state_dict()) == ["a", "b"]
    tpd = torch.nn.ParameterDict({"a": torch.ones(2)})
    tpd["b"] = torch.nn.Parameter(torch.zeros(1))
    assert repr(pd).replace("tritorch.", "torch.") == repr(tpd)
    del pd["a"]
    assert list(pd.keys()) == ["b"]


def test_deepcopy_clones_parameters():
    m = Net()
    c = copy.deepcopy(m)
    assert c.fc1.weight is not m.fc1.weight and isinstance(c.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(c.fc1.weight.detach().numpy(), m.fc1.weight.detach().numpy())
    with tt.no_grad():
        c.fc1.weight.copy_(0.0)
    assert m.fc1.weight.detach().numpy().any()
    assert "cache" in c._non_persistent_buffers_set


def test_get_submodule_parameter_buffer():
    m = nn.Sequential(Net())
    assert m.get_submodule("0.fc1") is m[0].fc1
    assert m.get_parameter("0.fc1.weight") is m[0].fc1.weight
    assert m.get_buffer("0.steps") is m[0].steps
    with pytest.raises(AttributeError):
        m.get_submodule("0.nope")


def test_full_backward_hooks_match_torch():
    import torch
    records = {}
    for lib in (torch, tt):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        m.load_state_dict({"weight": lib.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]]), "bias": lib.tensor([0.1, 0.2])})
        seen = []

        def hook(mod, grad_input, grad_output, seen=seen):
            seen.append(("full", [None if g is None else g.detach().numpy().copy() for g in grad_input],
                         [g.detach().numpy().copy() for g in grad_output]))

        def pre(mod, grad_output, seen=seen):
            seen.append(("pre", grad_output[0].detach().numpy().copy()))
            return (grad_output[0] * 2,)

        handle = m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(pre)
        x = lib.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], requires_grad=True)
        m(x).pow(2).sum().backward()
        m(lib.ones(1, 3)).sum().backward()          # an input without grad: grad_input is (None,)
        handle.remove()
        m(x).sum().backward()                        # only the pre-hook is left
        relu = lib.nn.ReLU()
        relu.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
        y = lib.ones(3, requires_grad=True)
        relu(y).sum().backward()
        records[lib.__name__] = (seen, x.grad.numpy(), m.weight.grad.numpy(), y.grad.numpy())
    ours, theirs = records["tritorch"], records["torch"]
    assert [e[0] for e in ours[0]] == [e[0] for e in theirs[0]] == ["pre", "full", "pre", "full", "pre"]
    for a, b in zip(ours[0], theirs[0]):
        for u, v in zip(a[1:], b[1:]):
            if isinstance(v, list):
                assert [x is None for x in u] == [x is None for x in v]
                for p, q in zip(u, v):
                    if q is not None:
                        np.testing.assert_allclose(p, q, rtol=1e-6)
            else:
                np.testing.assert_allclose(u, v, rtol=1e-6)
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    import torch
    tm = torch.nn.utils.weight_norm(torch.nn.Conv1d(3, 4, 2), dim=dim)
    m = tt.nn.utils.weight_norm(tt.nn.Conv1d(3, 4, 2), dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["bias", "weight_g", "weight_v"]
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    tm(torch.tensor(x)).square().sum().backward()
    m(tt.tensor(x)).square().sum().backward()
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), dict(tm.named_parameters())[name].grad.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
    with tt.no_grad():
        m.weight_g.mul_(2.0)                           # the next forward recomputes the weight from g and v
    m(tt.tensor(x))
    np.testing.assert_allclose(m.weight.detach().numpy(), 2 * tm.weight.detach().numpy(), rtol=1e-5)
    tt.nn.utils.remove_weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, tt.nn.Parameter)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        tt.nn.utils.remove_weight_norm(m)


@pytest.mark.parametrize("make", [lambda lib: lib.nn.Linear(4, 3), lambda lib: lib.nn.Conv2d(2, 3, 2),
                                  lambda lib: lib.nn.ConvTranspose2d(2, 3, 2)])
def test_spectral_norm_matches_torch(make):
    import torch
    torch.manual_seed(0)
    tm = torch.nn.utils.spectral_norm(make(torch), n_power_iterations=2)
    m = tt.nn.utils.spectral_norm(make(tt), n_power_iterations=2)
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: tt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    shape = (2, 4) if isinstance(tm, torch.nn.Linear) else (1, 2, 4, 4)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(2):                                 # training forwards refine u and v
        t_out, out = tm(torch.tensor(x)), m(tt.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    t_out.square().sum().backward()
    out.square().sum().backward()
    np.testing.assert_allclose(m.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy(), rtol=1e-4, atol=1e-5)
    for key in ("weight_u", "weight_v"):
        np.testing.assert_allclose(getattr(m, key).numpy(), getattr(tm, key).numpy(), rtol=1e-4, atol=1e-5)
    tm.eval()
    m.eval()
    np.testing.assert_allclose(m(tt.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    tt.nn.utils.remove_spectral_norm(m)
    assert "weight" in dict(m.named_parameters()) and "weight_u" not in m.state_dict()


class _Versioned(nn.Module):
    """torchvision's MLPBlock pattern: version 2 renamed `old` to `new`; older checkpoints are renamed on load."""
    _version = 2

    def __init__(self):
        super().__init__()
        self.new = nn.Linear(2, 2)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for key in [k for k in state_dict if k.startswith(prefix + "old.")]:
                state_dict[prefix + "new." + key[len(prefix + "old."):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


def test_state_dict_metadata_and_versioned_loading():
    m = nn.Sequential(_Versioned())
    sd = m.state_dict()
    assert sd._metadata == {"": {"version": 1}, "0": {"version": 2}, "0.new": {"version": 1}}
    assert m.load_state_dict(sd) == ([], [])
    old = {k.replace("new", "old"): v + 1 for k, v in sd.items()}     # no _metadata: version None, renamed
    assert m.load_state_dict(old) == ([], [])
    assert tt.equal(m[0].new.bias, old["0.old.bias"])
    plain = {k: v for k, v in sd.items()}
    w = tt.zeros(2, 2)
    plain["0.new.weight"] = w
    m.load_state_dict(plain, assign=True)                              # assign reaches the override's super()
    assert m[0].new.weight.data_ptr() == w.data_ptr()
