"""torch.utils.flop_counter: FlopCounterMode counts the floating-point operations of the matrix products,
convolutions and attention run inside it, forward and backward, per module (for MFU figures).

How: the profiler's dispatch hooks (profiler/_hooks.py: every registered op call, shortcut and backward rule
passes through them while installed) report each call to a counting session instead of a timing one. An op with
a flop formula is counted once, at the outermost counted call (a product that an op runs through another
registered op is not counted twice); the backward counts itself, since backward rules are made of registered
ops (linear's gradient is two matmuls, conv2d's is conv2d_input_grad and conv2d_weight_grad).

The formulas and names are PyTorch's (its counts are per aten op: "aten.mm", "aten.convolution", ...), so the
totals equal PyTorch's for the same program (Linear, Conv, batched products; the tests compare), with two
differences, both from what actually runs: a matrix-vector product is not counted (PyTorch's mv has no formula)
but its gradients run here as two small matmuls, which are; and scaled_dot_product_attention is counted on every
device, where PyTorch counts only its GPU kernels (its cpu kernel has no formula).
Counts are keyed by those names (strings; PyTorch keys by aten op objects, whose str() they equal)."""
from __future__ import annotations

from collections import defaultdict
from math import prod

from .._session import ObservingSession
from ..tensor import Tensor
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]


# ------------------------------------------------------------------------------------- PyTorch's formulas

def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"mm_flop: inner dimensions differ ({k} vs {k2})")
    return m * n * 2 * k


def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    return mm_flop(a_shape, b_shape)


def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs) -> int:
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2 or k != k2:
        raise AssertionError(f"bmm_flop: shapes {a_shape} and {b_shape} do not multiply")
    return b * m * n * 2 * k


def conv_flop_count(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """2 * (spatial points: the output's, the input's when transposed) * kernel points * batch * the weight's two
    channel dims (only multiplications; the bias is not counted)."""
    batch_size = x_shape[0]
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *filter_size = w_shape
    return prod(conv_shape) * prod(filter_size) * batch_size * c_out * c_in * 2


def _channels_first(shape) -> list:
    return [shape[1], shape[0]] + list(shape[2:])


def sdpa_flop_count(query_shape, key_shape, value_shape) -> int:
    """Q @ K^T and P @ V as batched products (query heads may be a multiple of the key/value heads)."""
    b, h, s_q, d_q = query_shape
    s_k, d_v = key_shape[2], value_shape[3]
    return bmm_flop((b * h, s_q, d_q), (b * h, d_q, s_k)) + bmm_flop((b * h, s_q, s_k), (b * h, s_k, d_v))


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape) -> int:
    """The scores recomputed, then the gradients of P @ V (two products) and of Q @ K^T (two)."""
    b, h, s_q, d_q = query_shape
    s_k, d_v = key_shape[2], value_shape[3]
    return (bmm_flop((b * h, s_q, d_q), (b * h, d_q, s_k)) + bmm_flop((b * h, s_q, d_v), (b * h, d_v, s_k))
            + bmm_flop((b * h, s_k, s_q), (b * h, s_q, d_v)) + bmm_flop((b * h, s_q, s_k), (b * h, s_k, d_q))
            + bmm_flop((b * h, d_q, s_q), (b * h, s_q, s_k)))


# ------------------------------------------------------------------ tritorch's ops -> (PyTorch name, flops)
# Each takes the call's tensor-argument shapes (None for a non-tensor) and the result's shape(s).

def _matmul(shapes, out):
    a, b = shapes[0], shapes[1]
    if len(b) == 1:                      # PyTorch's mv / dot: no formula
        return None
    return ("aten.bmm" if len(b) >= 3 else "aten.mm"), 2 * prod(out) * a[-1]   # (N-d @ 2-d folds into one mm)


def _linear(shapes, out):
    return ("aten.addmm" if len(shapes) > 2 and shapes[2] is not None else "aten.mm"), 2 * prod(out) * shapes[1][-1]


def _conv(transposed):
    def formula(shapes, out):
        return "aten.convolution", conv_flop_count(shapes[0], shapes[1], out, transposed)
    return formula


def _conv_input_grad(shapes, out):        # (grad_output, weight) -> grad_input
    return "aten.convolution_backward", conv_flop_count(shapes[0], shapes[1], out, transposed=True)


def _conv_weight_grad(shapes, out):       # (input, grad_output) -> grad_weight
    return "aten.convolution_backward", conv_flop_count(_channels_first(shapes[0]), _channels_first(shapes[1]),
                                                        _channels_first(out))


def _sdpa(shapes, out):
    return "aten._scaled_dot_product_flash_attention", sdpa_flop_count(shapes[0], shapes[1], shapes[2])


def _sdpa_backward(shapes, out):          # (grad_out, grad_lse, query, key, value, ...)
    return ("aten._scaled_dot_product_flash_attention_backward",
            sdpa_backward_flop_count(shapes[0], shapes[2], shapes[3], shapes[4]))


_FORMULAS = {
    "mm": lambda s, o: ("aten.mm", mm_flop(s[0], s[1])),
    "addmm": lambda s, o: ("aten.addmm", mm_flop(s[1], s[2])),
    "bmm": lambda s, o: ("aten.bmm", bmm_flop(s[0], s[1])),
    "matmul": _matmul,
    "linear": _linear,
    "conv1d": _conv(False),
    "conv2d": _conv(False),
    "conv_transpose2d": _conv(True),
    "conv2d_input_grad": _conv_input_grad,
    "conv2d_weight_grad": _conv_weight_grad,
    "scaled_dot_product_attention": _sdpa,
    "scaled_dot_product_attention_backward": _sdpa_backward,
}

