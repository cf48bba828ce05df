"""Hand-written tests of the random family: generator state, cross-device reproducibility, Triton parity,
distribution sanity, in-place methods and PyTorch's errors. (The registry's generated tests check every op against
a pure-Python Philox reference and cuda against cpu.)"""
import numpy as np
import pytest
import triton
import triton.language as tl

import tritorch as tt
from tritorch.device import as_device
from tritorch.backends.cuda import CudaArray
from tritorch.ops import random as R
from tritorch.testing import assert_values_close as assert_close

FLOATS = [tt.float16, tt.bfloat16, tt.float32, tt.float64]
BITS = {tt.float16: np.uint16, tt.bfloat16: np.uint16, tt.float32: np.uint32, tt.float64: np.uint64}


@pytest.fixture(autouse=True)
def _restore_default_generator():
    state = tt.get_rng_state()
    yield
    tt.set_rng_state(state)


def bits(t):
    """The tensor's values as raw bits (for bitwise comparisons)."""
    return np.ascontiguousarray(t.cpu().numpy()).view(BITS[t.dtype])


# ------------------------------------------------------------------------------------- Philox and Triton parity

def test_philox_numpy_matches_python_reference():
    for seed in (0, 1, 2 ** 32 + 7, 2 ** 64 - 1):
        first = 2 ** 32 - 2  # crosses into the counter's high word
        lanes = R.philox_lanes(seed, first, 5)
        expected = np.array([R.philox_py(seed, first + i) for i in range(5)], np.uint32)
        np.testing.assert_array_equal(lanes, expected)


def test_philox_of_a_few_counters_equals_the_python_reference_and_the_array_rounds():
    """A few counters take integer rounds (_philox_few), some more packed integer rounds (_philox_packed), more
    take NumPy's array rounds: the same bits, across the counter's high word and where the 64-bit counter wraps."""
    for seed in (0, 987654321123, 2 ** 64 - 1):
        for first in (0, 2 ** 32 - 3, (5 << 32) + 7, 2 ** 64 - 2, 2 ** 64 - 70):
            for count in (1, R._PHILOX_FEW, R._PHILOX_FEW + 1, 77, R._PHILOX_PACKED_MAX):
                arrays = np.empty((count, 4), np.uint32)
                R._philox_block(seed, first, arrays)
                want = np.array([R.philox_py(seed, (first + i) % 2 ** 64) for i in range(count)], np.uint32)
                np.testing.assert_array_equal(arrays, want)
                np.testing.assert_array_equal(R._philox_packed(seed, first, count), want)
                if count <= R._PHILOX_FEW:
                    np.testing.assert_array_equal(R._philox_few(seed, first, count), want)
                np.testing.assert_array_equal(R.philox_lanes(seed, first, count), want)


def test_philox_known_values():
    # Philox4x32-10 of counter (5, 0, 0, 0) under key 67280421310721 (also what tl.randint4x gives)
    assert R.philox_py(67280421310721, 5) == (256542391, 1837662153, 3846412548, 637025846)


@triton.jit
def _tl_rand_kernel(out_ptr, normal_ptr, seed, counter, N: tl.constexpr):
    i = tl.arange(0, N)
    tl.store(out_ptr + i, tl.rand(seed, counter + i))
    n0, n1, n2, n3 = tl.randn4x(seed, counter + i)
    tl.store(normal_ptr + 4 * i, n0)
    tl.store(normal_ptr + 4 * i + 1, n1)
    tl.store(normal_ptr + 4 * i + 2, n2)
    tl.store(normal_ptr + 4 * i + 3, n3)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_rand_and_randn_are_tritons_rand_and_randn4x(device):
    seed, counter, n = 1234567, 3, 16
    uni = CudaArray.empty((n,), np.dtype(np.float32))
    nor = CudaArray.empty((4 * n,), np.dtype(np.float32))
    _tl_rand_kernel[(1,)](uni, nor, seed, counter, N=n)
    g = tt.Generator().set_state((seed, 4 * counter))
    u = tt.rand(4 * n, generator=g, device=device)
    # tl.rand(seed, c) is lane 0 of counter c: elements 0, 4, 8, ... of a call
    np.testing.assert_array_equal(u.cpu().numpy()[0::4].view(np.uint32), uni.to_numpy().view(np.uint32))
    g.set_state((seed, 4 * counter))
    z = tt.randn(4 * n, generator=g, device=device)
    assert_close(z, nor.to_numpy(), rtol=1e-5, atol=1e-5)


