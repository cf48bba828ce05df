"""tritorch.cuda's device selection and description, NVTX, CUDA graphs (refused clearly), NVML readings and the
sync debug mode, checked against torch's signatures and errors."""

import pytest

import tritorch as tt

FUNCTIONS = ["device_of", "init", "is_initialized", "get_device_properties", "get_arch_list", "is_bf16_supported",
             "is_tf32_supported", "ipc_collect", "list_gpu_processes", "utilization", "temperature", "power_draw",
             "clock_rate", "device_memory_used", "set_sync_debug_mode", "get_sync_debug_mode",
             "is_current_stream_capturing", "make_graphed_callables", "graph_pool_handle", "device", "graph",
             "CUDAGraph", "memory_usage", "get_allocator_backend", "can_device_access_peer", "get_gencode_flags"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signatures_match_torch(name, assert_same_signature):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(tt.cuda, name), getattr(torch.cuda, name))


def test_device_context_manager_decorator_and_device_of():
    with tt.cuda.device(0) as d:
        assert d.idx == 0 and tt.cuda.current_device() == 0
    with tt.cuda.device("cuda:0"), tt.cuda.device(None), tt.cuda.device(-1):
        pass
    with tt.cuda.device_of(tt.ones(2)) as d:      # a cpu tensor: no change
        assert d.idx == -1
    with tt.cuda.device_of(tt.ones(2, device="cuda")) as d:
        assert d.idx == 0

    @tt.cuda.device(0)
    def f(x):
        return x + 1
    assert f(1) == 2
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        tt.cuda.device(5)
    with pytest.raises(ValueError, match="Expected a cuda device"):
        tt.cuda.device("cpu")


def test_initialisation_and_properties():
    tt.cuda.init()
    assert tt.cuda.is_initialized()
    props = tt.cuda.get_device_properties(0)
    assert props.name == tt.cuda.get_device_name()
    assert (props.major, props.minor) == tt.cuda.get_device_capability()
    assert props.total_memory > 0 and props.multi_processor_count >= 1
    assert repr(props).startswith(f"_CudaDeviceProperties(name='{props.name}'")
    assert tt.cuda.get_device_properties("cuda").total_memory == props.total_memory
    with pytest.raises(AssertionError, match="Invalid device id"):
        tt.cuda.get_device_properties(-1)
    arch = tt.cuda.get_arch_list()
    assert arch == ([] if tt.cuda.is_interpreter() else [f"sm_{props.major}{props.minor}"])
    assert tt.cuda.get_gencode_flags() == " ".join(f"-gencode compute=compute_{a[3:]},code=sm_{a[3:]}" for a in arch)
    assert tt.cuda.can_device_access_peer(0, 0) is False
    with pytest.raises(AssertionError, match="Invalid peer device id"):
        tt.cuda.can_device_access_peer(0, -1)
    assert tt.cuda.get_allocator_backend() == "native" and tt.cuda.has_half and not tt.cuda.has_magma
    assert tt.cuda.is_bf16_supported() is True
    assert tt.cuda.is_tf32_supported() is (props.major >= 8)


def test_nvtx_ranges_report_their_depth():
    assert tt.cuda.nvtx.range_push("outer") == 0
    assert tt.cuda.nvtx.range_push("inner") == 1
    assert tt.cuda.nvtx.range_pop() == 1
    assert tt.cuda.nvtx.range_pop() == 0
    assert tt.cuda.nvtx.range_pop() == -1
    with tt.cuda.nvtx.range("step {}", 3):
        tt.cuda.nvtx.mark("inside")
    tt.cuda.nvtx.range_end(tt.cuda.nvtx.range_start("async"))


@pytest.mark.parametrize("call", [lambda: tt.cuda.CUDAGraph(), lambda: tt.cuda.graph(None),
                                  lambda: tt.accelerator.Graph(),
                                  lambda: tt.cuda.graph_pool_handle(),
                                  lambda: tt.cuda.make_graphed_callables(abs, ())])
def test_cuda_graphs_are_refused_with_a_clear_error(call):
    with pytest.raises(RuntimeError, match="is not supported by tritorch: CUDA graph capture"):
        call()
    assert tt.cuda.is_current_stream_capturing() is False


def test_nvml_readings_without_pynvml_raise_as_torch():
    try:
        import pynvml  # noqa: F401
        pytest.skip("pynvml is installed: the readings come from NVML")
    except ImportError:
        pass
    for fn in (tt.cuda.utilization, tt.cuda.memory_usage, tt.cuda.temperature, tt.cuda.power_draw, tt.cuda.clock_rate):
        with pytest.raises(ModuleNotFoundError, match="nvidia-ml-py does not seem to be installed"):
            fn()
    assert tt.cuda.list_gpu_processes() == "pynvml module not found, please install nvidia-ml-py"
    tt.cuda.ipc_collect()


def test_sync_debug_mode():
    assert tt.cuda.get_sync_debug_mode() == 0
    try:
        tt.cuda.set_sync_debug_mode("warn")
        assert tt.cuda.get_sync_debug_mode() == 1
        tt.cuda.set_sync_debug_mode(2)
        assert tt.cuda.get_sync_debug_mode() == 2
        if not tt.cuda.is_interpreter():   # a copy to the host waits for the stream
            with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
                tt.ones(2, device="cuda").cpu()
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            tt.cuda.set_sync_debug_mode("loud")
    finally:
        tt.cuda.set_sync_debug_mode(0)


def test_legacy_cuda_tensor_types():
    x = tt.cuda.FloatTensor([1, 2])
    assert x.device.type == "cuda" and x.dtype == tt.float32


def test_interpreter_raises_no_floating_point_warnings():
    # A GPU raises none (and tritorch's cpu ops none): the interpreter's NumPy lanes must not either, even where
    # the program makes warnings errors.
    import os
    import subprocess
    import sys
    code = """
import tritorch as tt
x = tt.zeros(3, device="cuda")
assert tt.log(x).tolist() == [float("-inf")] * 3
assert all(v != v for v in (x / x).tolist())
row = tt.tensor([[float("-inf")] * 4, [0.0, 1.0, 2.0, 3.0]], device="cuda")
tt.softmax(row, dim=1)
tt.nn.functional.cross_entropy(tt.randn(4, 5, device="cuda"), tt.tensor([0, 1, -100, 4], device="cuda"))
print("ok")
"""
    env = dict(os.environ, TRITON_INTERPRET="1")
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "RuntimeWarning" not in done.stderr