_CUSTOM: dict = {}    # op name -> formula(*shapes, out_shape=...) from register_flop_formula


def register_flop_formula(targets, get_raw: bool = False):
    """Decorator: formula(*shapes_of_the_tensor_args, out_shape=...) -> flops for the named op(s) (registered op
    names, or their OpDefs); with get_raw=True the formula gets the arguments themselves and `out_val`."""
    def register(formula):
        for t in targets if isinstance(targets, (list, tuple)) else (targets,):
            _CUSTOM[getattr(t, "name", t)] = (formula, get_raw)
        return formula
    return register


def _shape(a):
    if isinstance(a, Tensor):
        return tuple(a._data.shape)
    if isinstance(a, (list, tuple)) and a and all(isinstance(x, Tensor) for x in a):
        return [tuple(x._data.shape) for x in a]
    return None


def _out_shape(result):
    if isinstance(result, Tensor):
        return tuple(result._data.shape)
    if isinstance(result, (list, tuple)) and result and isinstance(result[0], Tensor):
        return tuple(result[0]._data.shape)
    return None


# -------------------------------------------------------------------------------------------- the session

class _Range:
    __slots__ = ("op", "args", "counted")

    def __init__(self, op, args, counted):
        self.op, self.args, self.counted = op, args, counted


class _CountingSession(ObservingSession):
    """Counts flops on the profiler's hooks (profiler/_hooks.py): a call of an op with a formula counts unless an
    enclosing call already does."""

    def __init__(self, counter: "FlopCounterMode"):
        super().__init__()
        self.counter = counter

    def begin(self, stack, op, args, kwargs, out) -> _Range:
        return _Range(op, args, getattr(op, "name", None) in self.counter._formulas
                      and not any(r.counted for r in stack))

    def end(self, record: _Range, result) -> None:
        if record.counted:
            self.counter._count(record.op.name, record.args, result)


# ------------------------------------------------------------------------------------------ FlopCounterMode

def _suffix(number: int) -> str:
    return ["", "K", "M", "B", "T"][max(0, min(4, (len(str(number)) - 2) // 3))]


def _with_suffix(number: int, suffix: str) -> str:
    return f"{number / 1000 ** ['', 'K', 'M', 'B', 'T'].index(suffix):.3f}{suffix}"


def _percent(num: int, denom: int) -> str:
    return "0%" if denom == 0 else f"{num / denom:.2%}"


class FlopCounterMode:
    """with FlopCounterMode(display=False) as fc: ...; fc.get_total_flops(). Counts per module (qualified names
    from the outermost module run inside it; "Global" for everything) and per op name; with display=True a table
    is printed on exit, `depth` levels of modules deep. Not reentrant; it may run inside a profile, forward AD or
    another FlopCounterMode (each counts what runs inside it)."""

    def __init__(self, mods=None, depth: int = 2, display: bool = True, custom_mapping: dict | None = None):
        if mods is not None:
            import warnings
            warnings.warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        self.flop_counts: dict = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self._custom = {getattr(k, "name", k): (v, False) for k, v in (custom_mapping or {}).items()}
        self._formulas = {**_FORMULAS, **_CUSTOM, **self._custom}
        self.mod_tracker = ModuleTracker()
        self._session = None

    def _count(self, name: str, args, result) -> None:
        formula = self._formulas[name]
        if isinstance(formula, tuple):          # a registered or custom formula: PyTorch's calling convention
            fn, raw = formula
            key = name
            if raw:
                flops = fn(*args, out_val=result)
            else:
                flops = fn(*[s for s in map(_shape, args) if s is not None], out_shape=_out_shape(result))
        else:
            counted = formula([_shape(a) for a in args], _out_shape(result))
            if counted is None:
                return
            key, flops = counted
        for parent in set(self.mod_tracker.parents):
            self.flop_counts[parent][key] += int(flops)

    def get_total_flops(self) -> int:
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict:
        """{module name: {op name: flops}}."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        from tabulate import tabulate
        depth = self.depth if depth is None else depth
        depth = 999999 if depth is None else depth
        total = self.get_total_flops()
        suffix = _suffix(total)
        rows = []
        global_subsumed = False

        def module_rows(name: str, level: int) -> list:
            nonlocal global_subsumed
            flops = sum(self.flop_counts[name].values())
            global_subsumed |= flops >= total
            pad = " " * level
            out = [[pad + name, _with_suffix(flops, suffix), _percent(flops, total)]]
            out += [[pad + " - " + str(k), _with_suffix(v, suffix), _percent(v, total)]
                    for k, v in self.flop_counts[name].items()]
            return out

        for name in sorted(self.flop_counts):
            if name == "Global" or name.count(".") + 1 > depth:
                continue
            rows += module_rows(name, name.count("."))
        if "Global" in self.flop_counts and not global_subsumed:   # only when some flops sit outside modules
            for r in rows:
                r[0] = " " + r[0]
            rows = module_rows("Global", 0) + rows
        if not rows:
            rows = [["Global", "0", "0%"]]
        return tabulate(rows, headers=["Module", "FLOP", "% Total"], colalign=("left", "right", "right"),
                        disable_numparse=True)

    def __enter__(self):
        from ..profiler import _hooks
        if self._session is not None:
            raise RuntimeError("FlopCounterMode is not reentrant: this one is already counting")
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self._session = _CountingSession(self)
        try:
            _hooks.install(self._session)
        except BaseException:
            self.mod_tracker.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        from ..profiler import _hooks
        _hooks.uninstall(self._session)
        self._session = None
        self.mod_tracker.__exit__(*exc)
        if self.display:
            print(self.get_table(self.depth))
        return False
