"""tritorch.library: PyTorch's custom-op API (the custom-op tutorial's examples) on tritorch's registry, checked
against the same code run with PyTorch where it is installed."""
import typing

import numpy as np
import pytest
import triton
import triton.language as tl

import tritorch as tt
from tritorch import library
from tritorch.autograd.gradcheck import gradcheck, gradgradcheck
from tritorch.backends.meta import ValueDependentShape
from tritorch.ops import registry

DEVICES = tt.testing.devices()


@pytest.fixture(autouse=True)
def _forget_custom_ops():
    """Custom ops are process-wide registrations: each test's ops leave the registry with it."""
    before = set(library._OPS)
    yield
    for name in set(library._OPS) - before:
        library._OPS[name]._destroy()


def _numpy_sin(m, name):
    """The tutorial's numpy_sin for framework `m` (tritorch or torch), with its autograd formula."""
    @m.library.custom_op(name, mutates_args=())
    def numpy_sin(x: m.Tensor) -> m.Tensor:
        return m.from_numpy(np.sin(x.cpu().numpy())).to(device=x.device)

    def setup_context(ctx, inputs, output):
        x, = inputs
        ctx.save_for_backward(x)

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x.cos()

    numpy_sin.register_fake(lambda x: m.empty_like(x))
    numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


# ------------------------------------------------------------------------------------------ custom_op

@pytest.mark.parametrize("device", DEVICES)
def test_numpy_sin_forward_backward_and_double_backward(device):
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    x = tt.randn(5, dtype=tt.float64, device=device, requires_grad=True)
    y = op(x)
    assert y.device == x.device and y.dtype is tt.float64
    np.testing.assert_allclose(y.detach().cpu().numpy(), np.sin(x.detach().cpu().numpy()))
    g, = tt.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().cpu().numpy(), np.cos(x.detach().cpu().numpy()))
    gg, = tt.autograd.grad(g.sum(), x)   # backward is made of tritorch ops, so it differentiates again
    np.testing.assert_allclose(gg.cpu().numpy(), -np.sin(x.detach().cpu().numpy()))
    assert y.grad_fn.name() == "GeneratedBackwardFor_tt_lib_numpy_sin_defaultBackward"


def test_numpy_sin_gradcheck_and_matches_torch():
    torch = pytest.importorskip("torch")
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    x = tt.randn(6, dtype=tt.float64, requires_grad=True)
    assert gradcheck(op, (x,)) and gradgradcheck(op, (x,))
    ref = _numpy_sin(torch, "tt_lib_oracle::numpy_sin")
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_()
    ref(xt).sum().backward()
    op(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_kernel_runs_below_autograd():
    seen = {}

    @tt.library.custom_op("tt_lib::probe", mutates_args=())
    def probe(x: tt.Tensor) -> tt.Tensor:
        seen["grad_enabled"] = tt.is_grad_enabled()
        return tt.from_numpy(x.numpy() * 2)   # numpy() works: no autograd inside a kernel, as in PyTorch

    x = tt.ones(2, requires_grad=True)
    assert probe(x).tolist() == [2.0, 2.0] and seen["grad_enabled"] is False


def test_backward_without_formula_raises_pytorchs_error():
    torch = pytest.importorskip("torch")
    messages = []
    for m, name in ((tt, "tt_lib::no_grad_rule"), (torch, "tt_lib_oracle::no_grad_rule")):
        @m.library.custom_op(name, mutates_args=())
        def f(x: m.Tensor) -> m.Tensor:
            return x * 2
        y = f(m.ones(2, requires_grad=True))
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="no autograd formula was registered") as err:
            y.sum().backward()
        messages.append(str(err.value).replace("tt_lib_oracle", "tt_lib"))
    assert messages[0] == messages[1]


def test_keyword_only_args_reach_setup_context():
    @tt.library.custom_op("tt_lib::numpy_mul", mutates_args=())
    def numpy_mul(x: tt.Tensor, *, val: float) -> tt.Tensor:
        return tt.from_numpy(x.cpu().numpy() * val).to(device=x.device)

    def setup_context(ctx, inputs, keyword_only_inputs, output):
        ctx.val = keyword_only_inputs["val"]

    numpy_mul.register_autograd(lambda ctx, grad: grad * ctx.val, setup_context=setup_context)
    x = tt.randn(3, requires_grad=True)
    g, = tt.autograd.grad(numpy_mul(x, val=3.14), x, tt.ones(3))
    np.testing.assert_allclose(g.numpy(), np.full(3, 3.14, np.float32))
    with pytest.raises(RuntimeError, match=r"takes 1 positional argument\(s\) but 2 was/were given"):
        numpy_mul(x, 3.14)


