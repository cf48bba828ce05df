"""Complex forms composed of the real ops, on both devices, with autograd through the composition.

- Ops that move elements or are linear in them act on the real and imaginary parts independently: the real op on
  each part (`real` / `imag` are views), recombined by `complex`. cumsum, gather, take, scatter (reduce None or
  'add'), scatter_add, index_put, put, masked_scatter, masked_select, masked_fill, tril, triu, constant pad.
- Reductions through a real quantity: norm(z) = norm(|z|) (vector norms), var(z) = var(re z) + var(im z) (PyTorch's
  definition, E|z - mean|^2), std = sqrt(var); any / all / nonzero test z != 0; logsumexp against the largest
  real part.
- Compositions of complex ops: prod (a tree of products of halves), cumprod (Hillis-Steele: log2(n) rounds of
  products), dot (sum of products), lerp, addcmul, addcdiv, pow = exp(b log a) (a real base taken as complex;
  0 ** b: 1 at b = 0, 0 where Re b > 0, inf + nan j where Re b < 0, NaN elsewhere), float_power (pow in
  complex128), logaddexp (the larger real part plus log1p(exp(difference))).
- Tests of z != 0: logical_and / or / xor / not. nan_to_num on each part.

Each form is the real op's `complex_op` (the registry sends calls with a complex operand to it), so
`torch.gather(z, ...)`, `z.masked_fill_(m, 1j)` and `F.pad(z, ...)` take complex tensors.
"""
from __future__ import annotations

import builtins

from .. import dtypes as _dt
from ..tensor import Tensor
from . import registry
from .complex import complex_op, imag_op, real_op

_PY_COMPLEX = builtins.complex


def _tt():
    import tritorch
    return tritorch


def _is_complex(v) -> bool:
    return (v.dtype.kind == _dt.COMPLEX) if isinstance(v, Tensor) else isinstance(v, _PY_COMPLEX)


def _parts(v):
    """(re, im) of a complex tensor or number; a real one's imaginary part is 0 (a tensor of zeros / 0.0)."""
    if isinstance(v, Tensor):
        if v.dtype.kind == _dt.COMPLEX:
            return real_op(v), imag_op(v)
        return v, _tt().zeros_like(v)
    if isinstance(v, _PY_COMPLEX):
        return v.real, v.imag
    return v, 0.0


def _complex_of(x: Tensor) -> Tensor:
    """x as a complex tensor (a real x gets zero imaginary parts; complex64 unless x is float64)."""
    if x.dtype.kind == _dt.COMPLEX:
        return x
    return x.to(_dt.complex128 if x.dtype is _dt.float64 else _dt.complex64)


def _finish(r: Tensor, out):
    if out is None:
        return r
    if not registry.can_cast(r.dtype, out.dtype):   # (a complex result into a real out= or in-place tensor)
        raise RuntimeError(f"result type {registry._type_name(r.dtype)} can't be cast to the desired output type "
                           f"{registry._type_name(out.dtype)}")
    out.copy_(r)
    return out


def _join(re: Tensor, im: Tensor, dtype) -> Tensor:
    real = dtype.to_real()
    return complex_op(re.to(real) if re.dtype is not real else re, im.to(real) if im.dtype is not real else im)


def _split(op, complex_args):
    """The form that runs `op` on the real parts and on the imaginary parts of the positional arguments at
    `complex_args` (other arguments go to both calls unchanged) and joins the two results, in the dtype of the
    input (position 0, complex)."""
    def form(*args, out=None, **kwargs):
        if not _is_complex(args[0]):   # a real tensor does not take complex values (PyTorch: a dtype error)
            raise RuntimeError(f"{op.name}(): expected the source's dtype {_source_dtype(args, complex_args)} to be "
                               f"the destination's ({args[0].dtype.name})")
        dtype = args[0].dtype
        re_args, im_args = list(args), list(args)
        for i in complex_args:
            if i < len(args):
                re_args[i], im_args[i] = _parts(args[i])
        return _finish(_join(op(*re_args, **kwargs), op(*im_args, **kwargs), dtype), out)
    return form


