"""Complex tensors: dtypes and promotion, creation and printing, the registry's complex forms and refusals, and
gradients against PyTorch's (the generated tests check each complex op's values; the generated gradient tests
cover only ops with a float64 dtype, so the complex-only ops' gradients are checked here)."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close, devices

torch = pytest.importorskip("torch")

DEVICES = devices()


def _pair(values, dtype=np.complex64, device="cpu", requires_grad=False):
    """The same values as a tritorch tensor on `device` and a torch (cpu) tensor."""
    a = np.asarray(values, dtype)
    return (tt.tensor(a, device=device, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _random(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------------------------ dtypes

def test_dtype_names_and_predicates():
    assert tt.cfloat is tt.complex64 and tt.cdouble is tt.complex128
    assert tt.complex64.is_complex and not tt.complex64.is_floating_point
    assert tt.complex64.to_real() is tt.float32 and tt.float64.to_complex() is tt.complex128
    assert tt.complex64.itemsize == 8 and tt.complex128.itemsize == 16
    assert repr(tt.complex64) == "tritorch.complex64"
    assert tt.finfo(tt.complex64).eps == tt.finfo(tt.float32).eps
    with pytest.raises(TypeError):
        tt.iinfo(tt.complex64)


def test_promotion_matches_torch():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
             "complex64", "complex128"]
    for a in names:
        for b in names:
            if "complex" not in a + b:
                continue
            got = tt.promote_types(getattr(tt, a), getattr(tt, b)).name
            want = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")
            if want == "complex32":   # tritorch has no complex32: half parts widen to complex64
                want = "complex64"
            assert got == want, (a, b)


def test_result_type_with_complex_scalars_matches_torch():
    cases = [(np.float32, 1j), (np.float64, 1j), (np.int64, 1j), (np.bool_, 2j), (np.complex64, 1.5),
             (np.complex128, 1j), (np.complex64, 1j)]
    for dt, scalar in cases:
        x = np.ones(3, dt)
        got = tt.result_type(tt.tensor(x), scalar).name
        want = str(torch.result_type(torch.tensor(x), scalar)).removeprefix("torch.")
        assert got == want, (dt, scalar)
    for dt in ("complex64", "complex128"):   # Python numbers keep a complex tensor's dtype
        for scalar in (0.5, 2, True, 1j):
            got = (tt.ones(2, dtype=getattr(tt, dt)) * scalar).dtype.name
            assert got == str((torch.ones(2, dtype=getattr(torch, dt)) * scalar).dtype).removeprefix("torch."), \
                (dt, scalar)
    # a 0-dim complex tensor with a float tensor keeps the float tensor's width
    assert tt.result_type(tt.ones(2), tt.tensor(1j, dtype=tt.complex128)) is tt.complex64
    assert tt.result_type(tt.ones(2, dtype=tt.int32), tt.tensor(1j, dtype=tt.complex128)) is tt.complex128


def test_python_complex_before_any_complex_dtype():
    """A program whose first complex number is a Python scalar (the registry's complex check starts then)."""
    code = ("import tritorch as tt\n"
            "x = tt.ones(2)\n"
            "print((x * 1j).dtype, tt.mul(x, 2j).dtype, (1j + x).dtype, tt.add(x, 1 + 1j)[0].item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["tritorch.complex64", "tritorch.complex64", "tritorch.complex64", "(2+1j)"]
    code = "import tritorch as tt\nprint(tt.where(tt.tensor([True, False]), tt.ones(2), 1j).tolist())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[(1+0j), 1j]"


# ---------------------------------------------------------------------------------------------- creation

@pytest.mark.parametrize("device", DEVICES)
def test_creation(device):
    assert tt.tensor([1 + 2j, 3], device=device).dtype is tt.complex64
    assert tt.tensor(np.ones(2, np.complex128), device=device).dtype is tt.complex128
    for factory in (tt.zeros, tt.ones, tt.empty):
        t = factory(2, 3, dtype=tt.cfloat, device=device)
        assert t.dtype is tt.complex64 and t.shape == (2, 3) and t.device.type == device
    assert tt.ones(2, dtype=tt.complex64, device=device).tolist() == [1 + 0j, 1 + 0j]
    assert tt.full((2,), 1 - 2j, device=device).tolist() == [1 - 2j, 1 - 2j]
    assert tt.full((2,), 3, dtype=tt.complex128, device=device).dtype is tt.complex128
    assert tt.zeros_like(tt.ones(2, dtype=tt.complex64, device=device)).tolist() == [0j, 0j]
    t = tt.tensor([[1 + 2j]], device=device)
    assert t.item() == 1 + 2j and complex(t) == 1 + 2j
    assert t.is_complex() and tt.is_complex(t) and not tt.ones(1).is_complex()
    np.testing.assert_array_equal(t.cpu().numpy(), np.array([[1 + 2j]], np.complex64))


@pytest.mark.parametrize("device", DEVICES)
def test_random_complex(device):
    tt.manual_seed(0)
    x = tt.randn(20000, dtype=tt.complex64, device=device)
    assert x.dtype is tt.complex64
    # PyTorch's complex normal: each part of variance 1/2, so E|z|^2 = 1
    assert abs(x.real.var().item() - 0.5) < 0.03 and abs(x.imag.var().item() - 0.5) < 0.03
    u = tt.rand(20000, dtype=tt.complex128, device=device)
    assert 0 <= u.real.min().item() and u.imag.max().item() < 1 and abs(u.imag.mean().item() - 0.5) < 0.02


def test_printing_matches_torch():
    wide = [[[6 + 3j, 14 + 7j, 2 + 1j, -15 - 7.5j, 1 + 0.5j], [-2 - 1j, 0, 24 + 12j, 11 + 5.5j, 9 + 4.5j]]] * 2
    for values in ([1 + 2j, 3], [[1.5 + 2j, 3], [0, -1j]], [-0.29095, 0.6295 - 1.25j], [1e-5 + 1e5j, 1], 1 + 1j,
                   wide):   # (elements per line: PyTorch's width estimate, which leaves out the imaginary '+')
        # (complex64 goes with the default float32: no dtype, as in PyTorch)
        assert repr(tt.tensor(values)) == repr(torch.tensor(values))
    assert repr(tt.tensor([1j], dtype=tt.complex128)) == "tensor([0.+1.j], dtype=tritorch.complex128)"
    previous = tt.get_default_dtype()
    tt.set_default_dtype(tt.float64)
    try:
        assert repr(tt.tensor([1j], dtype=tt.complex128)) == "tensor([0.+1.j])"
        assert repr(tt.tensor([1j], dtype=tt.complex64)) == "tensor([0.+1.j], dtype=tritorch.complex64)"
    finally:
        tt.set_default_dtype(previous)


# ------------------------------------------------------------------------------------- refusals and forms

def test_ops_without_a_complex_form_refuse_before_running():
    z = tt.tensor([1 + 1j, 2])
    for call, name in [(lambda: tt.erf(z), "erf"), (lambda: tt.nn.functional.relu(z), "relu"),
                       (lambda: z.max(), "amax"), (lambda: tt.arange(3, dtype=tt.complex64), "arange"),
                       (lambda: tt.floor(z), "floor"), (lambda: z < z, "lt")]:
        with pytest.raises(RuntimeError, match=f'"{name}" not implemented for \'ComplexFloat\''):
            call()
    with pytest.raises(RuntimeError, match="ComplexDouble"):
        tt.erf(tt.tensor([1j], dtype=tt.complex128))
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype"):
        tt.ones(2, dtype=tt.int64).requires_grad_()


def test_real_programs_keep_their_ops():
    """With complex numbers in use, real calls still go to the real ops (the complex forms only take complex)."""
    tt.tensor([1j])
    x = tt.tensor([1.0, -2.0])
    assert (x * 2).dtype is tt.float32 and x.abs().tolist() == [1.0, 2.0] and tt.exp(x).dtype is tt.float32
    assert tt.cat([x, x]).dtype is tt.float32 and (x == x).all().item()


@pytest.mark.parametrize("device", DEVICES)
def test_views_share_memory(device):
    z = tt.tensor([1 + 2j, 3 - 4j], device=device)
    r = tt.view_as_real(z)
    assert r.shape == (2, 2) and r.dtype is tt.float32 and r.tolist() == [[1, 2], [3, -4]]
    r[0, 1] = 7.0
    assert z.tolist() == [1 + 7j, 3 - 4j]
    z.real.mul_(2)
    assert z.tolist() == [2 + 7j, 6 - 4j]
    assert z.imag.tolist() == [7, -4] and z.real.stride() == (2,)
    back = tt.view_as_complex(r)
    assert back.data_ptr() == z.data_ptr() and back.tolist() == z.tolist()
    assert tt.real(tt.ones(2, device=device)).tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="non-complex"):
        tt.ones(2).imag
    with pytest.raises(RuntimeError, match="last dimension of size 2"):
        tt.view_as_complex(tt.ones(3, 3, device=device))
    with pytest.raises(RuntimeError, match="stride 1"):
        tt.view_as_complex(tt.ones(2, 3, device=device).t())


@pytest.mark.parametrize("device", DEVICES)
def test_values_against_torch(device):
    a, ta = _pair(_random((3, 4), np.complex64, 1), device=device)
    b, tb = _pair(_random((4,), np.complex64, 2), device=device)
    r, tr = _pair(_random((3, 1), np.float32, 3), np.float32, device=device)
    cases = [
        (a + b, ta + tb), (a - 2.5 * b, ta - 2.5 * tb), (a * b, ta * tb), (a / b, ta / tb), (r / a, tr / ta),
        (a * r, ta * tr), (1j - a, 1j - ta), (-a, -ta), (a.conj(), ta.conj().resolve_conj()), (a.abs(), ta.abs()),
        (a.angle(), ta.angle()), (tt.exp(a), torch.exp(ta)), (a.sum(), ta.sum()), (a.sum(0), ta.sum(0)),
        (a.mean(1, keepdim=True), ta.mean(1, keepdim=True)), (tt.cat([a, r.to(tt.complex64)], 1),
                                                              torch.cat([ta, tr.to(torch.complex64)], 1)),
        (tt.stack([a, a], -1), torch.stack([ta, ta], -1)), (tt.sgn(a), torch.sgn(ta)),
        (tt.polar(r.abs(), r), torch.polar(tr.abs(), tr)), (tt.complex(r, r * 2), torch.complex(tr, tr * 2)),
        (a.to(tt.complex128), ta.to(torch.complex128)), (r.to(tt.complex64), tr.to(torch.complex64)),
        (a.t().contiguous(), ta.t().contiguous()), (a[1:, ::2].clone(), ta[1:, ::2].clone()),
        (a == a.conj(), ta == ta.conj()), (a != b, ta != tb), (a.reshape(2, 6), ta.reshape(2, 6)),
    ]
    for i, (got, want) in enumerate(cases):
        assert got.dtype.name == str(want.dtype).removeprefix("torch."), i
        assert_values_close(got, want.resolve_conj().numpy(), rtol=2e-6, atol=2e-6, msg=f"case {i}:")


@pytest.mark.parametrize("device", DEVICES)
def test_casts_and_copies(device):
    z = tt.tensor([1.5 + 2j, -3 - 0.5j], device=device)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        assert z.to(tt.float64).tolist() == [1.5, -3.0]
    with pytest.warns(UserWarning):
        assert z.to(tt.int64).tolist() == [1, -3]
    assert tt.tensor([0j, 1j, 2], device=device).to(tt.bool).tolist() == [False, True, True]
    dst = tt.zeros(2, dtype=tt.complex128, device=device)
    dst.copy_(z)
    assert dst.tolist() == z.tolist()
    dst.copy_(tt.tensor([4.0], device=device))   # real into complex, broadcast
    assert dst.tolist() == [4 + 0j, 4 + 0j]
    moved = z.to("cpu").to(device)
    assert moved.tolist() == z.tolist() and moved.device.type == device
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = tt.zeros(2, device=device).copy_(z)
    assert real.tolist() == [1.5, -3.0]


def test_meta_device():
    z = tt.ones(2, 3, dtype=tt.complex64, device="meta")
    assert (z * z).dtype is tt.complex64 and tt.view_as_real(z).shape == (2, 3, 2)
    assert tt.view_as_real(z).stride() == (6, 2, 1) and z.abs().dtype is tt.float32


# ------------------------------------------------------------------------------------------------ gradients

def _grads_against_torch(fn_tt, fn_torch, arrays, device, rtol=1e-5, atol=1e-5):
    """Gradients of a real loss through fn against PyTorch's: loss = sum(re(out) * wr + im(out) * wi)."""
    ours = [tt.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn_tt(*ours), fn_torch(*theirs)
    shape = tuple(tout.shape)
    wr, wi = _random(shape, np.float64, 7), _random(shape, np.float64, 8)
    if tout.is_complex():
        loss = (tt.view_as_real(out) * tt.tensor(np.stack([wr, wi], -1), dtype=out.dtype.to_real(),
                                                 device=device)).sum()
        tloss = (torch.view_as_real(tout) * torch.tensor(np.stack([wr, wi], -1), dtype=tout.dtype.to_real())).sum()
    else:
        loss = (out * tt.tensor(wr, dtype=out.dtype, device=device)).sum()
        tloss = (tout * torch.tensor(wr, dtype=tout.dtype)).sum()
    loss.backward()
    tloss.backward()
    for i, (x, tx) in enumerate(zip(ours, theirs)):
        assert x.grad is not None and x.grad.dtype is x.dtype, i
        assert_values_close(x.grad, tx.grad.numpy(), rtol=rtol, atol=atol, msg=f"input {i} gradient:")


C = np.complex128
R = np.float64
GRAD_CASES = {
    "mul": (lambda a, b: a * b, [C, C]), "div": (lambda a, b: a / b, [C, C]), "add": (lambda a, b: a + 2 * b, [C, C]),
    "sub alpha": (lambda a, b: tt.sub(a, b, alpha=3) if isinstance(a, tt.Tensor) else torch.sub(a, b, alpha=3),
                  [C, C]),
    "mul real": (lambda a, r: a * r, [C, R]), "div real first": (lambda r, a: r / a, [R, C]),
    "scalar": (lambda a: (a * (2 - 1j) + 1j) / (1 + 2j), [C]), "neg": (lambda a: -a, [C]),
    "abs": (lambda a: a.abs(), [C]), "angle": (lambda a: a.angle(), [C]), "exp": (lambda a: a.exp(), [C]),
    "conj": (lambda a: a.conj() * a.conj(), [C]), "sum": (lambda a: a.sum(0), [C]), "mean": (lambda a: a.mean(), [C]),
    "real imag": (lambda a: a.real * 2 + a.imag * a.real, [C]),
    "view_as_real": (lambda a: (tt if isinstance(a, tt.Tensor) else torch).view_as_real(a * a), [C]),
    "polar": (lambda r, t: (tt if isinstance(r, tt.Tensor) else torch).polar(r.abs() + 0.5, t), [R, R]),
    "complex": (lambda r, t: (tt if isinstance(r, tt.Tensor) else torch).complex(r, t * t), [R, R]),
    "cat": (lambda a, b: (tt if isinstance(a, tt.Tensor) else torch).cat([a, b * b], 0), [C, C]),
    "stack": (lambda a, b: (tt if isinstance(a, tt.Tensor) else torch).stack([a, b], 1) * 1j, [C, C]),
    "broadcast": (lambda a, b: a[:, :1] * b[:1], [C, C]),
    "log": (lambda a: a.log(), [C]), "sqrt": (lambda a: a.sqrt(), [C]), "reciprocal": (lambda a: a.reciprocal(), [C]),
    "flip": (lambda a: a.flip(0) * a, [C]), "roll": (lambda a: a.roll(1, 1) * a, [C]),
    "roll flat": (lambda a: a.roll(5) * a, [C]), "repeat": (lambda a: a.repeat(2, 1, 3), [C]),
    "index_select": (lambda a: a.index_select(1, (tt if isinstance(a, tt.Tensor) else torch).tensor(
        [2, 0, 2], device=a.device)), [C]),
    "where": (lambda a, b: (tt if isinstance(a, tt.Tensor) else torch).where(a.real > 0, a, b * 2), [C, C]),
    "where scalar": (lambda a: (tt if isinstance(a, tt.Tensor) else torch).where(a.imag > 0, a, 0), [C]),
    "matmul": (lambda a, b: a @ b.transpose(0, 1), [C, C]), "matvec": (lambda a, b: a @ b[0], [C, C]),
    "mm": (lambda a, b: (tt if isinstance(a, tt.Tensor) else torch).mm(a.transpose(0, 1), b), [C, C]),
    "bmm": (lambda a, b: (tt if isinstance(a, tt.Tensor) else torch).bmm(a.reshape(2, 2, 3), b.reshape(2, 3, 2)),
            [C, C]),
    "to complex": (lambda r: r.to(tt.complex128 if isinstance(r, tt.Tensor) else torch.complex128) * (1 + 1j), [R]),
    # complex_math.py: grad * conj(f'(z)), each f' composed of complex ops
    "sin cos": (lambda a: a.sin() * a.cos(), [C]), "tan": (lambda a: a.tan(), [C]),
    "sinh cosh": (lambda a: a.sinh() + a.cosh() * 1j, [C]), "tanh": (lambda a: a.tanh(), [C]),
    "sigmoid": (lambda a: a.sigmoid(), [C]), "square rsqrt": (lambda a: a.square() + a.rsqrt(), [C]),
    "log2 log1p": (lambda a: a.log2() * a.log1p(), [C]), "expm1 exp2": (lambda a: a.expm1() - a.exp2(), [C]),
    "asin acos": (lambda a: a.asin() * a.acos(), [C]), "atan": (lambda a: a.atan(), [C]),
    "asinh acosh": (lambda a: a.asinh() - a.acosh() * 1j, [C]), "atanh": (lambda a: a.atanh(), [C]),
    # complex_split.py: the real ops over the parts, and compositions
    "cumsum": (lambda a: a.cumsum(1), [C]), "tril triu": (lambda a: a.tril() + a.triu(1) * 2j, [C]),
    "gather": (lambda a: a.gather(1, _lib(a).tensor([[0, 2], [1, 1], [3, 0]], device=a.device)), [C]),
    "scatter_add": (lambda a, b: a.scatter_add(0, _lib(a).tensor([[0, 2, 1, 0]], device=a.device), b[:1]), [C, C]),
    "masked_fill": (lambda a: a.masked_fill(a.real > 0, 1 - 2j), [C]),
    "pad": (lambda a: _lib(a).nn.functional.pad(a, (1, 2, 0, 1), value=0.5), [C]),
    "norm": (lambda a: _lib(a).linalg.vector_norm(a, dim=1), [C]), "var std": (lambda a: a.var(0) + a.std(), [C]),
    "pow": (lambda a, b: a ** b, [C, C]), "pow real": (lambda a: a ** 2.5, [C]),
    "lerp": (lambda a, b: _lib(a).lerp(a, b, 0.25), [C, C]),
    "addcmul addcdiv": (lambda a, b: _lib(a).addcmul(a, a, b, value=0.5) + _lib(a).addcdiv(b, a, b, value=2), [C, C]),
    "dot vdot": (lambda a, b: _lib(a).dot(a[0], b[0]) + _lib(a).vdot(a[1], b[1]), [C, C]),
    "prod": (lambda a: a.prod(1) + a.prod(), [C]), "cumprod": (lambda a: a.cumprod(1) + a.cumprod(0), [C]),
    "logsumexp": (lambda a: _lib(a).logsumexp(a, 1) + _lib(a).logsumexp(a * 3, (0, 1)), [C]),
}


def _lib(t):
    return tt if isinstance(t, tt.Tensor) else torch


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_torch(name, device):
    fn, kinds = GRAD_CASES[name]
    arrays = [_random((3, 4), k, i) for i, k in enumerate(kinds)]
    _grads_against_torch(fn, fn, arrays, device, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_rotary_embedding_matches_torch(device):
    """LLaMA's rotary embedding: real activations through view_as_complex, a complex product, view_as_real."""
    def rope(lib, xq, freqs):
        xc = lib.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        f = freqs.view(1, xq.shape[1], 1, xq.shape[-1] // 2)
        return lib.view_as_real(xc * f).flatten(3).type_as(xq)

    x = _random((2, 5, 3, 8), np.float32, 0)
    theta = _random((5, 4), np.float32, 1)
    xt = tt.tensor(x, device=device, requires_grad=True)
    freqs = tt.polar(tt.ones(5, 4, device=device), tt.tensor(theta, device=device))
    xr = torch.tensor(x, requires_grad=True)
    tfreqs = torch.polar(torch.ones(5, 4), torch.tensor(theta))
    y, ty = rope(tt, xt, freqs), rope(torch, xr, tfreqs)
    assert y.dtype is tt.float32 and y.shape == (2, 5, 3, 8)
    assert_values_close(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = _random((2, 5, 3, 8), np.float32, 2)
    (y * tt.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_values_close(xt.grad, xr.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_complex_parameter_trains():
    """A complex leaf gets its gradient (conjugate Wirtinger convention) and SGD moves it toward the target."""
    target = tt.tensor([1 + 2j, -1j])
    p = tt.zeros(2, dtype=tt.complex64, requires_grad=True)
    opt = tt.optim.SGD([p], lr=0.2)
    for _ in range(50):
        opt.zero_grad()
        loss = ((p - target).abs() ** 2).sum()
        loss.backward()
        opt.step()
    assert_values_close(p.detach(), target.numpy(), rtol=1e-4, atol=1e-4)


def test_checkpoints(tmp_path):
    z = tt.tensor([1 + 2j, 3], dtype=tt.complex128)
    tt.save({"z": z, "d": tt.complex64}, str(tmp_path / "c.safetensors"))
    back = tt.load(str(tmp_path / "c.safetensors"))
    assert back["z"].dtype is tt.complex128 and back["z"].tolist() == z.tolist() and back["d"] is tt.complex64
    # PyTorch's own checkpoint format, read under its weights_only rules
    torch.save({"z": torch.tensor([1 + 2j, 3j]), "d": torch.cdouble}, str(tmp_path / "c.pt"))
    back = tt.load(str(tmp_path / "c.pt"))
    assert back["z"].dtype is tt.complex64 and back["z"].tolist() == [1 + 2j, 3j] and back["d"] is tt.complex128


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "Adamax"])
def test_optimizers_update_complex_parameters_as_torch(name, device):
    """PyTorch's optimizers update a complex parameter as its (re, im) pairs; tritorch's match them step for step."""
    start = np.array([1 + 2j, -1j, 0.5], np.complex64)
    p = tt.tensor(start, device=device, requires_grad=True)
    tp = torch.tensor(start, requires_grad=True)
    kw = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.1}
    opt, topt = getattr(tt.optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        ((p * (2 + 1j) - 1).abs() ** 2).sum().backward()
        ((tp * (2 + 1j) - 1).abs() ** 2).sum().backward()
        opt.step()
        topt.step()
    assert_values_close(p.detach(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_assert_close_with_complex_values():
    a = tt.tensor([1 + 1j, 2])
    tt.testing.assert_close(a, a.clone())
    tt.testing.assert_close(1 + 2j, 1 + 2j)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        tt.testing.assert_close(a, tt.tensor([1 + 1.1j, 2]))
    with pytest.raises(AssertionError):
        tt.testing.assert_close(1 + 2j, 1 + 2.1j)
    nan = tt.tensor([complex(float("nan"), 1.0)])
    tt.testing.assert_close(nan, nan.clone(), equal_nan=True)


@pytest.mark.parametrize("device", DEVICES)
def test_trigonometric_and_hyperbolic_forms_at_large_and_small_arguments(device):
    """complex_math.py's cuda forms (float64 over the parts; tanh's limit past |re| = 20) and NumPy's on the cpu,
    against PyTorch: tiny arguments (sinh through expm1), parts near the float32 overflow of cosh, tanh's limits."""
    values = [0j, 1e-8 + 1e-8j, -1e-7j, 30j, 1 + 30j, -25 + 1j, 25 - 2j, 60 + 0.5j, 0.5 - 60j, -3 + 4j, 2.5 + 0.5j,
              -0.5 + 2j, 1e3 - 1e3j, -1e-3 + 0.2j]
    for dtype in (np.complex64, np.complex128):
        z, tz = _pair(values, dtype, device=device)
        for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "sigmoid", "expm1", "exp2", "square", "asin",
                     "acos", "atan", "asinh", "acosh", "atanh"):
            got, want = getattr(tt, name)(z), getattr(torch, name)(tz).numpy()
            assert got.dtype.name == str(getattr(torch, name)(tz).dtype).removeprefix("torch.")
            finite = np.isfinite(want)
            np.testing.assert_allclose(got.cpu().numpy()[finite], want[finite], rtol=2e-5, atol=1e-6,
                                       err_msg=f"{name} {dtype.__name__}")
        inf_nan = tt.tensor(np.array([1 + 1j, complex("inf"), complex(0, float("nan")), complex(1, -np.inf)], dtype),
                            device=device)
        assert tt.isnan(inf_nan).tolist() == [False, False, True, False]
        assert tt.isinf(inf_nan).tolist() == [False, True, False, True]
        assert tt.isfinite(inf_nan).tolist() == [True, False, False, False]


@pytest.mark.parametrize("device", DEVICES)
def test_forms_over_the_parts_match_torch(device):
    """complex_split.py: data movement and linear ops over the (re, im) parts, reductions through real quantities,
    compositions; values against PyTorch's."""
    a, ta = _pair(_random((3, 4), np.complex64, 11), device=device)
    b, tb = _pair(_random((3, 4), np.complex64, 12), device=device)
    idx, tidx = tt.tensor([[0, 2, 1, 0]], device=device), torch.tensor([[0, 2, 1, 0]])
    mask, tmask = a.real > 0, ta.real > 0
    cases = [
        (a.cumsum(0), ta.cumsum(0)), (a.gather(1, idx.expand(3, 4)), ta.gather(1, tidx.expand(3, 4))),
        (tt.take(a, tt.tensor([0, 5, 11], device=device)), torch.take(ta, torch.tensor([0, 5, 11]))),
        (tt.zeros_like(a).scatter(0, idx, b), torch.zeros_like(ta).scatter(0, tidx, tb)),
        (a.scatter_add(0, idx, b), ta.scatter_add(0, tidx, tb)), (a.tril(-1), ta.tril(-1)), (a.triu(1), ta.triu(1)),
        (a.masked_fill(mask, 2j), ta.masked_fill(tmask, 2j)), (a.masked_select(mask), ta.masked_select(tmask)),
        (tt.nn.functional.pad(a, (1, 1), value=1.5), torch.nn.functional.pad(ta, (1, 1), value=1.5)),
        (tt.nn.functional.pad(a[None], (1, 1), mode="reflect"), torch.nn.functional.pad(ta[None], (1, 1),
                                                                                       mode="reflect")),
        (a.norm(), ta.norm()), (tt.linalg.vector_norm(a, ord=1, dim=0), torch.linalg.vector_norm(ta, ord=1, dim=0)),
        (a.var(1), ta.var(1)), (a.std(correction=0), ta.std(correction=0)), (a.any(), ta.any()),
        (tt.zeros_like(a).all(), torch.zeros_like(ta).all()), (a.nonzero(), ta.nonzero()),
        (tt.dot(a[0], b[0]), torch.dot(ta[0], tb[0])), (tt.vdot(a[0], b[0]), torch.vdot(ta[0], tb[0])),
        (tt.lerp(a, b, 0.3), torch.lerp(ta, tb, 0.3)),
        (tt.addcmul(a, a, b, value=2), torch.addcmul(ta, ta, tb, value=2)),
        (tt.addcdiv(a, a, b), torch.addcdiv(ta, ta, tb)), (a ** b, ta ** tb), (a ** 2, ta ** 2), (2 ** a, 2 ** ta),
        (tt.where(a.real > 0, a, 0) ** 1.5, torch.where(ta.real > 0, ta, 0) ** 1.5),
        (a.prod(), ta.prod()), (a.prod(0, keepdim=True), ta.prod(0, keepdim=True)), (a.cumprod(1), ta.cumprod(1)),
        (a[:, :0].prod(1), ta[:, :0].prod(1)), (tt.logsumexp(a * 50, 1), torch.logsumexp(ta * 50, 1)),
        (tt.logsumexp(a, 0, keepdim=True), torch.logsumexp(ta, 0, keepdim=True)),
    ]
    for i, (got, want) in enumerate(cases):
        assert got.dtype.name == str(want.dtype).removeprefix("torch."), i
        assert tuple(got.shape) == tuple(want.shape), i
        assert_values_close(got, want.numpy(), rtol=2e-5, atol=2e-5, msg=f"case {i}:")
    z = a.clone()
    z.masked_fill_(mask, -1j)
    z.index_put_((tt.tensor([0, 0], device=device),), b[:2], accumulate=True)
    tz = ta.clone()
    tz.masked_fill_(tmask, -1j)
    tz.index_put_((torch.tensor([0, 0]),), tb[:2], accumulate=True)
    assert_values_close(z, tz.numpy(), rtol=2e-6, atol=2e-6)
    real = tt.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="dtype"):
        real.scatter(0, tt.tensor([0], device=device), tt.tensor([1j], device=device))
    with pytest.raises(RuntimeError, match="dtypes match"):
        real.index_put_((tt.tensor([0], device=device),), tt.tensor([1j], device=device))


def _np_of(t):
    return t.detach().cpu().numpy() if isinstance(t, tt.Tensor) else t.detach().resolve_conj().numpy()


@pytest.mark.parametrize("device", DEVICES)
def test_mixed_real_and_complex_operands_match_torch(device):
    """Ops given one real and one complex operand: a negative real base to a complex power (its log is complex),
    float_power (complex128), logaddexp, the logical ops (z != 0), ldexp of a complex128 input by 2**250."""
    base = np.array([-3.0, -1.0, 2.0, 0.5], np.float32)
    expo = np.array([2j, 0.5 + 1j, -1.5, 3.0 + 0j], np.complex64)
    z = _random((4,), np.complex64, 7)

    def both(fn):
        return fn(tt, lambda a: tt.tensor(a, device=device)), fn(torch, torch.tensor)
    for fn in (lambda m, T: m.pow(T(base), T(expo)), lambda m, T: m.pow(T(base), 2j),
               lambda m, T: m.pow(T(base.astype(np.int64)), T(expo)), lambda m, T: m.pow(T(z), T(np.arange(4))),
               lambda m, T: m.float_power(T(base), T(expo)), lambda m, T: m.float_power(T(z), 2),
               lambda m, T: m.logaddexp(T(z), T(base)), lambda m, T: m.logaddexp(T(z), T(z[::-1].copy()))):
        got, want = both(fn)
        assert got.dtype.name == str(want.dtype).split(".")[1]
        np.testing.assert_allclose(_np_of(got), _np_of(want), rtol=2e-5, atol=1e-6)
    zz = np.array([0j, 1j, 0j, 2 + 0j], np.complex64)
    for name in ("logical_and", "logical_or", "logical_xor"):
        got, want = both(lambda m, T: getattr(m, name)(T(zz), T(np.array([0, 0, 1, 1]))))
        np.testing.assert_array_equal(_np_of(got), _np_of(want))
    got, want = both(lambda m, T: m.logical_not(T(zz)))
    np.testing.assert_array_equal(_np_of(got), _np_of(want))
    got, want = both(lambda m, T: m.ldexp(T(np.array([1 + 1j, 3j])), T(np.array([250, 3], np.uint8))))
    np.testing.assert_array_equal(_np_of(got), np.array([1 + 1j, 3j]) * np.ldexp(1.0, [250, 3]))   # exact
    np.testing.assert_allclose(_np_of(got), _np_of(want), rtol=1e-13)   # (PyTorch's 2**3 is exp(3 log 2) there)
    with pytest.raises(RuntimeError, match="with a bool tensor is not supported"):
        tt.tensor([True, False], device=device) - tt.tensor([1j, 2j], device=device)
    with pytest.raises(TypeError, match="must be Tensor, not complex"):
        tt.logaddexp(tt.tensor([1.0], device=device), 2j)


@pytest.mark.parametrize("device", DEVICES)
def test_zero_base_powers(device):
    """0 ** b: 1 at b = 0 (PyTorch gives NaN there; NumPy and Python 1), 0 where Re b > 0, inf + nan j where
    Re b < 0 and NaN elsewhere on the imaginary axis (PyTorch's)."""
    r = tt.pow(tt.zeros(5, dtype=tt.complex64, device=device),
               tt.tensor([0j, 1 + 0j, 2 + 3j, -1.5 + 0j, 1j], device=device)).cpu().numpy()
    assert r[0] == 1 and r[1] == 0 and r[2] == 0
    assert np.isinf(r[3].real) and np.isnan(r[3].imag) and np.isnan(r[4].real) and np.isnan(r[4].imag)


@pytest.mark.parametrize("device", DEVICES)
def test_conjugating_transposes_sinc_nan_to_num(device):
    a = _random((2, 3), np.complex64, 8)
    x, t = tt.tensor(a, device=device), torch.tensor(a)
    for got, want in ((x.mH, t.mH), (x.H, t.H), (x.adjoint(), t.adjoint()), (tt.adjoint(x), torch.adjoint(t)),
                      (tt.sinc(x), torch.sinc(t))):
        assert got.dtype is tt.complex64 and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np_of(got), _np_of(want), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x.mT.cpu().numpy(), a.T)   # mT does not conjugate
    special = np.array([complex(np.nan, np.inf), complex(-np.inf, 1), complex(2, np.nan)], np.complex64)
    got = tt.nan_to_num(tt.tensor(special, device=device), nan=0.5)
    np.testing.assert_array_equal(got.cpu().numpy(), torch.nan_to_num(torch.tensor(special), nan=0.5).numpy())
    assert x.type().endswith(".ComplexFloatTensor")
    assert tt.typename(x.to(tt.complex128)).endswith(".ComplexDoubleTensor")


def test_complex_results_are_refused_by_real_out_and_in_place_tensors():
    """A complex form writing into a real tensor raises PyTorch's casting error instead of dropping the imaginary
    parts."""
    for fn in (lambda x: x.pow_(tt.tensor([1j, 2j])), lambda x: x.addcmul_(tt.tensor([1j, 2j]), tt.tensor([1j, 1j])),
               lambda x: tt.pow(tt.tensor([1j, 2j]), 2, out=x)):
        x = tt.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="result type ComplexFloat can't be cast to the desired output type "
                                               "Float"):
            fn(x)
        np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
