"""Tensor: attributes, conversions to Python/NumPy/DLPack, device and dtype moves, printing, requires_grad."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.device import as_device
from tritorch.testing import devices

DEVICES = ["cpu", "cuda"]


def grid(device="cpu", dtype=tt.float32):
    return tt.arange(12, dtype=dtype).reshape(3, 4).to(device)


# ------------------------------------------------------------------------------------------------- attributes

@pytest.mark.parametrize("device", DEVICES)


def test_attributes(device):
    x = grid(device)
    assert x.shape == (3, 4) and isinstance(x.shape, tt.Size) and x.size() == (3, 4)
    assert x.size(1) == 4 and x.size(-1) == 4 and x.size(-2) == 3
    assert x.dtype is tt.float32 and x.device == as_device(device)
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 12 and len(x) == 3
    assert x.stride() == (4, 1) and x.stride(0) == 4 and x.stride(-1) == 1
    assert x.is_contiguous() and x.element_size() == 4 and x.nbytes == 48
    assert x.is_cuda == (device == "cuda") and x.is_cpu == (device == "cpu")
    assert x.get_device() == (0 if device == "cuda" else -1)
    t = x.t()
    assert t.shape == (4, 3) and t.stride() == (1, 4) and not t.is_contiguous()
    row = x[1]
    assert row.storage_offset() == 4 and row.stride() == (1,)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(2)


@pytest.mark.parametrize("device", DEVICES)


def test_strides_of_empty_and_size_one_dims_are_contiguous_strides(device):
    # PyTorch reports contiguous strides whatever the sizes: zeros(0, 3) has strides (3, 1)
    assert tt.zeros(0, 3, device=device).stride() == (3, 1)
    assert tt.zeros(2, 0, 3, device=device).stride() == (3, 3, 1)
    assert tt.zeros(2, 1, 3, device=device).stride() == (3, 3, 1)


def test_size_is_a_tuple():
    s = tt.zeros(2, 3, 4).shape
    assert s == (2, 3, 4) and s.numel() == 24 and repr(s) == "tritorch.Size([2, 3, 4])"
    assert isinstance(s[1:], tt.Size) and s[1:] == (3, 4) and s[0] == 2


# ---------------------------------------------------------------------------------------- Python conversions

@pytest.mark.parametrize("device", DEVICES)


def test_item_and_tolist(device):
    x = grid(device)
    assert x[1, 2].item() == 6.0 and isinstance(x[1, 2].item(), float)
    assert x.tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]
    assert tt.tensor([1, 2], device=device).tolist() == [1, 2]
    assert type(tt.tensor([7], device=device).item()) is int
    assert type(tt.tensor([True], device=device).item()) is bool
    assert tt.tensor(3.5, device=device).tolist() == 3.5
    assert tt.tensor([1.5, 2.25], dtype=tt.bfloat16, device=device).tolist() == [1.5, 2.25]
    assert tt.tensor([1.5], dtype=tt.float16, device=device).item() == 1.5
    assert int(x[0, 3]) == 3 and float(x[0, 3]) == 3.0 and bool(x[0, 1])
    with pytest.raises(RuntimeError, match="a Tensor with 12 elements cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(x[0, 0])
    assert f"{tt.tensor(3.14159, device=device):.2f}" == "3.14"


def test_numpy_shares_memory_on_cpu():
    a = np.arange(6.0).reshape(2, 3)
    t = tt.from_numpy(a)
    n = t.numpy()
    assert np.shares_memory(n, a)
    n[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\\(\\)"):
        t.cuda().numpy()
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        tt.ones(2, requires_grad=True).numpy()
    assert tt.tensor([1.5], dtype=tt.bfloat16).numpy().dtype.name == "bfloat16"


@pytest.mark.parametrize("device", DEVICES)


def test_array_protocol(device):
    x = grid(device)
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.shape == (3, 4) and a[2, 3] == 11.0
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.__array__(np.int32).dtype == np.int32
    c = np.array(x, copy=True)
    c[0, 0] = -1
    assert x[0, 0].item() == 0.0
    if device == "cpu":
        assert np.shares_memory(np.asarray(x), x.numpy())
        with pytest.raises(ValueError):
            x.__array__(np.float64, copy=False)  # NumPy 2: a dtype change needs a copy


def test_dlpack_round_trip_with_numpy():
    a = np.arange(5, dtype=np.int32)
    t = tt.from_dlpack(a)
    assert t.dtype is tt.int32 and np.shares_memory(t.numpy(), a)
    b = np.from_dlpack(t)
    assert np.shares_memory(b, a)
    assert t.__dlpack_device__() == (1, 0)
    back = tt.from_dlpack(tt.tensor([1.0, 2.0]))
    assert back.tolist() == [1.0, 2.0]
    # cuda tensors of the interpreter live in host memory: numpy can read them through DLPack
    c = tt.tensor([3.0, 4.0], device="cuda")
    if tt.cuda.is_interpreter():
        np.testing.assert_array_equal(np.from_dlpack(c), [3.0, 4.0])


# ---------------------------------------------------------------------------------------- device and dtype moves

@pytest.mark.parametrize("device", DEVICES)


def test_to_and_conversion_methods(device):
    x = grid(device)
    assert x.to(tt.float32) is x and x.to(device) is x
    assert x.to(tt.float32, copy=True) is not x
    y = x.to(tt.int32)
    assert y.dtype is tt.int32 and y.device == x.device and y.tolist()[2] == [8, 9, 10, 11]
    other = "cpu" if device == "cuda" else "cuda"
    z = x.to(other)
    assert z.device == as_device(other) and z.tolist() == x.tolist()
    w = x.to(other, tt.float64)
    assert w.device == as_device(other) and w.dtype is tt.float64
    assert x.to(device=other, dtype=tt.float16).dtype is tt.float16
    assert x.to(tt.zeros(1, dtype=tt.int16, device=other)).dtype is tt.int16
    assert x.cpu().device == as_device("cpu") and x.cuda().device == as_device("cuda")
    for method, dtype in [("float", tt.float32), ("double", tt.float64), ("half", tt.float16),
                          ("bfloat16", tt.bfloat16), ("long", tt.int64), ("int", tt.int32), ("bool", tt.bool),
                          ("short", tt.int16), ("byte", tt.uint8), ("char", tt.int8)]:
        r = getattr(x, method)()
        assert r.dtype is dtype and r.device == x.device
    assert tt.tensor([-1.7, 2.9], device=device).long().tolist() == [-1, 2]  # truncation toward zero
    assert tt.tensor([0.0, 0.5, -2.0], device=device).bool().tolist() == [False, True, True]
    assert x.type() == ("tritorch.cuda.FloatTensor" if device == "cuda" else "tritorch.FloatTensor")


def test_cpu_of_a_cpu_tensor_is_itself():
    x = tt.ones(2)
    assert x.cpu() is x


# ------------------------------------------------------------------------------------------------- printing

def test_repr_basic():
    assert repr(tt.tensor([1.0, 2.0, 3.0])) == "tensor([1., 2., 3.])"
    assert repr(tt.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tt.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(tt.tensor(3.5)) == "tensor(3.5000)"
    assert repr(tt.tensor(3)) == "tensor(3)"
    assert repr(tt.tensor([])) == "tensor([])"
    assert repr(tt.tensor([[1, -2], [30, 4]])) == "tensor([[ 1, -2],\n        [30,  4]])"
    assert repr(tt.tensor([1e10, 1.0])) == "tensor([1.0000e+10, 1.0000e+00])"
    assert str(tt.tensor([1, 2])) == "tensor([1, 2])"


@pytest.mark.parametrize("lib", ["tritorch", "torch"])


def test_format_of_zero_dim_tensors_is_their_number(lib):
    # Lightning's checkpoint names format logged 0-dim tensors: "epoch={epoch}" -> "epoch=1"
    mod = tt if lib == "tritorch" else pytest.importorskip("torch")
    assert f"{mod.tensor(1)}|{mod.tensor(1.5)}|{mod.tensor(1.5):.3f}" == "1|1.5|1.500"
    assert "epoch={epoch}-loss={loss:.2f}".format(epoch=mod.tensor(3), loss=mod.tensor(0.256)) == "epoch=3-loss=0.26"
    assert f"{mod.tensor([1, 2])}" == "tensor([1, 2])"
    assert f"{mod.nn.Parameter(mod.tensor(2.0))}".startswith("Parameter containing:")
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        f"{mod.tensor([1.0, 2.0]):.3f}"


def test_repr_suffixes():
    assert repr(tt.tensor([1.0, 2.0], device="cuda")) == "tensor([1., 2.], device='cuda:0')"
    assert repr(tt.tensor([1.5, 2.0], dtype=tt.float64)) == "tensor([1.5000, 2.0000], dtype=tritorch.float64)"
    assert repr(tt.tensor([1, 2], dtype=tt.int32)) == "tensor([1, 2], dtype=tritorch.int32)"
    assert repr(tt.tensor([1, 2], dtype=tt.uint8, device="cuda")) == \
        "tensor([1, 2], device='cuda:0', dtype=tritorch.uint8)"
    assert repr(tt.tensor([1.5], dtype=tt.float16)) == "tensor([1.5000], dtype=tritorch.float16)"
    assert repr(tt.ones(2, requires_grad=True)) == "tensor([1., 1.], requires_grad=True)"
    # the default float dtype, int64 and bool print no dtype; after set_default_dtype float64 does not either
    tt.set_default_dtype(tt.float64)
    try:
        assert repr(tt.tensor([1.0, 2.0])) == "tensor([1., 2.])"
        assert repr(tt.tensor([1.0], dtype=tt.float32)) == "tensor([1.], dtype=tritorch.float32)"
    finally:
        tt.set_default_dtype(tt.float32)


def test_repr_aligns_elements_like_pytorch():
    # every element is padded to one width, as in PyTorch
    assert repr(tt.tensor([-1.0, 2.0])) == "tensor([-1.,  2.])"
    assert repr(tt.tensor([True, False])) == "tensor([ True, False])"
    assert repr(tt.tensor([-0.2910, 0.6295, -1.2181])) == "tensor([-0.2910,  0.6295, -1.2181])"
    assert repr(tt.arange(12.0).reshape(3, 4)) == ("tensor([[ 0.,  1.,  2.,  3.],\n"
                                                    "        [ 4.,  5.,  6.,  7.],\n"
                                                    "        [ 8.,  9., 10., 11.]])")


def test_repr_non_finite_values():
    assert repr(tt.tensor(float("nan"))) == "tensor(nan)"
    assert repr(tt.tensor([1.0, float("inf")])) == "tensor([1., inf])"
    assert repr(tt.tensor([1.5, float("nan")])) == "tensor([1.5000,    nan])"


def test_repr_empty_and_summarized():
    assert repr(tt.zeros(2, 0)) == "tensor([], size=(2, 0))"
    assert repr(tt.zeros(0, dtype=tt.int64)) == "tensor([], dtype=tritorch.int64)"
    assert repr(tt.arange(2000)) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"


# ---------------------------------------------------------------------------------------------- requires_grad

@pytest.mark.parametrize("device", DEVICES)


def test_requires_grad_rules(device):
    x = tt.tensor([1.0, 2.0], device=device)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    assert tt.tensor([1.0], device=device, requires_grad=True).requires_grad
    assert tt.zeros(2, dtype=tt.float16, device=device, requires_grad=True).requires_grad
    for dtype in (tt.int64, tt.int32, tt.uint8, tt.bool):
        t = tt.zeros(2, dtype=dtype, device=device)
        with pytest.raises(RuntimeError, match="[Oo]nly Tensors of floating point"):
            t.requires_grad_()
        with pytest.raises(RuntimeError, match="[Oo]nly Tensors of floating point"):
            tt.zeros(2, dtype=dtype, device=device, requires_grad=True)
        t.requires_grad_(False)  # switching it off is always allowed
        assert not t.requires_grad


def test_data_shares_storage_and_detaches():
    x = tt.ones(3, requires_grad=True)
    d = x.data
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.detach().numpy() if hasattr(x, "detach") else d.numpy())
    assert d._version is x._version


def test_tensor_is_not_picklable_and_hashes_by_identity():
    import pickle
    x = tt.ones(2)
    with pytest.raises(TypeError):
        pickle.dumps(x)
    assert len({x: 1, tt.ones(2): 2}) == 2


def test_attributes_set_on_a_tensor_stay_with_it():
    w = tt.nn.Parameter(tt.ones(2))
    w.no_weight_decay = True
    assert w.no_weight_decay is True and w.__dict__ == {"no_weight_decay": True}
    assert not hasattr(tt.ones(1), "no_weight_decay")
    with pytest.raises(AttributeError):
        tt.ones(1).no_weight_decay


def test_deepcopy_as_pytorch():
    import copy
    torch = pytest.importorskip("torch")
    for lib in (tt, torch):
        a = lib.arange(6.0).reshape(2, 3)
        b = a.t()[1:]                       # a view: the copies share memory the same way
        c, d = copy.deepcopy((a, b))
        d[0, 0] = 50.0
        assert c.tolist() == [[0.0, 50.0, 2.0], [3.0, 4.0, 5.0]] and a[0, 1].item() == 1.0
        assert (d.stride(), d.storage_offset()) == ((1, 3), 1)
        leaf = lib.ones(2, requires_grad=True)
        leaf.grad = lib.full((2,), 3.0)
        leaf.tag = "x"
        leaf2 = copy.deepcopy(leaf)
        assert leaf2.requires_grad and leaf2.grad.tolist() == [3.0, 3.0] and leaf2.tag == "x"
        leaf2.grad[0] = 0.0
        assert leaf.grad[0].item() == 3.0
        w = lib.nn.Parameter(lib.ones(2))
        w.grad, w.tag = lib.ones(2), "y"
        w2 = copy.deepcopy(w)               # a Parameter is copied from its data alone
        assert isinstance(w2, lib.nn.Parameter) and w2.requires_grad and w2.grad is None and not hasattr(w2, "tag")
        sd = copy.deepcopy(lib.nn.Linear(3, 2).state_dict())
        assert list(sd) == ["weight", "bias"] and tuple(sd["weight"].shape) == (2, 3)
        with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
            copy.deepcopy(leaf * 2)
        assert copy.deepcopy(lib.empty(3, device="meta")).is_meta


@pytest.mark.parametrize("device", devices())


def test_deepcopy_keeps_the_device_and_the_sharing(device):
    import copy
    a = tt.arange(6.0, device=device).reshape(2, 3)
    c, d = copy.deepcopy((a, a.t()[1:]))
    d[0, 0] = 50.0
    assert c.device == a.device and c.tolist() == [[0.0, 50.0, 2.0], [3.0, 4.0, 5.0]] and a[0, 1].item() == 1.0


def test_tensor_subclasses_keep_their_gradients():
    """Instances of a Tensor subclass (as_subclass, or a subclass leaf) are plain tensors to autograd: the
    recording code identifies tensors by exact class, and took them for constants (no gradient, silently)."""
    class Tagged(tt.Tensor):
        pass

    a = tt.randn(3, requires_grad=True)
    v = a.as_subclass(Tagged)
    assert type(v) is Tagged and v.requires_grad
    y = (v * 2 + v.exp()).sum()
    assert y.requires_grad
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), (2 + a.exp()).detach().numpy(), rtol=1e-6)
    w = tt.randn(2, 3).as_subclass(Tagged).requires_grad_()
    tt.nn.functional.linear(tt.ones(4, 3), w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 4.0))
    assert tt.cat([v, a]).requires_grad
    with pytest.raises(TypeError, match="must be a subclass of Tensor"):
        a.as_subclass(int)


def test_torch_function_protocol():
    # Tensor's default __torch_function__: results of ops with a subclass operand are instances of the subclass
    # (PyTorch's rule); an override sees each op with its name and decides the result
    class Plain(tt.Tensor):
        pass

    p = tt.ones(2).as_subclass(Plain)
    for r in (p + 1, tt.cat([p, p]), tt.add(tt.ones(2), p), p.max(0).values, tt.nn.functional.relu(p), p[0]):
        assert type(r) is Plain
    assert type(p.max(0)).__name__ == "max" and isinstance(p.tolist(), list)
    plain = tt.ones(2)
    assert type(plain.to(plain.device)) is tt.Tensor and type(tt.nn.Parameter(tt.ones(2)) + 1) is tt.Tensor

    class Logged(tt.Tensor):
        calls = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.calls.append(func.__name__)
            if func.__name__ == "neg":
                return "intercepted"
            return super().__torch_function__(func, types, args, kwargs or {})

    x = tt.arange(3.0).as_subclass(Logged)
    y = x * 2 + 1
    assert type(y) is Logged and Logged.calls[-2:] == ["mul", "add"] and y.tolist() == [1.0, 3.0, 5.0]
    assert -x == "intercepted"
    a = tt.randn(3, requires_grad=True)
    (a.as_subclass(Logged) * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0, 3.0])


def test_overrides_helpers():
    from tritorch import overrides

    class Base(tt.Tensor):
        pass

    class Derived(Base):
        seen = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.seen.append((func.__name__, [t.__name__ for t in types]))
            return "derived"

    class Duck:
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return NotImplemented

    plain, b, d = tt.ones(1), tt.ones(1).as_subclass(Base), tt.ones(1).as_subclass(Derived)
    assert not overrides.has_torch_function((plain, 1.0)) and overrides.has_torch_function((plain, b))
    assert overrides.has_torch_function_unary(d) and overrides.has_torch_function_variadic(plain, Duck())
    assert overrides.is_tensor_like(Duck()) and overrides.is_tensor_like(plain) and not overrides.is_tensor_like(2)

    def my_op(x, y):
        return "plain"

    # the most derived type is asked first, before its base class
    assert overrides.handle_torch_function(my_op, (b, d), b, d) == "derived"
    assert Derived.seen[-1] == ("my_op", ["Derived", "Base"])
    with pytest.raises(TypeError, match="no implementation found for 'test_overrides_helpers.<locals>.my_op'"):
        overrides.handle_torch_function(my_op, (Duck(),), Duck(), 1)

    @overrides.wrap_torch_function(lambda x: (x,))
    def wrapped(x):
        return "ran"

    assert wrapped(plain) == "ran" and wrapped(d) == "derived"


def test_torch_function_modes():
    from tritorch.overrides import BaseTorchFunctionMode, TorchFunctionMode

    class Log(TorchFunctionMode):
        def __init__(self):
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.calls.append(func.__name__)
            return func(*args, **(kwargs or {}))

    x = tt.ones(3)
    with Log() as mode:
        y = (x * 2 + 1).exp().sum()
    assert mode.calls == ["mul", "add", "exp", "sum"] and abs(y.item() - 3 * np.exp(3.0)) < 1e-4
    with Log() as outer:
        with Log() as inner:
            x + 1                       # the inner mode runs the op: the outer one sees what inner calls
    assert inner.calls == ["add"] and outer.calls == ["add"]
    x + 1
    assert outer.calls == ["add"]       # (off the stack after its block)

    class NoAdds(BaseTorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return "refused" if func.__name__ == "add" else super().__torch_function__(func, types, args, kwargs)

    with pytest.raises(ValueError):
        with NoAdds():
            assert x + 1 == "refused" and (x * 3).tolist() == [3.0, 3.0, 3.0]
            raise ValueError
    assert isinstance(x + 1, tt.Tensor)    # the block's error took the mode off the stack


def test_torch_function_default_is_per_thread():
    # while one thread is inside Tensor.__torch_function__'s default (running its func), another thread's
    # subclass calls still dispatch: their results are the subclass
    import threading

    class Sub(tt.Tensor):
        pass

    started, release = threading.Event(), threading.Event()

    def blocking():
        started.set()
        release.wait(10)
        return tt.ones(1)

    slow = threading.Thread(target=lambda: tt.Tensor.__torch_function__.__func__(Sub, blocking, (Sub,)))
    slow.start()
    assert started.wait(10)
    try:
        assert type(tt.ones(2).as_subclass(Sub) * 2) is Sub
    finally:
        release.set()
        slow.join(10)


def test_pytorchs_warnings_for_non_leaf_grad_and_cross_without_dim():
    import warnings
    x = tt.ones(2, requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    (y * y).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad.tolist() == [8.0, 8.0] and y.grad.tolist() == [4.0, 4.0]   # leaves and retained: silent
        assert tt.ones(2).grad is None
        tt.linalg.cross(tt.ones(3), tt.ones(3))
        tt.cross(tt.ones(3), tt.ones(3), dim=0)
    with pytest.warns(UserWarning, match="torch.cross without specifying the dim arg is deprecated"):
        tt.cross(tt.ones(3), tt.ones(3))


def test_contains():
    # `v in t` is (t == v).any(), as PyTorch's (transformers: `pad_token_id in input_ids[:, [-1, 0]]`)
    t = tt.tensor([[1, 2], [3, 4]])
    assert 3 in t and 5 not in t and 2.0 in t and tt.tensor(2) in t and tt.tensor([1, 2]) in t
    assert np.int64(4) in t and True in tt.tensor([0, 1]) and False not in tt.tensor([True])
    for bad in ("a", None, [1]):
        with pytest.raises(RuntimeError, match="Tensor.__contains__ only supports Tensor or scalar, but you passed in"):
            bad in t  # noqa: B015


class _ImageLike(tt.Tensor):
    """torchvision's tv_tensors.Image pattern: __new__ returns `tensor.as_subclass(cls)`; dtype / device / shape are
    read-only properties read with __torch_function__ disabled; ops' results are unwrapped to plain tensors."""

    def __new__(cls, data, *, dtype=None):
        return tt.as_tensor(data, dtype=dtype).as_subclass(cls)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        with tt._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))

    @property
    def dtype(self):
        with tt._C.DisableTorchFunctionSubclass():
            return super().dtype

    @property
    def device(self):
        with tt._C.DisableTorchFunctionSubclass():
            return super().device

    @property
    def shape(self):
        with tt._C.DisableTorchFunctionSubclass():
            return super().shape


