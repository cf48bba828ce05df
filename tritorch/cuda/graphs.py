"""torch.cuda.graphs: CUDA graph capture is not available in tritorch, and says so.

PyTorch's capture records the kernels launched on a stream into a graph, and replay re-runs them on the same
memory without Python. tritorch launches Triton kernels from Python and its allocator does not keep a capture's
memory pool private, so neither half can be honoured: an "eager replay" would not re-run the captured kernels on
the captured memory. Every entry point raises one clear error instead of silently running eagerly."""
from __future__ import annotations

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "make_graphed_callables", "is_current_stream_capturing"]

_UNSUPPORTED = ("{what} is not supported by tritorch: CUDA graph capture and replay need kernels recorded on a "
                "stream and a private memory pool, and tritorch launches Triton kernels eagerly from Python. Run the "
                "captured code eagerly instead (drop the graph capture / make_graphed_callables call).")


def is_current_stream_capturing() -> bool:
    """Nothing is ever captured: False."""
    return False


class CUDAGraph:
    def __init__(self, keep_graph: bool = False):
        raise RuntimeError(_UNSUPPORTED.format(what="torch.cuda.CUDAGraph"))


class graph:
    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode: str = "global",
                 enable_annotations: bool = False, check_input_liveness: bool = False):
        raise RuntimeError(_UNSUPPORTED.format(what="torch.cuda.graph"))


def graph_pool_handle():
    raise RuntimeError(_UNSUPPORTED.format(what="torch.cuda.graph_pool_handle"))


def make_graphed_callables(callables, sample_args, num_warmup_iters: int = 3, allow_unused_input: bool = False,
                           pool=None):
    raise RuntimeError(_UNSUPPORTED.format(what="torch.cuda.make_graphed_callables"))