def _source_dtype(args, positions):
    return next(a.dtype.name for i, a in enumerate(args) if i in positions and isinstance(a, Tensor)
                and a.dtype.kind == _dt.COMPLEX)


# ============================================================================ forms over the parts

def _cumsum(x, dim, dtype=None, out=None):
    if dtype is not None and _dt.as_dtype(dtype).kind != _dt.COMPLEX:
        raise RuntimeError(f"cumsum(): a complex input's result must be complex, got {_dt.as_dtype(dtype)}")
    x = x.to(dtype) if dtype is not None else x
    return _finish(_join(registry.get("cumsum")(real_op(x), dim), registry.get("cumsum")(imag_op(x), dim), x.dtype),
                   out)


def _scatter(input, dim, index, src, reduce=None, out=None):
    if reduce not in (None, "add"):
        raise RuntimeError(f"scatter(): reduce='{reduce}' is not supported for complex tensors")
    return _split(registry.get("scatter"), (0, 3))(input, dim, index, src, reduce=reduce, out=out)


def _index_put(input, indices, values, accumulate=False, out=None):
    op = registry.get("index_put")
    if not _is_complex(input):
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got {input.dtype.name} "
                           f"for the destination and {values.dtype.name} for the source.")
    (ri, ii), (rv, iv) = _parts(input), _parts(values)
    return _finish(_join(op(ri, indices, rv, accumulate=accumulate), op(ii, indices, iv, accumulate=accumulate),
                         input.dtype), out)


def _masked_fill(input, mask, value, out=None):
    op = registry.get("masked_fill")
    rv, iv = _parts(value)
    if not _is_complex(input):      # a real input takes a complex value only through out= (PyTorch refuses)
        raise RuntimeError(f"value cannot be converted to type {input.dtype.name} without overflow")
    return _finish(_join(op(real_op(input), mask, rv), op(imag_op(input), mask, iv), input.dtype), out)


def _pad(x, pad, mode="constant", value=None, out=None):
    if mode != "constant":
        op = registry.get("pad")
        return _join(op(real_op(x), pad, mode=mode), op(imag_op(x), pad, mode=mode), x.dtype)
    rv, iv = _parts(0.0 if value is None else value)
    op = registry.get("pad")
    return _join(op(real_op(x), pad, mode=mode, value=rv), op(imag_op(x), pad, mode=mode, value=iv), x.dtype)


# ================================================================================== reductions

def _norm(x, p=2, dim=None, keepdim=False, dtype=None, out=None):
    if dtype is not None:
        d = _dt.as_dtype(dtype)
        x = x.to(d if d.kind == _dt.COMPLEX else d.to_complex())
    return _finish(registry.get("norm")(x.abs(), p=p, dim=dim, keepdim=keepdim), out)


def _var(x, dim=None, correction=1, keepdim=False, out=None):
    op = registry.get("var")
    r = op(real_op(x), dim=dim, correction=correction, keepdim=keepdim) + \
        op(imag_op(x), dim=dim, correction=correction, keepdim=keepdim)
    return _finish(r, out)


def _std(x, dim=None, correction=1, keepdim=False, out=None):
    return _finish(_var(x, dim=dim, correction=correction, keepdim=keepdim).sqrt(), out)


def _nonzero_test(name):
    def form(x, *args, out=None, **kwargs):
        return _finish(registry.get(name)(x != 0, *args, **kwargs), out)
    return form


def _logsumexp(x, dim=None, keepdim=False, out=None):
    """log(sum(exp(z))) against the largest real part m (held constant): m + log(sum(exp(z - m)))."""
    tt = _tt()
    dims = tuple(range(x.dim())) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    m = registry.get("amax")(real_op(x).detach(), dims, True)
    m = tt.where(m.isfinite(), m, 0)             # (a row of -inf: exp gives 0 and log(0) -inf, as in PyTorch)
    r = (x - m).exp().sum(dims, keepdim=True).log() + m
    return _finish(r if keepdim else r.reshape(tuple(n for i, n in enumerate(r.shape)
                                                     if i not in {d % builtins.max(x.dim(), 1) for d in dims})), out)