def test_subclass_built_in_new_with_read_only_metadata():
    im = _ImageLike([[1, 2], [3, 4]], dtype=tt.uint8)   # Python calls __init__(data, dtype=...) after __new__
    assert type(im) is _ImageLike and im.dtype is tt.uint8 and im.tolist() == [[1, 2], [3, 4]]
    f = im.float()
    assert type(f) is tt.Tensor and f.dtype is tt.float32
    im.data = tt.zeros(3)                                # the data setter writes past the read-only properties
    assert im.dtype is tt.float32 and im.shape == (3,) and type(im.as_subclass(tt.Tensor)) is tt.Tensor
    p = tt.Tensor._make_subclass(_ImageLike, tt.ones(2), True)
    assert type(p) is _ImageLike and p.requires_grad and p.is_leaf
    assert tt.Tensor([1, 2]).dtype is tt.float32 and tt.Tensor(2, 3).shape == (2, 3)


def test_legacy_constructor_of_a_plain_subclass():
    class Plain(tt.Tensor):
        pass
    p = Plain([1.0, 2.0])
    assert type(p) is Plain and p.tolist() == [1.0, 2.0]


def test_format_of_a_scalar_tensor_is_its_number():
    # as PyTorch: f"{loss}" of a 0-d tensor formats loss.item(); other tensors format as their str, and a format
    # spec for them is object.__format__'s TypeError; a Parameter (a subclass in torch) keeps its str too
    import tritorch as tt
    assert f"{tt.tensor(2.5)}" == "2.5" and f"{tt.tensor(2.5):.3f}" == "2.500" and "{}".format(tt.tensor(3)) == "3"
    assert f"{tt.tensor(True)}" == "True" and f"{tt.tensor(2.5, requires_grad=True)}" == "2.5"
    assert f"{tt.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    assert f"{tt.nn.Parameter(tt.tensor(2.0))}" == "Parameter containing:\ntensor(2., requires_grad=True)"
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        f"{tt.tensor([1.0, 2.0]):.2f}"


