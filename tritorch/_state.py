"""Process-wide state read on the hot path by the op registry: grad mode (per thread) and the autograd recorder.

It lives at the bottom of the import graph so that the registry (ops layer) can check grad mode without
importing autograd; autograd installs `recorder` when it is imported."""
import threading


class GradState(threading.local):
    enabled = True     # ops record the graph (torch.is_grad_enabled)
    inference = False  # inference_mode: no recording, no version checks needed


GRAD = GradState()


class ProcessFlags:
    """Process-wide switches (a plain attribute read costs a fifth of a thread-local one on the recording path)."""

    __slots__ = ("anomaly", "anomaly_check_nan", "autocast", "inference")

    def __init__(self):
        self.anomaly = False  # detect_anomaly: keep forward tracebacks, check backward results for NaN/inf
        self.anomaly_check_nan = True  # ... the NaN/inf check (detect_anomaly(check_nan=False) keeps traces only)
        self.autocast = 0     # autocast regions entered in any thread: ops look at AUTOCAST only while > 0
        self.inference = 0    # inference_mode regions entered in any thread: new tensors check GRAD.inference


# As in PyTorch, anomaly mode is global, not per thread.
FLAGS = ProcessFlags()



class AutocastState(threading.local):
    """The autocast regions of this thread (PyTorch's autocast state is per thread): device type -> dtype."""

    def __init__(self):
        self.devices = {}
        self.dtypes = {}           # torch.set_autocast_dtype's choice per device type, used while enabled
        self.cache_enabled = True  # torch.is_autocast_cache_enabled (tritorch keeps no cache of casts)
        self.set_on = set()        # device types torch.set_autocast_enabled turned on (each holds FLAGS.autocast)


AUTOCAST = AutocastState()
# autocast_args(policy, args, kwargs) -> (args, kwargs): the casts of an autocast region; set by tritorch.amp.
autocast_args = None

# record(op, args, kwargs, result, meta) -> None; set by tritorch.autograd.engine. record_small: the same, for
# calls of (tensor,) or (tensor, value) with one tensor result (the unary and binary ops' cpu shortcuts).
recorder = None
record_small = None
# rebase(target, value) -> None: give a tensor written in place (possibly a view) the history of `value`;
# check_inplace(target) -> None: PyTorch's errors for in-place writes into leaves. Set by tritorch.autograd.
rebase = None
check_inplace = None
