"""A user's op takes the same path as the project's: register it, and check_op tests it on every device."""
import numpy as np
import pytest
import triton
import triton.language as tl

import tritorch as tt
from tritorch.backends.cuda import CudaArray
from tritorch.ops import launch, registry
from tritorch.ops.registry import Meta, OpDef, Sample
from tritorch.ops.samples import make_tensor
from tritorch.testing import check_op


@triton.jit
def _squared_diff_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # bytes: reads x and y, writes out (contiguous operands)
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    d = tl.load(x_ptr + offs, mask=mask).to(tl.float32) - tl.load(y_ptr + offs, mask=mask).to(tl.float32)
    tl.store(out_ptr + offs, d * d, mask=mask)


def _infer(x, y):
    if x.shape != y.shape:
        raise RuntimeError(f"squared_diff: shapes {tuple(x.shape)} and {tuple(y.shape)} differ")
    return Meta(tuple(x.shape), x.dtype, registry.device_of(x, y))


def _cpu(meta, x, y):
    d = x._data.astype(np.float32) - y._data.astype(np.float32)
    return (d * d).astype(meta.dtype.np)


def _cuda(meta, x, y):
    xc, yc = x.contiguous()._data, y.contiguous()._data
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    n = out.size_
    if n:
        _squared_diff_kernel[(launch.num_programs(n, 1024),)](xc, yc, out, n, BLOCK=1024)
    return out


def _samples(device, dtype):
    for shape in [(), (0,), (7,), (3, 33)]:
        yield Sample((make_tensor(shape, dtype, device), make_tensor(shape, dtype, device, low=-1, high=1)),
                     name=str(shape))


@pytest.fixture
def squared_diff():
    op = registry.register(OpDef(name="test_squared_diff", infer=_infer, impl={"cpu": _cpu, "cuda": _cuda},
                                 ref=lambda x, y: (x - y) ** 2, samples=_samples,
                                 dtypes=(tt.float32, tt.float16)))
    yield op
    registry.unregister(op.name)


def test_check_op_runs_a_users_op_on_every_device(squared_diff):
    assert check_op("test_squared_diff") == 2 * 4 * len(tt.testing.devices())


def test_check_op_catches_a_wrong_kernel(squared_diff):
    squared_diff.impl["cpu"] = lambda meta, x, y: _cpu(meta, x, y) + np.asarray(0.5, meta.dtype.np)
    squared_diff._impls = squared_diff.impl
    with pytest.raises(AssertionError, match="vs float64 reference"):
        check_op(squared_diff, devices_=["cpu"])


def test_register_needs_both_backends():
    with pytest.raises(ValueError, match="Triton implementation"):
        registry.register(OpDef(name="test_half_op", infer=_infer, impl={"cpu": _cpu}))
    assert "test_half_op" not in {op.name for op in registry.ops()}


def test_duplicate_names_are_refused(squared_diff):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(OpDef(name="test_squared_diff", infer=_infer, impl={"cpu": _cpu, "cuda": _cuda}))


def test_infer_errors_come_before_any_kernel(squared_diff):
    x = tt.ones(3)
    with pytest.raises(RuntimeError, match="shapes"):
        squared_diff(x, tt.ones(4))
