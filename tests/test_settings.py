"""Top-level settings and helpers (tritorch/_settings.py) and Tensor.pin_memory."""
import numpy as np
import pytest

import tritorch as tt
from tritorch.testing import devices


def test_compile_returns_functions_and_wraps_modules():
    m = tt.nn.Linear(2, 2)
    for cm in (tt.compile(m), tt.compile(m, mode="max-autotune", fullgraph=True)):
        assert isinstance(cm, tt._dynamo.eval_frame.OptimizedModule) and cm._orig_mod is m

    @tt.compile
    def f(x):
        return x * 2

    @tt.compile(dynamic=True)
    def g(x):
        return x + 1

    assert f(tt.ones(2)).tolist() == [2.0, 2.0] and g(tt.ones(1)).tolist() == [2.0]
    with pytest.raises(RuntimeError, match="callable"):
        tt.compile(3)


def test_float32_matmul_precision_is_the_tf32_switch():
    before = tt.backends.cuda.matmul.allow_tf32
    try:
        tt.set_float32_matmul_precision("high")
        assert tt.backends.cuda.matmul.allow_tf32 and tt.get_float32_matmul_precision() == "high"
        tt.set_float32_matmul_precision("highest")
        assert not tt.backends.cuda.matmul.allow_tf32 and tt.get_float32_matmul_precision() == "highest"
        with pytest.raises(RuntimeError, match="Invalid float32 matmul precision"):
            tt.set_float32_matmul_precision("low")
    finally:
        tt.backends.cuda.matmul.allow_tf32 = before


def test_typename_and_pin_memory():
    x = tt.ones(2)
    assert tt.typename(x) == "tritorch.FloatTensor" and tt.typename(3) == "int"
    assert tt.typename(tt.nn.Linear(1, 1)) == "tritorch.nn.modules.linear.Linear"
    assert x.pin_memory() is x and not x.is_pinned()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.to("cuda").pin_memory()


def test_threads_default_device_and_printoptions():
    before = tt.get_num_threads()
    try:
        tt.set_num_threads(1)
        assert tt.get_num_threads() == 1
        np_sum = tt.ones(1 << 19).sum().item()        # the row-block pool runs with one worker
        assert np_sum == float(1 << 19)
    finally:
        tt.set_num_threads(before)
    try:
        tt.set_default_device("cuda")
        assert tt.get_default_device().type == "cuda"
        assert tt.zeros(2).device.type == "cuda" and tt.randn(2).device.type == "cuda"
        assert tt.tensor([1.0]).device.type == "cuda" and tt.arange(3).device.type == "cuda"
        assert tt.zeros(2, device="cpu").device.type == "cpu"
    finally:
        tt.set_default_device(None)
    assert tt.zeros(1).device.type == "cpu" and tt.get_default_device().type == "cpu"
    try:
        tt.set_printoptions(precision=2)
        assert repr(tt.tensor([1.23456])) == "tensor([1.23])"
        tt.set_printoptions(sci_mode=True)
        assert "e+00" in repr(tt.tensor([1.5]))
    finally:
        tt.set_printoptions(profile="default", sci_mode=None)
    assert repr(tt.tensor([1.23456])) == "tensor([1.2346])"


@pytest.mark.skipif("cuda" not in devices(), reason="no cuda device (GPU or interpreter)")
def test_deterministic_mode_fills_new_memory_as_pytorch():
    torch = pytest.importorskip("torch")
    results = {}
    for lib in (tt, torch):
        lib.use_deterministic_algorithms(True)
        try:
            grown = lib.ones(2)
            grown.resize_(4)
            made = [lib.empty(3), lib.empty(2, dtype=lib.int32), lib.empty(2, dtype=lib.bool),
                    lib.empty(2, dtype=lib.float16), lib.empty_like(lib.ones(2)), lib.ones(2).new_empty(2), lib.empty_strided((2,), (1,)), grown]
            results[lib] = [np.asarray(t.tolist(), dtype=float).tolist() for t in made]
            lib.utils.deterministic.fill_uninitialized_memory = False
            assert not lib.utils.deterministic.fill_uninitialized_memory
        finally:
            lib.utils.deterministic.fill_uninitialized_memory = True
            lib.use_deterministic_algorithms(False)
    assert str(results[tt]) == str(results[torch])   # (NaN == NaN as text)
    assert tt.empty(2, device="meta").is_meta