# ======================================================================= products (complex multiplies)

def _moved_last(x: Tensor, dim):
    tt = _tt()
    return tt.movedim(x, dim, -1) if x.dim() else x.reshape(1)


def _prod(x, dim=None, keepdim=False, dtype=None, out=None):
    """A tree of complex products over the reduced elements: log2(n) multiplies of halves."""
    tt = _tt()
    if dtype is not None and _dt.as_dtype(dtype).kind != _dt.COMPLEX:
        return _finish(registry.get("prod")(real_op(x), dim=dim, keepdim=keepdim, dtype=dtype), out)
    x = x.to(dtype) if dtype is not None else x
    if dim is None:
        r = _prod(x.reshape(-1), 0)
        return _finish(r.reshape((1,) * x.dim()) if keepdim else r, out)
    d = dim % builtins.max(x.dim(), 1)
    v = _moved_last(x, d)
    while v.shape[-1] > 1:
        n = v.shape[-1]
        if n % 2:                                    # an odd count: the last element waits for the next round
            v = tt.cat([v[..., :n - 1:2] * v[..., 1:n - 1:2], v[..., n - 1:]], -1)
        else:
            v = v[..., 0::2] * v[..., 1::2]
    if v.shape[-1] == 0:                             # the empty product
        v = tt.ones(v.shape[:-1] + (1,), dtype=x.dtype, device=x.device)
    r = v[..., 0] if x.dim() else v.reshape(())
    if keepdim and x.dim():
        r = r.unsqueeze(d)
    return _finish(r, out)


def _cumprod(x, dim, dtype=None, out=None):
    """Hillis-Steele: log2(n) rounds, each multiplying every element by the running product k places back."""
    tt = _tt()
    x = x.to(dtype) if dtype is not None else x
    if x.dim() == 0:
        return _finish(x.clone(), out)
    d = dim % x.dim()
    v = _moved_last(x, d)
    k, n = 1, v.shape[-1]
    while k < n:
        v = tt.cat([v[..., :k], v[..., k:] * v[..., :n - k]], -1)
        k *= 2
    return _finish(tt.movedim(v, -1, d), out)


# ================================================================================== compositions

def _dot(input, tensor, out=None):
    return _finish((_complex_of(input) * _complex_of(tensor)).sum(), out)


def _lerp(input, end, weight, out=None):
    return _finish(input + weight * (end - input), out)


def _addcmul(input, tensor1, tensor2, value=1, out=None):
    return _finish(input + value * (tensor1 * tensor2), out)


def _addcdiv(input, tensor1, tensor2, value=1, out=None):
    return _finish(input + value * (tensor1 / tensor2), out)


_NAN = float("nan")
_INF = float("inf")


def _zero_power(b, c):
    """0 ** b in the complex dtype c: 1 at b = 0, 0 where Re b > 0, complex infinity (inf + nan j, as PyTorch) where
    Re b < 0, and NaN on the rest of the imaginary axis."""
    if not isinstance(b, Tensor):
        b = _PY_COMPLEX(b)
        return 1 if b == 0 else 0 if b.real > 0 else _PY_COMPLEX(_INF, _NAN) if b.real < 0 else _PY_COMPLEX(_NAN, _NAN)
    tt = _tt()
    re = real_op(b) if b.dtype.kind == _dt.COMPLEX else b
    return tt.where(b == 0, tt.tensor(1, dtype=c, device=b.device),
                    tt.where(re > 0, tt.tensor(0, dtype=c, device=b.device),
                             tt.where(re < 0, tt.tensor(_PY_COMPLEX(_INF, _NAN), dtype=c, device=b.device),
                                      tt.tensor(_PY_COMPLEX(_NAN, _NAN), dtype=c, device=b.device))))


