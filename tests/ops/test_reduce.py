"""Hand-written tests of the reduction family: PyTorch's errors, Tensor methods, return types, NaN/inf rules,
accumulation precision, out=, the split (two-stage) kernels and the copy paths the generated tests do not reach."""
import math

import numpy as np
import pytest

import tritorch as tt
from tritorch.ops import reduce as R
from tritorch.testing import assert_values_close as assert_close, devices

DEVICES = devices()


def t(data, dtype=None, device="cpu"):
    return tt.tensor(data, dtype=dtype, device=device)


def host(x):
    return np.asarray(x._host())


# ------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("device", DEVICES)
def test_errors_match_pytorch(device):
    i = t([[1, 2, 3], [4, 5, 6]], device=device)
    x = t([[1.0, 2, 3], [4, 5, 6]], device=device)
    e = tt.zeros(0, 3, device=device)
    cases = [
        (lambda: tt.mean(i), RuntimeError, "mean(): could not infer output dtype. Input dtype must be either a "
                                           "floating point or complex dtype. Got: Long"),
        (lambda: tt.mean(x, dtype=tt.int32), RuntimeError, "Optional dtype must be either a floating point or "
                                                           "complex dtype. Got: Int"),
        (lambda: tt.var(i), RuntimeError, "std and var only support floating point and complex dtypes"),
        (lambda: tt.std(i), RuntimeError, "std and var only support floating point and complex dtypes"),
        (lambda: tt.norm(i), RuntimeError, "linalg.vector_norm: Expected a floating point or complex tensor as "
                                           "input. Got Long"),
        (lambda: tt.norm(x, 2, dtype=tt.float16), RuntimeError, "should be convertible without narrowing to the "
                                                                "specified dtype (Half)"),
        (lambda: tt.norm(x, 2, dtype=tt.int32), RuntimeError, "dtype should be floating point or complex, but "
                                                              "got Int"),
        (lambda: tt.norm(e, math.inf), RuntimeError, "cannot compute the inf norm on an empty tensor"),
        (lambda: tt.norm(e, -1), RuntimeError, "cannot compute the -1 norm on an empty tensor"),
        (lambda: tt.norm(e, math.inf, dim=0), RuntimeError, "cannot compute the inf norm on the dimension 0"),
        (lambda: tt.norm(x, "abc"), RuntimeError, "linalg.matrix_norm: Order abc not supported."),
        (lambda: tt.norm(tt.zeros(2, 2, 2), "fro", dim=(0, 1, 2)), RuntimeError, "dim must be a 2-tuple"),
        (lambda: tt.argmax(t([True, False], device=device)), RuntimeError, "argmax(): does not support bool input"),
        (lambda: tt.amax(e), RuntimeError, "amax(): Expected reduction dim to be specified for input.numel() == 0."),
        (lambda: tt.amax(e, 0), IndexError, "amax(): Expected reduction dim 0 to have non-zero size."),
        (lambda: tt.max(e), RuntimeError, "max(): Expected reduction dim to be specified for input.numel() == 0."),
        (lambda: tt.min(e, 0), IndexError, "min(): Expected reduction dim 0 to have non-zero size."),
        (lambda: tt.argmax(e), IndexError, "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
        (lambda: tt.argmin(e, 0), IndexError, "argmin(): Expected reduction dim 0 to have non-zero size."),
        (lambda: tt.sum(x, 2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
        (lambda: tt.sum(x, (0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
        (lambda: tt.cumsum(tt.tensor(3.0), 1), IndexError, "expected to be in range of [-1, 0], but got 1"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc) as info:
            fn()
        assert msg in str(info.value), (msg, str(info.value))


def test_dim_is_required_where_pytorch_requires_it():
    x = tt.ones(2, 3)
    with pytest.raises(TypeError):
        tt.cumsum(x)
    with pytest.raises(TypeError):
        tt.logsumexp(x)


# ------------------------------------------------------------------------------------- methods and results

@pytest.mark.parametrize("device", DEVICES)
def test_methods_and_return_types(device):
    a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)
    x = t(a, device=device)
    assert x.sum().item() == 21 and host(x.sum(dim=1)).tolist() == [9, 12]
    assert host(x.sum(1, keepdim=True)).shape == (2, 1)
    assert x.mean().item() == 3.5 and x.prod().item() == 720
    assert x.max().item() == 6 and x.min().item() == 1
    r = x.max(1)
    assert type(r).__name__ == "max" and host(r.values).tolist() == [5, 6] and host(r.indices).tolist() == [1, 2]
    values, indices = x.min(dim=0, keepdim=True)
    assert host(values).tolist() == [[1, 2, 3]] and host(indices).tolist() == [[0, 1, 0]]
    assert r[0] is r.values and len(r) == 2
    assert x.argmax().item() == 5 and host(x.argmin(1)).tolist() == [0, 1]
    assert host(x.argmax(dim=None, keepdim=True)).shape == (1, 1)
    assert host(x.amax((0, 1))).item() == 6 and host(x.amin(0)).tolist() == [1, 2, 3]
    assert_close(x.var(1), np.var(a, 1, ddof=1))
    assert_close(x.var(1, unbiased=False), np.var(a, 1))
    assert_close(tt.var(x, True), np.var(a, ddof=1))
    assert_close(x.std(correction=0), np.std(a))
    assert_close(x.norm(), np.linalg.norm(a))
    assert_close(x.norm(1, dim=0), np.abs(a).sum(0))
    assert_close(x.logsumexp(1), np.log(np.exp(a.astype(np.float64)).sum(1)))
    assert x.all().item() is True and host(t([[0, 1], [1, 1]], device=device).any(1)).tolist() == [True, True]
    assert host(x.cumsum(0)).tolist() == [[1, 5, 3], [5, 7, 9]]
    assert host(x.cumprod(1)).tolist() == [[1, 5, 15], [4, 8, 48]]
    y = x.clone()
    assert y.cumsum_(1) is y and host(y).tolist() == [[1, 6, 9], [4, 6, 12]]


@pytest.mark.parametrize("device", DEVICES)
def test_result_dtypes(device):
    b = t([True, True, False], device=device)
    i8 = t([100, 100, 100], dtype=tt.int8, device=device)
    u8 = t([1, 0, 2], dtype=tt.uint8, device=device)
    assert b.sum().dtype is tt.int64 and b.sum().item() == 2
    assert i8.sum().dtype is tt.int64 and i8.sum().item() == 300      # no int8 overflow: int64 accumulation
    assert i8.prod().dtype is tt.int64 and i8.prod().item() == 10 ** 6
    assert i8.cumsum(0).dtype is tt.int64 and host(i8.cumsum(0)).tolist() == [100, 200, 300]
    assert u8.all().dtype is tt.uint8 and u8.all().item() == 0 and u8.any().dtype is tt.uint8
    assert b.all().dtype is tt.bool
    assert tt.logsumexp(i8, 0).dtype is tt.float32
    assert i8.sum(dtype=tt.float16).dtype is tt.float16
    assert t([1.5, 2.7], device=device).sum(dtype=tt.int64).item() == 3   # cast first (truncation), then sum
    assert t([0.0, 2.0], device=device).sum(dtype=tt.bool).item() is True
    assert host(t([1, 2, 3], device=device).cumprod(0, dtype=tt.float64)).dtype == np.float64


@pytest.mark.parametrize("device", DEVICES)
def test_dim_conventions(device):
    x = tt.ones(2, 3, device=device)
    assert tuple(x.sum(()).shape) == () and tuple(x.amax(()).shape) == ()
    assert tuple(x.all(()).shape) == (2, 3)                    # all/any over no dims reduce nothing
    assert tuple(x.sum(None, True).shape) == (1, 1)
    assert tuple(x.sum([-1, 0]).shape) == ()
    s = tt.tensor(2.0, device=device)
    assert s.sum(0).item() == 2 and s.max(0).indices.item() == 0 and s.argmax(-1).item() == 0
    assert s.cumsum(0).item() == 2 and tuple(s.sum(0, keepdim=True).shape) == ()


# --------------------------------------------------------------------------------- special values, empties

@pytest.mark.parametrize("device", DEVICES)
def test_nan_inf_and_empty_rules(device):
    nan, inf = float("nan"), float("inf")
    v = t([1.0, nan, 3.0, nan], device=device)
    assert v.argmax().item() == 1 and v.argmin().item() == 1        # the first NaN wins both
    assert math.isnan(v.amax().item()) and math.isnan(v.max().item()) and math.isnan(v.min(0).values.item())
    assert v.max(0).indices.item() == 1
    assert t([3.0, 3.0, 1.0], device=device).argmax().item() == 0    # first occurrence
    assert tt.logsumexp(t([inf, 1.0], device=device), 0).item() == inf
    assert tt.logsumexp(t([-inf, -inf], device=device), 0).item() == -inf
    assert tt.logsumexp(t([1000.0, 1000.0], device=device), 0).item() == pytest.approx(1000 + math.log(2))
    assert tt.logsumexp(t([-1000.0, -1000.0], device=device), 0).item() == pytest.approx(-1000 + math.log(2))
    assert math.isnan(tt.logsumexp(t([1.0, nan, inf], device=device), 0).item())
    assert math.isnan(tt.var(t([1.0, inf, 2.0], device=device)).item())
    assert tt.var(t([1.0, 2.0], device=device), correction=3).item() == inf
    assert math.isnan(tt.var(t([1.0], device=device)).item())
    assert host(tt.cumprod(t([2.0, 0.0, inf, 1.0], device=device), 0))[:2].tolist() == [2.0, 0.0]
    assert np.isnan(host(tt.cumprod(t([2.0, 0.0, inf, 1.0], device=device), 0))[2:]).all()
    assert tt.norm(t([0.0, 2.0, 0.0, 0.0], device=device), -1).item() == 0
    assert tt.norm(t([1.0, nan, 2.0], device=device), 0).item() == 3
    e = tt.zeros(0, 3, device=device)
    assert e.sum().item() == 0 and e.prod().item() == 1 and math.isnan(e.mean().item())
    assert host(e.sum(0)).tolist() == [0, 0, 0] and host(e.prod(0)).tolist() == [1, 1, 1]
    assert tuple(e.amax(1).shape) == (0,) and tuple(e.max(1).indices.shape) == (0,)
    assert host(tt.logsumexp(e, 0)).tolist() == [-inf] * 3
    assert host(e.all(0)).tolist() == [True] * 3 and host(e.any(0)).tolist() == [False] * 3
    assert tt.norm(e).item() == 0 and tuple(tt.norm(e, math.inf, dim=1).shape) == (0,)


# ------------------------------------------------------------------------------------------------ precision

@pytest.mark.parametrize("device", DEVICES)
def test_half_sums_accumulate_in_fp32(device):
    x = tt.ones(5000, dtype=tt.float16, device=device)
    assert x.sum().item() == 5000                                  # an fp16 accumulator stalls at 2048
    assert host(x.cumsum(0))[-1] == 5000
    assert x.mean().item() == 1
    b = tt.ones(2560, dtype=tt.bfloat16, device=device)
    assert b.sum().item() == 2560                                  # representable in bf16; a bf16 sum stalls at 256


@pytest.mark.parametrize("device", DEVICES)
def test_var_is_accurate_with_a_large_mean(device):
    rng = np.random.default_rng(0)
    a = (1e4 + rng.standard_normal((3, 3000))).astype(np.float32)
    got = host(tt.var(t(a, device=device), 1))
    want = np.var(a.astype(np.float64), 1, ddof=1)
    np.testing.assert_allclose(got, want, rtol=1e-4)


# ---------------------------------------------------------------------- split kernels and layout fallbacks

SPLIT_CASES = [
    ("sum", {"dim": 1}), ("sum", {}), ("mean", {"dim": 0}), ("prod", {"dim": 1}), ("amax", {}), ("amin", {"dim": 1}),
    ("argmax", {}), ("argmin", {"dim": 1}), ("var", {"dim": 1}), ("std", {}), ("logsumexp", {"dim": 1}),
    ("norm", {"p": 3, "dim": 1}), ("all", {"dim": 1}), ("any", {}),
]


@pytest.mark.parametrize("name,kw", SPLIT_CASES, ids=[f"{n}-{k}" for n, k in SPLIT_CASES])
def test_split_reductions_match_cpu(monkeypatch, name, kw):
    monkeypatch.setitem(R.SPLIT, "programs", 64)
    monkeypatch.setitem(R.SPLIT, "min_len", 16)
    rng = np.random.default_rng(1)
    low, high = (0.9, 1.1) if name == "prod" else (-3, 3)
    a = rng.uniform(low, high, (3, 300)).astype(np.float32)
    if name in ("all", "any"):
        a[1, 17] = 0
    op = R.norm_op if name == "norm" else getattr(R, f"{name}_op")
    x = t(a)
    got = op(x.cuda(), **kw)
    want = op(x, **kw)
    assert_close(got, want, rtol=1e-5, atol=1e-5 * math.sqrt(300), check_dtype=True)


@pytest.mark.parametrize("is_min", [False, True])
def test_split_max_dim_with_ties_and_nan(monkeypatch, is_min):
    monkeypatch.setitem(R.SPLIT, "programs", 64)
    monkeypatch.setitem(R.SPLIT, "min_len", 16)
    a = np.zeros((2, 200), np.float32)
    a[0, 150] = a[0, 40] = -5 if is_min else 5          # a tie across splits: the lower index wins
    a[1, 77] = a[1, 190] = np.nan
    op = R.min_dim_op if is_min else R.max_dim_op
    values, indices = op(t(a).cuda(), 1)
    assert host(indices).tolist() == [40, 77] and np.isnan(host(values)[1])


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_split_scans_match_cpu(monkeypatch, name):
    monkeypatch.setitem(R.SPLIT, "programs", 64)
    monkeypatch.setitem(R.SPLIT, "min_len", 16)
    rng = np.random.default_rng(2)
    a = rng.uniform(0.95, 1.05, (2, 300)).astype(np.float32)
    op = getattr(R, f"{name}_op")
    for dim in (1, 0):
        x = t(a if dim == 1 else np.ascontiguousarray(a.T))
        assert_close(op(x.cuda(), dim=dim), op(x, dim=dim), rtol=1e-5, atol=1e-4)
    i = t(rng.integers(-1, 2, (2, 300)))
    assert_close(op(i.cuda(), dim=1), op(i, dim=1), rtol=0, atol=0)


def _reversed(x):
    """A view of x with every dim reversed, built from storage (no movement op needed)."""
    from tritorch.tensor import _make
    d = x._data
    arr = d.T if x.device.type == "cpu" else d.view_as(d.shape[::-1], d.strides[::-1], d.offset)
    return _make(arr, x.dtype, x.device)


@pytest.mark.parametrize("device", DEVICES)
def test_out_with_awkward_strides(device):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    x = t(a, device=device)
    # out of shape (2, 3, 4) laid out with every dim reversed: its strides do not collapse with x's
    out = _reversed(tt.empty(4, 3, 2, device=device))
    r = tt.sum(x, 3, out=out)
    assert r is out
    assert_close(out, a.sum(3), rtol=1e-5, atol=1e-5)
    out_c = _reversed(tt.empty(5, 4, 3, 2, device=device))
    tt.cumsum(x, 1, out=out_c)
    assert_close(out_c, np.cumsum(a, 1), rtol=1e-5, atol=1e-5)
    v = tt.empty(2, 4, 5, device=device)
    i = tt.empty(2, 4, 5, dtype=tt.int64, device=device)
    res = tt.max(x, 1, out=(v, i))
    assert res.values is v and host(i).tolist() == a.argmax(1).tolist()


def test_cpu_scan_along_a_leading_dim_steps_over_it():
    """cumsum / cumprod along a dim that is not the last go step by step over it (reduce.py _np_scan_outer):
    the same bits as NumPy's accumulate, every dtype's accumulation type kept."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((9, 50, 3)).astype(np.float32)
    for d in (0, 1):
        assert tt.tensor(a).cumsum(d).numpy().tobytes() == np.cumsum(a, d).tobytes()
        assert tt.tensor(a).cumprod(d).numpy().tobytes() == np.cumprod(a, d).tobytes()
    ints = rng.integers(-3, 4, (40, 33)).astype(np.int8)
    r = tt.tensor(ints).cumsum(0)
    assert r.dtype is tt.int64 and np.array_equal(r.numpy(), np.cumsum(ints, 0, dtype=np.int64))
    assert tt.tensor(ints > 0).cumsum(0).numpy().tolist() == np.cumsum(ints > 0, 0).tolist()


# ------------------------------------------------------------------------------------------------- NumPy's names

def test_axis_and_keepdims_are_aliases_of_dim_and_keepdim():
    # as torch's argument parser: x.sum(1, keepdims=True), torch.max(x, axis=0), naming a parameter twice fails
    x = t([[1.0, 5, 3], [4, 2, 6]])
    p = x / x.sum(1, keepdims=True)
    assert p.shape == (2, 1 + 2) and np.allclose(host(p.sum(axis=1)), 1)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert host(tt.max(x, axis=0).indices).tolist() == [1, 0, 1]
    assert host(x.mean(axis=0)).tolist() == [2.5, 3.5, 4.5]
    assert x.std(axis=1, keepdims=True).shape == (2, 1)
    assert x.logsumexp(axis=1).shape == (2,)
    assert x.mode(axis=1, keepdims=True)[0].shape == (2, 1)
    assert tt.quantile(x, 0.5, axis=1).shape == (2,)
    assert tt.sum.__name__ == "sum" and "sum" in tt.sum.__doc__
    for call, alias in [(lambda: x.sum(1, axis=1), "axis"), (lambda: x.sum(dim=1, axis=1), "axis"),
                        (lambda: x.sum(1, keepdim=True, keepdims=True), "keepdims")]:
        with pytest.raises(TypeError, match=f"sum\\(\\) got an unexpected keyword argument '{alias}'"):
            call()
