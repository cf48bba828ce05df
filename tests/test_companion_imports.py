"""The torch names that companion packages (timm, torchvision, x-transformers) touch at import, checked against
what PyTorch's do: typed datasets, torch.fx.wrap, torch._C's few, hub/model_zoo helpers, the ONNX registration
surface, TorchScript's private decorators, _dynamo.utils, torch.ao.quantization's stubs, torch.ops.load_library."""
import os

import pytest

import tritorch as tt
import tritorch.utils.data as data


def test_datasets_samplers_and_loaders_are_generic():
    class Numbers(data.Dataset[int]):
        def __getitem__(self, i):
            return i

        def __len__(self):
            return 3

    assert [b.tolist() for b in data.DataLoader(Numbers(), batch_size=2)] == [[0, 1], [2]]
    assert data.Sampler[int] is not None and data.DataLoader[int] is not None
    assert isinstance(data.IterableDataset(), __import__("collections").abc.Iterable)
    with pytest.raises(TypeError):
        data.TensorDataset[int]          # not generic, as in PyTorch


def test_fx_wrap_and_c_names():
    def helper(x):
        return x + 1
    assert tt.fx.wrap(helper) is helper and helper(1) == 2
    with pytest.raises(RuntimeError, match="callable or string"):
        tt.fx.wrap(3)
    assert not hasattr(tt.fx, "symbolic_trace")          # no tracer: absent, not faked
    assert tt._C._get_tracing_state() is None and tt._C._log_api_usage_once("x") is None
    assert isinstance(tt._C._CudaDeviceProperties, type)