# -------------------------------------------------------------------------------------- cross-device identity

@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
def test_rand_bitwise_equal_on_cpu_and_cuda(dtype):
    tt.manual_seed(2024)
    a = tt.rand(3, 333, dtype=dtype)
    tt.manual_seed(2024)
    b = tt.rand(3, 333, dtype=dtype, device="cuda")
    assert b.device == as_device("cuda")
    np.testing.assert_array_equal(bits(a), bits(b))


def test_randn_randint_randperm_agree_across_devices():
    for device in ("cpu", "cuda"):
        tt.manual_seed(7)
        out = [tt.randn(513, device=device), tt.randn(9, dtype=tt.float64, device=device),
               tt.randint(-50, 50, (300,), device=device), tt.randint(0, 2 ** 40, (7,), device=device),
               tt.randperm(100, device=device), tt.bernoulli(tt.full((64,), 0.5, device=device)),
               tt.normal(tt.zeros(5, device=device), 2.0)]
        if device == "cpu":
            cpu = out
    for c, g in zip(cpu, out):
        assert c.dtype is g.dtype and g.device.type == "cuda"
        assert_close(g, c, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------- generator state

def test_manual_seed_repeats_and_successive_calls_differ():
    tt.manual_seed(0)
    a, b = tt.rand(10), tt.rand(10)
    assert not np.array_equal(a.numpy(), b.numpy())
    tt.manual_seed(0)
    np.testing.assert_array_equal(tt.rand(10).numpy(), a.numpy())
    np.testing.assert_array_equal(tt.rand(10).numpy(), b.numpy())


def test_calls_take_disjoint_whole_counters():
    tt.manual_seed(5)
    a, b = tt.rand(4), tt.rand(3)
    assert tt.default_generator.get_offset() == 8  # 3 values still take a whole counter (4 values)
    tt.manual_seed(5)
    c = tt.rand(8)
    np.testing.assert_array_equal(np.concatenate([a.numpy(), b.numpy()]), c.numpy()[:7])
    tt.manual_seed(5)
    tt.rand(2, dtype=tt.float64)  # 64-bit draws: two values each
    assert tt.default_generator.get_offset() == 4
    tt.randint(0, 2 ** 33, (3,))
    assert tt.default_generator.get_offset() == 12


def test_failed_call_consumes_nothing():
    tt.manual_seed(1)
    with pytest.raises(RuntimeError):
        tt.randint(5, 3, (2,))
    assert tt.default_generator.get_offset() == 0


def test_generator_object():
    g = tt.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    tt.manual_seed(99)
    a = tt.rand(5, generator=g)
    assert tt.default_generator.get_offset() == 0  # the default generator is untouched
    state = g.get_state()
    assert state.dtype is tt.uint8 and tuple(state.shape) == (16,)
    b = tt.rand(5, generator=g)
    g.set_state(state)
    np.testing.assert_array_equal(tt.rand(5, generator=g).numpy(), b.numpy())
    g2 = tt.Generator(device="cuda").manual_seed(3)
    np.testing.assert_array_equal(tt.rand(5, generator=g2, device="cuda").cpu().numpy(), a.numpy())
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s and 0 <= s < 2 ** 64
    with pytest.raises(TypeError):
        tt.rand(2, generator=object())


def test_module_level_state_functions():
    tt.manual_seed(-1)  # wraps to uint64, as in PyTorch
    assert tt.initial_seed() == 2 ** 64 - 1
    with pytest.raises(ValueError):
        tt.manual_seed(2 ** 64)
    tt.manual_seed(42)
    state = tt.get_rng_state()
    a = tt.randn(6)
    tt.set_rng_state(state)
    np.testing.assert_array_equal(tt.randn(6).numpy(), a.numpy())
    s = tt.seed()
    assert tt.initial_seed() == s
    tt.cuda.manual_seed(42)
    np.testing.assert_array_equal(tt.randn(6).numpy(), a.numpy())
    with pytest.raises(RuntimeError):
        tt.set_rng_state(tt.zeros(3, dtype=tt.uint8))


# ---------------------------------------------------------------------------------------------- distributions

@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
def test_uniform_values_lie_in_unit_interval(dtype):
    tt.manual_seed(3)
    for device in ("cpu", "cuda"):
        x = tt.rand(4099, dtype=dtype, device=device).cpu().numpy().astype(np.float64)
        assert x.min() >= 0.0 and x.max() < 1.0
        assert 0.45 < x.mean() < 0.55
    # the extreme draws (all bits set, only the sign bit set) still convert to < 1 in every dtype
    extremes = np.array([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF], np.uint32)
    if dtype is tt.float64:
        extremes = np.array([0, 2 ** 64 - 1, 2 ** 63, 2 ** 63 - 1], np.uint64)
    u = R._uniform_np(extremes, R._UBITS[dtype]).astype(dtype.np).astype(np.float64)
    assert u.min() == 0.0 and u.max() < 1.0


def test_randn_mean_and_std():
    tt.manual_seed(11)
    for dtype in (tt.float32, tt.float64):
        x = tt.randn(100_000, dtype=dtype).numpy()
        assert abs(x.mean()) < 0.02 and abs(x.std() - 1) < 0.02
        assert abs((x > 1.96).mean() - 0.025) < 0.004  # a tail, not just two moments
    y = tt.normal(3.0, 2.0, (100_000,)).numpy()
    assert abs(y.mean() - 3) < 0.04 and abs(y.std() - 2) < 0.04


def test_randint_forms_and_ranges():
    tt.manual_seed(4)
    x = tt.randint(10, (3, 4))
    assert x.dtype is tt.int64 and tuple(x.shape) == (3, 4)
    assert x.numpy().min() >= 0 and x.numpy().max() < 10
    y = tt.randint(-3, 3, (1000,), device="cuda").cpu().numpy()
    assert set(np.unique(y)) == set(range(-3, 3))
    z = tt.randint(low=2, high=5, size=(50,), dtype=tt.uint8)
    assert z.dtype is tt.uint8 and z.numpy().min() >= 2 and z.numpy().max() < 5
    w = tt.randint(-2 ** 40, 2 ** 40, (1000,)).numpy()
    assert w.min() >= -2 ** 40 and w.max() < 2 ** 40 and np.abs(w).max() > 2 ** 35
    b = tt.randint(0, 2, (64,), dtype=tt.bool)
    assert b.dtype is tt.bool and b.numpy().any() and not b.numpy().all()
    f = tt.randint(0, 10, (16,), dtype=tt.bfloat16, device="cuda")
    assert np.all(np.isin(f.cpu().numpy().astype(np.float32), np.arange(10)))


def test_randperm_is_a_permutation():
    tt.manual_seed(8)
    for n, device in [(0, "cpu"), (1, "cuda"), (300, "cpu"), (300, "cuda")]:
        p = tt.randperm(n, device=device)
        assert p.dtype is tt.int64 and tuple(p.shape) == (n,)
        np.testing.assert_array_equal(np.sort(p.cpu().numpy()), np.arange(n))
    p = tt.randperm(50, dtype=tt.float32)
    assert p.dtype is tt.float32
    np.testing.assert_array_equal(np.sort(p.numpy()), np.arange(50))


def test_randperm_block_sort_path(monkeypatch):
    # The GPU path sorts blocks with tl.sort and merges them with global steps; run it with tiny blocks.
    monkeypatch.setattr(R, "_SORT_BLOCK", 8)
    monkeypatch.setattr(R, "_STEP_BLOCK", 16)
    a = R.randperm_op(n=45, dtype=tt.int64, device="cuda", seed=3, offset=8)
    b = R.randperm_op(n=45, dtype=tt.int64, device="cpu", seed=3, offset=8)
    np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())
    np.testing.assert_array_equal(np.sort(b.numpy()), np.arange(45))