def test_binding_defaults_keywords_and_dispatcher_errors():
    torch = pytest.importorskip("torch")
    ops = []
    for m, name in ((tt, "tt_lib::scaled"), (torch, "tt_lib_oracle::scaled")):
        @m.library.custom_op(name, mutates_args=())
        def scaled(x: m.Tensor, scale: float = 2.0, shift: int = 0) -> m.Tensor:
            return x * scale + shift
        ops.append((m, scaled))
    for m, op in ops:
        x = m.ones(2)
        assert op(x).tolist() == [2.0, 2.0] and op(x, 3.0).tolist() == [3.0, 3.0]
        assert op(x, shift=1, scale=0.5).tolist() == [1.5, 1.5] and op(scale=1.0, x=x).tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError, match=r"expected at most 3 argument\(s\) but received 4 argument\(s\)"):
            op(x, 1.0, 1, 5)
        with pytest.raises(RuntimeError, match="is missing value for argument 'x'"):
            op()


def test_multiple_outputs_and_gradcheck():
    @tt.library.custom_op("tt_lib::split_scale", mutates_args=())
    def split_scale(x: tt.Tensor, k: int) -> tuple[tt.Tensor, tt.Tensor]:
        return x[:k] * 2, x[k:].exp()

    def setup_context(ctx, inputs, output):
        ctx.k = inputs[1]
        ctx.save_for_backward(output[1])   # an output: kept without its grad_fn, re-attached on unpack

    def backward(ctx, ga, gb):
        e, = ctx.saved_tensors
        return tt.cat([ga * 2, gb * e]), None

    split_scale.register_autograd(backward, setup_context=setup_context)
    split_scale.register_fake(lambda x, k: (x.new_empty(k), x.new_empty(x.shape[0] - k)))
    x = tt.randn(5, dtype=tt.float64, requires_grad=True)
    a, b = split_scale(x, 2)
    assert (a.shape, b.shape) == ((2,), (3,))
    assert gradcheck(lambda t: split_scale(t, 2), (x,)) and gradgradcheck(lambda t: split_scale(t, 2), (x,))
    a, b = split_scale(x, 2)
    g, = tt.autograd.grad(b.sum(), x)   # the unused output's gradient is materialized as zeros
    np.testing.assert_allclose(g.numpy(), np.r_[0, 0, np.exp(x.detach().numpy()[2:])])
    a, b = split_scale(x, 2)
    b.mul_(2)   # a saved output written in place: backward refuses, as PyTorch's does
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_list_inputs_and_outputs_and_needs_input_grad():
    torch = pytest.importorskip("torch")
    seen = []
    for m, name in ((tt, "tt_lib::weighted_sum"), (torch, "tt_lib_oracle::weighted_sum")):
        @m.library.custom_op(name, mutates_args=())
        def weighted_sum(xs: list[m.Tensor], ws: list[float]) -> m.Tensor:
            return sum(x * w for x, w in zip(xs, ws))

        def setup_context(ctx, inputs, output):
            ctx.ws = inputs[1]

        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return [grad * w for w in ctx.ws], None

        weighted_sum.register_autograd(backward, setup_context=setup_context)
        p, q = m.ones(2, requires_grad=True), m.ones(2)
        weighted_sum([p, q], [0.3, 0.7]).sum().backward()
        np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.3], rtol=1e-6)
    assert seen[0] == seen[1] == ([True, False], False)

    @tt.library.custom_op("tt_lib::chunks", mutates_args=())
    def chunks(x: tt.Tensor, n: int) -> list[tt.Tensor]:
        return [c * 1 for c in x.chunk(n)]

    out = chunks(tt.arange(6.0), 3)
    assert isinstance(out, list) and [c.tolist() for c in out] == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("device", DEVICES)
def test_mutating_op_returns_none_and_bumps_the_version_once(device):
    @tt.library.custom_op("tt_lib::numpy_add_", mutates_args=["x"])
    def numpy_add_(x: tt.Tensor, y: float) -> None:
        x.copy_(tt.from_numpy(x.cpu().numpy() + y).to(x.device))

    x = tt.zeros(3, device=device)
    v = x._version[0]
    assert numpy_add_(x, 2.0) is None
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version[0] == v + 2   # copy_'s bump, then the op's (PyTorch: 2)
    assert numpy_add_(tt.zeros(3, device="meta"), 1.0) is None   # an op returning nothing needs no fake impl
    with pytest.raises(RuntimeError, match="Cannot register autograd formula for non-functional operator"):
        numpy_add_.register_autograd(lambda ctx, g: g)