def test_deterministic_algorithms_flag_and_alerts():
    import warnings

    import numpy as np
    assert not tt.are_deterministic_algorithms_enabled()
    rng = np.random.default_rng(0)
    x = tt.tensor(rng.standard_normal((5, 3)), dtype=tt.float32, device="cuda")
    idx = tt.tensor([0, 4, 4, 1, 4, 0], device="cuda")
    src = tt.tensor(rng.standard_normal((6, 3)), dtype=tt.float32, device="cuda")
    sidx = tt.tensor(rng.integers(0, 5, (7, 3)), device="cuda")
    ssrc = tt.tensor(rng.standard_normal((7, 3)), dtype=tt.float32, device="cuda")
    try:
        tt.use_deterministic_algorithms(True)
        assert tt.are_deterministic_algorithms_enabled() and not tt.is_deterministic_algorithms_warn_only_enabled()
        # index_add / scatter_add / scatter(reduce='add') take the sorted, atomic-free path: equal to the cpu's
        # in-order sums, and to themselves across runs
        for fn in (lambda d: x.to(d).index_add(0, idx.to(d), src.to(d), alpha=0.5),
                   lambda d: x.to(d).index_add(1, idx[:3].to(d) % 3, src[:5].to(d)),
                   lambda d: x.to(d).scatter_add(0, sidx.to(d), ssrc.to(d)),
                   lambda d: x.to(d).scatter(0, sidx.to(d), ssrc.to(d), reduce="add"),
                   lambda d: x.to(d).half().index_add(0, idx.to(d), src.to(d).half()),
                   lambda d: x.to(d).index_put((idx.to(d),), src.to(d), accumulate=True),
                   lambda d: x.to(d).index_put((idx[:4].to(d), tt.tensor([0, 2, 2, 1], device=d)),
                                               ssrc[:4, 0].to(d), accumulate=True),
                   lambda d: x.to(d).put(tt.tensor([3, -1, 3, 7], device=d), ssrc[:4, 1].to(d), accumulate=True),
                   lambda d: x.to(d).t().index_put((idx[:2].to(d) % 3,), src[:2, :].to(d).repeat(1, 2)[:, :5],
                                                   accumulate=True)):
            got, again, want = fn("cuda"), fn("cuda"), fn("cpu")
            assert got.cpu().numpy().tobytes() == again.cpu().numpy().tobytes()
            np.testing.assert_allclose(got.cpu().float().numpy(), want.float().numpy(), rtol=2e-3, atol=2e-3)
        # the backward of reflect / replicate / circular padding: sorted too
        xn = rng.standard_normal((2, 2, 5, 4))
        for mode in ("reflect", "replicate", "circular"):
            grads = []
            for d in ("cuda", "cpu"):
                xp = tt.tensor(xn, device=d, requires_grad=True)
                (tt.nn.functional.pad(xp, (2, 1, 3, 2), mode=mode) * tt.arange(10 * 7, device=d).reshape(10, 7)
                 ).sum().backward()
                grads.append(xp.grad.cpu().numpy())
            np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
        # the backward of an overlapping as_strided: sorted too
        grads = []
        for d in ("cuda", "cpu"):
            xs = tt.tensor(rng.standard_normal(6) if d == "cuda" else xs_np, device=d, requires_grad=True)
            xs_np = xs.detach().cpu().numpy()
            (xs.as_strided((3, 3), (1, 1), 1) * tt.arange(9.0, device=d).reshape(3, 3)).sum().backward()
            grads.append(xs.grad.cpu().numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
        # a launch that still depends on the order of atomic adds raises (none of the built-in ops does now)
        from tritorch._settings import alert_not_deterministic
        with pytest.raises(RuntimeError, match="does not have a deterministic implementation"):
            alert_not_deterministic("a future kernel")
        # integer accumulation and every cpu op are deterministic
        tt.zeros(5, dtype=tt.int64, device="cuda").index_add(0, idx, tt.ones(6, dtype=tt.int64, device="cuda"))
        tt.use_deterministic_algorithms(True, warn_only=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alert_not_deterministic("a future kernel")
        assert any("deterministic" in str(w.message) for w in caught)
    finally:
        tt.use_deterministic_algorithms(False)
    assert not tt.are_deterministic_algorithms_enabled()
