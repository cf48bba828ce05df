"""tritorch.jit.annotations: the typing names TorchScript code imports from torch.jit.annotations, as the
plain typing objects they stand for (nothing here is checked: tritorch has no TorchScript)."""
from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: F401,UP035 - the names scripts import

# TorchScript's "an int or a list of N ints" hints; for eager code they are List[int] / List[float]
BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = List  # noqa: UP006