def test_version_bump_matches_torch():
    torch = pytest.importorskip("torch")
    bumps = []
    for m, name in ((tt, "tt_lib::fill_numpy"), (torch, "tt_lib_oracle::fill_numpy")):
        @m.library.custom_op(name, mutates_args=("out",))
        def fill_numpy(out: m.Tensor, v: float) -> None:
            out.numpy()[...] = v   # a write the framework does not see: only the op's own bump counts

        t = m.zeros(2)
        version = (lambda: t._version) if m is torch else (lambda: t._version[0])
        before = version()
        fill_numpy(t, 1.5)
        assert t.tolist() == [1.5, 1.5]
        bumps.append(version() - before)
    assert bumps == [1, 1]


# ------------------------------------------------------------------------------------ devices and meta

def test_device_types_restricts_the_kernel():
    @tt.library.custom_op("tt_lib::cpu_only", mutates_args=(), device_types="cpu")
    def cpu_only(x: tt.Tensor) -> tt.Tensor:
        return x + 1

    assert cpu_only(tt.zeros(2)).tolist() == [1.0, 1.0]
    if "cuda" in DEVICES:
        with pytest.raises(NotImplementedError, match="Could not run 'tt_lib::cpu_only' with arguments from the "
                                                      "'CUDA' backend"):
            cpu_only(tt.zeros(2, device="cuda"))

        @cpu_only.register_kernel("cuda")
        def _(x):
            return x + 2

        assert cpu_only(tt.zeros(2, device="cuda")).tolist() == [2.0, 2.0]
        with cpu_only.set_kernel_enabled("cuda", False):   # the original function runs instead
            assert cpu_only(tt.zeros(2, device="cuda")).tolist() == [1.0, 1.0]
        assert cpu_only(tt.zeros(2, device="cuda")).tolist() == [2.0, 2.0]


def test_meta_device_needs_a_fake_impl_with_pytorchs_message():
    torch = pytest.importorskip("torch")
    messages = []
    for m, name in ((tt, "tt_lib::nofake"), (torch, "tt_lib_oracle::nofake")):
        @m.library.custom_op(name, mutates_args=())
        def nofake(x: m.Tensor) -> m.Tensor:
            return x.clone()
        with pytest.raises(RuntimeError) as err:
            nofake(m.ones(2, device="meta"))
        messages.append(str(err.value).replace("tt_lib_oracle", "tt_lib"))
    assert messages[0] == messages[1]


def test_fake_impl_on_meta_and_data_dependent_sizes():
    @tt.library.custom_op("tt_lib::linear", mutates_args=())
    def linear(x: tt.Tensor, weight: tt.Tensor, bias: tt.Tensor) -> tt.Tensor:
        return (x @ weight.t()) + bias

    @linear.register_fake
    def _(x, weight, bias):
        assert x.shape[1] == weight.shape[1]
        return x.new_empty(x.size(0), weight.size(0))

    y = linear(*(tt.empty(*s, device="meta") for s in ((4, 3), (5, 3), (5,))))
    assert y.device.type == "meta" and tuple(y.shape) == (4, 5)

    @tt.library.custom_op("tt_lib::nonzero", mutates_args=())
    def nonzero(x: tt.Tensor) -> tt.Tensor:
        return tt.tensor(np.stack(np.nonzero(x.cpu().numpy()), axis=1), device=x.device)

    @nonzero.register_fake
    def _(x):
        nnz = tt.library.get_ctx().new_dynamic_size()
        return x.new_empty([nnz, x.dim()], dtype=tt.int64)

    assert nonzero(tt.tensor([0, 1, 2, 0])).tolist() == [[1], [2]]
    with pytest.raises(ValueDependentShape):
        nonzero(tt.empty(4, device="meta"))
    with pytest.raises(RuntimeError, match="outside of a fake impl"):
        tt.library.get_ctx()


def test_backward_runs_on_meta():
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    x = tt.empty(3, device="meta", requires_grad=True)
    op(x).sum().backward()
    assert x.grad.device.type == "meta" and tuple(x.grad.shape) == (3,)


