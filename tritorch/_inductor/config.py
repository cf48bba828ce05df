"""torch._inductor.config: the settings scripts assign (config.coordinate_descent_tuning = True,
config.triton.unique_kernel_names = True, config.fx_graph_cache = True, ...), with PyTorch 2.13's defaults, and
`patch` to set some for a block or a function. Nothing here reads them (tritorch compiles nothing); they exist so
that those scripts run and read back what they set, while a misspelt name still raises AttributeError."""
from __future__ import annotations

import contextlib
import os
import sys

coordinate_descent_tuning = False
coordinate_descent_check_all_directions = False
max_autotune = False
max_autotune_pointwise = False
max_autotune_gemm = False
max_autotune_gemm_backends = "ATEN,TRITON,CPP"
epilogue_fusion = True
aggressive_fusion = False
permute_fusion = False
pattern_matcher = True
fx_graph_cache = True
fx_graph_remote_cache = None
autotune_local_cache = True
search_autotune_cache = False
force_disable_caches = False
freezing = False
freezing_discard_parameters = False
fallback_random = False
use_mixed_mm = True
split_reductions = True
benchmark_kernel = False
debug = False
size_asserts = True
nan_asserts = False
cpp_wrapper = False
compile_threads = min(32, os.cpu_count() or 1)
shape_padding = True
comprehensive_padding = True
reorder_for_compute_comm_overlap = False
allow_buffer_reuse = True
layout_optimization = True
keep_output_stride = True
implicit_fallbacks = True
emulate_precision_casts = False
unroll_reductions_threshold = 8
max_fusion_size = 64
conv_1x1_as_mm = False
online_softmax = True


class triton:
    """config.triton.*: the Triton code generator's settings."""
    cudagraphs = False
    cudagraph_trees = True
    unique_kernel_names = True
    descriptive_names = "original_aten"
    autotune_pointwise = True
    max_tiles = None
    persistent_reductions = True
    multi_kernel = 0
    use_block_ptr = False
    cooperative_reductions = False
    store_cubin = False
    enable_persistent_tma_matmul = False


class cpp:
    """config.cpp.*: the C++ code generator's settings."""
    threads = -1
    simdlen = None
    min_chunk_size = 512
    cxx = (None, "g++")
    enable_kernel_profile = False
    weight_prepack = True
    dynamic_threads = False
    vec_isa_ok = None


class trace:
    """config.trace.*: the compile-trace dump's settings."""
    enabled = False
    debug_dir = None


def _target(name: str):
    """(object, attribute) for a setting's dotted name ("triton.cudagraphs"), with AttributeError for a name that
    is not a setting."""
    owner = sys.modules[__name__]
    *path, leaf = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    getattr(owner, leaf)
    return owner, leaf


@contextlib.contextmanager
def _patched(changes: dict):
    saved = []
    try:
        for name, value in changes.items():
            owner, leaf = _target(name)
            saved.append((owner, leaf, getattr(owner, leaf)))
            setattr(owner, leaf, value)
        yield
    finally:
        for owner, leaf, value in reversed(saved):
            setattr(owner, leaf, value)


class patch(contextlib.ContextDecorator):
    """patch({"name": value, ...}) or patch(name=value, ...) or patch("name", value): the settings changed inside a
    `with` block or a decorated function, and restored after it."""

    def __init__(self, arg=None, value=None, **kwargs):
        if isinstance(arg, str):
            changes = {arg: value}
        else:
            changes = dict(arg or {})
        changes.update(kwargs)
        self.changes = changes
        self._cm = None

    def __enter__(self):
        self._cm = _patched(self.changes)
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)
