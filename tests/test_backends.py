"""torch.backends.* and torch.mps as tritorch has them: the Metal and oneDNN backends absent (so scripts' device
and backend checks take their other branch), opt_einsum unavailable, the cpu's SIMD level, and the
scaled-dot-product-attention flags of torch.backends.cuda as views of nn.attention's selection."""
import warnings

import pytest

import tritorch as tt
from tritorch.nn.attention import SDPBackend, enabled_backends, sdpa_kernel


def test_mps_is_absent():
    assert not tt.backends.mps.is_available() and not tt.backends.mps.is_built()
    assert not tt.backends.mps.is_macos13_or_newer() and not tt.backends.mps.is_macos_or_newer(14, 0)
    device = "cuda" if tt.cuda.is_available() else "mps" if tt.backends.mps.is_available() else "cpu"
    assert device in ("cuda", "cpu")
    assert tt.mps.device_count() == 0 and not tt.mps.is_available()
    tt.mps.manual_seed(0)
    for call, what in ((tt.mps.synchronize, "deviceSynchronize"), (tt.mps.empty_cache, "emptyCache"),
                       (tt.mps.current_allocated_memory, "getCurrentAllocatedMemory"),
                       (tt.mps.get_rng_state, "getDefaultGenerator"), (tt.mps.seed, "getDefaultGenerator")):
        with pytest.raises(RuntimeError, match=f"Cannot execute {what}\\(\\) without MPS backend"):
            call()


def test_mps_errors_match_torch():
    torch = pytest.importorskip("torch")
    if torch.backends.mps.is_available():
        pytest.skip("torch has a Metal device here")
    for name in ("synchronize", "empty_cache", "current_allocated_memory", "driver_allocated_memory",
                 "recommended_max_memory", "get_rng_state", "seed"):
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.mps, name)()
        with pytest.raises(RuntimeError) as ours:
            getattr(tt.mps, name)()
        assert str(ours.value) == str(theirs.value)


def test_mkldnn_opt_einsum_and_cpu_capability():
    mk = tt.backends.mkldnn
    assert not mk.is_available() and mk.enabled
    with mk.flags(enabled=False, deterministic=True):
        assert not mk.enabled and mk.deterministic
    assert mk.enabled and not mk.deterministic
    assert mk.set_flags(_enabled=False) == (True, False, True, "none")
    mk.set_flags(True)
    with mk.verbose(mk.VERBOSE_ON):
        pass
    assert not tt.backends.opt_einsum.is_available() and tt.backends.opt_einsum.get_opt_einsum() is None
    assert tt.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT", "SVE", "ASIMD", "VSX3", "VSX2")


def test_cpu_capability_matches_torch():
    torch = pytest.importorskip("torch")
    assert tt.backends.cpu.get_cpu_capability() == torch.backends.cpu.get_cpu_capability()


def test_sdp_flags_are_views_of_the_attention_selection():
    cuda = tt.backends.cuda
    assert cuda.flash_sdp_enabled() and cuda.mem_efficient_sdp_enabled() and cuda.math_sdp_enabled()
    try:
        cuda.enable_flash_sdp(False)
        assert not cuda.flash_sdp_enabled() and SDPBackend.FLASH_ATTENTION not in enabled_backends()
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
            assert cuda.flash_sdp_enabled() and cuda.math_sdp_enabled() and not cuda.mem_efficient_sdp_enabled()
        assert not cuda.flash_sdp_enabled() and cuda.mem_efficient_sdp_enabled()
        cuda.enable_math_sdp(False)
        cuda.enable_cudnn_sdp(False)
        assert not cuda.math_sdp_enabled() and not cuda.cudnn_sdp_enabled()
        with pytest.warns(FutureWarning, match="sdp_kernel\\(\\)` is deprecated"):
            with cuda.sdp_kernel(enable_flash=True, enable_math=False, enable_mem_efficient=False,
                                 enable_cudnn=False):
                assert enabled_backends() == [SDPBackend.FLASH_ATTENTION]
        assert not cuda.flash_sdp_enabled()
        # the selection never refuses a call: attention still runs
        q = tt.randn(1, 2, 3, 4)
        assert tt.nn.functional.scaled_dot_product_attention(q, q, q).shape == (1, 2, 3, 4)
    finally:
        for enable in (cuda.enable_flash_sdp, cuda.enable_math_sdp, cuda.enable_cudnn_sdp,
                       cuda.enable_mem_efficient_sdp):
            enable(True)
    assert cuda.flash_sdp_enabled() and cuda.cudnn_sdp_enabled()
    assert not cuda.fp16_bf16_reduction_math_sdp_allowed()
    cuda.allow_fp16_bf16_reduction_math_sdp(True)
    assert cuda.fp16_bf16_reduction_math_sdp_allowed()
    cuda.allow_fp16_bf16_reduction_math_sdp(False)
    assert cuda.is_flash_attention_available() == tt.cuda.is_available()
    assert isinstance(cuda.is_built(), bool)


def test_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in ((tt.backends.mps, torch.backends.mps), (tt.mps, torch.mps),
                         (tt.backends.opt_einsum, torch.backends.opt_einsum)):
        for name in ours.__all__:
            assert hasattr(theirs, name), name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in tt.backends.cuda_sdp.__all__:
            assert hasattr(torch.backends.cuda, name), name


def test_cudnn_flags_context_manager():
    # transformers' CTC loss runs under `with torch.backends.cudnn.flags(enabled=False):`
    from tritorch.backends import cudnn
    assert cudnn.enabled and not cudnn.deterministic and cudnn.version() is None
    with cudnn.flags(enabled=False, deterministic=True):
        assert not cudnn.enabled and cudnn.deterministic and not cudnn.benchmark
        assert not tt.backends.cudnn.enabled
    assert cudnn.enabled and not cudnn.deterministic
    try:
        with cudnn.flags(enabled=False):
            raise KeyError
    except KeyError:
        pass
    assert cudnn.enabled