# -------------------------------------------------------------------------------- triton_op, wrap_triton

@triton.jit
def _add_kernel(in_ptr0, in_ptr1, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    # bytes: reads both inputs, writes out (contiguous operands)
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    tl.store(out_ptr + offsets, tl.load(in_ptr0 + offsets, mask=mask) + tl.load(in_ptr1 + offsets, mask=mask),
             mask=mask)


def _triton_add(name):
    @tt.library.triton_op(name, mutates_args={})
    def add(x: tt.Tensor, y: tt.Tensor) -> tt.Tensor:
        output = tt.empty_like(x)
        n_elements = output.numel()

        def grid(meta):
            return (triton.cdiv(n_elements, meta["BLOCK_SIZE"]),)

        tt.library.wrap_triton(_add_kernel)[grid](x, y, output, n_elements, BLOCK_SIZE=16)
        return output

    add.register_autograd(lambda ctx, grad: (grad, grad))
    return add


@pytest.mark.parametrize("device", DEVICES + ["meta"])
def test_triton_op_runs_on_every_device(device):
    # cpu: Triton's interpreter reads the host memory (as PyTorch's cpu tensors under TRITON_INTERPRET=1);
    # meta: the function is its own fake impl and wrap_triton launches nothing
    add = _triton_add("tt_lib::triton_add")
    x = tt.arange(37.0, device=device)
    y = tt.ones(37, device=device)
    out = add(x, y)
    assert out.device.type == device and tuple(out.shape) == (37,)
    if device != "meta":
        assert out.tolist() == (np.arange(37.0) + 1).tolist()
        xg = x.clone().requires_grad_()
        add(xg, y).sum().backward()
        assert xg.grad.tolist() == [1.0] * 37
        assert tt.library.opcheck(add, (x, y)) == dict.fromkeys(library.DEFAULT_TEST_UTILS, "SUCCESS")


def test_wrap_triton_refuses_plain_functions():
    with pytest.raises(RuntimeError, match="only works on functions annotated with triton.jit"):
        tt.library.wrap_triton(lambda x: x)


# --------------------------------------------------------------------------- registry, namespace, tools

def test_op_is_a_registry_op_and_in_the_ops_namespace():
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    assert tt.ops.tt_lib.numpy_sin is op and tt.ops.tt_lib.numpy_sin.default is op
    opdef = registry.get("tt_lib::numpy_sin")
    assert opdef.extra["custom_op"] is op
    x = tt.randn(4)
    assert tt.ops.tt_lib.numpy_sin(x).tolist() == op(x).tolist()
    tt.testing.check_meta_device(opdef, registry.Sample((x,)), op(x))
    with tt.profiler.profile() as prof:
        op(x)
    assert "tt_lib::numpy_sin" in {e.key for e in prof.key_averages()}
    op._destroy()
    with pytest.raises(KeyError):
        registry.get("tt_lib::numpy_sin")
    assert not hasattr(tt.ops.tt_lib, "numpy_sin")


def test_redefinition_replaces_the_op():
    @tt.library.custom_op("tt_lib::twice", mutates_args=())
    def first(x: tt.Tensor) -> tt.Tensor:
        return x * 2

    @tt.library.custom_op("tt_lib::twice", mutates_args=())
    def second(x: tt.Tensor) -> tt.Tensor:
        return x * 3

    assert tt.ops.tt_lib.twice is second and registry.get("tt_lib::twice").extra["custom_op"] is second


def test_vmap_of_a_custom_op():
    add = _triton_add("tt_lib::triton_add")
    add.register_vmap(lambda info, in_dims, x, y: (add(x, y), 0))
    x = tt.randn(3, 4, device=DEVICES[-1])
    np.testing.assert_allclose(tt.func.vmap(lambda t: add(t, t))(x).cpu().numpy(), 2 * x.cpu().numpy())


def test_saved_tensors_hooks_see_the_saved_tensors():
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    packed = []
    x = tt.randn(3, requires_grad=True)
    with tt.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        y = op(x)
    assert len(packed) == 1 and packed[0] is x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.detach().numpy()), rtol=1e-6)


# ----------------------------------------------------------------------------------------------- opcheck

