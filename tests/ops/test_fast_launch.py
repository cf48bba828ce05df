"""The direct-launch path of tritorch/ops/fast_launch.py, checked without a GPU: launch keys against Triton's own
specialisation, and the remembered-kernel path against a stand-in for Triton's compile-and-launch."""
import itertools

import numpy as np
import pytest
import triton
import triton.language as tl
from triton.runtime.autotuner import Autotuner
from triton.runtime.jit import JITFunction

from tritorch.backends import cuda as _cuda
from tritorch.backends.cuda import CudaArray
from tritorch.ops import fast_launch as fl


def _kernel(x_ptr, n, scale, flag, BLOCK: tl.constexpr, MODE: tl.constexpr = 3):
    pass


def _sample_args():
    base = CudaArray.empty((64,), np.dtype(np.float32))
    halves = CudaArray.empty((64,), np.dtype(np.float16))
    arrays = [base, base.view_as((8,), (1,), 1), base.view_as((8,), (1,), 4), halves, halves.view_as((8,), (1,), 8)]
    ints = [0, 1, 2, 15, 16, 17, -16, -17, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 16, -2 ** 31, -2 ** 31 - 1, 2 ** 63,
            2 ** 63 + 1, 2 ** 64 - 16]
    return arrays + ints + [0.5, 2.0, True, False, None]


def test_equal_launch_keys_mean_equal_triton_specialisations():
    # the key may split what Triton merges, never merge what Triton splits
    from triton._C.libtriton import native_specialize_impl
    from triton.backends.compiler import BaseBackend
    samples = _sample_args()
    for a, b in itertools.combinations(samples, 2):
        if fl.launch_key([a]) == fl.launch_key([b]):
            assert (native_specialize_impl(BaseBackend, a, False, True, True)
                    == native_specialize_impl(BaseBackend, b, False, True, True)), (a, b)


def test_launch_key_classes():
    arr = CudaArray.empty((8,), np.dtype(np.float32))
    assert fl.launch_key([arr]) == [np.dtype(np.float32), 0]
    assert fl.launch_key([arr.view_as((4,), (1,), 1)]) == [np.dtype(np.float32), 4]
    assert fl.launch_key([1, 32, 33, 2 ** 40, 2 ** 63]) == [1, 16, 17, ("i64", True), ("u64", True)]
    assert fl.launch_key([1.0, True, None, "x"]) == ["f", "b", None, (str, "x")]
    with pytest.raises(TypeError):  # a pointer object that is not a CudaArray: no key, nothing kept alive
        fl.launch_key([arr.block])


class _Compiled:
    """What Triton's run() returns: a launcher and the handles it takes."""

    def __init__(self):
        self.function, self.packed_metadata, self.launches = object(), object(), []

    def run(self, *launch):
        self.launches.append(launch)


@pytest.fixture
def fast(monkeypatch):
    """Fast path on, a fake stream, and Triton's JIT / autotuner runs replaced by a recorder."""
    monkeypatch.setattr(fl, "ENABLED", True)
    monkeypatch.setattr(_cuda.DRIVER, "stream_handle", 77, raising=False)
    slow = []

    def jit_run(self, *args, grid, warmup, **kwargs):
        compiled = _Compiled()
        slow.append((args, kwargs, compiled))
        return compiled

    monkeypatch.setattr(JITFunction, "run", jit_run)
    return slow


def _jit():
    return fl.install_kernel(JITFunction(_kernel))


def test_second_launch_with_the_same_key_goes_straight_to_the_compiled_kernel(fast):
    k = _jit()
    assert type(k) is fl.FastJITFunction
    x = CudaArray.empty((64,), np.dtype(np.float32))
    k[(4,)](x, 64, 0.5, True, BLOCK=16)
    assert len(fast) == 1
    y = CudaArray.empty((64,), np.dtype(np.float32))
    k[(5, 2)](y, 128, 1.5, False, BLOCK=16)   # same key: another aligned fp32 array, another aligned i32
    assert len(fast) == 1
    compiled = fast[0][2]
    assert compiled.launches == [(5, 2, 1, 77, compiled.function, compiled.packed_metadata, None, None, None,
                                  y, 128, 1.5, False, 16, 3)]  # the keyword constexpr, then the default


