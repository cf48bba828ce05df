import os

# The cuda device runs through Triton's interpreter when no GPU is present; it must be set before triton loads.
os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _exact_fp32_convolutions(monkeypatch):
    """fp32 convolutions without TF32 while testing, as PyTorch's own test suite runs them: on a GPU TF32 keeps 10
    mantissa bits, so fp32 results are checked at fp32 tolerance only without it (tests of the flag set it)."""
    import tritorch
    monkeypatch.setattr(tritorch.backends.cudnn, "allow_tf32", False)


@pytest.fixture(autouse=True)
def _per_test_rng(request):
    """A test module's shared `RNG` (a NumPy Generator its tests draw from) reseeded for each test from the test's
    id: a test's draws then depend on nothing but the test, not on which tests ran before it on its xdist worker
    (which differs from run to run)."""
    import zlib

    import numpy as np
    module = request.module
    if isinstance(getattr(module, "RNG", None), np.random.Generator):
        module.RNG = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def assert_same_signature():
    """assert_same_signature(ours, theirs): the same parameter names, in order, with the same defaults (the tests
    of PyTorch-shaped namespaces compare each public function with torch's)."""
    import inspect

    def check(ours, theirs):
        params = lambda fn: [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]  # noqa: E731
        assert params(ours) == params(theirs)
    return check