def _pow(a, b, out=None):
    tt = _tt()
    if not isinstance(a, Tensor):     # a number ** a complex tensor
        a = tt.tensor(a, dtype=b.dtype if b.dtype.kind == _dt.COMPLEX else b.dtype.to_complex(), device=b.device)
    elif a.dtype.kind != _dt.COMPLEX:  # a real base: its log is complex (log(-3) = log 3 + i pi)
        from .pointwise import result_dtype   # (PyTorch's promotion: a 0-d complex b keeps a's precision)
        c = result_dtype(a, b)
        a = a.to(c if c.kind == _dt.COMPLEX else c.to_complex())
    zero = a == 0
    safe = tt.where(zero, 1, a)       # (log(0) would poison the gradient through the branch where() drops)
    r = (b * safe.log()).exp()
    return _finish(tt.where(zero, _zero_power(b, r.dtype), r), out)


def _float_power(a, b, out=None):
    """float_power with a complex operand: pow in complex128 (PyTorch's rule)."""
    def wide(v):
        return v.to(_dt.complex128) if isinstance(v, Tensor) else _PY_COMPLEX(v)
    return _finish(_pow(wide(a), wide(b)), out)


def _nonzero_binary(name):
    """logical_and / or / xor with a complex operand: of z != 0."""
    def form(a, b, out=None):
        def nz(v):
            return v != 0 if isinstance(v, Tensor) and v.dtype.kind == _dt.COMPLEX else v
        return registry.get(name)(nz(a), nz(b), out=out)
    return form


def _logaddexp(a, b, out=None):
    """log(exp(a) + exp(b)) for complex operands: the one with the larger real part plus log1p(exp(other - it))."""
    tt = _tt()
    for pos, (name, v) in enumerate((("input", a), ("other", b)), 1):
        if not isinstance(v, Tensor):
            raise TypeError(f"logaddexp(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}")
    c = _dt.promote_types(a.dtype, b.dtype)
    c = c if c.kind == _dt.COMPLEX else c.to_complex()
    a, b = a.to(c), b.to(c)
    first = real_op(a) >= real_op(b)
    hi, lo = tt.where(first, a, b), tt.where(first, b, a)
    return _finish((lo - hi).exp().log1p() + hi, out)


# ============================================================================================ install

def _install():
    get = registry.get
    forms = {
        "cumsum": _cumsum, "gather": _split(get("gather"), (0,)), "take": _split(get("take"), (0,)),
        "scatter": _scatter, "scatter_add": _split(get("scatter_add"), (0, 3)), "index_put": _index_put,
        "put": _split(get("put"), (0, 2)), "masked_scatter": _split(get("masked_scatter"), (0, 2)),
        "masked_select": _split(get("masked_select"), (0,)), "masked_fill": _masked_fill, "tril": _split(get("tril"), (0,)),
        "triu": _split(get("triu"), (0,)), "pad": _pad, "norm": _norm, "var": _var, "std": _std,
        "any": _nonzero_test("any"), "all": _nonzero_test("all"), "nonzero": _nonzero_test("nonzero"),
        "prod": _prod, "cumprod": _cumprod, "logsumexp": _logsumexp, "dot": _dot, "lerp": _lerp, "addcmul": _addcmul,
        "addcdiv": _addcdiv, "pow": _pow, "float_power": _float_power, "logaddexp": _logaddexp,
        "logical_and": _nonzero_binary("logical_and"), "logical_or": _nonzero_binary("logical_or"),
        "logical_xor": _nonzero_binary("logical_xor"), "logical_not": _nonzero_test("logical_not"),
        "nan_to_num": _split(get("nan_to_num"), (0,)),
    }
    for name, form in forms.items():
        op = get(name)
        if op.complex_op is None:
            op.complex_op = form


_install()
