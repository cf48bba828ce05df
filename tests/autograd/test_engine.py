"""Hand-written tests of the autograd engine: accumulation, hooks, retain_graph, views, in-place errors, version
counters after a kernel write, anomaly mode, long chains, memory after backward, custom Functions, grad modes."""
import gc
import weakref

import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import assert_values_close as assert_close, devices


@pytest.fixture(params=devices())
def device(request):
    return request.param


def leaf(values, device, dtype=tt.float64):
    return tt.tensor(values, dtype=dtype, device=device, requires_grad=True)


def test_backward_accumulates_into_leaves(device):
    x = leaf([1.0, 2.0, 3.0], device)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    assert_close(x.grad, np.array([5.0, 7.0, 9.0]))


def test_grad_fn_names_and_next_functions(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2.0 + x
    assert y.grad_fn.name() == "AddBackward0"
    assert "AddBackward0" in repr(y)
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
    assert x.is_leaf and not y.is_leaf
    assert y.requires_grad


def test_broadcast_gradients_reduce_to_the_input_shape(device):
    a = leaf([[1.0], [2.0]], device)          # (2, 1)
    b = leaf([10.0, 20.0, 30.0], device)      # (3,)
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1) and b.grad.shape == (3,)
    assert_close(a.grad, np.array([[60.0], [60.0]]))
    assert_close(b.grad, np.array([3.0, 3.0, 3.0]))


def test_autograd_grad_does_not_touch_dot_grad(device):
    x = leaf([1.0, 2.0], device)
    (g,) = tt.autograd.grad((x * x).sum(), [x])
    assert_close(g, np.array([2.0, 4.0]))
    assert x.grad is None


def test_double_backward(device):
    x = leaf([1.0, 2.0, 3.0], device)
    (g,) = tt.autograd.grad((x * x * x).sum(), [x], create_graph=True)
    (gg,) = tt.autograd.grad(g.sum(), [x])
    assert_close(g.detach(), 3 * np.array([1.0, 4.0, 9.0]))
    assert_close(gg, 6 * np.array([1.0, 2.0, 3.0]))