class _Rewrapping(tt.Tensor):
    """torchvision's TVTensor rule: results of exactly Tensor.clone / to / detach / requires_grad_ keep the class
    and metadata; other ops give plain tensors."""
    seen: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.seen.append(func)
        with tt._C.DisableTorchFunctionSubclass():
            out = func(*args, **(kwargs or {}))
        if func in {tt.Tensor.clone, tt.Tensor.to, tt.Tensor.detach, tt.Tensor.requires_grad_}:
            out = out.as_subclass(cls) if type(out) is tt.Tensor else out
            out.meta = args[0].meta
        return out


class _DefaultSubclass(tt.Tensor):
    pass


def test_tensor_methods_reach_torch_function_as_the_tensor_methods():
    s = tt.ones(2).as_subclass(_Rewrapping)
    s.meta = "m"
    for call, name in [(lambda: s.clone(), "clone"), (lambda: s.to(tt.float64), "to"), (lambda: s.detach(), "detach"),
                       (lambda: s.requires_grad_(False), "requires_grad_")]:
        _Rewrapping.seen.clear()
        r = call()
        assert _Rewrapping.seen == [getattr(tt.Tensor, name)] and type(r) is _Rewrapping and r.meta == "m"
    assert type(s + 1) is tt.Tensor
    d = tt.ones(2).as_subclass(_DefaultSubclass)
    assert type(d.detach()) is _DefaultSubclass and type(d.to(tt.float64)) is _DefaultSubclass   # as PyTorch's
    assert d.to(tt.float64).dtype is tt.float64