def test_opcheck_passes_a_correct_op_and_reports_failures():
    op = _numpy_sin(tt, "tt_lib::numpy_sin")
    x = tt.randn(4, requires_grad=True)
    assert tt.library.opcheck(op, (x,)) == dict.fromkeys(library.DEFAULT_TEST_UTILS, "SUCCESS")
    assert x.grad is None   # the checks run on copies

    op.register_autograd(lambda ctx, grad: grad * 2.0)   # a wrong formula
    with pytest.raises(tt.library.OpCheckError, match="test_aot_dispatch_dynamic failed with .* finite differences"):
        tt.library.opcheck(op, (x,))
    op.register_fake(lambda x: x.new_empty(x.shape[0] + 1))   # a wrong fake
    result = tt.library.opcheck(op, (x,), raise_exception=False)
    assert result["test_schema"] == "SUCCESS" and "Shapes" in str(result["test_faketensor"])
    with pytest.raises(ValueError, match="expected test_utils to be subset of"):
        tt.library.opcheck(op, (x,), test_utils="test_foo")


def test_opcheck_finds_an_undeclared_mutation_like_torch():
    torch = pytest.importorskip("torch")
    for m, name in ((tt, "tt_lib::sneaky"), (torch, "tt_lib_oracle::sneaky")):
        @m.library.custom_op(name, mutates_args=())
        def sneaky(x: m.Tensor) -> m.Tensor:
            x.add_(1)
            return x.clone()
        sneaky.register_fake(lambda x: m.empty_like(x))
        with pytest.raises(Exception, match="Argument x is not defined as mutable but was mutated"):
            m.library.opcheck(sneaky, (m.zeros(3),), test_utils="test_schema")


# ---------------------------------------------------------------------------------------- schema and errors

def _prototypes(m):
    def a(x: m.Tensor, scale: float = 1.5, n: int = 2, flag: bool = True) -> m.Tensor: ...
    def b(xs: list[m.Tensor], bias: typing.Optional[m.Tensor], dims: list[int]) -> tuple[m.Tensor, m.Tensor]: ...
    def c(x: m.Tensor, out: m.Tensor, *, alpha: float = 0.5) -> None: ...
    def d(x: m.Tensor, s: typing.Optional[float] = None, name: str = "hi", w: list[float] = None) -> list[m.Tensor]: ...
    return [(a, ()), (b, ()), (c, ("out",)), (d, ())]


def test_infer_schema_matches_torch():
    torch = pytest.importorskip("torch")
    for (f, mut), (g, _) in zip(_prototypes(tt), _prototypes(torch)):
        assert tt.library.infer_schema(f, mutates_args=mut) == torch.library.infer_schema(g, mutates_args=mut)
    assert tt.library.infer_schema(_prototypes(tt)[0][0], mutates_args=(), op_name="a").startswith("a(Tensor x")


def test_definition_errors_match_torch():
    torch = pytest.importorskip("torch")

    def no_annotation(x):
        return x

    for m in (tt, torch):
        def no_return(x: m.Tensor):
            return x

        with pytest.raises(ValueError, match=r"Parameter x must have a type annotation\. Got func with signature"):
            m.library.custom_op("tt_lib::e1", no_annotation, mutates_args=())
        with pytest.raises(ValueError, match="No return type annotation was provided"):
            m.library.custom_op("tt_lib::e2", no_return, mutates_args=())
        with pytest.raises(ValueError, match="in mutates_args were not found in the custom op's signature"):
            m.library.custom_op("tt_lib::e3", no_return, mutates_args=("y",))

    def bad_return(x: tt.Tensor) -> dict:
        return {}

    with pytest.raises(ValueError, match="Return has unsupported type"):
        tt.library.custom_op("tt_lib::e4", bad_return, mutates_args=())
    with pytest.raises(ValueError, match="namespace::name"):
        tt.library.custom_op("no_namespace", no_annotation, mutates_args=())


def test_returning_an_input_is_refused_like_torch():
    torch = pytest.importorskip("torch")
    for m, name in ((tt, "tt_lib::alias"), (torch, "tt_lib_oracle::alias")):
        @m.library.custom_op(name, mutates_args=())
        def alias(x: m.Tensor) -> m.Tensor:
            return x[:1]
        with pytest.raises(RuntimeError, match="may not alias any inputs to this custom operator"):
            alias(m.ones(2))


