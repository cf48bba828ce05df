"""tritorch.utils.dlpack (capsules both ways, shared memory) and tritorch.utils.swap_tensors."""
import numpy as np
import pytest

import tritorch as tt


def test_capsules_share_memory_both_ways():
    x = tt.arange(3.0)
    y = tt.utils.dlpack.from_dlpack(tt.utils.dlpack.to_dlpack(x))
    y[0] = 7.0
    assert x.tolist() == [7.0, 1.0, 2.0]
    assert tt.utils.dlpack.from_dlpack(np.arange(2)).tolist() == [0, 1]
    assert tt.utils.dlpack.DLDeviceType.kDLCPU == 1 and tt.utils.dlpack.DLDeviceType.kDLCUDA == 2
    torch = pytest.importorskip("torch")
    t = torch.utils.dlpack.from_dlpack(tt.utils.dlpack.to_dlpack(x))
    t[1] = 9.0
    assert x.tolist() == [7.0, 9.0, 2.0]
    back = tt.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(torch.arange(4)))
    assert back.tolist() == [0, 1, 2, 3] and back.dtype is tt.int64


def test_swap_tensors_exchanges_contents_and_keeps_identities():
    a, b = tt.ones(2, requires_grad=True), tt.zeros(3, dtype=tt.int64)
    a.tag = "a"
    ids = id(a), id(b)
    tt.utils.swap_tensors(a, b)
    assert (id(a), id(b)) == ids
    assert a.tolist() == [0, 0, 0] and a.dtype is tt.int64 and not a.requires_grad and not hasattr(a, "tag")
    assert b.tolist() == [1.0, 1.0] and b.requires_grad and b.tag == "a"
    with pytest.raises(RuntimeError, match="Expected t1 and t2 to be Tensors"):
        tt.utils.swap_tensors(a, 1)
