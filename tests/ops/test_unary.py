"""Hand-written tests of the unary family: PyTorch's errors, dtype rules, method and operator forms, out= and
in-place writes, and the numerically delicate cases (expm1/log1p/tanh near zero, stable sigmoid and softplus,
round half to even, signed zeros). Values over many shapes and dtypes are covered by the generated tests in
test_registry_ops.py."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import registry
from tritorch.ops import unary
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()
UNARY_OPS = ["neg", "abs", "sign", "square", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt",
             "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "silu", "softplus", "erf", "gelu",
             "floor", "ceil", "trunc", "round", "logical_not", "isnan", "isinf", "isfinite"]
FLOAT_OPS = ["exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan",
             "tanh", "sigmoid", "erf"]
INPLACE = ["neg", "abs", "sign", "square", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt",
           "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "erf", "floor", "ceil", "trunc", "round",
           "logical_not", "negative", "absolute", "fix"]


def vals(values, dtype=tt.float32, device="cpu"):
    return tt.tensor(np.array(values, dtype=np.float64 if tt.dtypes.as_dtype(dtype).kind == tt.dtypes.FLOAT
                              else np.int64), dtype=dtype, device=device)


def host(x):
    return x._host()


# ------------------------------------------------------------------------------------------------ registry

def test_every_op_is_registered_with_everything_the_contract_asks():
    for name in UNARY_OPS:
        op = registry.get(name)
        assert op.family == "unary"
        assert set(op.impl) == {"cpu", "cuda", "meta"}
        assert op.ref is not None and op.samples is not None
        assert callable(op.extra["torch"])
        assert op.extra["arity"] == 1
        spec = op.bench
        assert spec.sizes == (2 ** 16, 2 ** 20, 2 ** 24)
        (x,), kw = spec.make(8, "cpu", tt.float32)
        assert tuple(x.shape) == (8,) and isinstance(kw, dict)
        out_size = 1 if name in ("logical_not", "isnan", "isinf", "isfinite") else 4
        assert spec.bytes(8, tt.float32) == 8 * (4 + out_size)
        assert spec.flops(8) >= 8


def test_bench_bytes_follow_the_result_dtype():
    assert registry.get("exp").bench.bytes(10, tt.int8) == 10 * (1 + 4)      # int8 -> float32
    assert registry.get("isnan").bench.bytes(10, tt.float16) == 10 * (2 + 1)
    assert registry.get("neg").bench.bytes(10, tt.int64) == 10 * 16


def test_public_api_and_methods_are_bound():
    for name in unary.__all__:
        assert getattr(tt, name) is getattr(unary, name)
    for name in INPLACE:
        assert hasattr(tt.Tensor, name) and hasattr(tt.Tensor, name + "_"), name
    for name in ("isnan", "isinf", "isfinite", "positive", "__neg__", "__abs__", "__pos__", "__invert__"):
        assert hasattr(tt.Tensor, name)


# -------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("device", DEVICES)
def test_neg_of_bool_raises_pytorch_error(device):
    b = tt.tensor([True, False], device=device)
    msg = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use "
           "the `~` or `logical_not()` operator instead.")
    for fn in (tt.neg, tt.negative, lambda x: -x, lambda x: x.neg_()):
        with pytest.raises(RuntimeError) as e:
            fn(b)
        assert str(e.value) == msg


@pytest.mark.parametrize("device", DEVICES)
def test_dtype_errors(device):
    b = tt.tensor([True, False], device=device)
    i = tt.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="The `\\+` operator, on a bool tensor is not supported."):
        +b
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        tt.relu(b)
    for fn in (tt.abs, tt.floor, tt.ceil, tt.trunc, tt.round):
        with pytest.raises(RuntimeError, match="not implemented for 'Bool'"):
            fn(b)
    for fn in (tt.gelu, tt.silu, tt.softplus):
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            fn(i)
    with pytest.raises(RuntimeError, match="\"round\" not implemented for 'Long'"):
        tt.round(i, decimals=1)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        tt.gelu(vals([1.0], device=device), approximate="exact")


def test_non_tensor_input_raises_type_error():
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' \(position 1\) must be Tensor, not float"):
        tt.exp(2.0)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        tt.gelu([1.0])
    with pytest.raises(TypeError, match="decimals"):
        tt.round(vals([1.5]), decimals=1.5)


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_float_op_on_integer_tensor_cannot_cast(device):
    i = tt.tensor([1, 2], device=device)
    for method in ("exp_", "sqrt_", "sigmoid_", "log_"):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            getattr(i, method)()
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        tt.tensor([True], device=device).square_()


def test_isnan_isinf_isfinite_take_no_out():
    x = vals([1.0])
    for op in ("isnan", "isinf", "isfinite"):
        with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
            registry.get(op)(x, out=tt.empty(1, dtype=tt.bool))


# ---------------------------------------------------------------------------------------------- dtype rules

@pytest.mark.parametrize("device", DEVICES)
def test_float_ops_on_integers_and_bools_give_the_default_float(device):
    for dtype in (tt.bool, tt.uint8, tt.int8, tt.int32, tt.int64):
        x = tt.tensor([0, 1, 1], dtype=dtype, device=device)
        for name in FLOAT_OPS:
            r = getattr(tt, name)(x)
            assert r.dtype is tt.float32, (name, dtype)
    assert_close(tt.exp(tt.tensor([0, 1, 2], device=device)), np.exp(np.arange(3.0)))
    assert_close(tt.sqrt(tt.tensor([4, 9], dtype=tt.int8, device=device)), np.array([2.0, 3.0]))


@pytest.mark.parametrize("device", DEVICES)
def test_same_kind_ops_keep_integer_dtypes(device):
    for dtype in (tt.uint8, tt.int8, tt.int16, tt.int32, tt.int64):
        x = tt.tensor([0, 1, 5], dtype=dtype, device=device)
        for name in ("neg", "abs", "sign", "square", "relu", "floor", "ceil", "trunc", "round"):
            assert getattr(tt, name)(x).dtype is dtype, (name, dtype)
    assert tt.sign(tt.tensor([True, False], device=device)).dtype is tt.bool
    sq = tt.square(tt.tensor([True, False], device=device))
    assert sq.dtype is tt.int64 and host(sq).tolist() == [1, 0]


@pytest.mark.parametrize("device", DEVICES)
def test_bool_result_ops(device):
    x = vals([0.0, -0.0, 1.0, math.inf, -math.inf, math.nan], device=device)
    assert host(tt.isnan(x)).tolist() == [False, False, False, False, False, True]
    assert host(tt.isinf(x)).tolist() == [False, False, False, True, True, False]
    assert host(tt.isfinite(x)).tolist() == [True, True, True, False, False, False]
    assert host(tt.logical_not(x)).tolist() == [True, True, False, False, False, False]
    for dtype in (tt.bool, tt.uint8, tt.int64):
        i = tt.tensor([0, 1], dtype=dtype, device=device)
        assert host(i.isnan()).tolist() == [False, False]
        assert host(i.isinf()).tolist() == [False, False]
        assert host(i.isfinite()).tolist() == [True, True]
        assert host(i.logical_not()).tolist() == [True, False]
        assert i.isnan().dtype is tt.bool


@pytest.mark.parametrize("device", DEVICES)
def test_integer_wraparound_matches_pytorch(device):
    assert host(tt.neg(tt.tensor([200, 3], dtype=tt.uint8, device=device))).tolist() == [56, 253]
    assert host(tt.abs(tt.tensor([-128, 3], dtype=tt.int8, device=device))).tolist() == [-128, 3]
    assert host(tt.sign(tt.tensor([200, 0], dtype=tt.uint8, device=device))).tolist() == [1, 0]
    assert host(tt.relu(tt.tensor([-5, 0, 7], dtype=tt.int8, device=device))).tolist() == [0, 0, 7]


@pytest.mark.parametrize("device", DEVICES)
def test_rounding_an_integer_is_a_copy(device):
    x = tt.tensor([3, -4], device=device)
    for fn in (tt.floor, tt.ceil, tt.trunc, tt.round):
        r = fn(x)
        assert host(r).tolist() == [3, -4]
        r.neg_()
        assert host(x).tolist() == [3, -4]


# ------------------------------------------------------------------------------------- methods and operators

@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_operators(device):
    x = vals([1.5, -2.0, 0.25], device=device)
    assert_close(x.exp(), np.exp([1.5, -2.0, 0.25]))
    assert_close(-x, np.array([-1.5, 2.0, -0.25]))
    assert_close(abs(x), np.array([1.5, 2.0, 0.25]))
    assert +x is x and tt.positive(x) is x and x.positive() is x
    assert_close(x.relu(), np.array([1.5, 0.0, 0.25]))
    assert_close(x.round(), np.array([2.0, -2.0, 0.0]))
    assert_close(x.round(decimals=1), np.array([1.5, -2.0, 0.2]))
    assert_close(x.negative(), -host(x))
    assert_close(x.absolute(), np.abs(host(x)))
    assert_close(x.fix(), np.trunc(host(x)))
    assert host(~tt.tensor([True, False], device=device)).tolist() == [False, True]
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~x


def test_invert_of_integers_uses_the_bitwise_family():
    from tritorch.ops import binary
    i = tt.tensor([0, 5, -1])
    if hasattr(binary, "bitwise_not"):
        assert host(~i).tolist() == [-1, -6, 0]
    else:
        with pytest.raises(TypeError, match="bitwise_not"):
            ~i


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "neg", "round", "logical_not", "relu"])
def test_in_place_methods_write_the_tensor_and_bump_its_version(device, name):
    x = vals([0.5, -1.5, 2.0], device=device)
    expected = host(getattr(tt, name)(x)).astype(np.float32)
    v0 = x._version_count
    r = getattr(x, name + "_")()
    assert r is x
    assert x._version_count == v0 + 1
    assert_close(x, expected)


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_on_a_non_contiguous_view(device):
    base = vals(np.arange(12.0).reshape(3, 4) / 4 - 1, device=device)
    view = base.t()
    before = host(base).copy()
    view.sigmoid_()
    assert_close(base, 1 / (1 + np.exp(-before.astype(np.float64))))
    assert base._version_count == view._version_count


@pytest.mark.parametrize("device", DEVICES)
def test_out_argument(device):
    x = vals([1.0, 2.0], device=device)
    out = tt.empty(2, dtype=tt.float64, device=device)
    r = tt.exp(x, out=out)
    assert r is out and out.dtype is tt.float64
    assert_close(out, np.exp(np.array([1.0, 2.0], np.float32)).astype(np.float64), rtol=1e-6, atol=0)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        tt.exp(x, out=tt.empty(2, dtype=tt.int64, device=device))
    with pytest.warns(UserWarning, match=r"An output with one or more elements was resized since it had shape \[3\]"):
        resized = tt.exp(x, out=tt.empty(3, device=device))     # PyTorch resizes out= (warning when it had elements)
    assert resized.shape == (2,)
    assert_close(resized, np.exp(np.array([1.0, 2.0], np.float32)), rtol=1e-6, atol=0)
    flags = tt.empty(2, dtype=tt.float32, device=device)
    tt.logical_not(vals([0.0, 3.0], device=device), out=flags)
    assert host(flags).tolist() == [1.0, 0.0]
    r = tt.round(vals([1.25, 2.5], device=device), decimals=1, out=tt.empty(2, device=device))
    assert_close(r, np.array([1.2, 2.5]))


@pytest.mark.parametrize("device", DEVICES)
def test_silu_inplace_flag(device):
    x = vals([1.0, -2.0], device=device)
    r = tt.silu(x, inplace=True)
    assert r is x
    assert_close(x, np.array([1.0, -2.0]) / (1 + np.exp(-np.array([1.0, -2.0]))))


# --------------------------------------------------------------------------------------- numerical edges

TINY = [1e-30, -1e-30, 1e-12, -1e-12, 3e-8, -3e-8, 1e-5, -1e-5]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_small_arguments_keep_full_relative_accuracy(device, dtype):
    # expm1, log1p, tanh, sin, tan and erf are ~x near 0: they must not lose digits to cancellation
    x = vals(TINY, dtype, device)
    x64 = host(x).astype(np.float64)
    eps = np.finfo(dtype.np).eps
    for fn, ref in ((tt.expm1, np.expm1), (tt.log1p, np.log1p), (tt.tanh, np.tanh), (tt.sin, np.sin),
                    (tt.tan, np.tan)):
        got = host(fn(x)).astype(np.float64)
        assert np.all(np.abs(got - ref(x64)) <= 4 * eps * np.abs(ref(x64))), fn.__name__
    got = host(tt.erf(x)).astype(np.float64)
    ref = np.array([math.erf(v) for v in x64])
    assert np.all(np.abs(got - ref) <= 4 * eps * np.abs(ref)), "erf"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_signed_zeros_and_special_values(device, dtype):
    x = vals([0.0, -0.0, math.inf, -math.inf, math.nan], dtype, device)
    sign_bit = lambda t: np.signbit(host(t)).tolist()  # noqa: E731
    for fn in (tt.expm1, tt.log1p, tt.tanh, tt.sin, tt.erf, tt.round, tt.floor, tt.trunc):
        assert sign_bit(fn(x))[:2] == [False, True], fn.__name__
    assert host(tt.expm1(x)).tolist()[2:4] == [math.inf, -1.0]
    assert host(tt.log1p(x)).tolist()[2] == math.inf
    assert host(tt.tanh(x)).tolist()[2:4] == [1.0, -1.0]
    assert host(tt.sigmoid(x)).tolist()[2:4] == [1.0, 0.0]
    assert host(tt.softplus(x)).tolist()[2:4] == [math.inf, 0.0]
    assert host(tt.sign(x)).tolist() == [0.0, 0.0, 1.0, -1.0, 0.0]          # sign(NaN) is 0 in PyTorch
    assert math.isnan(host(tt.relu(x))[4])                                   # relu keeps NaN
    assert sign_bit(tt.round(vals([-0.3, -0.5, 0.3], dtype, device))) == [True, True, False]
    assert host(tt.log1p(vals([-1.0, -2.0], dtype, device))).tolist()[0] == -math.inf
    assert math.isnan(host(tt.log1p(vals([-2.0], dtype, device)))[0])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float32, tt.float64])
def test_no_overflow_in_stable_formulas(device, dtype):
    big = 80.0 if dtype is tt.float32 else 700.0
    x = vals([big, -big, 2 * big, -2 * big], dtype, device)
    with np.errstate(all="ignore"):
        x64 = host(x).astype(np.float64)
        assert_close(tt.sigmoid(x), 1 / (1 + np.exp(-x64)))
        assert_close(tt.silu(x), x64 / (1 + np.exp(-x64)))
        assert_close(tt.tanh(x), np.tanh(x64))
    assert_close(tt.expm1(vals([big], dtype, device)), np.expm1([big]))     # near the top of the range
    huge = float(np.finfo(dtype.np).max) / 2
    assert_close(tt.log1p(vals([huge], dtype, device)), np.log1p([huge]))


@pytest.mark.parametrize("device", DEVICES)
def test_softplus_follows_pytorch_threshold_rule(device):
    x = vals([-3.0, 0.0, 2.0, 4.0, 25.0], device=device)
    x64 = host(x).astype(np.float64)
    expect = np.where(x64 * 2 > 5, x64, np.log1p(np.exp(2 * x64)) / 2)
    assert_close(tt.softplus(x, beta=2, threshold=5), expect)
    assert_close(tt.softplus(x, 2, 5), expect)
    assert host(tt.softplus(vals([20.5], device=device)))[0] == np.float32(20.5)   # x itself above threshold
    assert host(tt.softplus(vals([1.0], device=device), beta=0))[0] == math.inf     # log(2) / 0, as in PyTorch
    neg_beta = tt.softplus(x, beta=-1.5)
    assert_close(neg_beta, np.log1p(np.exp(-1.5 * x64)) / -1.5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tt.float16, tt.bfloat16, tt.float32, tt.float64])
def test_round_half_to_even_and_decimals(device, dtype):
    x = vals([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -3.51], dtype, device)
    assert host(tt.round(x)).astype(np.float64).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 3.0, -4.0]
    y = vals([1.25, 125.0, 135.0, -0.3, 0.125], dtype, device)
    got1 = host(tt.round(y, decimals=1)).astype(np.float64)
    assert_close(got1, np.array([1.2, 125.0, 135.0, -0.3, 0.1]), rtol=1e-2 if dtype.itemsize == 2 else 1e-6,
                 atol=0)
    gotm1 = host(tt.round(y, decimals=-1)).astype(np.float64)
    assert gotm1.tolist() == [0.0, 120.0, 140.0, -0.0, 0.0]


@pytest.mark.parametrize("device", DEVICES)
def test_round_of_large_values_is_exact(device):
    for dtype in (tt.float32, tt.float64):
        big = 2.0 ** (23 if dtype is tt.float32 else 52)
        x = vals([big - 0.5, big + 1, -big + 0.5, big * 4], dtype, device)
        assert host(tt.round(x)).tolist() == np.rint(host(x)).tolist()


@pytest.mark.parametrize("device", DEVICES)
def test_gelu_exact_and_tanh(device):
    x = vals(np.linspace(-5, 5, 41), tt.float64, device)
    x64 = host(x)
    exact = 0.5 * x64 * (1 + np.vectorize(math.erf)(x64 / math.sqrt(2)))
    approx = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3)))
    assert_close(tt.gelu(x), exact)
    assert_close(tt.gelu(x, approximate="none"), exact)
    assert_close(tt.gelu(x, approximate="tanh"), approx)
    assert np.max(np.abs(host(tt.gelu(x, approximate="tanh")) - exact)) > 1e-5   # they are different functions


def test_numpy_erf_is_within_an_ulp():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-7, 7, 2000), rng.standard_normal(500) * 1e-3, [0.84375, 1.25, 2.857, 6.0],
                        -(10.0 ** rng.uniform(-300, 0, 200))])
    ref = np.array([math.erf(v) for v in x])
    ulps = np.abs(unary._erf64(x) - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 1.0
    assert unary._erf64(np.array(0.5)).shape == ()


@pytest.mark.parametrize("dtype", [tt.float16, tt.bfloat16])
def test_half_precision_computes_in_fp32_and_rounds_once(dtype):
    x = vals(np.linspace(-4, 4, 33), dtype)
    x32 = host(x).astype(np.float32)
    for fn, ref in ((tt.exp, np.exp), (tt.tanh, np.tanh), (tt.erf, None), (tt.sigmoid, None)):
        got = fn(x)
        assert got.dtype is dtype and host(got).dtype == dtype.np
        if ref is not None:
            assert np.array_equal(host(got), ref(x32).astype(dtype.np))


def test_cpu_and_cuda_agree_on_a_large_strided_input():
    if "cuda" not in DEVICES:
        return
    x = tt.tensor(np.linspace(-20, 20, 2 * 3000).astype(np.float32).reshape(3000, 2))
    xc = x.to("cuda").t()
    for name in ("exp", "expm1", "log1p", "tanh", "sigmoid", "erf", "softplus", "gelu", "silu", "round"):
        fn = getattr(tt, name)
        with np.errstate(all="ignore"):
            assert_close(fn(xc), fn(x.t()), rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("n", [1024, 70001])  # one block, and more than one (the last one partial)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_block_path_is_bitwise_np_maximum(n, dtype):
    """relu's cpu fallback runs np.maximum against a cached block of zeros (NumPy's SIMD loop): the bits of
    np.maximum(x, 0) on every element, NaN payloads, signed zeros and infinities included."""
    from tritorch.ops import pointwise as pw
    x = np.random.default_rng(4).standard_normal(n).astype(dtype)
    x[:7] = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, -1.0]
    want = np.maximum(x, dtype(0))
    got = tt.tensor(x).relu().numpy()
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    assert np.array_equal(pw.np_with_constant(np.minimum, x, 2.0), np.minimum(x, dtype(2.0)), equal_nan=True)


def test_gelu_backward_with_the_forwards_cdf_is_bitwise_the_recomputed_one():
    """On cpu under autograd a float32 gelu keeps Phi(x) for its backward (no second erf): same bits as the
    backward that evaluates it again (a second backward through a retained graph does), specials and the
    float64-evaluated tail below x = -2.5 included; double backward still works; a bad cdf is refused."""
    from tritorch.ops import unary as U
    rng = np.random.default_rng(6)
    xa = (rng.standard_normal((70, 90)) * 2).astype(np.float32)       # 6300 elements: past _GELU_KEEP_MIN
    xa[0, :7] = [-3.0, -5.0, -10.0, np.inf, -np.inf, np.nan, -0.0]
    g = tt.tensor(rng.standard_normal(xa.shape).astype(np.float32))
    x = tt.tensor(xa, requires_grad=True)
    y = tt.nn.functional.gelu(x)
    assert isinstance(y.grad_fn.meta.aux, U._KeptCdf)
    with tt.no_grad():
        assert np.array_equal(y.detach().numpy().view(np.uint32), tt.nn.functional.gelu(tt.tensor(xa)).numpy()
                              .view(np.uint32))
    y.backward(g, retain_graph=True)
    kept = x.grad.numpy().copy()
    x.grad = None
    y.backward(g)                                                     # the cdf was used once: recomputed now
    assert np.array_equal(kept.view(np.uint32), x.grad.numpy().view(np.uint32))
    want = U.gelu_backward_op(g, tt.tensor(xa)).numpy()
    assert np.array_equal(kept.view(np.uint32), want.view(np.uint32))
    x2 = tt.tensor(xa[1:], requires_grad=True)                        # double backward through the kept path
    (dx,) = tt.autograd.grad(tt.nn.functional.gelu(x2).sum(), x2, create_graph=True)
    (ddx,) = tt.autograd.grad(dx.sum(), x2)
    xs = xa[1:].astype(np.float64)
    pdf = np.exp(-0.5 * xs * xs) / np.sqrt(2 * np.pi)
    assert_close(ddx.numpy(), pdf * (2 - xs * xs), rtol=1e-4, atol=1e-6)
    with pytest.raises(RuntimeError, match="cdf must be"):
        U.gelu_backward_op(g, tt.tensor(xa), cdf=tt.ones(3))


def test_phi_f32_tanh_form_accuracy_and_saturation():
    """unary.phi_f32 (float32 gelu's Phi in tanh form): within 2e-7 of Phi where x >= -2.5 (the domain gelu uses it
    on; 1 + erf cancels below), relative error of gelu there below 1e-5 where |gelu| > 1e-3; exactly 1 from
    x = 5.7 all the way to +inf without a clip (h's leading term keeps tanh saturated; at -x, what 1 + tanh leaves),
    exactly 0.5 at 0, NaN kept, and the 0-dim case."""
    import math
    from tritorch.ops import unary as U
    x = np.concatenate([np.linspace(-2.5, 8.0, 200001), np.random.default_rng(7).standard_normal(50000)])
    x = x[x >= -2.5].astype(np.float32)
    x64 = x.astype(np.float64)
    want = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x64])
    got = U.phi_f32(x)
    assert got.dtype == np.float32
    assert np.max(np.abs(got - want)) < 2e-7
    gelu = x64 * want
    big = np.abs(gelu) > 1e-3
    assert np.max(np.abs(x64 * got - gelu)[big] / np.abs(gelu[big])) < 1e-5
    huge = np.geomspace(5.7, 3e38, 10000).astype(np.float32)
    with np.errstate(over="ignore"):
        assert np.all(U.phi_f32(np.concatenate([huge, [np.inf]]).astype(np.float32)) == 1.0)
        assert np.all(U.phi_f32(-huge) <= 2.0 ** -25)   # 1 + tanh: at most half an ulp of 1 (cancelled)
    assert U.phi_f32(np.float32([0.0]))[0] == 0.5 and np.isnan(U.phi_f32(np.float32([np.nan]))[0])
    assert U.phi_f32(np.array(1.0, np.float32)).shape == ()


def test_tanh_gelu_backward_is_one_fused_op_matching_torch_at_scale():
    """gelu(approximate='tanh')'s backward runs gelu_backward(approximate='tanh') (one op, cache-sized blocks on
    the cpu pool at this size): gradients equal PyTorch's, and its double backward passes gradgradcheck."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a = (rng.standard_normal((600, 1024)) * 3).astype(np.float32)
    g = rng.standard_normal(a.shape).astype(np.float32)
    x = tt.tensor(a, requires_grad=True)
    y = tt.nn.functional.gelu(x, approximate="tanh")
    y.backward(tt.tensor(g))
    tx = torch.tensor(a.astype(np.float64), requires_grad=True)
    torch.nn.functional.gelu(tx, approximate="tanh").backward(torch.tensor(g.astype(np.float64)))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), torch.nn.functional.gelu(torch.tensor(a), approximate="tanh"),
                               rtol=1e-5, atol=1e-6)
    x64 = tt.tensor(rng.standard_normal(7) * 3, requires_grad=True)
    assert tt.autograd.gradgradcheck(lambda t: tt.nn.functional.gelu(t, approximate="tanh"), (x64,))