@pytest.mark.parametrize("change", ["misaligned", "dtype", "int class", "constexpr"])
def test_a_different_key_takes_tritons_path(fast, change):
    k = _jit()
    x = CudaArray.empty((64,), np.dtype(np.float32))
    k[(1,)](x, 64, 0.5, True, BLOCK=16)
    args, kw = [x, 64, 0.5, True], dict(BLOCK=16)
    if change == "misaligned":
        args[0] = x.view_as((8,), (1,), 1)
    elif change == "dtype":
        args[0] = CudaArray.empty((64,), np.dtype(np.float16))
    elif change == "int class":
        args[1] = 65
    else:
        kw["BLOCK"] = 32
    k[(1,)](*args, **kw)
    assert len(fast) == 2 and fast[0][2].launches == []


def test_callable_grid_sees_every_argument_by_name(fast):
    k = _jit()
    x = CudaArray.empty((64,), np.dtype(np.float32))
    seen = []

    def grid(meta):
        seen.append(dict(meta))
        return (triton.cdiv(meta["n"], meta["BLOCK"]),)

    k[grid](x, 64, 0.5, True, BLOCK=16)   # Triton's path (the recorder does not call grid)
    k[grid](x, 112, 0.5, True, BLOCK=16)  # 112: aligned as 64 is
    assert seen == [dict(x_ptr=x, n=112, scale=0.5, flag=True, BLOCK=16, MODE=3)]
    assert fast[0][2].launches[0][:3] == (7, 1, 1)


def test_unhashable_arguments_and_launch_hooks_keep_tritons_path(fast, monkeypatch):
    k = _jit()
    x = CudaArray.empty((64,), np.dtype(np.float32))
    for _ in range(2):
        k[(1,)](x, [64], 0.5, True, BLOCK=16)  # a list: no key
    assert len(fast) == 2
    hooks = triton.knobs.runtime.launch_enter_hook
    monkeypatch.setattr(hooks, "calls", [lambda *a: None])
    k2 = _jit()
    for _ in range(2):
        k2[(1,)](x, 64, 0.5, True, BLOCK=16)
    assert len(fast) == 4 and k2._fast_entries == {}


def test_autotuned_launches_reuse_the_chosen_config_per_key_value(fast, monkeypatch):
    configs = [triton.Config({"BLOCK": 16}, num_warps=4), triton.Config({"BLOCK": 32}, num_warps=8)]
    tuner = triton.autotune(configs=configs, key=["n"])(JITFunction(_kernel))
    fl.install_kernel(tuner)
    assert type(tuner) is fl.FastAutotuner
    chosen = []

    def tuner_run(self, *args, grid, warmup, **kwargs):
        self.best_config = configs[len(chosen) % 2]
        chosen.append(self.best_config)
        return self.fn.run(*args, grid=grid, warmup=warmup, **kwargs, **self.best_config.all_kwargs())

    monkeypatch.setattr(Autotuner, "run", tuner_run)
    x = CudaArray.empty((64,), np.dtype(np.float32))
    grid = lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]),)  # noqa: E731
    tuner[grid](x, 64, 0.5, True)
    tuner[grid](x, 64, 0.5, True)      # same n: the remembered config, straight to the kernel
    tuner[grid](x, 128, 0.5, True)     # another n (the tuner's key): the tuner decides again
    assert len(chosen) == 2
    compiled = fast[0][2]
    assert compiled.launches == [(4, 1, 1, 77, compiled.function, compiled.packed_metadata, None, None, None,
                                  x, 64, 0.5, True, 16, 3)]


def _tuner_choosing(config, monkeypatch) -> list:
    """Replace Autotuner.run by one that always chooses `config`; the returned list grows by one per decision."""
    decided = []

    def tuner_run(self, *args, grid, warmup, **kwargs):
        self.best_config = config
        decided.append(1)
        return self.fn.run(*args, grid=grid, warmup=warmup, **kwargs, **config.all_kwargs())

    monkeypatch.setattr(Autotuner, "run", tuner_run)
    return decided


