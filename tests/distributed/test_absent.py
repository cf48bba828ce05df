"""The torch.distributed parts tritorch does not build (DTensor, DeviceMesh, FSDP, DCP, Join): their modules import
with PyTorch's names (libraries import them whenever torch.distributed.is_available()), the plain value types behave
as PyTorch's, no tensor is a DTensor, and what needs the subsystem raises NotImplementedError."""
import importlib

import pytest

import tritorch as tt
from tritorch.distributed.tensor import DTensor, Partial, Replicate, Shard
from tritorch.distributed.tensor.placement_types import Placement, _StridedShard

NAMES = {
    "tritorch.distributed.tensor": ["DTensor", "DeviceMesh", "Partial", "Placement", "Replicate", "Shard",
                                    "distribute_tensor", "distribute_module", "init_device_mesh"],
    "tritorch.distributed.tensor.placement_types": ["Shard", "Replicate", "Partial", "_StridedShard"],
    "tritorch.distributed.tensor._utils": ["compute_local_shape_and_global_offset"],
    "tritorch.distributed.device_mesh": ["DeviceMesh", "init_device_mesh"],
    "tritorch.distributed.fsdp": ["CPUOffloadPolicy", "FSDPModule", "FullyShardedDataParallel",
                                  "MixedPrecisionPolicy", "OffloadPolicy", "fully_shard", "StateDictType",
                                  "ShardingStrategy", "BackwardPrefetch", "CPUOffload", "MixedPrecision",
                                  "FullStateDictConfig"],
    "tritorch.distributed.fsdp.fully_sharded_data_parallel": ["FullyShardedDataParallel", "StateDictType",
                                                              "ShardingStrategy"],
    "tritorch.distributed._composable.fsdp": ["fully_shard", "MixedPrecisionPolicy", "CPUOffloadPolicy"],
    "tritorch.distributed.algorithms.join": ["Join", "Joinable", "JoinHook"],
    "tritorch.distributed._functional_collectives": ["wait_tensor", "all_to_all_single_autograd"],
    "tritorch.distributed.checkpoint.hf_storage": ["HuggingFaceStorageReader", "HuggingFaceStorageWriter"],
    "tritorch._dynamo._trace_wrapped_higher_order_op": ["TransformGetItemToIndex"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_modules_import_with_torch_names(module):
    m = importlib.import_module(module)
    for name in NAMES[module]:
        assert hasattr(m, name), f"{module}.{name}"


def test_placements_behave_as_torch():
    assert Shard(0) == Shard(0) and Shard(0) != Shard(1) and Shard(1) != Replicate()
    assert len({Shard(0), Shard(0), Replicate(), Replicate(), Partial()}) == 3
    assert repr(Shard(1)) == "Shard(dim=1)" and repr(Replicate()) == "Replicate()" and repr(Partial()) == "Partial(sum)"
    assert Shard(2).is_shard() and Shard(2).is_shard(2) and not Shard(2).is_shard(0) and not Shard(2).is_replicate()
    assert Replicate().is_replicate() and Partial("max").is_partial("max") and not Partial().is_partial("max")
    s = _StridedShard(0, split_factor=2)
    assert isinstance(s, Shard) and isinstance(s, Placement) and s.split_factor == 2 and s != Shard(0)


def test_nothing_is_a_dtensor_and_making_one_says_why():
    assert issubclass(DTensor, tt.Tensor) and not isinstance(tt.ones(2), DTensor)
    from tritorch.distributed.device_mesh import DeviceMesh, init_device_mesh
    from tritorch.distributed.fsdp import FullyShardedDataParallel, fully_shard
    from tritorch.distributed.tensor import distribute_tensor
    from tritorch.distributed.algorithms.join import Join
    for make in (lambda: DTensor(), lambda: DTensor.from_local(tt.ones(2), None, [Replicate()]),
                 lambda: distribute_tensor(tt.ones(2), None, [Shard(0)]), lambda: DeviceMesh("cpu", [0]),
                 lambda: init_device_mesh("cpu", (1,)), lambda: fully_shard(tt.nn.Linear(2, 2)),
                 lambda: FullyShardedDataParallel(tt.nn.Linear(2, 2)), lambda: Join([])):
        with pytest.raises(NotImplementedError, match="tritorch has no distributed tensors or FSDP"):
            make()


def test_value_types_and_trivial_helpers():
    from tritorch._dynamo._trace_wrapped_higher_order_op import TransformGetItemToIndex
    from tritorch.distributed._functional_collectives import wait_tensor
    from tritorch.distributed.algorithms.join import JoinHook
    from tritorch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy
    mp = MixedPrecisionPolicy(param_dtype=tt.bfloat16)
    assert (mp.param_dtype, mp.reduce_dtype, mp.output_dtype, mp.cast_forward_inputs) == (tt.bfloat16, None, None, True)
    assert CPUOffloadPolicy().pin_memory and isinstance(CPUOffloadPolicy(), OffloadPolicy)
    from tritorch.distributed import fsdp
    assert [(e.name, e.value) for e in fsdp.StateDictType] == [("FULL_STATE_DICT", 1), ("LOCAL_STATE_DICT", 2),
                                                               ("SHARDED_STATE_DICT", 3)]
    assert fsdp.ShardingStrategy.NO_SHARD.value == 3 and fsdp.BackwardPrefetch.BACKWARD_POST.value == 2
    assert fsdp.CPUOffload().offload_params is False and fsdp.MixedPrecision().cast_root_forward_inputs is True
    assert fsdp.FullStateDictConfig(rank0_only=True).offload_to_cpu is False
    t = tt.ones(2)
    assert wait_tensor(t) is t
    JoinHook().main_hook()
    JoinHook().post_hook(True)
    with TransformGetItemToIndex():   # vmap with 0-dim tensor indices, as transformers' masks do under it
        i = tt.arange(3)
        assert tt.func.vmap(lambda k: tt.tensor([10, 20, 30])[k])(i).tolist() == [10, 20, 30]
