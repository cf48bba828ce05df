"""Tests generated from the op registry: every op x device x declared dtype, each over all its samples.

Each case checks the result against the op's float64 reference, cuda (GPU or interpreter) against cpu, and the
result's dtype and shape against PyTorch's where torch is installed."""
import pytest

import tritorch  # noqa: F401  (registers the ops)
from tritorch.ops import registry
from tritorch.testing import check_sample, devices

CASES = [pytest.param(op.name, device, dtype, id=f"{op.name}-{device}-{dtype.name}")
         for op in sorted(registry.ops(), key=lambda o: o.name) if op.samples is not None
         for device in devices() for dtype in op.dtypes]


@pytest.mark.parametrize("name,device,dtype", CASES)
def test_op(name, device, dtype):
    op = registry.get(name)
    count = 0
    for sample in op.samples(device, dtype):
        check_sample(op, sample, device, dtype)
        count += 1
    assert count > 0 or not list(op.samples("cpu", dtype)), f"{name} gave no samples for {device}/{dtype.name}"