def test_normal_with_tensor_arguments():
    tt.manual_seed(6)
    mean = tt.tensor([[0.0], [100.0]])
    std = tt.tensor([1.0, 0.0, 2.0])
    x = tt.normal(mean, std)
    assert tuple(x.shape) == (2, 3) and x.dtype is tt.float32
    assert x[1, 1].item() == 100.0  # std 0 gives the mean
    assert tt.normal(tt.zeros(4, dtype=tt.float16), 1.0).dtype is tt.float16
    assert tt.normal(1.0, tt.ones(4, dtype=tt.float64)).dtype is tt.float64
    tt.manual_seed(6)
    z = tt.randn(6).numpy().reshape(2, 3)
    np.testing.assert_allclose(x.numpy(), z * np.array([1.0, 0.0, 2.0], np.float32) + np.array([[0.0], [100.0]], np.float32))


def test_bernoulli():
    tt.manual_seed(12)
    p = tt.tensor([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(tt.bernoulli(p).numpy(), [0, 1, 0, 1])
    np.testing.assert_array_equal(tt.bernoulli(p.cuda()).cpu().numpy(), [0, 1, 0, 1])
    x = tt.bernoulli(tt.full((100_000,), 0.3))
    assert x.dtype is tt.float32 and set(np.unique(x.numpy())) == {0.0, 1.0}
    assert abs(x.numpy().mean() - 0.3) < 0.01
    y = tt.zeros(1000, dtype=tt.int64).bernoulli_(0.75)
    assert y.dtype is tt.int64 and abs(y.numpy().mean() - 0.75) < 0.05
    z = tt.zeros(2, 500).bernoulli_(tt.tensor([[0.0], [1.0]]))
    assert z.numpy()[0].sum() == 0 and z.numpy()[1].sum() == 500
    assert tt.rand(8, dtype=tt.float16).bernoulli().dtype is tt.float16
    b = tt.zeros(10, dtype=tt.bool, device="cuda").bernoulli_(1.0)
    assert b.cpu().numpy().all()


# ------------------------------------------------------------------------------------------- in-place methods

def test_inplace_methods_write_self_and_bump_version():
    for device in ("cpu", "cuda"):
        x = tt.zeros(1000, device=device)
        v = x._version[0]
        assert x.uniform_(-2, 5) is x and x._version[0] == v + 1
        a = x.cpu().numpy()
        assert a.min() >= -2 and a.max() < 5 and a.min() < -1.5 and a.max() > 4.5
        x.normal_(10, 0.5)
        assert abs(x.cpu().numpy().mean() - 10) < 0.1
        x.exponential_(4.0)
        assert x.cpu().numpy().min() >= 0 and abs(x.cpu().numpy().mean() - 0.25) < 0.04
        x.random_(3, 7)
        assert set(np.unique(x.cpu().numpy())) == {3, 4, 5, 6}
        x.random_(4)
        assert set(np.unique(x.cpu().numpy())) == {0, 1, 2, 3}
        x.uniform_(**{"from": 1.0, "to": 2.0})
        assert x.cpu().numpy().min() >= 1.0


def test_random_default_ranges():
    tt.manual_seed(13)
    assert tt.zeros(1000, dtype=tt.float16).random_().numpy().astype(np.float32).max() <= 2 ** 11
    assert tt.zeros(1000, dtype=tt.int8).random_().numpy().min() >= 0
    u8 = tt.zeros(1000, dtype=tt.uint8).random_().numpy()
    assert u8.max() > 200
    big = tt.zeros(1000, dtype=tt.int64).random_(-2 ** 63, None).numpy()  # every int64 value possible
    assert big.min() < -2 ** 60 and big.max() > 2 ** 60
    assert set(np.unique(tt.zeros(100, dtype=tt.bool).random_().numpy())) == {False, True}


def test_inplace_on_noncontiguous_cuda_tensor_matches_cpu():
    for method, args in [("uniform_", (0, 1)), ("normal_", ()), ("random_", (0, 100)), ("bernoulli_", (0.5,))]:
        results = []
        for device in ("cpu", "cuda"):
            base = tt.zeros(6, 8, device=device)
            view = base.t()[::2]  # (4, 6), non-contiguous
            g = tt.Generator().manual_seed(21)
            getattr(view, method)(*args, generator=g)
            results.append(base.cpu().numpy())
        assert_close(results[1], results[0], rtol=1e-6, atol=1e-6)
        assert np.count_nonzero(results[0][:, 1::2]) == 0  # untouched columns stay zero


def test_like_functions():
    tt.manual_seed(14)
    x = tt.zeros(3, 2, dtype=tt.float64, device="cuda")
    r = tt.rand_like(x)
    assert r.dtype is tt.float64 and r.device.type == "cuda" and tuple(r.shape) == (3, 2)
    assert tt.randn_like(x, dtype=tt.float16).dtype is tt.float16
    i = tt.randint_like(x, 5)
    assert i.dtype is tt.float64 and i.cpu().numpy().max() < 5
    j = tt.randint_like(tt.zeros(100, dtype=tt.int32), 3, 6)
    assert j.dtype is tt.int32 and set(np.unique(j.numpy())) == {3, 4, 5}


def test_creation_arguments():
    tt.manual_seed(15)
    assert tt.rand(()).shape == () and tuple(tt.rand((2, 3)).shape) == (2, 3) and tuple(tt.rand([4]).shape) == (4,)
    assert tt.rand(2, requires_grad=True).requires_grad
    out = tt.empty(5, dtype=tt.float64)
    assert tt.rand(5, out=out) is out and out.numpy().max() < 1
    prev = tt.get_default_dtype()
    try:
        tt.set_default_dtype(tt.float64)
        assert tt.rand(2).dtype is tt.float64 and tt.randn(2).dtype is tt.float64
    finally:
        tt.set_default_dtype(prev)


# --------------------------------------------------------------------------------------------------- errors

def test_pytorch_errors():
    with pytest.raises(NotImplementedError, match="\"check_uniform_bounds\" not implemented for 'Long'"):
        tt.rand(2, dtype=tt.int64)
    with pytest.raises(NotImplementedError, match="\"normal_kernel_cpu\" not implemented for 'Long'"):
        tt.randn(2, dtype=tt.int64)
    with pytest.raises(NotImplementedError, match="check_uniform_bounds"):
        tt.rand_like(tt.zeros(2, dtype=tt.int64))
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=3"):
        tt.randint(5, 3, (2,))
    with pytest.raises(RuntimeError, match="to - 1 is out of bounds for unsigned char"):
        tt.randint(0, 300, (3,), dtype=tt.uint8)
    with pytest.raises(RuntimeError, match="from is out of bounds for signed char"):
        tt.zeros(3, dtype=tt.int8).random_(-200, 3)
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1"):
        tt.randperm(-1)
    with pytest.raises(NotImplementedError, match="\"randperm\" not implemented for 'Bool'"):
        tt.randperm(3, dtype=tt.bool)
    with pytest.raises(RuntimeError, match="n is too large for result tensor type: 'Byte'"):
        tt.randperm(300, dtype=tt.uint8)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        tt.normal(0.0, -1.0, (2,))
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        tt.zeros(3).normal_(0, -1)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        tt.normal(tt.zeros(2), tt.tensor([-1.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"uniform_ expects to return a \[from, to\) range, but found from=3 > to=1"):
        tt.zeros(3).uniform_(3, 1)
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"):
        tt.zeros(3).bernoulli_(1.5)
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        tt.bernoulli(tt.tensor([1.5, 0.0]))
    with pytest.raises(NotImplementedError, match="bernoulli_tensor_cpu_p_"):
        tt.bernoulli(tt.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0, but found lambda=0"):
        tt.zeros(3).exponential_(0)
    with pytest.raises(RuntimeError, match="Exponential distribution is a continuous probability distribution"):
        tt.zeros(3, dtype=tt.int64).exponential_()
    with pytest.raises(RuntimeError, match="Only Tensors of floating point|only Tensors of floating point"):
        tt.randint(0, 5, (2,), requires_grad=True)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tt.normal(tt.zeros(2, device="cuda"), tt.ones(2))


# ------------------------------------------------------------------------------------------------ multinomial

@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_same_on_cpu_and_cuda_and_repeatable(replacement):
    p = tt.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 0.0, 2.0]])
    # (cpu draws with replacement take NumPy calls in place of the ops cuda runs: the same bits)
    for other in (p[1], p.double(), p[:1] * 1e30):
        same = []
        for device in ("cpu", "cuda"):
            tt.manual_seed(3)
            same.append(tt.multinomial(other.to(device), 5 if replacement else 2, replacement).cpu().numpy())
        np.testing.assert_array_equal(same[0], same[1])
    draws = []
    for device in ("cpu", "cuda", "cpu"):
        tt.manual_seed(7)
        draws.append(tt.multinomial(p.to(device), 3, replacement).cpu().numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(draws[0], draws[2])
    assert draws[0].dtype == np.int64 and draws[0].shape == (2, 3)
    assert not (draws[0][0] == 1).any() and not (draws[0][1] == 2).any()   # zero weights never drawn
    if not replacement:
        assert all(len(set(row)) == 3 for row in draws[0])


def test_multinomial_frequencies():
    tt.manual_seed(0)
    w = np.array([1.0, 0.0, 3.0, 4.0])
    with_rep = tt.multinomial(tt.tensor(w), 40000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(with_rep, minlength=4) / 40000, w / w.sum(), atol=0.01)
    first = tt.multinomial(tt.tensor(w).expand(20000, 4).contiguous(), 2).numpy()
    np.testing.assert_allclose(np.bincount(first[:, 0], minlength=4) / 20000, w / w.sum(), atol=0.015)
    # the second pick, given the first: p_j / (1 - p_first)
    second = first[first[:, 0] == 3, 1]
    np.testing.assert_allclose(np.bincount(second, minlength=4) / len(second), [0.25, 0, 0.75, 0], atol=0.02)
    assert tt.tensor(w).multinomial(1).shape == (1,)


def test_multinomial_of_weights_near_float32_max():
    # a float32 running sum of these overflows; the draws must still be categories (they were index 2)
    for device in ("cpu", "cuda"):
        tt.manual_seed(0)
        draws = tt.multinomial(tt.tensor([3e38, 3e38, 0.0], device=device), 200, replacement=True).tolist()
        assert set(draws) == {0, 1}


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("weights, message", [
    ([0.0, 0.0], "sum of probabilities <= 0"), ([1.0, -1.0], "element < 0"), ([1.0, float("nan")], "`nan`"),
    ([float("inf"), 1.0], "`inf`"), ([float("inf"), -float("inf")], "`inf`"), ([[1.0, 2.0], [0.0, 0.0]], "<= 0"),
])
def test_multinomial_weight_checks_on_both_devices(device, weights, message):
    with pytest.raises(RuntimeError, match=message):
        tt.multinomial(tt.tensor(weights, device=device), 1, replacement=True)


@pytest.mark.parametrize("call, message", [
    (lambda: tt.multinomial(tt.tensor([0.0, 0.0]), 1), "sum of probabilities <= 0"),
    (lambda: tt.multinomial(tt.tensor([1.0, -1.0]), 1), "`inf`, `nan` or element < 0"),
    (lambda: tt.multinomial(tt.tensor([1.0, float("nan")]), 1), "`nan` or element < 0"),
    (lambda: tt.multinomial(tt.tensor([1.0, 0.0]), 2), "not enough non-negative category"),
    (lambda: tt.multinomial(tt.tensor([1.0, 1.0]), 3), "cannot sample n_sample > prob_dist.size"),
    (lambda: tt.multinomial(tt.tensor([1.0, 1.0]), 0), "cannot sample n_sample <= 0"),
    (lambda: tt.multinomial(tt.ones(2, 2, 2), 1), "prob_dist must be 1 or 2 dim"),
])
def test_multinomial_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_philox_blocks_equal_the_python_reference_at_counter_edges():
    """The NumPy Philox takes its first three rounds with scalar operands in a block whose counters share their
    high word: bit for bit the plain-Python rounds there, across a 2**32 boundary (the general rounds), and where
    the 64-bit counter wraps."""
    from tritorch.ops import random as R
    for count, first in ((1, 0), (5, 3), (4099, 12345), (64, (5 << 32) + 7), (100, (1 << 32) - 50),
                         (10, (1 << 64) - 5), (3, (1 << 32) - 3)):
        lanes = np.empty((count, 4), np.uint32)
        R._philox_block(987654321123, first, lanes)
        for i in sorted({0, count // 2, count - 1}):
            want = R.philox_py(987654321123, (first + i) & ((1 << 64) - 1))
            assert tuple(int(v) for v in lanes[i]) == tuple(want), (count, first, i)
