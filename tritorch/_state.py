"""Process-wide state read on the hot path by the op registry: grad mode (per thread) and the autograd recorder.

It lives at the bottom of the import graph so that the registry (ops layer) can check grad mode without
importing autograd; autograd installs `recorder` when it is imported."""
import threading


class GradState(threading.local):
    """Grad mode, per thread as in PyTorch. Reading a thread-local attribute costs ~65 ns here (a plain slot ~7), so
    the hot paths read `not FLAGS.grad_off or GRAD.enabled`: while no thread has grad off, the thread-local is
    never read. Every write of `enabled` goes through __setattr__, which keeps FLAGS.grad_off in step."""

    enabled = True     # ops record the graph (torch.is_grad_enabled)
    inference = False  # inference_mode: no recording, no version checks needed
    _off = None        # a _GradOff while this thread's grad mode is off

    def __setattr__(self, name, value):
        if name != "enabled":
            return super().__setattr__(name, value)
        if value:
            super().__setattr__("enabled", True)
            super().__setattr__("_off", None)   # (after: a reader that sees grad_off == 0 may skip this thread)
        else:
            if self._off is None:
                super().__setattr__("_off", _GradOff())   # (before grad goes off)
            super().__setattr__("enabled", False)


class _GradOff:
    """Held by a thread's GradState while its grad mode is off; FLAGS.grad_off counts the live ones. A thread that
    ends with grad off drops its token with its thread-local state, so the count does not stay raised."""

    __slots__ = ()

    def __init__(self):
        with _GRAD_OFF_LOCK:
            FLAGS.grad_off += 1

    def __del__(self):
        with _GRAD_OFF_LOCK:
            FLAGS.grad_off -= 1


_GRAD_OFF_LOCK = threading.Lock()


class ProcessFlags:
    """Process-wide switches (a plain attribute read costs a fifth of a thread-local one on the recording path)."""

    __slots__ = ("anomaly", "anomaly_check_nan", "autocast", "inference", "grad_off", "complex", "subclass", "sparse")

    def __init__(self):
        self.grad_off = 0     # threads whose grad mode is off now: while 0, grad is on everywhere
        self.anomaly = False  # detect_anomaly: keep forward tracebacks, check backward results for NaN/inf
        self.anomaly_check_nan = True  # ... the NaN/inf check (detect_anomaly(check_nan=False) keeps traces only)
        self.autocast = 0     # autocast regions entered in any thread: ops look at AUTOCAST only while > 0
        self.inference = 0    # inference_mode regions entered in any thread: new tensors check GRAD.inference
        self.complex = False  # a complex dtype is in use: ops check their operands for complex tensors (registry)
        self.subclass = False  # a Tensor subclass exists: ops take its instances as plain tensors (registry)
        self.sparse = False    # a sparse tensor exists: calls with a sparse operand take the sparse rules


# As in PyTorch, anomaly mode is global, not per thread.
FLAGS = ProcessFlags()
# Whether a program has defined a Tensor subclass (FLAGS.subclass then stays set; a TorchFunctionMode sets it
# only while one is active)
SUBCLASS_DEFINED = [False]
GRAD = GradState()

# Called with a tensor just before an in-place or out= write into it (registry out= calls, copy_), while
# autograd.graph.allow_mutation_on_saved_tensors is open; empty otherwise (one falsy check per write).
BEFORE_WRITE: list = []



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