def test_hub_model_zoo_and_load_library(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert tt.hub._get_torch_home() == str(tmp_path)
    from tritorch.utils import model_zoo
    assert model_zoo.load_url is tt.hub.load_state_dict_from_url and model_zoo.tqdm is not None
    with pytest.raises(OSError, match="C\\+\\+ operators"):
        tt.ops.load_library(os.path.join(str(tmp_path), "_C.so"))


def test_onnx_registration_surface():
    from tritorch.onnx import symbolic_helper, symbolic_opset11  # noqa: F401

    @symbolic_helper.parse_args("v", "f")
    def symbolic(g, x, scale):
        return x
    assert symbolic(None, 1, 2.0) == 1
    tt.onnx.register_custom_op_symbolic("mypkg::op", symbolic, 11)
    assert tt.onnx._custom_symbolics[("mypkg::op", 11)] is symbolic
    tt.onnx.unregister_custom_op_symbolic("mypkg::op", 11)
    with pytest.raises(ValueError, match="domain::name"):
        tt.onnx.register_custom_op_symbolic("op", symbolic, 11)
    with pytest.raises(RuntimeError, match="cannot export"):
        tt.onnx.export(tt.nn.Linear(2, 2), (tt.ones(1, 2),), "m.onnx")


def test_jit_private_decorators_dynamo_utils_and_quant_stubs():
    def f(x):
        return x
    assert tt.jit._script_if_tracing(f) is f and tt.jit._overload(f) is f and tt.jit._overload_method(f) is f
    from tritorch._dynamo.utils import is_compile_supported
    assert is_compile_supported("cpu") and is_compile_supported("cuda")
    from tritorch.ao.quantization import DeQuantStub, QuantStub
    x = tt.randn(2, 3)
    model = tt.nn.Sequential(QuantStub(), tt.nn.Linear(3, 3), DeQuantStub())
    assert tt.equal(model[0](x), x) and tt.equal(model[2](x), x) and model(x).shape == (2, 3)


def test_the_same_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    import torch.utils.model_zoo  # noqa: F401
    from torch.onnx import symbolic_helper, symbolic_opset11  # noqa: F401
    from torch._dynamo.utils import is_compile_supported  # noqa: F401
    from torch.ao.quantization import DeQuantStub, QuantStub  # noqa: F401
    for name in ("_script_if_tracing", "_overload", "_overload_method"):
        assert hasattr(torch.jit, name)
    assert callable(torch.fx.wrap) and callable(torch.hub._get_torch_home) and callable(torch.ops.load_library)
    assert callable(torch.onnx.register_custom_op_symbolic) and hasattr(symbolic_helper, "parse_args")
    for name in ("_get_tracing_state", "_log_api_usage_once"):   # (_CudaDeviceProperties: CUDA builds only)
        assert hasattr(torch._C, name)


def test_dispatch_key_sets_and_guards():
    from tritorch import _C
    cpu, cuda = _C.DispatchKey.AutocastCPU, _C.DispatchKey.AutocastCUDA
    keys = _C.DispatchKeySet(cpu) | _C.DispatchKeySet(cuda)       # torchvision's autocast keys, at import
    assert repr(keys) == "DispatchKeySet(AutocastCPU, AutocastCUDA)" and keys.has(cpu)
    assert not (keys - _C.DispatchKeySet(cpu)).has(cpu) and keys.remove(cuda) == _C.DispatchKeySet(cpu)
    assert repr(_C.DispatchKeySet(_C.DispatchKey.Undefined)) == "DispatchKeySet()"
    assert repr(cpu).startswith("<DispatchKey.AutocastCPU: ")
    a = tt.ones(2, 2)
    with tt.autocast("cpu"):
        assert (a @ a).dtype is tt.bfloat16
        with _C._ExcludeDispatchKeyGuard(keys):                   # excluding the autocast key: autocast off
            assert (a @ a).dtype is tt.float32
        assert (a @ a).dtype is tt.bfloat16
        with _C._ExcludeDispatchKeyGuard(_C.DispatchKeySet(_C.DispatchKey.Python)), \
                _C._IncludeDispatchKeyGuard(_C.DispatchKeySet(_C.DispatchKey.CPU)):
            assert (a @ a).dtype is tt.bfloat16


class _Marked(tt.Tensor):
    pass


class _Disabled(tt.Tensor):
    __torch_function__ = tt._C._disabled_torch_function_impl


def test_disabling_torch_function_for_subclasses():
    m = tt.ones(3).as_subclass(_Marked)
    assert type(m + 1) is _Marked and tt._C._is_torch_function_enabled()
    with tt._C.DisableTorchFunctionSubclass():
        assert not tt._C._is_torch_function_enabled()
        r = m + 1
        assert type(r) is tt.Tensor and r.tolist() == [2.0, 2.0, 2.0]
        assert type(m.as_subclass(tt.Tensor)) is tt.Tensor
    with tt._C.DisableTorchFunction():
        assert type(m * 2) is tt.Tensor
    assert type(m + 1) is _Marked
    d = tt.ones(2).as_subclass(_Disabled)
    assert type(d + 1) is tt.Tensor and (d + 1).tolist() == [2.0, 2.0]
def test_lightning_import_time_names():
    # PyTorch Lightning's import reads these at module level (annotations, isinstance targets, `from ... import`)
    import tritorch.distributed as dist
    from tritorch.distributed.constants import default_pg_nccl_timeout, default_pg_timeout
    from tritorch.distributed.distributed_c10d import all_reduce, init_process_group
    from tritorch.nn.parallel.distributed import DistributedDataParallel
    from tritorch.utils.data.dataloader import (_BaseDataLoaderIter, _MultiProcessingDataLoaderIter,
                                                _SingleProcessDataLoaderIter)
    assert isinstance(dist.ReduceOp.SUM, dist.ReduceOp.RedOpType)
    assert all_reduce is dist.all_reduce and init_process_group is dist.init_process_group
    assert default_pg_timeout == dist.default_pg_timeout and default_pg_nccl_timeout == default_pg_timeout
    assert DistributedDataParallel is tt.nn.parallel.DistributedDataParallel
    assert callable(tt.nn.parallel.data_parallel) and tt.nn.parallel.DataParallel is not None
    assert tt._C._TensorMeta is type(tt.Tensor) and tt.PyTorchFileReader is tt._C.PyTorchFileReader
    assert tt.ScriptModule is tt.jit.ScriptModule and tt.ScriptFunction is tt.jit.ScriptFunction
    assert tt.profiler.kineto_available() is True
    assert not isinstance(tt.nn.Linear(1, 1), tt.fx.GraphModule)
    with pytest.raises(NotImplementedError, match="no FX"):
        tt.fx.GraphModule(tt.nn.Linear(1, 1), None)
    loader = data.DataLoader(data.TensorDataset(tt.ones(4, 2)), batch_size=2)
    it = iter(loader)
    assert isinstance(it, _BaseDataLoaderIter) and isinstance(it, _SingleProcessDataLoaderIter)
    assert issubclass(_MultiProcessingDataLoaderIter, _BaseDataLoaderIter) and len(it) == 2
    assert callable(_MultiProcessingDataLoaderIter._shutdown_workers)


def test_autograd_profiler_emit_nvtx_runs_the_block():
    from tritorch.autograd.profiler import emit_itt, emit_nvtx
    for cm in (emit_nvtx, emit_itt):
        ctx = cm(record_shapes=True)
        with ctx:
            y = tt.ones(2) * 2
            with pytest.raises(RuntimeError, match="not reentrant"):
                ctx.__enter__()
        assert y.tolist() == [2.0, 2.0]
        with cm(enabled=False):
            pass


def test_c_nn_parse_to_reads_to_arguments():
    parse = tt._C._nn._parse_to
    assert parse("cpu") == (tt.device("cpu"), None, False, None)
    assert parse(tt.float64, non_blocking=True) == (None, tt.float64, True, None)
    assert parse(device="cpu", dtype=tt.float16, memory_format=tt.channels_last) == (
        tt.device("cpu"), tt.float16, False, tt.channels_last)
    assert parse(tt.ones(1, dtype=tt.int32))[:2] == (tt.device("cpu"), tt.int32)


def test_lightning_names_exist_in_torch():
    torch = pytest.importorskip("torch")
    from torch.distributed.constants import default_pg_timeout  # noqa: F401
    from torch.distributed.distributed_c10d import _get_default_group  # noqa: F401
    from torch.distributed.utils import _sync_module_states  # noqa: F401
    from torch.nn.parallel.distributed import DistributedDataParallel  # noqa: F401
    from torch.utils.data.dataloader import _BaseDataLoaderIter, _MultiProcessingDataLoaderIter  # noqa: F401
    assert isinstance(torch.distributed.ReduceOp.SUM, torch.distributed.ReduceOp.RedOpType)
    assert hasattr(torch._C, "_TensorMeta") and hasattr(torch, "PyTorchFileReader")
    assert hasattr(torch, "ScriptModule") and hasattr(torch, "ScriptFunction")
    assert callable(torch.profiler.kineto_available) and hasattr(torch.fx, "GraphModule")
    assert hasattr(torch.autograd.profiler, "emit_nvtx") and hasattr(torch.autograd.profiler, "emit_itt")
    assert torch._C._nn._parse_to("cpu", torch.float64) == (torch.device("cpu"), torch.float64, False, None)
    assert hasattr(torch.utils.data.dataloader, "_SingleProcessDataLoaderIter")