def test_second_backward_through_a_freed_graph_names_retain_graph(device):
    x = leaf([1.0, 2.0], device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_hooks_can_replace_the_gradient(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2.0
    seen = []
    y.register_hook(lambda g: seen.append(g) or g * 10.0)
    y.sum().backward()
    assert len(seen) == 1
    assert_close(x.grad, np.array([20.0, 20.0]))
    h = x.register_hook(lambda g: g * 0.0)
    (x * 1.0).sum().backward()
    assert_close(x.grad, np.array([20.0, 20.0]))
    h.remove()


def test_retain_grad_on_a_non_leaf(device):
    x = leaf([1.0, 2.0], device)
    y = x * 3.0
    y.retain_grad()
    (y * y).sum().backward()
    assert_close(y.grad, np.array([6.0, 12.0]))
    assert y.retains_grad


def test_gradients_through_views_and_slices(device):
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)
    y = x[:, 1:] * x.T[1:, :].T
    y.sum().backward()
    assert_close(x.grad, np.array([[0.0, 4.0, 6.0], [0.0, 10.0, 12.0]]))


def test_integer_tensors_cannot_require_grad(device):
    with pytest.raises(RuntimeError, match="floating point"):
        tt.tensor([1, 2], device=device).requires_grad_()


def test_inplace_on_a_leaf_that_requires_grad_raises(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1.0)


def test_modifying_a_saved_tensor_raises_version_error(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2.0
    z = (y * y).sum()         # saves y
    y.mul_(3.0)               # a Triton kernel (cuda) or NumPy out= (cpu) write bumps y's version
    assert y._version[0] == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; expected version 0"):
        z.backward()


def test_version_counter_is_shared_with_views_and_bumped_by_kernel_writes(device):
    base = tt.zeros(4, 3, device=device)
    view = base[1]
    assert view._version is base._version
    view.fill_(2.0) if hasattr(view, "fill_") else view.copy_(tt.full((3,), 2.0, device=device))
    assert base._version[0] == 1
    base[0] = 5.0
    assert view._version[0] == 2


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    # an engine property, device-independent: run on cpu to stay fast in the interpreter
    x = tt.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_graph_and_saved_tensors_are_freed_after_backward():
    x = tt.randn(64, requires_grad=True)
    y = x.exp()
    node = weakref.ref(y.grad_fn)
    (y * y).sum().backward()
    del y
    gc.collect()
    assert node() is None


def test_no_grad_enable_grad_set_grad_enabled_inference_mode():
    x = tt.ones(2, requires_grad=True)
    with tt.no_grad():
        assert (x * 2).grad_fn is None
        with tt.enable_grad():
            assert (x * 2).grad_fn is not None
    with tt.set_grad_enabled(False):
        assert not tt.is_grad_enabled()
    assert tt.is_grad_enabled()
    with tt.inference_mode():
        assert (x * 2).grad_fn is None

    @tt.no_grad()
    def f(t):
        return t * 2

    assert f(x).grad_fn is None


def test_grad_modes_decorate_without_parentheses():
    # `@torch.no_grad` (transformers' core_model_loading does this at import) and `@torch.inference_mode` bare
    x = tt.ones(2, requires_grad=True)

    @tt.no_grad
    def f(t):
        """doc"""
        return t * 2

    @tt.inference_mode
    def g(t):
        return tt.is_inference_mode_enabled(), (t * 2).grad_fn

    assert f(x).grad_fn is None and f.__name__ == "f" and f.__doc__ == "doc"
    assert g(x) == (True, None) and not tt.is_inference_mode_enabled()
    with tt.no_grad():
        assert tt.enable_grad(lambda: (x * 2).grad_fn)() is not None
    assert isinstance(tt.no_grad(), tt.no_grad) and isinstance(tt.inference_mode(False), tt.inference_mode)


def test_grad_mode_is_per_thread_and_the_process_count_follows_it():
    # the hot paths skip the thread-local grad mode while no thread has it off (FLAGS.grad_off == 0): a thread
    # in no_grad must not stop this one recording, nor run its own ops with grad, and a thread that ends with
    # grad off must not leave the count raised
    import threading
    from tritorch._state import FLAGS
    x = tt.ones(2, requires_grad=True)
    entered, release, seen = threading.Event(), threading.Event(), {}

    def worker():
        with tt.no_grad():
            entered.set()
            release.wait(10)
            seen["in no_grad"] = (x * 2).grad_fn
        tt.set_grad_enabled(False)   # and end the thread with grad off
        seen["off at the end"] = (x * 2).grad_fn

    t = threading.Thread(target=worker)
    assert FLAGS.grad_off == 0
    t.start()
    entered.wait(10)
    assert FLAGS.grad_off == 1 and tt.is_grad_enabled()
    assert (x * 2).grad_fn is not None and (x + x).grad_fn is not None and x.exp().grad_fn is not None
    release.set()
    t.join()
    assert seen == {"in no_grad": None, "off at the end": None}
    gc.collect()
    assert FLAGS.grad_off == 0
    with tt.no_grad():
        assert FLAGS.grad_off == 1 and (x * 2).grad_fn is None
        with tt.no_grad(), tt.inference_mode():
            assert FLAGS.grad_off == 1
        with tt.enable_grad():
            assert FLAGS.grad_off == 0 and (x * 2).grad_fn is not None
        assert FLAGS.grad_off == 1
    assert FLAGS.grad_off == 0


def test_detach_shares_storage_and_stops_gradient(device):
    x = leaf([1.0, 2.0], device)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert d.data_ptr() == x.data_ptr()


def test_anomaly_mode_names_the_op_that_produced_nan(device):
    x = leaf([-1.0, 4.0], device)
    with tt.autograd.detect_anomaly():
        y = x.sqrt()           # sqrt(-1) = nan in forward; its backward produces nan
        with pytest.raises(RuntimeError, match="SqrtBackward0.*nan"):
            y.sum().backward()


def test_set_detect_anomaly_switches_and_restores_as_a_context_manager():
    assert not tt.autograd.is_anomaly_enabled()
    with tt.autograd.set_detect_anomaly(True, check_nan=False):
        assert tt.autograd.is_anomaly_enabled() and not tt.autograd.anomaly_mode.is_anomaly_check_nan_enabled()
        with tt.autograd.set_detect_anomaly(False):
            assert not tt.autograd.is_anomaly_enabled()
        assert tt.autograd.is_anomaly_enabled()
    assert not tt.autograd.is_anomaly_enabled() and tt.autograd.anomaly_mode.is_anomaly_check_nan_enabled()
    tt.autograd.set_detect_anomaly(True)       # a plain call switches it (and stays switched)
    assert tt.autograd.is_anomaly_enabled()
    tt.autograd.set_detect_anomaly(False)
    assert not tt.autograd.is_anomaly_enabled()
    assert tt.set_anomaly_enabled(False) is None    # (torch.set_anomaly_enabled stays a plain function)


def test_anomaly_trace_ends_at_the_forward_call(device):
    x = leaf([1.0, 4.0], device)
    with tt.autograd.detect_anomaly():
        results = [x.sqrt(), x * 2.0, 2.0 * x, x * x, tt.cat([x, x]), x.sum(0)]  # the line each trace must end at
    for y in results:
        last = y.grad_fn.trace[-1]
        assert "test_engine.py" in last and "results = [" in last, (y.grad_fn.name(), last)


def test_node_meta_of_a_shortcut_call_is_what_infer_gives(device):
    # cpu shortcuts record without a Meta; a vjp that reads ctx.meta gets the one infer makes for the inputs
    a = leaf([[1.0], [2.0]], device, tt.float32)
    b = leaf([[1.0, 2.0, 3.0]], device, tt.float32)
    for y in (a * b, a + b, a * 3.0, a.sin()):
        m = y.grad_fn.meta
        assert tuple(m.shape) == tuple(y.shape) and m.dtype is y.dtype and m.device is y.device


def test_gradients_reach_tensor_args_after_a_python_value(device):
    # index_add(x, dim, index, source): the engine lines the gradients up with x and source, not with dim/index
    x = leaf(np.zeros((3, 2)), device)
    src = leaf(np.arange(4.0).reshape(2, 2), device)
    idx = tt.tensor([2, 0], device=device)
    (x.index_add(0, idx, src) * tt.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=tt.float64, device=device)
     ).sum().backward()
    assert_close(x.grad, np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    assert_close(src.grad, np.array([[5.0, 6.0], [1.0, 2.0]]))


def test_custom_function(device):
    class Cube(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * x * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return g * 3.0 * x * x * ctx.scale, None

    x = leaf([1.0, 2.0], device)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    assert_close(x.grad, np.array([6.0, 24.0]))
    assert tt.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), [leaf([0.5, -1.5], "cpu")])


def test_gradcheck_reports_the_failing_element():
    class Wrong(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    with pytest.raises(tt.autograd.GradcheckError, match="output 0 with respect to input 0"):
        tt.autograd.gradcheck(Wrong.apply, [leaf([1.0, 2.0], "cpu")])


def test_differentiable_op_without_rule_raises_instead_of_zero():
    from tritorch.ops.registry import Meta, OpDef, register, unregister

    op = register(OpDef(name="test_no_rule", infer=lambda x: Meta(x._data.shape, x.dtype, x.device),
                        impl={"cpu": lambda m, x: x._data * 2, "cuda": lambda m, x: x._data}))
    try:
        y = op(tt.ones(2, requires_grad=True))
        with pytest.raises(RuntimeError, match="derivative for 'test_no_rule' is not implemented"):
            y.sum().backward()
    finally:
        unregister("test_no_rule")


def test_post_accumulate_grad_hook_runs_after_grad_is_set(device):
    w = tt.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []

    def step(p):   # an optimizer step inside backward, as PyTorch's docs show
        seen.append(p.grad.cpu().numpy().copy())
        with tt.no_grad():
            p -= 0.1 * p.grad
        p.grad = None
    handle = w.register_post_accumulate_grad_hook(step)
    ((w * w).sum() + w.sum()).backward()
    np.testing.assert_allclose(seen[0], [3.0, 5.0])
    np.testing.assert_allclose(w.detach().cpu().numpy(), [0.7, 1.5])
    assert w.grad is None
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 1 and w.grad is not None
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(step)
    tt.autograd.grad((w * w).sum(), [w])   # autograd.grad accumulates nothing: no call
    assert len(seen) == 1


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_grad_dtype_casts_accumulated_gradients_and_checks_assignments(device):
    x = tt.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert x.grad_dtype is tt.float32
    x.grad_dtype = tt.float16
    (x * 3).sum().backward()
    (x * 3).sum().backward()            # accumulates in the grad dtype
    assert x.grad.dtype is tt.float16 and x.grad.cpu().tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype 'float32' to a tensor with "
                                           "grad_dtype 'float16'"):
        x.grad = tt.ones(2, device=device)
    w = tt.ones(2, dtype=tt.bfloat16, device=device, requires_grad=True)
    w.grad_dtype = tt.float32           # bf16 weights, fp32 gradients
    (w.float() * 2).sum().backward()
    assert w.grad.dtype is tt.float32
    anything = tt.ones(2, device=device, requires_grad=True)
    anything.grad_dtype = None
    anything.grad = tt.ones(2, dtype=tt.float64, device=device)
    assert anything.grad_dtype is None and anything.grad.dtype is tt.float64
    with pytest.raises(RuntimeError, match="grad_dtype can only be accessed on leaf tensors"):
        (x * 2).grad_dtype
    with pytest.raises(RuntimeError, match="grad_dtype can only be set on leaf tensors"):
        (x * 2).grad_dtype = tt.float32
    plain = tt.ones(2, device=device)
    with pytest.raises(RuntimeError, match="must match the tensor's grad_dtype"):
        plain.grad = tt.ones(2, dtype=tt.float64, device=device)


def test_grad_dtype_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.grad_dtype = lib.float16
        (x * 3).sum().backward()
        results.append((str(x.grad.dtype).split(".")[-1], x.grad.tolist(), str(x.grad_dtype).split(".")[-1]))
    assert results[0] == results[1]


def test_function_with_setup_context_matches_torch(device):
    """PyTorch 2's form of a custom Function: forward(*inputs) without ctx, then setup_context(ctx, inputs,
    output), the inputs bound to forward's parameters with their defaults."""
    torch = pytest.importorskip("torch")
    seen = []

    def make(lib):
        class Scaled(lib.autograd.Function):
            @staticmethod
            def forward(x, k=2.0, shift=0.0):
                return x * x * k + shift

            @staticmethod
            def setup_context(ctx, inputs, output):
                seen.append(len(inputs))
                x, k, _ = inputs
                ctx.save_for_backward(x)
                ctx.k = k

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g * ctx.k, None, None
        return Scaled

    grads = []
    for lib, dev in ((tt, device), (torch, "cpu")):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, device=dev, requires_grad=True)
        f = make(lib)
        (f.apply(x) + f.apply(x, k=3.0, shift=1.0)).sum().backward()
        with lib.no_grad():
            f.apply(x)
        grads.append(x.grad.cpu().numpy())
    assert_close(grads[0], grads[1])
    assert seen == [3, 3, 3] * 2


def test_grad_of_no_inputs_is_torchs_error():
    x = tt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty."):
        tt.autograd.grad((x * 2).sum(), [])
    # torch.func.grad over an argument holding no tensors still differentiates the others
    g = tt.func.grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(x, {})
    assert g[0].tolist() == [2.0, 2.0] and g[1] == {}
