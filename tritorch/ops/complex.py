"""Complex tensors (complex64, complex128): the views between complex and real (view_as_real, view_as_complex,
real, imag), complex(), polar(), conj_physical, and the complex forms of abs, angle, neg, exp, log, sqrt,
reciprocal, add, sub, mul, div, eq, ne, where, sum, mean, cat, stack, mm, bmm, matmul, clone, casts and full.

The built-in real ops (add, mul, sum, clone, ...) stay as they are. Each that has a complex form here names it in
`OpDef.complex_op`; once a program uses complex numbers, the registry sends a call with a complex operand (a
complex tensor, a Python complex, or a complex `dtype=`) to that form, and refuses the call for ops without one
(registry.complex_variant). So real programs pay nothing for complex support.

Both devices. On the cpu NumPy computes in complex dtypes natively. Triton has no complex types, so on cuda a
complex array is seen as its float (re, im) pairs: `pairs(a)` is the float view with a trailing dim of 2, `part(a, k)`
the real (k=0) or imaginary (k=1) parts alone. Copies and casts run the pointwise kernels over those views; the
binary ops run one kernel over interleaved pairs (`_binary_kernel`).

Gradients follow PyTorch's convention for complex numbers (the conjugate Wirtinger derivative: for a real loss L of
z = x + iy, z.grad = dL/dx + i dL/dy), so mul's input gradient is grad * conj(other). A real input of an op with a
complex result gets the real part of its gradient (the engine's _reduce_to).
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np
import triton
import triton.language as tl

from .. import dtypes as _dt
from ..backends.cuda import CudaArray
from ..device import CPU
from ..tensor import Tensor, _make
from . import launch
from . import pointwise as pw
from .registry import BenchSpec, Meta, OpDef, Sample, broadcast_shapes, device_of, register
from .binary import _atan2 as _binary_atan2
from .copy import _clone_cpu as _real_clone_cpu   # (NumPy copies complex arrays as any other)
from .movement import _np_view, _strides
from .binary import _hypot as _binary_hypot
from .binary import _signbit as _binary_signbit
from .samples import make_tensor, rng_for
from .registry import write_out as _write_out

FAMILY = "complex"
COMPLEX = _dt.COMPLEX_DTYPES
_PARTS = (_dt.float32, _dt.float64)
_REAL_NP = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}
_PY_COMPLEX = builtins.complex   # (this module's `complex` is torch.complex)


# ============================================================================================ array views

def pairs(a):
    """A complex CudaArray/MetaArray as the float array of its (re, im) pairs: shape + (2,)."""
    return type(a)(a.block, a.shape + (2,), tuple(2 * s for s in a.strides) + (1,), 2 * a.offset, _REAL_NP[a.dtype])


def part(a, k: int):
    """The real (k=0) or imaginary (k=1) parts of a complex CudaArray/MetaArray, as a strided float array."""
    return type(a)(a.block, a.shape, tuple(2 * s for s in a.strides), 2 * a.offset + k, _REAL_NP[a.dtype])


def _wrap(a, dtype, like: Tensor) -> Tensor:
    return _make(a, dtype, like.device)


def _np_reinterpret(a: np.ndarray, shape, strides, delta: int, np_dtype) -> np.ndarray:
    return _np_view(a, shape, strides, delta, dtype=np.dtype(np_dtype))


def _is_complex(x) -> bool:
    return (x.dtype.kind == _dt.COMPLEX) if isinstance(x, Tensor) else isinstance(x, _PY_COMPLEX)


def _need_complex(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x.dtype.kind != _dt.COMPLEX:
        raise RuntimeError(f"{name} is only supported for complex tensors")


def _complex_samples(fn):
    """samples(device, dtype) from fn(T, device, dtype); T(shape, noncontiguous=False, low, high) makes an input."""
    def samples(device, dtype):
        rng = rng_for("complex", fn.__name__, dtype.name)

        def T(shape, noncontiguous=False, low=None, high=None):
            return make_tensor(shape, dtype, device, rng=rng, noncontiguous=noncontiguous, low=low, high=high)
        return fn(T, device, dtype)
    return samples


def _unary_shapes(T):
    yield Sample((T(()),), name="0-dim")
    yield Sample((T((0, 3)),), name="empty")
    yield Sample((T((2 ** 6 + 17,)),), name="(81,)")
    yield Sample((T((3, 4, 5)),), name="3d")
    yield Sample((T((5, 6), noncontiguous=True),), name="noncontig")
    yield Sample((T((4, 6)).transpose(0, 1),), name="transposed")


# ================================================================================= view_as_real / complex

def _view_as_real_infer(x):
    _need_complex("view_as_real", x)
    strides = _strides(x)
    return Meta(tuple(x._data.shape) + (2,), x.dtype.to_real(), x.device, tuple(2 * s for s in strides) + (1,))


def _view_as_real_cpu(meta, x):
    return _np_reinterpret(x._data, meta.shape, meta.aux, 0, meta.dtype.np)


def _view_as_real_cuda(meta, x):
    return pairs(x._data)


def _view_as_real_vjp(ctx, grad):
    return view_as_complex_op(grad.contiguous())


@_complex_samples
def _view_samples(T, device, dtype):
    yield from _unary_shapes(T)
    yield Sample((T((3, 4))[1:, 2:],), name="offset")


view_as_real_op = register(OpDef(
    name="view_as_real", infer=_view_as_real_infer, impl={"cpu": _view_as_real_cpu, "cuda": _view_as_real_cuda},
    family=FAMILY, ref=lambda x: np.stack([x.real, x.imag], -1), samples=_view_samples, dtypes=COMPLEX, view=True,
    vjp=_view_as_real_vjp, save="none", extra={"torch": lambda torch, x: torch.view_as_real(x)},
    doc="view_as_real(x): a complex tensor's memory as its (re, im) pairs, shape + (2,); no copy"))


def _view_as_complex_infer(x):
    if not isinstance(x, Tensor):
        raise TypeError(f"view_as_complex(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x.dtype not in _PARTS:
        from .registry import _type_name
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {_type_name(x.dtype)}")
    shape, strides = tuple(x._data.shape), tuple(x.stride())   # (PyTorch's strides: NumPy's of an empty array vary)
    if not shape:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if x.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    _dt._complex_in_use()
    return Meta(shape[:-1], x.dtype.to_complex(), x.device, tuple(s // 2 for s in strides[:-1]))


def _view_as_complex_cpu(meta, x):
    return _np_reinterpret(x._data, meta.shape, meta.aux, 0, meta.dtype.np)


def _view_as_complex_cuda(meta, x):
    a = x._data
    return type(a)(a.block, meta.shape, meta.aux, a.offset // 2, meta.dtype.np)


def _view_as_complex_vjp(ctx, grad):
    return view_as_real_op(grad)


def _view_as_complex_samples(device, dtype):
    rng = rng_for("view_as_complex", dtype.name)

    def T(shape):
        return make_tensor(shape, dtype, device, rng=rng)
    yield Sample((T((2,)),), name="(2,)")
    yield Sample((T((3, 5, 2)),), name="3d")
    yield Sample((T((4, 6, 2))[:, ::2],), name="strided")
    yield Sample((T((3, 8)).view(3, 4, 2)[1:],), name="offset")


view_as_complex_op = register(OpDef(
    name="view_as_complex", infer=_view_as_complex_infer,
    impl={"cpu": _view_as_complex_cpu, "cuda": _view_as_complex_cuda}, family=FAMILY,
    ref=lambda x: x[..., 0] + 1j * x[..., 1], samples=_view_as_complex_samples, dtypes=_PARTS, view=True,
    vjp=_view_as_complex_vjp, save="none", extra={"torch": lambda torch, x: torch.view_as_complex(x)},
    doc="view_as_complex(x): (..., 2) float pairs (last stride 1) as complex numbers; no copy"))


# ============================================================================================ real / imag

def _part_infer(k):
    def infer(x):
        _need_complex("real" if k == 0 else "imag", x)
        return Meta(tuple(x._data.shape), x.dtype.to_real(), x.device, tuple(2 * s for s in _strides(x)))
    return infer


def _part_cpu(k):
    def cpu(meta, x):
        return _np_reinterpret(x._data, meta.shape, meta.aux, k, meta.dtype.np)
    return cpu


def _part_cuda(k):
    def cuda(meta, x):
        return part(x._data, k)
    return cuda


def _real_vjp(ctx, grad):
    return complex_op(grad, _zeros(grad))


def _imag_vjp(ctx, grad):
    return complex_op(_zeros(grad), grad)


def _zeros(t: Tensor) -> Tensor:
    from .creation import zeros_like
    return zeros_like(t)


real_op = register(OpDef(
    name="real", infer=_part_infer(0), impl={"cpu": _part_cpu(0), "cuda": _part_cuda(0)}, family=FAMILY,
    ref=lambda x: x.real, samples=_view_samples, dtypes=COMPLEX, view=True, vjp=_real_vjp, save="none",
    extra={"torch": lambda torch, x: torch.real(x)}, doc="x.real of a complex tensor: its real parts, a view"))
imag_op = register(OpDef(
    name="imag", infer=_part_infer(1), impl={"cpu": _part_cpu(1), "cuda": _part_cuda(1)}, family=FAMILY,
    ref=lambda x: x.imag, samples=_view_samples, dtypes=COMPLEX, view=True, vjp=_imag_vjp, save="none",
    extra={"torch": lambda torch, x: torch.imag(x)}, doc="x.imag of a complex tensor: its imaginary parts, a view"))


# ================================================================================== Triton pointwise forms

@triton.jit
def _identity(x, y, z, p0, p1):
    return x


@triton.jit
def _negate(x, y, z, p0, p1):
    return -x


@triton.jit
def _times_cos(x, y, z, p0, p1):
    return x * tl.cos(y)


@triton.jit
def _times_sin(x, y, z, p0, p1):
    return x * tl.sin(y)


@triton.jit
def _nonzero_pair(x, y, z, p0, p1):
    return (x != 0) | (y != 0)


def _launch(fn, inputs, like: Tensor, shape, out_dtype, out, compute=None):
    """pointwise.launch_pointwise over CudaArrays (wrapped as tensors of `like`'s device) into the array `out`
    (compute: the kernel's dtype; by default the output's, or the first input's for a bool output)."""
    ops = [_wrap(a, _dt.from_numpy_dtype(a.dtype), like) if isinstance(a, CudaArray) else a for a in inputs]
    if compute is None:
        compute = out_dtype if out_dtype.kind == _dt.FLOAT else _dt.from_numpy_dtype(inputs[0].dtype)
    return pw.launch_pointwise(fn, ops, shape, out_dtype, compute, out)


def _two_parts(re_fn, im_fn, re_inputs, im_inputs, like, shape, dtype, out=None):
    """A complex cuda array of `shape` whose real parts are re_fn(re_inputs) and imaginary parts im_fn(im_inputs)."""
    out = CudaArray.empty(shape, dtype.np) if out is None else out
    real = dtype.to_real()
    _launch(re_fn, re_inputs, like, shape, real, part(out, 0))
    _launch(im_fn, im_inputs, like, shape, real, part(out, 1))
    return out


# ======================================================================================== complex / polar

def _from_parts_infer(name):
    def infer(a, b):
        names = ("real", "imag") if name == "complex" else ("abs", "angle")
        for i, t in enumerate((a, b)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}(): argument '{names[i]}' (position {i + 1}) must be Tensor, not "
                                f"{type(t).__name__}")
        if a.dtype not in _PARTS or b.dtype is not a.dtype:
            from .registry import _type_name
            raise RuntimeError(f"Expected both inputs to be Float or Double tensors but got {_type_name(a.dtype)} "
                               f"and {_type_name(b.dtype)}" if a.dtype not in _PARTS or b.dtype not in _PARTS else
                               f"Expected object of scalar type {_type_name(a.dtype)} but got scalar type "
                               f"{_type_name(b.dtype)} for second argument")
        _dt._complex_in_use()
        shape = broadcast_shapes(a._data.shape, b._data.shape)
        return Meta(shape, a.dtype.to_complex(), device_of(a, b))
    return infer


def _complex_cpu(meta, real, imag, out=None):
    r = np.empty(meta.shape, meta.dtype.np) if out is None else out
    r.real = real._data
    r.imag = imag._data
    return r


def _complex_cuda(meta, real, imag, out=None):
    return _two_parts(_identity, _identity, [real._data], [imag._data], real, meta.shape, meta.dtype, out)


def _complex_vjp(ctx, grad):
    need = ctx.needs_input_grad
    return (real_op(grad) if need[0] else None, imag_op(grad) if need[1] else None)


def _pair_samples(low=None, high=None, rhs_low=None, rhs_high=None):
    def samples(device, dtype):
        rng = rng_for("complex-pairs", dtype.name, low)

        def T(shape, lo, hi, noncontiguous=False):
            return make_tensor(shape, dtype, device, rng=rng, low=lo, high=hi, noncontiguous=noncontiguous)
        for sa, sb in [((), ()), ((5,), (5,)), ((2 ** 6 + 17,), (2 ** 6 + 17,)), ((4, 1), (1, 5)), ((0, 3), (1, 3))]:
            yield Sample((T(sa, low, high), T(sb, rhs_low, rhs_high)), name=f"{sa}x{sb}")
        yield Sample((T((5, 6), low, high, True), T((5, 6), rhs_low, rhs_high)), name="noncontig")
    return samples


complex_op = register(OpDef(
    name="complex", infer=_from_parts_infer("complex"), impl={"cpu": _complex_cpu, "cuda": _complex_cuda},
    family=FAMILY, ref=lambda re, im: re + 1j * im, samples=_pair_samples(), dtypes=_PARTS, supports_out=True,
    vjp=_complex_vjp, save="none", extra={"torch": lambda torch, re, im: torch.complex(re, im)},
    doc="complex(real, imag): the complex tensor real + i imag (broadcast)"))


def _polar_cpu(meta, abs, angle, out=None):
    r = np.empty(meta.shape, meta.dtype.np) if out is None else out
    a, t = abs._data, angle._data
    r.real = a * np.cos(t)
    r.imag = a * np.sin(t)
    return r


def _polar_cuda(meta, abs, angle, out=None):
    ins = [abs._data, angle._data]
    return _two_parts(_times_cos, _times_sin, ins, ins, abs, meta.shape, meta.dtype, out)


def _polar_vjp(ctx, grad):
    # z = r e^{i t}: dL/dr = Re(grad conj(e^{i t})), dL/dt = Im(grad conj(z))
    r, t = ctx.inputs
    need = ctx.needs_input_grad
    unit = polar_op(_ones(r), t)
    gr = real_op(grad * conj_physical_op(unit)) if need[0] else None
    gt = imag_op(grad * conj_physical_op(unit * r)) if need[1] else None
    return gr, gt


def _ones(t: Tensor) -> Tensor:
    from .creation import ones_like
    return ones_like(t)


polar_op = register(OpDef(
    name="polar", infer=_from_parts_infer("polar"), impl={"cpu": _polar_cpu, "cuda": _polar_cuda},
    family=FAMILY, ref=lambda r, t: r * np.cos(t) + 1j * r * np.sin(t), samples=_pair_samples(0.0, 3.0, -4.0, 4.0),
    dtypes=_PARTS, supports_out=True, vjp=_polar_vjp, extra={"torch": lambda torch, r, t: torch.polar(r, t)},
    doc="polar(abs, angle): abs * (cos(angle) + i sin(angle)) (broadcast)"))


# ============================================================================= conj, neg, abs, angle (complex)

def _complex_same_infer(x, **_kw):
    return Meta(tuple(x._data.shape), x.dtype, x.device)


def _conj_cpu(meta, x, out=None):
    return np.conjugate(x._data, out=out)


def _conj_cuda(meta, x, out=None):
    a = x._data
    return _two_parts(_identity, _negate, [part(a, 0)], [part(a, 1)], x, meta.shape, meta.dtype, out)


conj_physical_op = register(OpDef(
    name="conj_physical", infer=_complex_same_infer, impl={"cpu": _conj_cpu, "cuda": _conj_cuda}, family=FAMILY,
    ref=np.conjugate, samples=_complex_samples(lambda T, device, dtype: _unary_shapes(T)), dtypes=COMPLEX,
    supports_out=True, vjp=lambda ctx, grad: conj_physical_op(grad), save="none",
    extra={"torch": lambda torch, x: torch.conj_physical(x)}, doc="conj_physical(x): re - i im, a new tensor"))


def _neg_cpu(meta, x, out=None):
    a = x._data
    if out is None and a.ndim and a.flags.c_contiguous:   # on the float pairs: NumPy's complex negative is 5x
        real = _REAL_NP[a.dtype]                             # slower here
        return np.negative(a.view(real)).view(a.dtype)
    return np.negative(a, out=out)


def _neg_cuda(meta, x, out=None):
    o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
    a = x._data
    _launch(_negate, [pairs(a)], x, a.shape + (2,), meta.dtype.to_real(), pairs(o))
    return o


complex_neg_op = register(OpDef(
    name="complex_neg", infer=_complex_same_infer, impl={"cpu": _neg_cpu, "cuda": _neg_cuda}, family=FAMILY,
    ref=np.negative, samples=_complex_samples(lambda T, device, dtype: _unary_shapes(T)), dtypes=COMPLEX,
    supports_out=True, vjp=lambda ctx, grad: -grad, save="none", extra={"torch": lambda torch, x: torch.neg(x)},
    doc="neg of a complex tensor (the registry's complex form of neg)"))


def _to_real_infer(x, **_kw):
    return Meta(tuple(x._data.shape), x.dtype.to_real(), x.device)


def _abs_cpu(meta, x, out=None):
    return np.abs(x._data, out=out)


def _abs_cuda(meta, x, out=None):
    a = x._data
    o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
    _launch(_binary_hypot, [part(a, 0), part(a, 1)], x, meta.shape, meta.dtype, o, _dt.float64)  # (fp64: as binary's)
    return o


def _sgn(z: Tensor) -> Tensor:
    """z / |z|, and 0 where z is 0 (PyTorch's sgn)."""
    from .ternary import where_op
    a = complex_abs_op(z)
    return z / where_op(a == 0, _ones(a), a)


def _abs_vjp(ctx, grad):
    return grad * _sgn(ctx.inputs[0])


@_complex_samples
def _abs_samples(T, device, dtype):
    yield from _unary_shapes(T)
    big = 1e30 if dtype is _dt.complex64 else 1e300
    yield Sample((_make_complex([0, 3 + 4j, big + big * 1j, -2j, _PY_COMPLEX("inf"), _PY_COMPLEX(1, float("inf"))],
                                dtype, device),), name="special")


def _make_complex(values, dtype, device):
    from .creation import tensor
    return tensor(np.array(values, dtype.np), device=device)


complex_abs_op = register(OpDef(
    name="complex_abs", infer=_to_real_infer, impl={"cpu": _abs_cpu, "cuda": _abs_cuda}, family=FAMILY,
    ref=np.abs, samples=_abs_samples, dtypes=COMPLEX, supports_out=True, vjp=_abs_vjp,
    extra={"torch": lambda torch, x: torch.abs(x)}, doc="abs of a complex tensor: |z| without overflow (real)"))


def _angle_cpu(meta, x, out=None):
    return np.angle(x._data) if out is None else np.copyto(out, np.angle(x._data)) or out


def _angle_cuda(meta, x, out=None):
    a = x._data
    o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
    _launch(_binary_atan2, [part(a, 1), part(a, 0)], x, meta.shape, meta.dtype, o, _dt.float64)  # (fp64: as binary's)
    return o


def _angle_vjp(ctx, grad):
    # d atan2(y, x) = (x dy - y dx) / |z|^2, so z.grad = grad * (i z) / |z|^2, and 0 at z = 0
    from .ternary import where_op
    z = ctx.inputs[0]
    sq = complex_abs_op(z)
    sq = sq * sq
    return grad * (z * 1j) / where_op(sq == 0, _ones(sq), sq)


complex_angle_op = register(OpDef(
    name="complex_angle", infer=_to_real_infer, impl={"cpu": _angle_cpu, "cuda": _angle_cuda}, family=FAMILY,
    ref=np.angle, samples=_abs_samples, dtypes=COMPLEX, supports_out=True, vjp=_angle_vjp,
    extra={"torch": lambda torch, x: torch.angle(x)}, doc="angle of a complex tensor: atan2(im, re) (real)"))


# ==================================================================================== add, sub, mul, div

_ADD, _SUB, _MUL, _DIV = 0, 1, 2, 3


@triton.jit
def _binary_kernel(a_ptr, b_ptr, out_ptr, n,
                   A_ONE: tl.constexpr, B_ONE: tl.constexpr, OP: tl.constexpr, BLOCK: tl.constexpr):
    """out = a OP b over n complex numbers stored as interleaved (re, im) pairs.
    a_ptr, b_ptr: the operands' pairs, contiguous in the output's shape, or (A_ONE/B_ONE) one number for all
    out_ptr: the result's pairs, contiguous
    n: complex numbers written
    OP: 0 add, 1 sub, 2 mul, 3 div (Smith's scaling, as NumPy's, so |b| near the range's ends does not overflow)
    Bytes: reads 2 x 2n floats (one pair for a broadcast scalar), writes 2n floats."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    if A_ONE:
        ar = tl.load(a_ptr)
        ai = tl.load(a_ptr + 1)
    else:
        ar = tl.load(a_ptr + 2 * offs, mask=mask, other=0.0)
        ai = tl.load(a_ptr + 2 * offs + 1, mask=mask, other=0.0)
    if B_ONE:
        br = tl.load(b_ptr)
        bi = tl.load(b_ptr + 1)
    else:
        br = tl.load(b_ptr + 2 * offs, mask=mask, other=1.0)
        bi = tl.load(b_ptr + 2 * offs + 1, mask=mask, other=0.0)
    if OP == 0:
        re = ar + br
        im = ai + bi
    elif OP == 1:
        re = ar - br
        im = ai - bi
    elif OP == 2:
        re = ar * br - ai * bi
        im = ar * bi + ai * br
    else:
        wide = tl.abs(br) >= tl.abs(bi)
        rat = tl.where(wide, bi / br, br / bi)
        scl = 1.0 / tl.where(wide, br + bi * rat, bi + br * rat)
        re = tl.where(wide, (ar + ai * rat) * scl, (ar * rat + ai) * scl)
        im = tl.where(wide, (ai - ar * rat) * scl, (ai * rat - ar) * scl)
        # 0 / 0 and x / 0: the parts divided by |re(b)| and |im(b)| (inf or NaN, as NumPy and PyTorch)
        zero = (br == 0) & (bi == 0)
        re = tl.where(zero, ar / tl.abs(br), re)
        im = tl.where(zero, ai / tl.abs(bi), im)
    tl.store(out_ptr + 2 * offs, re, mask=mask)
    tl.store(out_ptr + 2 * offs + 1, im, mask=mask)


_NP_BINARY = {_ADD: np.add, _SUB: np.subtract, _MUL: np.multiply, _DIV: np.divide}
_NAMES = {_ADD: "add", _SUB: "sub", _MUL: "mul", _DIV: "div"}


def _binary_infer(op):
    name = _NAMES[op]

    def infer(a, b, alpha=1, rounding_mode=None):
        from .binary import _check_operand, _must_be_tensor
        ts = [x for x in (a, b) if isinstance(x, Tensor)]
        if not ts:
            raise _must_be_tensor(name, a, 1)
        for i, x in enumerate((a, b)):
            if not isinstance(x, _PY_COMPLEX):
                _check_operand(name, x, i + 1)
        if op == _SUB:
            from .binary import _sub_bool_check
            _sub_bool_check(a, b)
        dt = pw.result_dtype(a, b)
        if dt.kind != _dt.COMPLEX:
            dt = dt.to_complex()   # a complex alpha with real operands
        if rounding_mode is not None:
            from .registry import _type_name
            raise RuntimeError(f'"div_{rounding_mode}_{ts[0].device.type}" not implemented for '
                               f"'{_type_name(dt)}'")
        shape = ts[0]._data.shape if len(ts) == 1 else broadcast_shapes(a._data.shape, b._data.shape)
        return Meta(tuple(shape), dt, device_of(*ts))
    return infer


def _np_operand(x, dt: _dt.dtype):
    if isinstance(x, Tensor):
        a = x._data if x.device is CPU else x._data.to_numpy()
        return a if a.dtype == dt.np else a.astype(dt.np)
    return dt.np.type(x)


def _binary_cpu(op):
    ufunc = _NP_BINARY[op]

    def cpu(meta, a, b, alpha=1, rounding_mode=None, out=None):
        dt = meta.dtype
        x, y = _np_operand(a, dt), _np_operand(b, dt)
        if alpha != 1:
            y = y * dt.np.type(alpha)
        with np.errstate(all="ignore"):
            r = ufunc(x, y)
        r = np.asarray(r, dt.np)
        if r.shape != meta.shape:
            r = np.broadcast_to(r, meta.shape)
        if out is not None:
            np.copyto(out, r, casting="unsafe")
            return out
        return r if r.flags.owndata or r.base is None else np.array(r)
    return cpu


def _cuda_operand(x, dt: _dt.dtype, shape, like: Tensor):
    """(array, one): the operand as complex pairs of dtype dt laid out contiguous in `shape`, or (one) a single
    number for every element (Python numbers, 0-dim cpu tensors, one-element tensors broadcast)."""
    if not isinstance(x, Tensor) or (x.device is CPU and like.device is not CPU):
        v = x.item() if isinstance(x, Tensor) else x
        return CudaArray.from_numpy(np.array([v], dt.np)), True
    if x.dtype is not dt:
        x = complex_cast_op(x, dtype=dt)
    a = x._data
    if a.size_ == 1:
        return a, True
    if tuple(a.shape) == tuple(shape) and a.is_contiguous():
        return a, False
    return complex_clone_op(x.expand(shape))._data, False


def _binary_cuda(op):
    def cuda(meta, a, b, alpha=1, rounding_mode=None, out=None):
        dt = meta.dtype
        like = a if isinstance(a, Tensor) and a.device is not CPU else b
        if alpha != 1:
            b = b * alpha
        x, x_one = _cuda_operand(a, dt, meta.shape, like)
        y, y_one = _cuda_operand(b, dt, meta.shape, like)
        fresh = out is None or not out.is_contiguous()
        o = CudaArray.empty(meta.shape, dt.np) if fresh else out
        n = 1
        for s in meta.shape:
            n *= s
        if n:
            block = launch.ELEMENTWISE_BLOCK
            _binary_kernel[(launch.num_programs(n, block),)](pairs(x), pairs(y), pairs(o), n, A_ONE=x_one,
                                                             B_ONE=y_one, OP=op, BLOCK=block)
        if out is not None and fresh:
            _launch(_identity, [pairs(o)], like, tuple(meta.shape) + (2,), dt.to_real(), pairs(out))
            return out
        return o
    return cuda


def _conj(v):
    if isinstance(v, Tensor):
        return conj_physical_op(v) if v.dtype.kind == _dt.COMPLEX else v
    return v.conjugate()


def _operand_grads(ctx, ga, gb):
    """One gradient per Tensor operand (Python numbers get none), computed only where needed. (ctx.args holds a
    tensor operand the vjp does not save as its (shape, dtype, device): what is not a number was a tensor.)"""
    a, b = ctx.args
    need = ctx.needs_input_grad
    out, i = [], 0
    for x, g in ((a, ga), (b, gb)):
        if not isinstance(x, (bool, int, float, _PY_COMPLEX)):
            out.append(g() if i >= len(need) or need[i] else None)
            i += 1
    return out[0] if len(out) == 1 else tuple(out)


def _add_vjp(ctx, grad):
    alpha = ctx.kwargs.get("alpha", 1)
    return _operand_grads(ctx, lambda: grad, lambda: grad if alpha == 1 else grad * _conj(alpha))


def _sub_vjp(ctx, grad):
    alpha = ctx.kwargs.get("alpha", 1)
    return _operand_grads(ctx, lambda: grad, lambda: -grad if alpha == 1 else grad * (-_conj(alpha)))


def _mul_vjp(ctx, grad):
    a, b = ctx.inputs
    return _operand_grads(ctx, lambda: grad * _conj(b), lambda: grad * _conj(a))


def _div_vjp(ctx, grad):
    a, b = ctx.inputs
    # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2: the gradients are grad times their conjugates
    return _operand_grads(ctx, lambda: grad / _conj(b), lambda: -grad * _conj(a / b / b))


@_complex_samples
def _binary_samples(T, device, dtype):
    other = _dt.float64 if dtype is _dt.complex128 else _dt.float32
    rng = rng_for("complex-binary-real", dtype.name)
    for sa, sb in [((), ()), ((5,), ()), ((1,), (4,)), ((2 ** 6 + 17,), (2 ** 6 + 17,)), ((4, 1), (1, 5)),
                   ((2, 3, 4), (3, 1)), ((0, 3), (1, 3))]:
        yield Sample((T(sa), T(sb)), name=f"{sa}x{sb}")
    yield Sample((T((5, 6), noncontiguous=True), T((5, 6))), name="noncontig")
    yield Sample((T((3, 4)), 2.5 - 1j), name="complex scalar")
    yield Sample((T((3, 4)), 2), name="int scalar")
    yield Sample((T((3, 4)), make_tensor((3, 4), other, device, rng=rng)), name="real tensor")
    yield Sample((make_tensor((4, 1), other, device, rng=rng), T((1, 3))), name="real tensor first")
    yield Sample((T((2, 3)), T(())), name="0-dim other")


def _binary_ref(op):
    ufunc = _NP_BINARY[op]

    def ref(a, b, alpha=1, rounding_mode=None):
        with np.errstate(all="ignore"):
            return ufunc(np.asarray(a, np.complex128), np.asarray(b, np.complex128) * alpha)
    return ref


def _register_binary(op, vjp):
    name = _NAMES[op]
    return register(OpDef(
        name=f"complex_{name}", infer=_binary_infer(op), impl={"cpu": _binary_cpu(op), "cuda": _binary_cuda(op)},
        family=FAMILY, ref=_binary_ref(op), samples=_binary_samples, dtypes=COMPLEX, supports_out=True, vjp=vjp,
        save="none" if op in (_ADD, _SUB) else "inputs",
        extra={"torch": lambda torch, a, b, **kw: getattr(torch, name)(a, b, **kw)},
        doc=f"{name} with a complex operand (the registry's complex form of {name})"))


complex_add_op = _register_binary(_ADD, _add_vjp)
complex_sub_op = _register_binary(_SUB, _sub_vjp)
complex_mul_op = _register_binary(_MUL, _mul_vjp)
complex_div_op = _register_binary(_DIV, _div_vjp)


# ======================================================================================= sum and mean

def _reduce_infer(name):
    def infer(x, dim=None, keepdim=False, dtype=None):
        from .reduce import _dims, _plan
        out = x.dtype if dtype is None else _dt.as_dtype(dtype)
        if out.kind != _dt.COMPLEX:
            from .registry import _type_name
            raise RuntimeError(f"{name}(): the dtype of a complex input's result must be complex, got "
                               f"{_type_name(out)}")
        return _plan(x, _dims(x, dim), keepdim, out)
    return infer


def _reduce_cpu(ufunc_mean: bool):
    def cpu(meta, x, dim=None, keepdim=False, dtype=None, out=None):
        plan = meta.aux
        a = x._data.astype(meta.dtype.np, copy=False)
        with np.errstate(all="ignore"):
            r = (np.mean if ufunc_mean else np.sum)(a, axis=plan.dims, keepdims=plan.keepdim)
        r = np.asarray(r, meta.dtype.np)
        if out is not None:
            np.copyto(out, r)
            return out
        return r
    return cpu


def _reduce_cuda(real_op_name: str):
    def cuda(meta, x, dim=None, keepdim=False, dtype=None, out=None):
        from . import reduce
        plan = meta.aux
        if x.dtype is not meta.dtype:
            x = complex_cast_op(x, dtype=meta.dtype)
        p = _wrap(pairs(x._data), meta.dtype.to_real(), x)
        r = getattr(reduce, real_op_name)(p, dim=plan.dims, keepdim=plan.keepdim)._data
        res = type(r)(r.block, tuple(meta.shape), tuple(s // 2 for s in r.strides[:-1]), r.offset // 2,
                      meta.dtype.np)
        if out is not None:
            _launch(_identity, [pairs(res)], x, tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(out))
            return out
        return res
    return cuda


@_complex_samples
def _reduce_samples(T, device, dtype):
    x = T((3, 4, 5))
    yield Sample((x,), name="all", reduction_size=60)
    yield Sample((x, 1), name="dim=1", reduction_size=4)
    yield Sample((x, (0, 2), True), name="dims keepdim", reduction_size=15)
    yield Sample((T((5, 6), noncontiguous=True), -1), name="noncontig", reduction_size=6)
    yield Sample((T((2 ** 6 + 17,)),), name="(81,)", reduction_size=81)


def _sum_ref(x, dim=None, keepdim=False, dtype=None):
    return np.sum(x.astype(np.complex128), axis=dim, keepdims=keepdim)


def _mean_ref(x, dim=None, keepdim=False, dtype=None):
    return np.mean(x.astype(np.complex128), axis=dim, keepdims=keepdim)


def _register_reduce(name, mean):
    from .reduce import _mean_vjp, _sum_vjp
    return register(OpDef(
        name=f"complex_{name}", infer=_reduce_infer(name), impl={"cpu": _reduce_cpu(mean),
                                                               "cuda": _reduce_cuda(f"{name}_op")},
        family=FAMILY, ref=_mean_ref if mean else _sum_ref, samples=_reduce_samples, dtypes=COMPLEX,
        supports_out=True, vjp=_mean_vjp if mean else _sum_vjp, save="none",
        extra={"torch": lambda torch, x, *a, **kw: getattr(torch, name)(x, *a, **kw)},
        doc=f"{name} of a complex tensor (the registry's complex form of {name})"))


complex_sum_op = _register_reduce("sum", False)
complex_mean_op = _register_reduce("mean", True)


# ===================================================================================== clone, cast, full

def _clone_cuda(meta, x, out=None):
    a = x._data
    o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
    _launch(_identity, [pairs(a)], x, tuple(meta.shape) + (2,), meta.dtype.to_real(), pairs(o))
    return o


complex_clone_op = register(OpDef(
    name="complex_clone", infer=_complex_same_infer, impl={"cpu": _real_clone_cpu, "cuda": _clone_cuda},
    family=FAMILY, ref=lambda x: x, samples=_complex_samples(lambda T, device, dtype: _unary_shapes(T)), dtypes=COMPLEX,
    supports_out=True, vjp=lambda ctx, grad: grad, save="none", extra={"torch": lambda torch, x: torch.clone(x)},
    doc="clone of a complex tensor (the registry's complex form of clone)"))


_DISCARDS = "Casting complex values to real discards the imaginary part"


def _cast_infer(x, dtype):
    dtype = _dt.as_dtype(dtype)
    if x.dtype.kind == _dt.COMPLEX and dtype.kind != _dt.COMPLEX and dtype is not _dt.bool_:
        warnings.warn(_DISCARDS, UserWarning, stacklevel=4)
    return Meta(tuple(x._data.shape), dtype, x.device)


def _cast_cpu(meta, x, dtype, out=None):
    a = x._data
    if a.dtype.kind == "c" and meta.dtype.kind != _dt.COMPLEX and meta.dtype is not _dt.bool_:
        a = a.real
    with np.errstate(invalid="ignore"):
        r = a.astype(meta.dtype.np)
    if out is not None:
        np.copyto(out, r)
        return out
    return r


def _cast_cuda(meta, x, dtype, out=None):
    a, dt = x._data, meta.dtype
    o = CudaArray.empty(meta.shape, dt.np) if out is None else out
    shape = tuple(meta.shape)
    if x.dtype.kind == _dt.COMPLEX and dt.kind == _dt.COMPLEX:
        _launch(_identity, [pairs(a)], x, shape + (2,), dt.to_real(), pairs(o))
    elif x.dtype.kind == _dt.COMPLEX:
        src = [part(a, 0), part(a, 1)] if dt is _dt.bool_ else [part(a, 0)]
        fn = _nonzero_pair if dt is _dt.bool_ else _identity
        from .copy import _cast_compute
        compute = _cast_compute(x.dtype.to_real(), dt)
        ops = [_wrap(s, x.dtype.to_real(), x) for s in src]
        pw.launch_pointwise(fn, ops, shape, dt, compute, o)
    else:   # real -> complex: the values as real parts, zero imaginary parts
        from .copy import _cast_compute
        real = dt.to_real()
        pw.launch_pointwise(_identity, [x], shape, real, _cast_compute(x.dtype, real), part(o, 0))
        pw.launch_pointwise(_identity, [0.0], shape, real, real, part(o, 1))
    return o


def _cast_samples(device, dtype):
    rng = rng_for("complex-cast", dtype.name)
    for target in _dt.ALL + COMPLEX:
        if target.kind == _dt.COMPLEX or dtype.kind == _dt.COMPLEX:
            src = [make_tensor((2 ** 6 + 17,), dtype, device, rng=rng), make_tensor((3, 4), dtype, device, rng=rng,
                                                                                 noncontiguous=True)]
            for i, x in enumerate(src):
                yield Sample((x,), {"dtype": target}, name=f"{i}->{target.name}")


def _cast_ref(x, dtype):
    if x.dtype.kind == "c" and dtype.kind != _dt.COMPLEX and dtype is not _dt.bool_:
        x = x.real
    return x.astype(dtype.np).astype(np.complex128 if dtype.kind == _dt.COMPLEX else np.float64)


complex_cast_op = register(OpDef(
    name="complex_cast", infer=_cast_infer, impl={"cpu": _cast_cpu, "cuda": _cast_cuda}, family=FAMILY,
    ref=_cast_ref, samples=_cast_samples, dtypes=COMPLEX + (_dt.float32, _dt.float64, _dt.int64, _dt.bool_),
    supports_out=True, vjp=lambda ctx, grad: grad, save="none",
    extra={"torch": lambda torch, x, dtype: x.to(dtype), "ref_native_inputs": True},
    doc="a cast to or from a complex dtype (the registry's complex form of cast); complex -> real keeps the real "
        "parts (with PyTorch's warning), complex -> bool tests both parts"))


def _full_infer(*, size, fill_value, dtype, device):
    from ..device import as_device
    return Meta(tuple(size), _dt.as_dtype(dtype), as_device(device))


def _full_cpu(meta, *, size, fill_value, dtype, device):
    return np.full(meta.shape, fill_value, meta.dtype.np)


def _full_cuda(meta, *, size, fill_value, dtype, device):
    o = CudaArray.empty(meta.shape, meta.dtype.np)
    v = _PY_COMPLEX(fill_value)
    real = meta.dtype.to_real()
    pw.launch_pointwise(_identity, [v.real], meta.shape, real, real, part(o, 0))
    pw.launch_pointwise(_identity, [v.imag], meta.shape, real, real, part(o, 1))
    return o


def _full_samples(device, dtype):
    for size, v in [((), 3 - 1j), ((0,), 1), ((5,), 0.5), ((3, 4), 2j), ((2 ** 6 + 17,), -1)]:
        yield Sample((), {"size": size, "fill_value": v, "dtype": dtype, "device": device}, name=f"{size}")


complex_full_op = register(OpDef(
    name="complex_full", infer=_full_infer, impl={"cpu": _full_cpu, "cuda": _full_cuda}, family=FAMILY,
    ref=lambda *, size, fill_value, dtype, device: np.full(size, fill_value, np.complex128),
    samples=_full_samples, dtypes=COMPLEX, differentiable=False,
    extra={"torch": lambda torch, *, size, fill_value, dtype, device: torch.full(size, fill_value, dtype=dtype,
                                                                                 device=device)},
    doc="full with a complex dtype or fill value (the registry's complex form of full)"))


# ========================================================================================= cat and stack

def _joined_cuda(real_join, kept_of, dim_of):
    """cat/stack on cuda: the inputs (cast to the result's dtype) as their (re, im) pairs, joined by the real op
    along the same dim (the pair dim stays last), and the result's pairs seen as complex again."""
    def cuda(meta, tensors, dim=0, out=None):
        dt = meta.dtype
        ts = [tensors[i] for i in kept_of(meta, tensors)]
        if not ts:
            return CudaArray.empty(meta.shape, dt.np)
        ps = [_wrap(pairs((t if t.dtype is dt else complex_cast_op(t, dtype=dt))._data), dt.to_real(), t)
              for t in ts]
        r = real_join(ps, dim_of(meta))._data
        res = CudaArray(r.block, tuple(meta.shape), tuple(s // 2 for s in r.strides[:-1]), r.offset // 2, dt.np)
        if out is not None:
            _launch(_identity, [pairs(res)], ts[0], tuple(meta.shape) + (2,), dt.to_real(), pairs(out))
            return out
        return res
    return cuda


def _cat_ref(tensors, dim=0):
    kept = [np.asarray(t, np.complex128) for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    return np.concatenate(kept, axis=dim) if kept else np.zeros((0,), np.complex128)


def _stack_ref(tensors, dim=0):
    return np.stack([np.asarray(t, np.complex128) for t in tensors], axis=dim)


def _register_joins():
    from . import movement as mv
    cat = register(OpDef(
        name="complex_cat", infer=mv._cat_infer,
        impl={"cpu": mv._cat_cpu, "cuda": _joined_cuda(mv.cat_op, lambda meta, ts: meta.aux[1],
                                                       lambda meta: meta.aux[0])},
        family=FAMILY, ref=_cat_ref, samples=mv._cat_samples, dtypes=COMPLEX, supports_out=True, list_input=True,
        vjp=mv._cat_vjp, save="none", extra={"torch": mv.cat_op.extra["torch"]},
        doc="cat with a complex input (the registry's complex form of cat)"))
    stack = register(OpDef(
        name="complex_stack", infer=mv._stack_infer,
        impl={"cpu": mv._stack_cpu, "cuda": _joined_cuda(mv.stack_op, lambda meta, ts: range(len(ts)),
                                                         lambda meta: meta.aux)},
        family=FAMILY, ref=_stack_ref, samples=mv._stack_samples, dtypes=COMPLEX, supports_out=True,
        list_input=True, vjp=mv._stack_vjp, save="none", extra={"torch": mv.stack_op.extra["torch"]},
        doc="stack with a complex input (the registry's complex form of stack)"))
    return cat, stack


complex_cat_op, complex_stack_op = _register_joins()


# ==================================================================================================== exp

@triton.jit
def _exp_cos(x, y, z, p0, p1):
    return tl.exp(x) * tl.cos(y)


@triton.jit
def _exp_sin(x, y, z, p0, p1):
    return tl.exp(x) * tl.sin(y)


def _exp_cpu(meta, x, out=None):
    return np.exp(x._data, out=out)


def _exp_cuda(meta, x, out=None):
    a = x._data
    ins = [part(a, 0), part(a, 1)]
    return _two_parts(_exp_cos, _exp_sin, ins, ins, x, meta.shape, meta.dtype, out)


@_complex_samples
def _exp_samples(T, device, dtype):
    for s in _unary_shapes(T):
        yield s
    yield Sample((T((4, 5), low=-20.0, high=20.0),), name="wide")


complex_exp_op = register(OpDef(
    name="complex_exp", infer=_complex_same_infer, impl={"cpu": _exp_cpu, "cuda": _exp_cuda}, family=FAMILY,
    ref=np.exp, samples=_exp_samples, dtypes=COMPLEX, supports_out=True, save="output",
    vjp=lambda ctx, grad: grad * conj_physical_op(ctx.output), extra={"torch": lambda torch, x: torch.exp(x)},
    doc="exp of a complex tensor: e^re (cos im + i sin im) (the registry's complex form of exp)"))


# ==================================================================================== log, sqrt, reciprocal

@triton.jit
def _log_re(x, y, z, p0, p1):
    # log |x + iy|
    return tl.log(_binary_hypot(x, y, z, p0, p1))


@triton.jit
def _log_im(x, y, z, p0, p1):
    # arg(x + iy) = atan2(y, x)
    return _binary_atan2(y, x, z, p0, p1)


@triton.jit
def _sqrt_scale(x, y):
    # t = sqrt((|x| + |z|) / 2), the larger part of the principal root's magnitude (no cancellation)
    return tl.sqrt((tl.abs(x) + _binary_hypot(x, y, x, 0.0, 0.0)) * 0.5)


@triton.jit
def _sqrt_re(x, y, z, p0, p1):
    # x >= 0: t; x < 0: |y| / 2t (0 at the origin)
    t = _sqrt_scale(x, y)
    other = tl.where(t == 0, 0.0, tl.abs(y) / (2.0 * t))
    return tl.where(x >= 0, t, other)


@triton.jit
def _sqrt_im(x, y, z, p0, p1):
    # x >= 0: y / 2t; x < 0: t with y's sign
    t = _sqrt_scale(x, y)
    inner = tl.where(t == 0, 0.0, y / (2.0 * t))
    signed = tl.where(_binary_signbit(y), -t, t)
    return tl.where(x >= 0, inner, signed)


def _log_cpu(meta, x, out=None):
    with np.errstate(all="ignore"):
        return np.log(x._data, out=out)


def _sqrt_cpu(meta, x, out=None):
    return np.sqrt(x._data, out=out)


def _parts_cuda(re_fn, im_fn):
    """A complex elementwise op on cuda: its real and imaginary parts each one launch over the input's parts,
    computed in float64 (the atan2/hypot forms are binary.py's float64 ones)."""
    def cuda(meta, x, out=None):
        a = x._data
        o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
        real = meta.dtype.to_real()
        ins = [part(a, 0), part(a, 1)]
        _launch(re_fn, ins, x, meta.shape, real, part(o, 0), _dt.float64)
        _launch(im_fn, ins, x, meta.shape, real, part(o, 1), _dt.float64)
        return o
    return cuda


def _reciprocal_cpu(meta, x, out=None):
    with np.errstate(all="ignore"):
        return np.divide(meta.dtype.np.type(1), x._data, out=out)


def _reciprocal_cuda(meta, x, out=None):
    return complex_div_op(1, x)._data if out is None else _binary_cuda(_DIV)(meta, 1, x, out=out)


@_complex_samples
def _nonzero_samples(T, device, dtype):
    yield from _unary_shapes(T)
    yield Sample((_make_complex([1, -1, 1j, -1j, -4 + 0j, -4 - 0j, 3 - 4j, 1e-20 + 1e-20j], dtype, device),),
                 name="special")


complex_log_op = register(OpDef(
    name="complex_log", infer=_complex_same_infer, impl={"cpu": _log_cpu, "cuda": _parts_cuda(_log_re, _log_im)},
    family=FAMILY, ref=np.log, samples=_nonzero_samples, dtypes=COMPLEX, supports_out=True,
    vjp=lambda ctx, grad: grad / conj_physical_op(ctx.inputs[0]), extra={"torch": lambda torch, x: torch.log(x)},
    doc="log of a complex tensor: log|z| + i arg z (the registry's complex form of log)"))
complex_sqrt_op = register(OpDef(
    name="complex_sqrt", infer=_complex_same_infer, impl={"cpu": _sqrt_cpu, "cuda": _parts_cuda(_sqrt_re, _sqrt_im)},
    family=FAMILY, ref=np.sqrt, samples=_nonzero_samples, dtypes=COMPLEX, supports_out=True, save="output",
    vjp=lambda ctx, grad: grad / (2 * conj_physical_op(ctx.output)), extra={"torch": lambda torch, x: torch.sqrt(x)},
    doc="the principal square root of a complex tensor (the registry's complex form of sqrt)"))
complex_reciprocal_op = register(OpDef(
    name="complex_reciprocal", infer=_complex_same_infer, impl={"cpu": _reciprocal_cpu, "cuda": _reciprocal_cuda},
    family=FAMILY, ref=lambda x: 1 / x, samples=_nonzero_samples, dtypes=COMPLEX, supports_out=True, save="output",
    vjp=lambda ctx, grad: -grad * conj_physical_op(ctx.output * ctx.output),
    extra={"torch": lambda torch, x: torch.reciprocal(x)},
    doc="1 / z for a complex tensor (Smith's division; the registry's complex form of reciprocal)"))


# ================================================================================================ eq / ne

@triton.jit
def _equal(x, y, z, p0, p1):
    return x == y


@triton.jit
def _equal_and(x, y, z, p0, p1):
    return (x == y) & (z != 0)


@triton.jit
def _differ(x, y, z, p0, p1):
    return x != y


@triton.jit
def _differ_or(x, y, z, p0, p1):
    return (x != y) | (z != 0)


def _compare_infer(a, b):
    ts = [x for x in (a, b) if isinstance(x, Tensor)]
    dt = pw.result_dtype(a, b)
    shape = ts[0]._data.shape if len(ts) == 1 else broadcast_shapes(a._data.shape, b._data.shape)
    return Meta(tuple(shape), _dt.bool_, device_of(*ts), dt if dt.kind == _dt.COMPLEX else dt.to_complex())


def _compare_cpu(ufunc):
    def cpu(meta, a, b, out=None):
        cd = meta.aux
        r = np.broadcast_to(np.asarray(ufunc(_np_operand(a, cd), _np_operand(b, cd))), meta.shape)
        if out is not None:
            np.copyto(out, r, casting="unsafe")
            return out
        return np.array(r)
    return cpu


def _compare_cuda(first_fn, then_fn):
    """The real parts compared by first_fn, then the imaginary parts by then_fn, which folds in the first result
    (eq: both equal; ne: either differs)."""
    def cuda(meta, a, b, out=None):
        cd = meta.aux
        like = a if isinstance(a, Tensor) and a.device is not CPU else b
        x, _ = _cuda_operand(a, cd, meta.shape, like)
        y, _ = _cuda_operand(b, cd, meta.shape, like)
        x, y = _broadcast_one(x, meta.shape), _broadcast_one(y, meta.shape)
        first = _launch(first_fn, [part(x, 0), part(y, 0)], like, meta.shape, _dt.bool_, None)
        o = CudaArray.empty(meta.shape, np.dtype(np.bool_)) if out is None else out
        _launch(then_fn, [part(x, 1), part(y, 1), first], like, meta.shape, _dt.from_numpy_dtype(o.dtype), o)
        return o
    return cuda


def _broadcast_one(a: CudaArray, shape) -> CudaArray:
    """A one-number operand (from _cuda_operand) as a stride-0 view of `shape`; others as they are."""
    if tuple(a.shape) == tuple(shape):
        return a
    return CudaArray(a.block, tuple(shape), (0,) * len(shape), a.offset, a.dtype)


@_complex_samples
def _compare_samples(T, device, dtype):
    a = T((3, 4))
    b = T((3, 4))
    mixed = _make_complex(np.where(np.arange(12).reshape(3, 4) % 3 == 0, b._host(), a._host()), dtype, device)
    yield Sample((a, mixed), name="some equal")
    yield Sample((a, a[:1]), name="broadcast")
    yield Sample((a, 0), name="scalar")
    yield Sample((_make_complex([1 + 2j, 1 - 2j, 3], dtype, device), 1 + 2j), name="complex scalar")
    yield Sample((_make_complex([1.0, 2.0], dtype, device), _make_complex([1.0, 2.0 + 1e-3j], dtype, device)),
                 name="imag differs")


def _register_compare(name, equal):
    return register(OpDef(
        name=f"complex_{name}", infer=_compare_infer,
        impl={"cpu": _compare_cpu(np.equal if equal else np.not_equal),
              "cuda": _compare_cuda(_equal, _equal_and) if equal else _compare_cuda(_differ, _differ_or)},
        family=FAMILY, ref=(lambda a, b: np.equal(a, b)) if equal else (lambda a, b: np.not_equal(a, b)),
        samples=_compare_samples, dtypes=COMPLEX, supports_out=True, differentiable=False,
        extra={"torch": lambda torch, a, b: getattr(torch, name)(a, b)},
        doc=f"{name} with a complex operand: both parts compared (the registry's complex form of {name})"))


complex_eq_op = _register_compare("eq", True)
complex_ne_op = _register_compare("ne", False)


# ============================================================================================= matmuls

def _matmul_form_infer(real_op):
    """The real op's own checks and output shape (on storage-less stand-ins of the parts' dtype), for complex
    operands of one dtype (PyTorch's matmuls do not mix dtypes)."""
    name = real_op.name

    def infer(a, b):
        from .creation import empty
        from .registry import _type_name
        for i, t in enumerate((a, b)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}(): argument '{('input', 'other')[i]}' (position {i + 1}) must be Tensor, "
                                f"not {type(t).__name__}")
        if a.dtype is not b.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_type_name(a.dtype)} != "
                               f"{_type_name(b.dtype)}")
        real = a.dtype.to_real()
        stand_in = [empty(_span(t), dtype=real, device="meta").as_strided(tuple(t.shape), tuple(t.stride()))
                    for t in (a, b)]
        meta = real_op.infer(*stand_in)
        return Meta(meta.shape, a.dtype, device_of(a, b), meta.aux)
    return infer


def _span(t: Tensor) -> int:
    """Elements from t's first to its last (what a stand-in with t's shape and strides needs)."""
    if 0 in t.shape:
        return 0
    return 1 + sum((n - 1) * abs(st) for n, st in zip(t.shape, t.stride()))


def _matmul_form_cpu(meta, a, b, out=None):
    r = np.matmul(a._data, b._data)
    if out is not None:
        np.copyto(out, r)
        return out
    return np.asarray(r, meta.dtype.np)


def _matmul_form_cuda(real_op):
    """(ar + i ai)(br + i bi) = (ar br - ai bi) + i (ar bi + ai br): four real products of the parts (the real op
    on strided part views), combined into the complex result."""
    def cuda(meta, a, b, out=None):
        real = meta.dtype.to_real()
        ar, ai = (_wrap(part(a._data, k), real, a) for k in (0, 1))
        br, bi = (_wrap(part(b._data, k), real, b) for k in (0, 1))
        re = real_op(ar, br) - real_op(ai, bi)
        im = real_op(ar, bi) + real_op(ai, br)
        o = CudaArray.empty(meta.shape, meta.dtype.np) if out is None else out
        return _complex_cuda(meta, re, im, out=o)
    return cuda


class _Conjugated:
    """A vjp context whose inputs are the conjugates of another's: a matmul's complex gradients are its real rule
    with the operands conjugated (grad_a = grad @ b^H, grad_b = a^H @ grad)."""

    def __init__(self, ctx):
        self.inputs = tuple(conj_physical_op(t) for t in ctx.inputs)
        self.needs_input_grad = ctx.needs_input_grad


def _matmul_ref(a, b):
    return np.matmul(np.asarray(a, np.complex128), np.asarray(b, np.complex128))


def _register_matmul(real_op):
    real_vjp = real_op.vjp
    return register(OpDef(
        name=f"complex_{real_op.name}", infer=_matmul_form_infer(real_op),
        impl={"cpu": _matmul_form_cpu, "cuda": _matmul_form_cuda(real_op)}, family=FAMILY, ref=_matmul_ref,
        samples=real_op.samples, dtypes=COMPLEX, supports_out=True,
        vjp=lambda ctx, grad: real_vjp(_Conjugated(ctx), grad), extra={"torch": real_op.extra["torch"]},
        doc=f"{real_op.name} of complex matrices (the registry's complex form of {real_op.name})"))


def _register_matmuls():
    from . import matmul
    return tuple(_register_matmul(op) for op in (matmul.mm_op, matmul.bmm_op, matmul.matmul_op))


complex_mm_op, complex_bmm_op, complex_matmul_op = _register_matmuls()


# ================================================================================================== where

def _where_infer(condition, input, other):
    from .registry import _type_name
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not {type(condition).__name__}")
    if condition.dtype is not _dt.bool_:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_type_name(condition.dtype)}")
    for i, v in ((2, input), (3, other)):
        if not isinstance(v, (Tensor, bool, int, float, _PY_COMPLEX)):
            raise TypeError(f"where(): argument '{'input' if i == 2 else 'other'}' (position {i}) must be Tensor or "
                            f"Number, not {type(v).__name__}")
    tensors = [t for t in (condition, input, other) if isinstance(t, Tensor)]
    dt = pw.result_dtype(input, other) if isinstance(input, Tensor) or isinstance(other, Tensor) else \
        _dt.result_type(input, other)
    if dt.kind != _dt.COMPLEX:
        dt = dt.to_complex() if dt.kind == _dt.FLOAT else _dt.get_default_dtype().to_complex()
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return Meta(tuple(shape), dt, device_of(*tensors))


def _where_cpu(meta, condition, input, other, out=None):
    dt = meta.dtype
    r = np.broadcast_to(np.where(condition._data, _np_operand(input, dt), _np_operand(other, dt)), meta.shape)
    if out is not None:
        np.copyto(out, r)
        return out
    return np.array(r, dt.np)


def _where_cuda(meta, condition, input, other, out=None):
    # the real where over the operands' (re, im) pairs, the condition given a size-1 pair dim
    from .ternary import where_op
    dt = meta.dtype

    def pairs_of(v):
        if isinstance(v, Tensor) and v.device is not CPU:
            v = v if v.dtype is dt else complex_cast_op(v, dtype=dt)
            return _wrap(pairs(v._data), dt.to_real(), condition)
        value = v.item() if isinstance(v, Tensor) else v
        return _wrap(pairs(CudaArray.from_numpy(np.array(value, dt.np))), dt.to_real(), condition)
    cond = _wrap(condition._data, _dt.bool_, condition).unsqueeze(-1)
    r = where_op(cond, pairs_of(input), pairs_of(other))._data
    res = CudaArray(r.block, tuple(meta.shape), tuple(s // 2 for s in r.strides[:-1]), r.offset // 2, dt.np)
    if out is not None:
        _launch(_identity, [pairs(res)], condition, tuple(meta.shape) + (2,), dt.to_real(), pairs(out))
        return out
    return res


def _where_samples(device, dtype):
    rng = rng_for("complex-where", dtype.name)
    mask = make_tensor((3, 4), _dt.bool_, device, rng=rng)
    a = make_tensor((3, 4), dtype, device, rng=rng)
    b = make_tensor((4,), dtype, device, rng=rng)
    yield Sample((mask, a, b), name="broadcast")
    yield Sample((mask, a, 0.0), name="real scalar")
    yield Sample((mask, 1 - 2j, a), name="complex scalar")
    yield Sample((mask[:1], a, make_tensor((3, 1), _dt.float32, device, rng=rng)), name="real tensor")
    yield Sample((make_tensor((), _dt.bool_, device, rng=rng), a[0], b), name="0-dim condition")


def _where_vjp(ctx, grad):
    from .ternary import where_op
    c, x, y = ctx.inputs
    need = ctx.needs_input_grad
    out, i = [], 1
    for v, keep in ((x, True), (y, False)):
        if isinstance(v, Tensor):
            if i < len(need) and need[i]:
                out.append(where_op(c, grad, 0.0) if keep else where_op(c, 0.0, grad))
            else:
                out.append(None)
            i += 1
    return (None, *out)


complex_where_op = register(OpDef(
    name="complex_where", infer=_where_infer, impl={"cpu": _where_cpu, "cuda": _where_cuda}, family=FAMILY,
    ref=lambda c, x, y: np.where(np.asarray(c, bool), x, y), samples=_where_samples, dtypes=COMPLEX,
    supports_out=True, vjp=_where_vjp,
    extra={"torch": lambda torch, c, x, y: torch.where(c, x, y)},
    doc="where with a complex operand: the real where over the (re, im) pairs on cuda (the registry's complex "
        "form of where)"))


# ============================================================================== the registry's complex forms

def _install():
    from . import binary, copy, creation, matmul, movement, reduce, ternary, unary
    pairs_ = [(ternary.where_op, complex_where_op), (unary.log_op, complex_log_op), (unary.sqrt_op, complex_sqrt_op),
              (unary.reciprocal_op, complex_reciprocal_op), (matmul.mm_op, complex_mm_op),
              (matmul.bmm_op, complex_bmm_op), (matmul.matmul_op, complex_matmul_op),
              (movement.cat_op, complex_cat_op), (movement.stack_op, complex_stack_op),
              (unary.exp_op, complex_exp_op), (binary.eq_op, complex_eq_op), (binary.ne_op, complex_ne_op),
              (binary.add_op, complex_add_op), (binary.sub_op, complex_sub_op), (binary.mul_op, complex_mul_op),
              (binary.div_op, complex_div_op), (unary.neg_op, complex_neg_op), (unary.abs_op, complex_abs_op),
              (reduce.sum_op, complex_sum_op), (reduce.mean_op, complex_mean_op), (copy.clone_op, complex_clone_op),
              (copy.cast_op, complex_cast_op), (creation.full_op, complex_full_op)]
    for real, cplx in pairs_:
        real.complex_op = cplx


_install()


# ===================================================================================== public functions

def view_as_real(input: Tensor) -> Tensor:
    return view_as_real_op(input)


def view_as_complex(input: Tensor) -> Tensor:
    return view_as_complex_op(input)


def real(input: Tensor) -> Tensor:
    """The real parts of a complex tensor (a view); a real tensor itself."""
    return real_op(input) if input.dtype.kind == _dt.COMPLEX else input


def imag(input: Tensor) -> Tensor:
    if input.dtype.kind != _dt.COMPLEX:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return imag_op(input)


def conj_physical(input: Tensor, *, out=None) -> Tensor:
    """The complex conjugate as a new tensor; a real tensor's value."""
    if input.dtype.kind == _dt.COMPLEX:
        return conj_physical_op(input, out=out)
    return input if out is None else _write_out(out, input)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate. tritorch has no lazy conjugate bit: a complex tensor's conjugate is a new tensor
    (PyTorch's is a view of the same memory); a real tensor is its own conjugate."""
    return conj_physical_op(input) if input.dtype.kind == _dt.COMPLEX else input


def complex(real: Tensor, imag: Tensor, *, out=None) -> Tensor:  # noqa: A001 - torch.complex
    return complex_op(real, imag, out=out)


def polar(abs: Tensor, angle: Tensor, *, out=None) -> Tensor:  # noqa: A002 - torch.polar's argument names
    return polar_op(abs, angle, out=out)


def sgn(input: Tensor) -> Tensor:
    """z / |z| of a complex tensor, 0 where z is 0 (torch.sgn's complex case: ops/composite.py)."""
    return _sgn(input)


__all__ = ["view_as_real", "view_as_complex", "complex", "polar"]


def copy_into(dst: Tensor, src: Tensor) -> None:
    """copy_ on cuda where either side is complex: src (on dst's device, broadcast to dst's shape) cast to dst's
    dtype and written into dst's memory (through the (re, im) pair views for a complex dst)."""
    if src.dtype is not dst.dtype:
        src = complex_cast_op(src, dtype=dst.dtype)
    shape = tuple(dst._data.shape)
    if dst.dtype.kind != _dt.COMPLEX:
        pw.launch_pointwise(_identity, [src], shape, dst.dtype, dst.dtype, dst._data)
    else:
        _launch(_identity, [pairs(src._data)], dst, shape + (2,), dst.dtype.to_real(), pairs(dst._data))


# ========================================================================================== bench specs

_BENCH_SIZES = (1 << 16, 1 << 20)


def _bench_input(size, device, dtype, key="x", shape=None):
    return make_tensor(shape or (size,), dtype, device, rng=rng_for("complex-bench", key, size))


def _spec(make, moved: float, flops: float = 0.0, sizes=_BENCH_SIZES, flop_fn=None) -> BenchSpec:
    """A BenchSpec over flat sizes: `moved` elements of the bench dtype read + written per element of the input
    (a view moves none), `flops` per element."""
    return BenchSpec(sizes=sizes, make=make, bytes=lambda size, dtype: int(moved * size * dtype.itemsize),
                     flops=flop_fn or (lambda size: int(flops * size)))


def _unary(size, device, dtype):
    return (_bench_input(size, device, dtype),), {}


def _binary(size, device, dtype):
    return (_bench_input(size, device, dtype), _bench_input(size, device, dtype, "y")), {}


def _square(size, device, dtype, batch=None):
    n = max(1, int(round(size ** 0.5)))
    shape = (n, n) if batch is None else (batch, n // batch or 1, n)
    other = (n, n) if batch is None else (batch, n, n // batch or 1)
    return (_bench_input(size, device, dtype, "a", shape), _bench_input(size, device, dtype, "b", other)), {}


def _matmul_flops(size):
    n = max(1, int(round(size ** 0.5)))
    return 8 * n ** 3   # four real products of n x n matrices


_SPECS = {
    view_as_real_op: _spec(_unary, 0), real_op: _spec(_unary, 0), imag_op: _spec(_unary, 0),
    view_as_complex_op: _spec(lambda size, device, dtype: ((_bench_input(size, device, dtype, shape=(size // 2, 2)),),
                                                           {}), 0),
    complex_op: _spec(_binary, 4), polar_op: _spec(_binary, 4, 20),
    conj_physical_op: _spec(_unary, 2), complex_neg_op: _spec(_unary, 2, 2), complex_clone_op: _spec(_unary, 2),
    complex_abs_op: _spec(_unary, 1.5, 6), complex_angle_op: _spec(_unary, 1.5, 20),
    complex_exp_op: _spec(_unary, 2, 20), complex_log_op: _spec(_unary, 2, 30),
    complex_sqrt_op: _spec(_unary, 2, 20), complex_reciprocal_op: _spec(_unary, 2, 11),
    complex_add_op: _spec(_binary, 3, 2), complex_sub_op: _spec(_binary, 3, 2), complex_mul_op: _spec(_binary, 3, 6),
    complex_div_op: _spec(_binary, 3, 11), complex_eq_op: _spec(_binary, 2.125, 2),
    complex_ne_op: _spec(_binary, 2.125, 2), complex_sum_op: _spec(_unary, 1, 2), complex_mean_op: _spec(_unary, 1, 2),
    complex_cast_op: _spec(lambda size, device, dtype: ((_bench_input(size, device, dtype),),
                                                        {"dtype": _dt.complex128}), 3),
    complex_full_op: _spec(lambda size, device, dtype: ((), {"size": (size,), "fill_value": 1 - 2j, "dtype": dtype,
                                                             "device": device}), 1),
    complex_cat_op: _spec(lambda size, device, dtype: (([_bench_input(size, device, dtype),
                                                         _bench_input(size, device, dtype, "y")], 0), {}), 4),
    complex_stack_op: _spec(lambda size, device, dtype: (([_bench_input(size, device, dtype),
                                                           _bench_input(size, device, dtype, "y")], 0), {}), 4),
    complex_mm_op: _spec(_square, 3, sizes=(1 << 12, 1 << 16), flop_fn=_matmul_flops),
    complex_matmul_op: _spec(_square, 3, sizes=(1 << 12, 1 << 16), flop_fn=_matmul_flops),
    complex_where_op: _spec(lambda size, device, dtype: ((_bench_input(size, device, _dt.bool_),
                                                          _bench_input(size, device, dtype),
                                                          _bench_input(size, device, dtype, "y")), {}), 3.125),
    complex_bmm_op: _spec(lambda size, device, dtype: _square(size, device, dtype, batch=4), 3,
                          sizes=(1 << 12, 1 << 16), flop_fn=lambda size: _matmul_flops(size) // 4),
}
for _op, _bench_spec in _SPECS.items():
    _op.bench = _bench_spec