def test_a_tuner_remembers_its_choice_when_the_kernel_under_it_was_already_remembered(fast, monkeypatch):
    # the H200 run: the tuner's benchmark launches had already remembered the chosen config's kernel, so the
    # tuner's own launch got it by the fast path, and a fast path that returned None left the tuner deciding again
    # on every call
    config = triton.Config({"BLOCK": 16}, num_warps=4)
    jit = fl.install_kernel(JITFunction(_kernel))
    tuner = fl.install_kernel(triton.autotune(configs=[config, config], key=["n"])(jit))
    decided = _tuner_choosing(config, monkeypatch)
    x = CudaArray.empty((64,), np.dtype(np.float32))
    jit[(1,)](x, 64, 0.5, True, **config.all_kwargs())   # what the tuner's benchmark does first
    for _ in range(3):
        tuner[(1,)](x, 64, 0.5, True)
    assert len(decided) == 1 and len(fast) == 1
    assert len(fast[0][2].launches) == 3


def test_install_converts_kernels_and_tuners_only(monkeypatch):
    monkeypatch.setattr(fl, "ENABLED", True)

    class Module:
        pass
    mod = Module()
    mod.add_kernel = JITFunction(_kernel)
    mod.helper = JITFunction(_kernel)
    mod.tuned = triton.autotune(configs=[triton.Config({"BLOCK": 16})], key=["n"])(JITFunction(_kernel))
    fl.install(mod)
    assert type(mod.add_kernel) is fl.FastJITFunction
    assert type(mod.helper) is JITFunction
    assert type(mod.tuned) is fl.FastAutotuner


def test_off_under_the_interpreter():
    if _cuda.INTERPRET:
        assert fl.ENABLED is False
        k = JITFunction(_kernel)
        assert fl.install_kernel(k) is k and type(k) is JITFunction


def test_a_tuner_over_heuristics_is_remembered_and_rechecks_them(fast, monkeypatch):
    # the H200 probe: matmul's tuner sits on triton.heuristics (EVEN_K), whose value was missing from the
    # remembered arguments, so no entry was ever made and every matmul paid the tuner's ~25 us of key building
    config = triton.Config({"BLOCK": 16}, num_warps=4)
    seen = []

    def mode(args):
        seen.append(dict(args))
        return 1 if args["n"] % args["BLOCK"] == 0 else 2
    tuner = fl.install_kernel(triton.autotune(configs=[config, config], key=["flag"])(
        triton.heuristics({"MODE": mode})(JITFunction(_kernel))))
    decided = _tuner_choosing(config, monkeypatch)
    x = CudaArray.empty((64,), np.dtype(np.float32))
    tuner[(1,)](x, 64, 0.5, True)
    tuner[(1,)](x, 32, 0.5, True)    # same key, and MODE is 1 again: straight to the kernel
    assert len(decided) == 1 and len(fast) == 1
    compiled = fast[0][2]
    assert compiled.launches == [(1, 1, 1, 77, compiled.function, compiled.packed_metadata, None, None, None,
                                  x, 32, 0.5, True, 16, 1)]
    # the heuristic saw what Heuristics.run passes: the arguments by name, the call's and the config's keywords
    assert seen[-1] == dict(x_ptr=x, n=32, scale=0.5, flag=True, **config.all_kwargs())
    tuner[(1,)](x, 48, 0.5, True)    # same launch key, MODE still 1: fast
    assert len(decided) == 1 and len(compiled.launches) == 2


def test_a_heuristic_that_changes_value_takes_tritons_path(fast, monkeypatch):
    config = triton.Config({"BLOCK": 16}, num_warps=4)
    tuner = fl.install_kernel(triton.autotune(configs=[config], key=["flag"])(
        triton.heuristics({"MODE": lambda args: 1 if args["scale"] > 0 else 2})(JITFunction(_kernel))))
    decided = _tuner_choosing(config, monkeypatch)
    x = CudaArray.empty((64,), np.dtype(np.float32))
    tuner[(1,)](x, 64, 0.5, True)
    tuner[(1,)](x, 64, -0.5, True)   # the launch key is the same (a float), the heuristic's value is not
    assert len(decided) == 2
    assert [c.launches for _, _, c in fast] == [[], []]
    assert fast[1][1]["MODE"] == 2
