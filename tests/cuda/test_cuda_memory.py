"""tritorch.cuda's memory functions: statistics in torch.cuda.memory_stats' keys, the per-process memory fraction
(enforced by the allocator with torch's OutOfMemoryError), raw allocations, and signatures equal to torch's."""
import os
import warnings

import pytest

import tritorch as tt

MEMORY_FUNCTIONS = ["memory_stats", "memory_stats_as_nested_dict", "memory_allocated", "max_memory_allocated",
                    "memory_reserved", "max_memory_reserved", "memory_cached", "max_memory_cached",
                    "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
                    "reset_accumulated_memory_stats", "empty_cache", "mem_get_info", "memory_summary",
                    "set_per_process_memory_fraction", "get_per_process_memory_fraction", "caching_allocator_alloc",
                    "caching_allocator_delete"]


@pytest.mark.parametrize("name", MEMORY_FUNCTIONS)
def test_signatures_match_torch(name, assert_same_signature):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(tt.cuda, name), getattr(torch.cuda, name))


def test_out_of_memory_error_is_torchs_runtime_error_subclass():
    assert tt.OutOfMemoryError is tt.cuda.OutOfMemoryError
    assert issubclass(tt.OutOfMemoryError, RuntimeError)


def test_allocated_and_peak_follow_live_tensors():
    tt.cuda.reset_peak_memory_stats()
    before = tt.cuda.memory_allocated()
    x = tt.empty(1024, device="cuda")                    # 4 KiB
    assert tt.cuda.memory_allocated() - before >= 4096
    peak = tt.cuda.max_memory_allocated()
    assert peak >= tt.cuda.memory_allocated()
    del x
    assert tt.cuda.memory_allocated() == before
    assert tt.cuda.max_memory_allocated() == peak         # the peak stays until it is reset
    tt.cuda.reset_peak_memory_stats()
    assert tt.cuda.max_memory_allocated() == before
    assert tt.cuda.max_memory_reserved() >= tt.cuda.memory_reserved() >= tt.cuda.memory_allocated()


def test_memory_stats_use_torchs_keys_and_nesting():
    tt.cuda.reset_accumulated_memory_stats()
    x = tt.empty(1024, device="cuda")
    stats = tt.cuda.memory_stats()
    nested = tt.cuda.memory_stats_as_nested_dict()
    current = nested["allocated_bytes"]["all"]["current"]
    assert stats["allocated_bytes.all.current"] == tt.cuda.memory_allocated() == current
    assert stats["allocation.all.allocated"] >= 1 and stats["allocated_bytes.all.allocated"] >= 4096
    assert list(stats) == sorted(stats) and {"num_ooms", "num_alloc_retries"} <= set(stats)
    del x
    assert tt.cuda.memory_stats()["allocated_bytes.all.freed"] >= 4096
    summary = tt.cuda.memory_summary()
    assert "Allocated memory" in summary and "GPU reserved memory" in summary


def test_deprecated_names_warn_as_torch():
    with pytest.warns(FutureWarning, match="renamed to torch.cuda.memory_reserved"):
        assert tt.cuda.memory_cached() == tt.cuda.memory_reserved()
    with pytest.warns(FutureWarning, match="renamed to torch.cuda.max_memory_reserved"):
        assert tt.cuda.max_memory_cached() == tt.cuda.max_memory_reserved()
    with pytest.warns(FutureWarning, match="resets /all/ peak memory stats"):
        tt.cuda.reset_max_memory_allocated()
    with pytest.warns(FutureWarning, match="resets /all/ peak memory stats"):
        tt.cuda.reset_max_memory_cached()


def test_memory_fraction_is_enforced_by_the_allocator():
    free, total = tt.cuda.mem_get_info()
    assert 0 < free <= total == tt.cuda.get_device_properties(0).total_memory
    assert tt.cuda.get_per_process_memory_fraction() == 1.0
    ooms = tt.cuda.memory_stats()["num_ooms"]
    tt.cuda.empty_cache()      # (on a GPU a cached block of that size would be reused within the fraction)
    tt.cuda.set_per_process_memory_fraction(0.0)
    try:
        # 4e6 bytes; the GPU's allocator rounds the request to its 2 MiB granules, as PyTorch's message does
        with pytest.raises(tt.cuda.OutOfMemoryError, match=r"CUDA out of memory\. Tried to allocate (3\.81|4\.00) MiB"):
            tt.empty(10**6, device="cuda")
        assert tt.cuda.memory_stats()["num_ooms"] == ooms + 1
        assert tt.cuda.get_per_process_memory_fraction() == 0.0
    finally:
        tt.cuda.set_per_process_memory_fraction(1.0)
    assert tt.empty(10**6, device="cuda").numel() == 10**6


def test_memory_fraction_errors_match_torch():
    with pytest.raises(TypeError, match="Invalid type for fraction argument, must be `float`"):
        tt.cuda.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match=r"Invalid fraction value: 1.5. Allowed range: 0~1"):
        tt.cuda.set_per_process_memory_fraction(1.5)


def test_caching_allocator_alloc_and_delete():
    before = tt.cuda.memory_allocated()
    ptr = tt.cuda.caching_allocator_alloc(1000)
    assert isinstance(ptr, int) and ptr != 0 and tt.cuda.memory_allocated() >= before + 1000
    tt.cuda.caching_allocator_delete(ptr)
    assert tt.cuda.memory_allocated() == before
    with pytest.raises(RuntimeError, match="invalid device pointer"):
        tt.cuda.caching_allocator_delete(ptr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tt.cuda.empty_cache()


def test_statistics_before_any_cuda_work_are_empty_as_pytorchs():
    # a process that never touched cuda (here: no GPU and no interpreter) reads {} and zeros, not an error: CPU runs
    # of scripts that print torch.cuda.max_memory_allocated() at their end (karpathy/llm.c)
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    code = ("import tritorch as tt; c = tt.cuda; "
            "print(dict(c.memory_stats()), c.memory_allocated(), c.max_memory_allocated(), c.memory_reserved(), "
            "c.max_memory_reserved(), 'OOMs: 0' in c.memory_summary())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["{}", "0", "0", "0", "0", "True"]