def test_explicit_schema_and_the_define_impl_library_api():
    @tt.library.custom_op("tt_lib::axpy", mutates_args=(), schema="(Tensor x, Tensor y, float a=2.0) -> Tensor")
    def axpy(x, y, a):
        return x * a + y

    assert axpy(tt.ones(2), tt.ones(2)).tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="The schema suggests that the op mutates"):
        tt.library.custom_op("tt_lib::bad", lambda x: None, mutates_args=(), schema="(Tensor(a0!) x) -> ()")

    tt.library.define("tt_lib::scale", "(Tensor x, float s) -> Tensor")

    @tt.library.impl("tt_lib::scale", "cpu")
    def _(x, s):
        return x * s

    tt.library.register_fake("tt_lib::scale", lambda x, s: tt.empty_like(x))
    tt.library.register_autograd("tt_lib::scale", lambda ctx, g: (g * ctx.s, None),
                                 setup_context=lambda ctx, inputs, output: setattr(ctx, "s", inputs[1]))
    x = tt.ones(2, requires_grad=True)
    tt.ops.tt_lib.scale(x, 4.0).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]
    assert tuple(tt.ops.tt_lib.scale(tt.empty(3, device="meta"), 2.0).shape) == (3,)

    lib = tt.library.Library("tt_lib2", "DEF")
    assert lib.define("neg(Tensor x) -> Tensor") == "neg"
    lib.impl("neg", lambda x: -x, "CompositeExplicitAutograd")
    assert tt.ops.tt_lib2.neg(tt.ones(2)).tolist() == [-1.0, -1.0]
    lib._destroy()
    assert not hasattr(tt.ops.tt_lib2, "neg")


def test_register_fake_for_an_undefined_op_is_torchs_error():
    with pytest.raises(RuntimeError, match="operator tt_lib::undefined_op does not exist"):
        library.register_fake("tt_lib::undefined_op", lambda x: x)


def test_register_fake_from_a_package_whose_compiled_ops_did_not_load(tmp_path, monkeypatch):
    # torchvision's import: load_library fails (OSError), then register_fake("torchvision::nms") for the op its
    # library would have defined. The fake is kept; defining the op later attaches it.
    pkg = tmp_path / "tt_visionlike"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import tritorch as torch\n"
        "try:\n"
        "    torch.ops.load_library('_C.so')\n"
        "except OSError:\n"
        "    pass\n"
        "@torch.library.register_fake('tt_visionlike::double')\n"
        "def _fake(x):\n"
        "    return torch.empty_like(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "tt_visionlike", raising=False)
    mod = __import__("tt_visionlike")
    assert "tt_visionlike::double" not in library._OPS
    library.define("tt_visionlike::double", "(Tensor x) -> Tensor")
    library.impl("tt_visionlike::double", "cpu", lambda x: x * 2)
    assert library._OPS["tt_visionlike::double"]._abstract_fn is mod._fake
    y = tt.ops.tt_visionlike.double(tt.ones(2, 3, device="meta"))
    assert y.device.type == "meta" and y.shape == (2, 3)
    assert tt.ops.tt_visionlike.double(tt.ones(2)).tolist() == [2.0, 2.0]


def test_private_custom_ops_module():
    from tritorch import _custom_ops

    @_custom_ops.custom_op("tt_lib::legacy_neg")
    def legacy_neg(x: tt.Tensor) -> tt.Tensor:
        raise NotImplementedError

    _custom_ops.impl("tt_lib::legacy_neg", func=lambda x: -x)
    _custom_ops.impl_abstract("tt_lib::legacy_neg", func=lambda x: tt.empty_like(x))
    assert tt.ops.tt_lib.legacy_neg(tt.ones(2)).tolist() == [-1.0, -1.0]
    assert tt.ops.tt_lib.legacy_neg(tt.ones(2, device="meta")).shape == (2,)


def test_any_ops_namespace_exists_once_named():
    import types as _types
    ns = tt.ops.tt_fresh_namespace
    try:
        assert ns is tt.ops.tt_fresh_namespace and not hasattr(ns, "nms")   # torchvision's ops: absent, not an error
        with pytest.raises(AttributeError, match="'_OpNamespace' 'tt_fresh_namespace' object has no attribute 'nms'"):
            ns.nms
        op = library.custom_op("tt_fresh_namespace::twice", lambda x: x * 2, mutates_args=(),
                               schema="(Tensor x) -> Tensor")
        assert tt.ops.tt_fresh_namespace.twice is op
    finally:
        del tt.ops.tt_fresh_namespace
    from tritorch.ops import stft   # the package's own modules are still imported by name
    assert isinstance(stft, _types.ModuleType)
    with pytest.raises(AttributeError):
        tt.ops._private
