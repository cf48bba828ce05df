"""tritorch.utils."""
from . import benchmark, checkpoint, data, hooks  # noqa: F401
from . import flop_counter, module_tracker  # noqa: F401,E402
from . import deterministic, dlpack  # noqa: F401,E402
from ._swap import swap_tensors  # noqa: F401,E402
