"""Movement ops: views (view, reshape, permute, transpose, squeeze, expand, narrow, select, basic indexing, ...)
and the copies that move data (cat, stack, pad, flip, roll, repeat, tril/triu).

Views never copy: `infer` computes the result's shape, strides (in elements) and offset (in elements, from the
input's first element) and both impls build a view over the same memory (a NumPy view on cpu, a `CudaArray`
view on cuda), so cpu and cuda report the same strides and share storage the same way. They are registered with
`view=True`, so a view shares its base's version counter.

The copies run Triton kernels on cuda: cat/stack copy each input into its slice of the output with the strided
copy kernel (`pointwise.launch_pointwise` with `copy._identity`); flip, roll, repeat and pad go through one
gather kernel whose per-dim index map (flip, wrap, shift, reflect, clamp, circular) says where each output
element comes from; tril/triu have a masked-copy kernel. Both kernels tile by rows of the innermost dim when it
is long enough (the outer indices are then per-program scalars, so no element pays for index division) and use
int32 offsets unless a launch needs 64 bits.

On cpu the common views (permute, transpose, select, narrow, split, unbind, basic indexing without None, view)
are built by NumPy's own indexing/reshape when that gives PyTorch's geometry, and by `_np_view` otherwise.

Backward rules (the "backward rules" section) are written in this family's registered ops: a view's gradient is
the inverse view (permute, transpose, squeeze/unsqueeze, view), a zero pad (narrow, select), or a scatter-add
through the same view over a fresh contiguous gradient (`strided_scatter_add`: diagonal, basic indexing,
as_strided); the copies' gradients are the matching copies (cat -> narrow, stack -> select, flip, roll back,
constant pad -> the opposite pad, tril/triu) or `pad_backward` (reflect/replicate/circular pad), whose cuda
kernel is the gather kernel's adjoint (`_scatter_map_kernel`, atomic adds into fp32/fp64).
"""
from __future__ import annotations

import functools
import itertools
import operator
import types

import numpy as np
import triton
import triton.language as tl

from .. import _state
from .._numpy_kwargs import NA as _NA, numpy_names
from .. import dtypes as _dt
from ..device import CPU
from ..backends.cuda import CudaArray
from ..tensor import Tensor, _make, _seen_writes
from . import _bind, launch
from . import copy as _copy
from . import creation as _creation
from . import pointwise as pw
from .registry import (_FLAGS, _GRAD, BenchSpec, Meta, OpDef, Sample, _no_record, _type_name, broadcast_shapes,
                       register, wrap_dim)
from .samples import make_tensor, rng_for

FAMILY = "movement"

__all__ = ["reshape", "view_as", "reshape_as", "permute", "transpose", "swapaxes", "swapdims", "t", "adjoint",
           "squeeze", "unsqueeze", "expand", "expand_as", "broadcast_to", "broadcast_tensors", "flatten", "unflatten",
           "ravel", "narrow", "select", "unbind", "as_strided", "movedim", "moveaxis", "diagonal", "split",
           "tensor_split", "chunk", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack",
           "atleast_1d", "atleast_2d", "atleast_3d", "pad", "flip", "fliplr", "flipud", "roll", "tile", "tril",
           "triu", "basic_index", "is_basic_index"]


# =============================================================================================== geometry

def _sizes(args) -> tuple:
    """Sizes given as f(2, 3) or f((2, 3)) / f([2, 3]) / f(Size)."""
    if len(args) == 1 and args[0].__class__ is not int and not hasattr(args[0], "__index__"):
        args = tuple(args[0])
    for s in args:  # plain ints (nearly every call) need no conversion
        if s.__class__ is not int:
            return tuple(operator.index(s) for s in args)
    return args


def _strides(x: Tensor) -> tuple:
    """x's strides in elements (NumPy keeps bytes)."""
    d = x._data
    if d.__class__ is np.ndarray:
        return tuple(map(d.itemsize.__rfloordiv__, d.strides))
    return d.strides


def _contiguous_strides(shape) -> tuple:
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * max(shape[i + 1], 1)
    return tuple(strides)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def infer_size(shape, numel: int) -> tuple:
    """Resolve one -1 in `shape` for a tensor of `numel` elements (PyTorch's infer_size and its errors)."""
    infer_at = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if infer_at is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer_at = i
        elif s >= 0:
            known *= s
        else:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
    if numel == known or (infer_at is not None and known > 0 and numel % known == 0):
        if infer_at is None:
            return tuple(shape)
        if known == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                               "unspecified dimension size -1 can be any value and is ambiguous")
        out = list(shape)
        out[infer_at] = numel // known
        return tuple(out)
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def view_strides(old_shape, old_strides, new_shape):
    """Strides that let `new_shape` view memory laid out as (old_shape, old_strides), or None when impossible
    (PyTorch's computeStride: each run of old dims that is contiguous in memory may be re-split freely)."""
    if not old_shape:
        return (1,) * len(new_shape)
    numel = _numel(old_shape)
    if numel == 0:
        if tuple(old_shape) == tuple(new_shape):
            return tuple(old_strides)
        return _contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = old_strides[-1]
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        # a chunk ends where the next-outer old dim does not continue it in memory
        if tensor_d == 0 or (old_shape[tensor_d - 1] != 1
                             and old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = old_strides[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def _type_str(x: Tensor) -> str:
    prefix = _dt.PUBLIC_NAME[0] + (".cuda." if x.device.type == "cuda" else ".")
    return f"{prefix}{_type_name(x.dtype)}Tensor"


def _same_device(tensors):
    """The one device of `tensors`, with PyTorch's error when they differ (no 0-dim cpu exception here)."""
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device is not dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{dev} and {t.device}!")
    return dev


# ============================================================================================ storage views

def _np_root(a: np.ndarray) -> np.ndarray:
    """The array at the end of `a`'s base chain: it spans the whole storage."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    return root


def _np_view(a: np.ndarray, shape, strides, delta: int, dtype=None) -> np.ndarray:
    """A NumPy view of `a`'s memory with element `strides`, starting `delta` elements after a's first element.

    The view is built over the storage root, so its base chain (and Tensor.storage_offset) stays that of the
    storage; NumPy checks the view lies inside the storage."""
    dt = a.dtype if dtype is None else dtype
    isz = dt.itemsize
    byte_strides = tuple([s * isz for s in strides])
    if a.base is None:
        buf, start = a, delta * isz
    else:
        buf = _np_root(a)
        start = a.ctypes.data - buf.ctypes.data + delta * isz
    if 0 in shape:
        start = min(max(start, 0), buf.nbytes)
    try:
        return np.ndarray(shape, dt, buffer=buf, offset=start, strides=byte_strides)
    except ValueError:
        if buf.flags.c_contiguous or buf.flags.f_contiguous:
            raise
        return _np_view_unrooted(a, shape, byte_strides, delta * isz, dt)


class _Memory:
    """Exposes raw memory (kept alive by `owner`) through NumPy's array interface."""

    def __init__(self, owner, ptr, shape, strides, itemsize):
        self.owner = owner
        self.__array_interface__ = {"shape": tuple(shape), "strides": tuple(strides), "typestr": f"|u{itemsize}",
                                    "data": (ptr, False), "version": 3}


def _np_view_unrooted(a: np.ndarray, shape, byte_strides, start: int, dt) -> np.ndarray:
    # Memory NumPy cannot export as a buffer (e.g. a strided array from DLPack): address it directly.
    return np.asarray(_Memory(a, a.ctypes.data + start, shape, byte_strides, dt.itemsize)).view(dt)


def _view_cpu(meta, x, *args, **kwargs):
    strides, delta = meta.aux
    return _np_view(x._data, meta.shape, strides, delta)


def _native_cpu(native):
    """A cpu view impl that lets NumPy build the view (faster, same strides and offset as PyTorch) unless the
    result is empty (NumPy does not move the start of an empty slice): then the generic strided view."""
    def cpu(meta, x, *args, **kwargs):
        if 0 in meta.shape:
            return _view_cpu(meta, x)
        return native(x._data, *args, **kwargs)
    return cpu


def _view_cuda(meta, x, *args, **kwargs):
    strides, delta = meta.aux
    a = x._data
    return a.view_as(meta.shape, strides, a.offset + delta)


def _views_cpu(meta, x, *args, **kwargs):
    a = x._data
    return tuple(_np_view(a, shape, strides, delta) for shape, (strides, delta) in zip(meta.shape, meta.aux))


def _views_cuda(meta, x, *args, **kwargs):
    a = x._data
    return tuple(a.view_as(shape, strides, a.offset + delta) for shape, (strides, delta) in zip(meta.shape, meta.aux))


def _share_storage(x: Tensor, views) -> tuple:
    """Give each of several views x's version counter and base (the registry does this for single views)."""
    base = x if x._base is None else x._base
    for v in views:
        v._version = x._version
        v._base = base
        _seen_writes(v, base)
    return views


def _view_bench(make):
    return BenchSpec(sizes=(1 << 20,), make=make, bytes=lambda size, dtype: 0, flops=lambda size: 0)


def _bench_2d(size, device, dtype):
    n = max(int(size ** 0.5), 1)
    return make_tensor((n, n), dtype, device)


def _view_fast(native):
    """OpDef.fast for a cpu view op: NumPy builds the view (`native(array, *args)`) without infer, when that
    surely gives PyTorch's geometry; `native` returns None (or raises) where it might not, and the full path runs
    (which also raises PyTorch's errors). Empty results always take the full path (NumPy keeps the start of an
    empty slice where PyTorch moves it). Recorded under autograd like the full path."""
    op_box = [None]

    def fast(x, *args, **kw):
        if kw or x.__class__ is not Tensor or x.device is not CPU:
            return None
        try:
            r = native(x._data, *args)
        except (ValueError, IndexError, TypeError):
            return None
        if r is None or r.__class__ is not np.ndarray or r.size == 0:
            return None
        t = _make(r, x.dtype, CPU, x._version)
        t._base = root = x if x._base is None else x._base
        if root._extra is not None:
            _seen_writes(t, root)
        if x._requires_grad and (not _FLAGS.grad_off or _GRAD.enabled):
            _state.recorder(op_box[0], (x,) + args, {}, t, None)
        return t

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


def _standard_layout(a) -> bool:
    """C-contiguous, non-empty and without size-1 dims: NumPy's reshape then gives exactly PyTorch's strides."""
    return a.flags.c_contiguous and a.size and 1 not in a.shape


def _view_native(a, shape):
    if shape.__class__ is not tuple or not _standard_layout(a):
        return None
    for n in shape:
        if n.__class__ is not int or n < -1:  # NumPy takes any negative size as "infer"; PyTorch only -1
            return None
    return a.reshape(shape)


def _unsqueeze_native(a, dim):
    if dim.__class__ is not int or not _standard_layout(a):
        return None
    nd = a.ndim
    if dim < 0:
        dim += nd + 1
    if not 0 <= dim <= nd:
        return None
    return a.reshape(a.shape[:dim] + (1,) + a.shape[dim:])


def _squeeze_native(a, dim=None):
    if dim is None:
        return np.squeeze(a)
    if dim.__class__ is not int or not a.ndim:
        return None
    return np.squeeze(a, dim)  # raises where the dim is not 1 (PyTorch keeps it): the full path handles that


def _transpose_native(a, dim0, dim1):
    if dim0.__class__ is not int or dim1.__class__ is not int or not a.ndim:
        return None
    return a.swapaxes(dim0, dim1)


def _permute_fast_native(a, dims):
    if dims.__class__ is not tuple or len(dims) != a.ndim or not a.ndim:
        return None
    return a.transpose(dims)


def _basic_index_fast_native(a, idx):
    items = idx if idx.__class__ is tuple else (idx,)
    for i in items:
        c = i.__class__
        if c is slice:
            if not ((i.step is None or (i.step.__class__ is int and i.step > 0))
                    and (i.start is None or i.start.__class__ is int) and (i.stop is None or i.stop.__class__ is int)):
                return None  # PyTorch refuses negative steps; other bounds go through the full parse
        elif c is not int and i is not Ellipsis:
            return None  # None (new axes get another stride in NumPy), bools, tensors, lists
    return _basic_index_native(a, idx)


def _register_view(name, infer, ref, samples, torch_fn, bench_args, *, many=False, differentiable=True,
                   dtypes=_dt.ALL + _dt.COMPLEX_DTYPES, doc="", cpu=None, cuda=None, fast=None):
    """Register a view op: both impls build views from the (strides, offset) that `infer` put in Meta.aux
    (`cpu` may instead build the NumPy view with NumPy's own indexing where that gives the same geometry). Views
    are stride arithmetic, the same for every dtype: complex tensors included."""
    impl = {"cpu": _views_cpu, "cuda": _views_cuda} if many else {"cpu": _view_cpu, "cuda": _view_cuda}
    if cpu is not None:
        impl["cpu"] = cpu
    if cuda is not None:
        impl["cuda"] = cuda

    def make(size, device, dtype):
        x = _bench_2d(size, device, dtype)
        args, kwargs = bench_args(x)
        return (x,) + tuple(args), kwargs

    op = register(OpDef(name=name, infer=infer, impl=impl, family=FAMILY, ref=ref, samples=samples,
                        bench=_view_bench(make), view=True, n_outputs=2 if many else 1, dtypes=dtypes,
                        differentiable=differentiable, doc=doc, fast=None if fast is None else _view_fast(fast)))
    op.extra["torch"] = torch_fn
    return op


def _sampler(fn):
    """samples(device, dtype) from fn(T, device, dtype), where T(shape, noncontiguous=False) makes an input."""
    def samples(device, dtype):
        rng = rng_for(fn.__name__, dtype.name)

        def T(shape, noncontiguous=False):
            if shape == () and device != "cpu":
                # CudaArray.from_numpy turns 0-d arrays into shape (1,) (np.ascontiguousarray): view it as 0-d
                return view_op(make_tensor((1,), dtype, device, rng=rng), ())
            return make_tensor(shape, dtype, device, rng=rng, noncontiguous=noncontiguous)

        return fn(T, device, dtype)
    return samples


def _transposed(T, shape):
    """A (shape) tensor that is the transpose of a contiguous one (non-contiguous input for samples)."""
    return T(tuple(reversed(shape))).t() if len(shape) == 2 else T(shape)


# ==================================================================================================== view

_VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one dimension spans "
               "across two contiguous subspaces). Use .reshape(...) instead.")


_VIEW_CACHE: dict = {}


def _view_geometry(old_shape, old_strides, shape):
    """(shape, strides) of a view of (old_shape, old_strides) as `shape` (one -1 allowed); cached, since a
    program views the same shapes over and over. Raises PyTorch's errors."""
    key = (old_shape, old_strides, shape)
    r = _VIEW_CACHE.get(key)
    if r is None:
        new_shape = infer_size(shape, _numel(old_shape))
        strides = view_strides(old_shape, old_strides, new_shape)
        if strides is None:
            raise RuntimeError(_VIEW_ERROR)
        if len(_VIEW_CACHE) > 4096:
            _VIEW_CACHE.clear()
        r = _VIEW_CACHE[key] = (new_shape, strides)
    return r


def _view_infer(x, shape):
    shape, strides = _view_geometry(x._data.shape, _strides(x), tuple(shape))
    return Meta(shape, x.dtype, x.device, (strides, 0))


@_sampler
def _view_samples(T, device, dtype):
    yield Sample((T(()), (1,)), name="()->(1,)")
    yield Sample((T((1,)), ()), name="(1,)->()")
    yield Sample((T(()), (1, 1, -1)), name="()->(1,1,-1)")
    yield Sample((T((0,)), (0, 3)), name="empty")
    yield Sample((T((3, 0, 2)), (-1, 2, 3)), name="empty-infer")
    yield Sample((T((2 ** 6 + 17,)), (3, -1)), name="odd")
    yield Sample((T((2, 3, 4)), (4, -1)), name="3d")
    yield Sample((_transposed(T, (6, 5)), (3, 2, 5)), name="transposed-split")
    yield Sample((T((5, 6), noncontiguous=True), (5, 2, 3)), name="noncontig")
    yield Sample((T((3, 1)).expand(3, 4), (3, 2, 2)), name="expanded")
    yield Sample((T((4, 1, 3)).transpose(0, 1), (4, 3)), name="size1-dims")


def _view_op_cpu(meta, x, shape):
    # NumPy's no-copy reshape is the cheapest view; keep it when its strides are PyTorch's (size-1 dims may differ)
    a = x._data
    strides = meta.aux[0]
    if 0 not in meta.shape:
        try:
            r = a.reshape(meta.shape, copy=False)
        except (ValueError, TypeError):
            r = None
        if r is not None and r.strides == tuple(map(a.itemsize.__mul__, strides)):
            return r
    return _np_view(a, meta.shape, strides, 0)


view_op = _register_view(
    "view", _view_infer, lambda x, shape: x.reshape(shape), _view_samples,
    lambda torch, x, shape: x.reshape(shape), lambda x: (((-1,),), {}), cpu=_view_op_cpu, fast=_view_native,
    doc="x.view(*shape): the same memory seen with another shape; no copy, error when impossible")


def _view_dtype_infer(x, dtype):
    dtype = _dt.as_dtype(dtype)
    old, new = x.dtype.itemsize, dtype.itemsize
    shape, strides = tuple(x._data.shape), _strides(x)
    # Meta.aux: (strides, storage offset), both counted in elements of the new dtype
    offset = x.storage_offset()
    if old == new:
        return Meta(shape, dtype, x.device, (strides, offset))
    what = f"to view {_type_name(x.dtype)} as {_type_name(dtype)} (different element sizes)"
    if not shape:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if old > new:
        r = old // new
        return Meta(shape[:-1] + (shape[-1] * r,), dtype, x.device,
                    (tuple(s * r for s in strides[:-1]) + (1,), offset * r))
    r = new // old
    if shape[-1] % r:
        raise RuntimeError(f"self.size(-1) must be divisible by {r} {what}, but got {shape[-1]}")
    if offset % r:
        raise RuntimeError(f"self.storage_offset() must be divisible by {r} {what}, but got {offset}")
    for i, s in enumerate(strides[:-1]):
        if s % r:
            raise RuntimeError(f"self.stride({i}) must be divisible by {r} {what}, but got {s}")
    return Meta(shape[:-1] + (shape[-1] // r,), dtype, x.device,
                (tuple(s // r for s in strides[:-1]) + (1,), offset // r))


def _view_dtype_cpu(meta, x, dtype):
    strides, _ = meta.aux
    # same first byte as x: zero elements from x's start
    return _np_view(x._data, meta.shape, strides, 0, dtype=meta.dtype.np)


def _view_dtype_cuda(meta, x, dtype):
    strides, offset = meta.aux
    a = x._data
    return CudaArray(a.block, meta.shape, strides, offset, meta.dtype.np)


_SAME_SIZE = {1: (_dt.uint8, _dt.int8, _dt.bool_), 2: (_dt.int16, _dt.float16, _dt.bfloat16),
              4: (_dt.int32, _dt.float32), 8: (_dt.int64, _dt.float64)}


@_sampler
def _view_dtype_samples(T, device, dtype):
    same = [d for d in _SAME_SIZE[dtype.itemsize] if d is not _dt.bool_ or dtype.itemsize == 1]
    for target in same:
        if dtype is _dt.bool_ or target is not _dt.bool_:
            yield Sample((T((3, 5)), target), name=f"->{target.name}")
    yield Sample((T((5, 6), noncontiguous=True), same[0]), name="noncontig")
    yield Sample((T((3, 4))[1:, 2:], same[-1]), name="offset")
    if dtype.itemsize >= 2:
        yield Sample((T((2, 4)), _dt.uint8), name="->uint8 (smaller)")
    if dtype.itemsize <= 4:
        yield Sample((T((3, 8)), _dt.int64), name="->int64 (larger)")
        yield Sample((T((3, 16))[1:, 8:], _dt.int64), name="->int64 (larger, offset)")
    yield Sample((T(()), same[0]), name="0-dim")


def _view_dtype_ref(x, dtype):
    """NumPy's own reinterpretation of a C-ordered copy of x's values (x arrives in its own dtype, see
    ref_native_inputs below): the last dim's bytes regrouped, independent of the strides and offsets the impls
    compute; float results as float64, integer and bool results as they are (the tests compare those exactly)."""
    r = np.array(x, order="C").view(dtype.np)
    return r.astype(np.float64) if dtype.kind == _dt.FLOAT else r


view_dtype_op = register(OpDef(
    name="view_dtype", infer=_view_dtype_infer, impl={"cpu": _view_dtype_cpu, "cuda": _view_dtype_cuda},
    family=FAMILY, ref=_view_dtype_ref, samples=_view_dtype_samples, view=True, differentiable=False,
    bench=_view_bench(lambda size, device, dtype: ((_bench_2d(size, device, dtype), dtype), {})),
    doc="x.view(dtype): the same bytes read as another dtype"))
view_dtype_op.extra["torch"] = lambda torch, x, dtype: x.view(dtype)
# the reference reinterprets bits: it needs the inputs in their own dtype, not as float64 values
view_dtype_op.extra["ref_native_inputs"] = True


# ================================================================================== permute and transpose

def _permute_infer(x, dims):
    nd = x.ndim
    dims = tuple(dims)
    if len(dims) != nd:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to "
                           f"len(dims) = {len(dims)}")
    wrapped = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    shape, strides = x._data.shape, _strides(x)
    return Meta(tuple(shape[d] for d in wrapped), x.dtype, x.device, (tuple(strides[d] for d in wrapped), 0))


@_sampler
def _permute_samples(T, device, dtype):
    yield Sample((T(()), ()), name="()")
    yield Sample((T((1,)), (0,)), name="(1,)")
    yield Sample((T((3, 0, 2)), (2, 0, 1)), name="empty")
    yield Sample((T((2, 3, 5)), (2, 0, 1)), name="3d")
    yield Sample((T((2, 3, 5)), (-1, 0, -2)), name="negative")
    yield Sample((T((5, 6), noncontiguous=True), (1, 0)), name="noncontig")
    yield Sample((T((2, 1, 3, 2)), (3, 1, 0, 2)), name="4d")


def _permute_native(a, dims):
    nd = a.ndim
    return a.transpose([d % nd for d in dims]) if nd else a.view()


permute_op = _register_view("permute", _permute_infer, lambda x, dims: np.transpose(x, dims), _permute_samples,
                            lambda torch, x, dims: x.permute(dims), lambda x: (((1, 0),), {}),
                            cpu=_native_cpu(_permute_native), fast=_permute_fast_native,
                            doc="permute(x, dims): reorder the dims (a view)")


def _transpose_infer(x, dim0, dim1):
    shape, strides = list(x._data.shape), list(_strides(x))
    nd = len(shape)
    d0 = dim0 if 0 <= dim0 < nd else wrap_dim(dim0, nd)
    d1 = dim1 if 0 <= dim1 < nd else wrap_dim(dim1, nd)
    if nd:
        shape[d0], shape[d1] = shape[d1], shape[d0]
        strides[d0], strides[d1] = strides[d1], strides[d0]
    return Meta(tuple(shape), x.dtype, x.device, (tuple(strides), 0))


@_sampler
def _transpose_samples(T, device, dtype):
    yield Sample((T(()), 0, -1), name="()")
    yield Sample((T((1,)), 0, 0), name="(1,)")
    yield Sample((T((0, 3)), 0, 1), name="empty")
    yield Sample((T((2 ** 6 + 17, 3)), 1, 0), name="odd")
    yield Sample((T((2, 3, 5)), -1, 0), name="3d")
    yield Sample((T((5, 6), noncontiguous=True), 0, 1), name="noncontig")


transpose_op = _register_view("transpose", _transpose_infer,
                              lambda x, d0, d1: np.swapaxes(x, d0, d1) if x.ndim else x,
                              _transpose_samples, lambda torch, x, d0, d1: x.transpose(d0, d1),
                              lambda x: ((0, 1), {}),
                              cpu=_native_cpu(lambda a, d0, d1: a.swapaxes(d0, d1) if a.ndim else a.view()),
                              fast=_transpose_native,
                              doc="transpose(x, dim0, dim1): swap two dims (a view)")


# ==================================================================================== squeeze / unsqueeze

def _squeeze_infer(x, dim=None):
    nd = x.ndim
    shape, strides = x._data.shape, _strides(x)
    if dim is None:
        drop = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        wrapped = [wrap_dim(d, nd) for d in dims]
        seen = set()
        for d in wrapped:
            if d in seen:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
            seen.add(d)
        drop = {d for d in wrapped if nd and shape[d] == 1}
    keep = [i for i in range(nd) if i not in drop]
    return Meta(tuple(shape[i] for i in keep), x.dtype, x.device, (tuple(strides[i] for i in keep), 0))


def _squeeze_ref(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if x.ndim == 0:
        return x
    return np.squeeze(x, axis=tuple(d for d in dims if x.shape[d] == 1))


@_sampler
def _squeeze_samples(T, device, dtype):
    yield Sample((T(()),), name="()")
    yield Sample((T(()), 0), name="()-dim0")
    yield Sample((T((1,)),), name="(1,)")
    yield Sample((T((1, 0, 1)),), name="empty")
    yield Sample((T((1, 3, 1, 2)), 2), name="dim")
    yield Sample((T((1, 3, 1, 2)), 1), name="dim-not-1")
    yield Sample((T((1, 3, 1, 2)), (0, -2)), name="tuple")
    yield Sample((T((2 ** 6 + 17, 1)),), name="odd")
    yield Sample((T((1, 6), noncontiguous=True),), name="noncontig")


squeeze_op = _register_view("squeeze", _squeeze_infer, _squeeze_ref, _squeeze_samples,
                            lambda torch, x, dim=None: x.squeeze() if dim is None else x.squeeze(dim),
                            lambda x: ((), {}), fast=_squeeze_native,
                            doc="squeeze(x, dim=None): drop size-1 dims (a view)")


def _unsqueeze_infer(x, dim):
    nd = x.ndim
    d = wrap_dim(dim, nd + 1)
    shape, strides = list(x._data.shape), list(_strides(x))
    # PyTorch's stride for the new dim: the extent of the dim it is inserted before (1 at the end)
    strides.insert(d, shape[d] * strides[d] if d < nd else 1)
    shape.insert(d, 1)
    return Meta(tuple(shape), x.dtype, x.device, (tuple(strides), 0))


@_sampler
def _unsqueeze_samples(T, device, dtype):
    yield Sample((T(()), 0), name="()")
    yield Sample((T(()), -1), name="()-neg")
    yield Sample((T((1,)), 1), name="(1,)")
    yield Sample((T((0, 3)), 1), name="empty")
    yield Sample((T((2 ** 6 + 17,)), 0), name="odd")
    yield Sample((T((2, 3, 5)), -1), name="last")
    yield Sample((T((5, 6), noncontiguous=True), 1), name="noncontig")


unsqueeze_op = _register_view("unsqueeze", _unsqueeze_infer, lambda x, dim: np.expand_dims(x, dim),
                              _unsqueeze_samples, lambda torch, x, dim: x.unsqueeze(dim), lambda x: ((1,), {}),
                              fast=_unsqueeze_native,
                              doc="unsqueeze(x, dim): insert a size-1 dim (a view)")


# ================================================================================================= expand

def _expand_geometry(shape: tuple, strides: tuple, size: tuple, what) -> tuple:
    """(shape, strides) of `shape`/`strides` (in any unit) expanded to `size`: size-1 and new leading dims get
    stride 0, -1 keeps a size. Raises PyTorch's errors (`what()` names the input in them)."""
    nd, n = len(shape), len(size)
    if n < nd:
        raise RuntimeError(f"expand({what()}, size={list(size)}): the number of sizes "
                           f"provided ({n}) must be greater or equal to the number of dimensions in the tensor ({nd})")
    out_shape, out_strides = [0] * n, [0] * n
    for i in range(n - 1, -1, -1):
        d = i - (n - nd)
        target = size[i]
        if d >= 0:
            s, st = shape[d], strides[d]
            if target == -1:
                target = s
            if s != target:
                if s != 1 or target < 0:
                    raise RuntimeError(f"The expanded size of the tensor ({target}) must match the existing size "
                                       f"({s}) at non-singleton dimension {i}.  Target sizes: {list(size)}.  "
                                       f"Tensor sizes: {list(shape)}")
                st = 0
        else:
            if target < 0:
                raise RuntimeError(f"The expanded size of the tensor ({target}) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            st = 0
        out_shape[i], out_strides[i] = target, st
    return tuple(out_shape), tuple(out_strides)


def _expand_infer(x, size):
    shape, strides = _expand_geometry(x._data.shape, _strides(x), tuple(size),
                                      lambda: f"{_type_str(x)}{{{list(x._data.shape)}}}")
    return Meta(shape, x.dtype, x.device, (strides, 0))


_EXPAND_CACHE: dict = {}


def _expand_native(a, size):
    """expand's cpu view built directly (5.5 -> ~2 us a call: every sum's backward expands its gradient): the
    geometry in bytes, cached by (shape, strides, size) as view's; None (the full path, which raises PyTorch's
    errors) for anything but int sizes of a C-contiguous array, whose buffer the view can then be made over."""
    if size.__class__ is not tuple or not a.flags.c_contiguous:
        return None
    key = (a.shape, a.strides, size)
    g = _EXPAND_CACHE.get(key)
    if g is None:
        for n in size:
            if n.__class__ is not int:
                return None
        try:
            g = _expand_geometry(a.shape, a.strides, size, str)
        except RuntimeError:
            return None
        if len(_EXPAND_CACHE) > 4096:
            _EXPAND_CACHE.clear()
        _EXPAND_CACHE[key] = g
    return np.ndarray(g[0], a.dtype, buffer=a, strides=g[1])


def _expand_ref(x, size):
    size = tuple(x.shape[i - (len(size) - x.ndim)] if s == -1 else s for i, s in enumerate(size))
    return np.broadcast_to(x, size)


@_sampler
def _expand_samples(T, device, dtype):
    yield Sample((T(()), ()), name="()")
    yield Sample((T(()), (3, 2)), name="()->(3,2)")
    yield Sample((T((1,)), (5,)), name="(1,)")
    yield Sample((T((1,)), (0,)), name="empty")
    yield Sample((T((3, 1)), (2, -1, 2 ** 6 + 17)), name="odd")
    yield Sample((T((2, 1, 3)), (2, 4, 3)), name="middle")
    yield Sample((T((1, 6), noncontiguous=True), (4, 6)), name="noncontig")


expand_op = _register_view("expand", _expand_infer, _expand_ref, _expand_samples,
                           lambda torch, x, size: x.expand(size), lambda x: ((x.shape,), {}), fast=_expand_native,
                           doc="expand(x, size): broadcast size-1 dims with stride 0 (-1 keeps a size)")


# ============================================================================ narrow / select / diagonal

def _narrow_infer(x, dim, start, length):
    nd = x.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    start, length = operator.index(start), operator.index(length)
    n = x._data.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    strides = _strides(x)
    shape = list(x._data.shape)
    shape[d] = length
    return Meta(tuple(shape), x.dtype, x.device, (strides, start * strides[d]))


def _narrow_ref(x, dim, start, length):
    d = dim % x.ndim
    start = start % x.shape[d] if start < 0 else start
    return x[(slice(None),) * d + (slice(start, start + length),)]


@_sampler
def _narrow_samples(T, device, dtype):
    yield Sample((T((1,)), 0, 0, 1), name="(1,)")
    yield Sample((T((5,)), 0, 5, 0), name="empty-at-end")
    yield Sample((T((3, 0)), 1, 0, 0), name="empty")
    yield Sample((T((2 ** 6 + 17,)), 0, 7, 40), name="odd")
    yield Sample((T((4, 7)), -1, -3, 2), name="negative")
    yield Sample((T((5, 6), noncontiguous=True), 1, 1, 4), name="noncontig")
    yield Sample((_transposed(T, (6, 5)), 0, 2, 3), name="transposed")


def _narrow_native(a, dim, start, length):
    start = operator.index(start)
    d = dim % a.ndim
    if start < 0:
        start += a.shape[d]
    return a[(slice(None),) * d + (slice(start, start + length),)]


narrow_op = _register_view("narrow", _narrow_infer, _narrow_ref, _narrow_samples,
                           lambda torch, x, dim, start, length: x.narrow(dim, start, length),
                           lambda x: ((0, 1, x.shape[0] - 2), {}), cpu=_native_cpu(_narrow_native),
                           doc="narrow(x, dim, start, length): a slice of one dim (a view)")


def _select_infer(x, dim, index):
    nd = x.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    index = operator.index(index)
    shape, strides = x._data.shape, _strides(x)
    n = shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {d}")
    if index < 0:
        index += n
    return Meta(shape[:d] + shape[d + 1:], x.dtype, x.device, (strides[:d] + strides[d + 1:], index * strides[d]))


@_sampler
def _select_samples(T, device, dtype):
    yield Sample((T((1,)), 0, 0), name="(1,)")
    yield Sample((T((3, 0)), 0, 2), name="empty")
    yield Sample((T((2 ** 6 + 17,)), 0, -1), name="odd")
    yield Sample((T((2, 3, 5)), 1, 2), name="3d")
    yield Sample((T((5, 6), noncontiguous=True), -1, 3), name="noncontig")
    yield Sample((_transposed(T, (6, 5)), 0, 4), name="transposed")


select_op = _register_view("select", _select_infer, lambda x, dim, index: np.take(x, index, axis=dim),
                           _select_samples, lambda torch, x, dim, index: x.select(dim, index),
                           lambda x: ((0, 1), {}),
                           cpu=_native_cpu(lambda a, dim, index: a[(slice(None),) * (dim % a.ndim)
                                                                    + (operator.index(index), Ellipsis)]), doc="select(x, dim, index): drop a dim at one index (a view)")


def _diagonal_infer(x, offset=0, dim1=0, dim2=1):
    nd = x.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    shape, strides = x._data.shape, _strides(x)
    if offset >= 0:
        n = max(min(shape[d1], shape[d2] - offset), 0)
        delta = offset * strides[d2]
    else:
        n = max(min(shape[d1] + offset, shape[d2]), 0)
        delta = -offset * strides[d1]
    if n == 0:
        delta = 0
    keep = [i for i in range(nd) if i not in (d1, d2)]
    return Meta(tuple(shape[i] for i in keep) + (n,), x.dtype, x.device,
                (tuple(strides[i] for i in keep) + (strides[d1] + strides[d2],), delta))


@_sampler
def _diagonal_samples(T, device, dtype):
    yield Sample((T((1, 1)),), name="(1,1)")
    yield Sample((T((0, 3)),), name="empty")
    yield Sample((T((3, 4)), 5), name="offset-past-end")
    yield Sample((T((4, 7)), 2), name="offset")
    yield Sample((T((4, 7)), -2), name="negative-offset")
    yield Sample((T((2, 3, 5)), 1, -1, 0), name="dims")
    yield Sample((T((5, 6), noncontiguous=True), 0, 1, 0), name="noncontig")


diagonal_op = _register_view(
    "diagonal", _diagonal_infer, lambda x, offset=0, dim1=0, dim2=1: np.diagonal(x, offset, dim1, dim2),
    _diagonal_samples, lambda torch, x, offset=0, dim1=0, dim2=1: x.diagonal(offset, dim1, dim2),
    lambda x: ((), {}), doc="diagonal(x, offset=0, dim1=0, dim2=1): the diagonal as the last dim (a view)")


# ============================================================================================== as_strided

def _storage_elements(x: Tensor) -> int:
    d = x._data
    if d.__class__ is np.ndarray:
        return _np_root(d).nbytes // d.dtype.itemsize
    return d.block.nbytes // d.dtype.itemsize


def _as_strided_infer(x, size, stride, storage_offset=None):
    size, stride = tuple(operator.index(s) for s in size), tuple(operator.index(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    own = x.storage_offset()
    offset = own if storage_offset is None else operator.index(storage_offset)
    isz = x.dtype.itemsize
    needed = 0 if 0 in size else (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * isz
    have = _storage_elements(x) * isz
    if needed > have:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {isz} requiring a storage size of {needed} are out of bounds for storage of "
                           f"size {have}")
    # Meta.aux: the view's (strides, offset from x's first element), and x's own geometry for the backward
    return Meta(size, x.dtype, x.device, (stride, offset - own, (tuple(x._data.shape), _strides(x), own)))


def _as_strided_cpu(meta, x, *args, **kwargs):
    return _np_view(x._data, meta.shape, meta.aux[0], meta.aux[1])


def _as_strided_cuda(meta, x, *args, **kwargs):
    a = x._data
    return a.view_as(meta.shape, meta.aux[0], a.offset + meta.aux[1])


def _as_strided_ref(x, size, stride, storage_offset=None):
    flat = np.ascontiguousarray(x).reshape(-1)[storage_offset or 0:]
    return np.lib.stride_tricks.as_strided(flat, tuple(size), tuple(s * flat.itemsize for s in stride))


@_sampler
def _as_strided_samples(T, device, dtype):
    yield Sample((T(()), (), ()), name="()")
    yield Sample((T((1,)), (1,), (1,)), name="(1,)")
    yield Sample((T((5,)), (0, 3), (1, 1)), name="empty")
    yield Sample((T((2 ** 6 + 17,)), (9, 4), (9, 1), 1), name="odd")
    yield Sample((T((4, 7)), (3, 3), (1, 1)), name="overlapping")
    yield Sample((T((4, 7)), (2, 3, 2), (0, 7, 2), 3), name="zero-stride")


as_strided_op = _register_view(
    "as_strided", _as_strided_infer, _as_strided_ref, _as_strided_samples,
    lambda torch, x, size, stride, storage_offset=None: x.as_strided(size, stride, storage_offset),
    lambda x: ((x.shape[::-1], x.stride()[::-1]), {}), cpu=_as_strided_cpu, cuda=_as_strided_cuda,
    doc="as_strided(x, size, stride, storage_offset=None): any view of x's storage (offset counts from the "
        "storage's start)")


# ========================================================================================== basic indexing

_INDEX_TYPES = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"


def is_basic_index(idx) -> bool:
    """True when `idx` uses only ints, slices, None and Ellipsis: the indexing that gives a view. (Bools,
    tensors and sequences are advanced indices: PyTorch copies.)"""
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if i is None or i is Ellipsis or i.__class__ is slice or (isinstance(i, (int, np.integer))
                                                                   and not isinstance(i, (bool, np.bool_))):
            continue
        return False
    return True


def _index_error_0dim(items):
    first = next(i for i in items if i is not None and i is not Ellipsis)
    if isinstance(first, slice):
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if not isinstance(first, Tensor):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                         "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")


def _int_index(k, n: int, d: int) -> int:
    if isinstance(k, Tensor) or isinstance(k, (bool, np.bool_)) or not hasattr(k, "__index__"):
        if isinstance(k, (bool, np.bool_)):
            raise IndexError("basic_index: a bool index is an advanced index (PyTorch copies); index with "
                             "tritorch.ops.indexing")
        raise IndexError(f"{_INDEX_TYPES} (got {type(k).__name__})")
    k = operator.index(k)
    if not -n <= k < n:
        raise IndexError(f"index {k} is out of bounds for dimension {d} with size {n}")
    return k + n if k < 0 else k


def _index_geometry(shape, strides, idx):
    """(shape, strides, element offset) of x[idx] for a basic index (PyTorch's rules and errors)."""
    nd = len(shape)
    if idx.__class__ is int and nd:
        # x[i]: the hot path
        return shape[1:], strides[1:], _int_index(idx, shape[0], 0) * strides[0]
    items = idx if isinstance(idx, tuple) else (idx,)
    consumed = len(items)
    ellipsis = False
    for i in items:
        if i is None:
            consumed -= 1
        elif i is Ellipsis:
            if ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            ellipsis = True
            consumed -= 1
    if consumed > nd:
        if nd == 0:
            _index_error_0dim(items)
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    out_shape, out_strides = [], []
    offset = 0
    d = 0
    for i in items:
        if i.__class__ is slice:
            n = shape[d]
            if i.step is not None and operator.index(i.step) < 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = i.indices(n)
            out_shape.append(max(0, (stop - start + step - 1) // step))
            out_strides.append(strides[d] * step)
            offset += start * strides[d]
            d += 1
        elif i is None:
            # a new size-1 dim, strided like unsqueeze before dim d
            out_shape.append(1)
            out_strides.append(shape[d] * strides[d] if d < nd else 1)
        elif i is Ellipsis:
            out_shape.extend(shape[d:d + nd - consumed])
            out_strides.extend(strides[d:d + nd - consumed])
            d += nd - consumed
        else:
            offset += _int_index(i, shape[d], d) * strides[d]
            d += 1
    out_shape.extend(shape[d:])
    out_strides.extend(strides[d:])
    return tuple(out_shape), tuple(out_strides), offset


def _basic_index_infer(x, idx):
    shape, strides, offset = _index_geometry(x._data.shape, _strides(x), idx)
    return Meta(shape, x.dtype, x.device, (strides, offset))


@_sampler
def _basic_index_samples(T, device, dtype):
    yield Sample((T(()), ()), name="()-empty-index")
    yield Sample((T(()), (None,)), name="()-None")
    yield Sample((T(()), (Ellipsis,)), name="()-...")
    yield Sample((T((1,)), (0,)), name="(1,)-int")
    yield Sample((T((5,)), (slice(7, None),)), name="empty-slice")
    yield Sample((T((3, 0)), (1,)), name="empty")
    yield Sample((T((2 ** 6 + 17,)), (slice(3, None, 5),)), name="odd-step")
    yield Sample((T((4, 7)), (-1, slice(None, None, 2))), name="negative-int-step")
    yield Sample((T((2, 3, 5)), (Ellipsis, 1)), name="ellipsis-int")
    yield Sample((T((2, 3, 5)), (None, 1, None, slice(1, 3), Ellipsis)), name="none-mix")
    yield Sample((T((2, 3, 5)), (slice(-100, 100), Ellipsis, None)), name="clamped-slice")
    yield Sample((T((5, 6), noncontiguous=True), (slice(1, 4), slice(None, None, 3))), name="noncontig")
    yield Sample((_transposed(T, (6, 5)), (slice(None), 2)), name="transposed")


def _basic_index_native(a, idx):
    if idx.__class__ is int:
        return a[idx, ...]
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if i is None:
            # NumPy gives new axes stride 0; PyTorch the unsqueeze stride
            return None
    # a trailing `...` keeps NumPy from returning a scalar when every dim is indexed
    return a[items + (Ellipsis,)] if Ellipsis not in items else a[items]


def _basic_index_cpu(meta, x, idx):
    if 0 not in meta.shape:
        r = _basic_index_native(x._data, idx)
        if r is not None:
            return r
    return _view_cpu(meta, x)


basic_index_op = _register_view("basic_index", _basic_index_infer, lambda x, idx: x[idx], _basic_index_samples,
                                lambda torch, x, idx: x[idx], lambda x: (((slice(1, None, 2), 3),), {}),
                                cpu=_basic_index_cpu, fast=_basic_index_fast_native,
                                doc="x[idx] for ints, slices (positive steps), None and Ellipsis (a view)")


def basic_index(x: Tensor, idx) -> Tensor:
    """x[idx] for a basic index (ints, slices with positive steps, None, Ellipsis): a view sharing x's storage."""
    return basic_index_op(x, idx)


# ========================================================================================== split / unbind

def _split_sizes(x, split_size_or_sections, d):
    n = x._data.shape[d]
    if isinstance(split_size_or_sections, int) or hasattr(split_size_or_sections, "__index__"):
        size = operator.index(split_size_or_sections)
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        count = max((n + size - 1) // size, 1) if size else 1
        return [size] * (count - 1) + [n - size * (count - 1)]
    sizes = [operator.index(s) for s in split_size_or_sections]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                           f"split_sizes={sizes}")
    if sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {d}), but got split_sizes={sizes}")
    return sizes


def _split_infer(x, split_size_or_sections, dim=0):
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, x.ndim)
    sizes = _split_sizes(x, split_size_or_sections, d)
    shape, strides = x._data.shape, _strides(x)
    shapes, aux = [], []
    start = 0
    for s in sizes:
        shapes.append(shape[:d] + (s,) + shape[d + 1:])
        aux.append((strides, start * strides[d]))
        start += s
    return Meta(tuple(shapes), (x.dtype,) * len(sizes), x.device, aux)


def _split_ref(x, split_size_or_sections, dim=0):
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        bounds = list(range(split_size_or_sections, n, split_size_or_sections)) if split_size_or_sections else []
    else:
        bounds = list(np.cumsum(split_size_or_sections)[:-1])
    return tuple(np.split(x, bounds, axis=dim))


@_sampler
def _split_samples(T, device, dtype):
    yield Sample((T((1,)), 1), name="(1,)")
    yield Sample((T((0, 2)), 0), name="empty-size0")
    yield Sample((T((0, 2)), 3), name="empty")
    yield Sample((T((2 ** 6 + 17,)), 10), name="odd")
    yield Sample((T((4, 7)), [2, 0, 5], 1), name="sizes")
    yield Sample((T((4, 7)), (1, 3), -2), name="tuple")
    yield Sample((T((5, 6), noncontiguous=True), 4, 1), name="noncontig")


def _split_cpu(meta, x, split_size_or_sections, dim=0):
    a = x._data
    d = dim % a.ndim
    lead = (slice(None),) * d
    pieces, start = [], 0
    for shape, (strides, delta) in zip(meta.shape, meta.aux):
        n = shape[d]
        pieces.append(_np_view(a, shape, strides, delta) if 0 in shape else a[lead + (slice(start, start + n),)])
        start += n
    return tuple(pieces)


split_op = _register_view("split", _split_infer, _split_ref, _split_samples,
                          lambda torch, x, s, dim=0: x.split(s, dim), lambda x: ((x.shape[0] // 4,), {}), many=True,
                          cpu=_split_cpu,
                          doc="split(x, split_size_or_sections, dim=0): a tuple of views along dim")


def _unbind_infer(x, dim=0):
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, x.ndim)
    shape, strides = x._data.shape, _strides(x)
    n = shape[d]
    out_shape, out_strides = shape[:d] + shape[d + 1:], strides[:d] + strides[d + 1:]
    return Meta((out_shape,) * n, (x.dtype,) * n, x.device, [(out_strides, i * strides[d]) for i in range(n)])


@_sampler
def _unbind_samples(T, device, dtype):
    yield Sample((T((1,)),), name="(1,)")
    yield Sample((T((0, 3)),), name="empty")
    yield Sample((T((3, 0)),), name="empty-rows")
    yield Sample((T((2 ** 4 + 1,)),), name="odd")
    yield Sample((T((2, 3, 5)), -1), name="last")
    yield Sample((T((5, 6), noncontiguous=True), 1), name="noncontig")


def _unbind_cpu(meta, x, dim=0):
    a = x._data
    lead = (slice(None),) * (dim % a.ndim)
    return tuple(_np_view(a, shape, strides, delta) if 0 in shape else a[lead + (i, Ellipsis)]
                 for i, (shape, (strides, delta)) in enumerate(zip(meta.shape, meta.aux)))


unbind_op = _register_view("unbind", _unbind_infer,
                           lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)), _unbind_samples,
                           lambda torch, x, dim=0: x.unbind(dim), lambda x: ((), {}), many=True, cpu=_unbind_cpu,
                           doc="unbind(x, dim=0): the slices along dim as a tuple of views")


# ============================================================================== view functions (composite)

def view(x: Tensor, *shape) -> Tensor:
    """x.view(*shape) (or x.view(dtype)): the same memory seen with another shape (or element dtype)."""
    if len(shape) == 1 and isinstance(shape[0], (_dt.dtype, str)):
        return view_dtype_op(x, _dt.as_dtype(shape[0]))
    return view_op(x, _sizes(shape))


def reshape(input: Tensor, shape) -> Tensor:
    """A view with `shape` when the strides allow one, else a contiguous copy reshaped."""
    shape = _sizes((shape,))
    if input.__class__ is Tensor and input._data.__class__ is np.ndarray and _standard_layout(input._data):
        r = view_op.fast(input, shape)  # the registry call's first step, without its call overhead
        return view_op(input, shape) if r is None else r  # a view always exists (a wrong size raises there)
    try:
        _view_geometry(input._data.shape, _strides(input), shape)
    except RuntimeError as e:
        if str(e) != _VIEW_ERROR:
            raise
        return view_op(_copy.clone_op(input), shape)
    return view_op(input, shape)


def keyword_sizes(name: str, given: tuple, kw: dict, *names: str) -> tuple:
    """The sizes (or dims) a method took as varargs, or as its one keyword (PyTorch's schema name: x.view(size=..),
    x.reshape(shape=..), x.permute(dims=..)); PyTorch's TypeErrors for both or for another keyword."""
    if not kw:
        return given
    (key, value), *rest = kw.items()
    if rest or key not in names:
        bad = next(k for k in kw if k not in names) if any(k not in names for k in kw) else list(kw)[1]
        raise TypeError(f"{name}() got an unexpected keyword argument '{bad}'")
    if given:
        raise TypeError(f"{name}() got multiple values for argument '{key}'")
    return (value,)


def _reshape_method(x: Tensor, *shape, **kw) -> Tensor:
    shape = keyword_sizes("reshape", shape, kw, "shape")
    return reshape(x, shape[0] if len(shape) == 1 else shape)  # reshape reads sizes in every accepted form


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view_op(input, tuple(other.shape))


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, tuple(other.shape))


def permute(input: Tensor, dims) -> Tensor:
    return permute_op(input, _sizes((dims,)))


def _permute_method(x: Tensor, *dims, **kw) -> Tensor:
    return permute_op(x, _sizes(keyword_sizes("permute", dims, kw, "dims")))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return transpose_op(input, dim0, dim1)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """torch.swapaxes: transpose under NumPy's names."""
    return transpose_op(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return transpose_op(input, dim0, dim1)


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of <= 2 dims (0-D and 1-D come back as views of themselves)."""
    nd = len(input._data.shape)
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return transpose_op(input, 0, 1) if nd == 2 else permute_op(input, tuple(range(nd)))


def _T(x: Tensor) -> Tensor:
    return permute_op(x, tuple(range(x.ndim - 1, -1, -1)))


def _conj(x: Tensor) -> Tensor:
    """x's complex conjugate (a real x itself): the H / mH / adjoint transposes conjugate, as PyTorch's."""
    if x.dtype.kind != _dt.COMPLEX:
        return x
    from .complex import conj
    return conj(x)


def _matrix_transpose(name: str, conjugate: bool = False):
    def prop(x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise RuntimeError(f"tensor.{name} is only supported on matrices or batches of matrices. Got "
                               f"{x.ndim}-D tensor.")
        t = transpose_op(x, -2, -1)
        return _conj(t) if conjugate else t
    return prop


_mT = _matrix_transpose("mT")
_mH = _matrix_transpose("mH", conjugate=True)


def _H(x: Tensor) -> Tensor:
    if x.ndim != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {x.ndim}-D tensor.")
    return _conj(transpose_op(x, 0, 1))


def adjoint(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    return _conj(transpose_op(input, -2, -1))


def squeeze(input: Tensor, dim=None, *, axis=_NA) -> Tensor:
    if axis is not _NA:   # (NumPy's name for dim, as PyTorch's parser takes it)
        dim = numpy_names("squeeze", dim, None, False, axis, _NA)[0]
    return squeeze_op(input) if dim is None else squeeze_op(input, dim if isinstance(dim, int) else tuple(dim))


def unsqueeze(input: Tensor, dim: int = _NA, *, axis=_NA) -> Tensor:
    if dim is _NA:   # (axis: NumPy's name for dim, as PyTorch's parser takes it)
        dim = numpy_names("unsqueeze", dim, _NA, False, axis, _NA)[0]
    return unsqueeze_op(input, dim)


def expand(input: Tensor, *sizes) -> Tensor:
    return expand_op(input, _sizes(sizes))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand_op(input, tuple(other.shape))


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand_op(input, _sizes((size,)))


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand_op(t, shape) for t in tensors)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one (a view when the strides allow it, like reshape)."""
    nd = input.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input._data.shape
    return reshape(input, shape[:s] + (_numel(shape[s:e + 1]),) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim into `sizes` (one -1 is inferred); always a view."""
    sizes = _sizes((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    d = wrap_dim(dim, input.ndim)
    shape = input._data.shape
    n = shape[d]
    if -1 in sizes:
        sizes = infer_size(sizes, n)
    elif _numel(sizes) != n:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({n}) in the input tensor")
    return view_op(input, shape[:d] + tuple(sizes) + shape[d + 1:])


def ravel(input: Tensor) -> Tensor:
    return reshape(input, (-1,))


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    return narrow_op(input, dim, start, length)


def select(input: Tensor, dim: int, index) -> Tensor:
    return select_op(input, dim, index)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    return _share_storage(input, unbind_op(input, dim))


def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    return as_strided_op(input, _sizes((size,)), _sizes((stride,)), storage_offset)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return diagonal_op(input, offset, dim1, dim2)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims `source` to positions `destination`; the others keep their order (a view)."""
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    nd = input.ndim
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
                           f"the same number of dims as destination ({list(dst)} dims)")
    src_w = [wrap_dim(d, nd) for d in src]
    dst_w = [wrap_dim(d, nd) for d in dst]
    if len(set(src_w)) != len(src_w):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(dst_w)) != len(dst_w):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    if nd == 0:
        return permute_op(input, ())
    order = [-1] * nd
    for s, d in zip(src_w, dst_w):
        order[d] = s
    rest = iter(i for i in range(nd) if i not in set(src_w))
    order = [o if o != -1 else next(rest) for o in order]
    return permute_op(input, tuple(order))


moveaxis = movedim


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along dim: each of size split_size (the last may be smaller), or of the
    listed sizes."""
    if not isinstance(split_size_or_sections, int):
        split_size_or_sections = list(split_size_or_sections)
    return _share_storage(tensor, split_op(tensor, split_size_or_sections, dim))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` views of equal size ceil(n / chunks) along dim (the last may be smaller)."""
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input.ndim)
    n = input._data.shape[d]
    size = (n + chunks - 1) // chunks
    if size == 0 and n == 0:
        return _share_storage(input, split_op(input, [0] * chunks, d))
    return _share_storage(input, split_op(input, size, d))


def tensor_split(input: Tensor, indices_or_sections=None, dim: int = 0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None) -> tuple:
    """Views split at the given indices, or into `sections` pieces whose sizes differ by at most one (given
    positionally, or under any of PyTorch's keyword names)."""
    given = [v for v in (indices_or_sections, sections, indices, tensor_indices_or_sections) if v is not None]
    if len(given) != 1:
        raise TypeError("tensor_split() takes one of indices_or_sections, sections, indices or "
                        "tensor_indices_or_sections")
    indices_or_sections = given[0]
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = wrap_dim(dim, input.ndim)
    n = input._data.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    else:
        bounds = [min(max(operator.index(i) + (n if operator.index(i) < 0 else 0), 0), n) for i in indices_or_sections]
        sizes, prev = [], 0
        for b in bounds:
            b = max(b, prev)
            sizes.append(b - prev)
            prev = b
        sizes.append(n - prev)
    return _share_storage(input, split_op(input, sizes, d))


def atleast_1d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(reshape(x, (1,)) if x.ndim == 0 else x for x in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def atleast_2d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)) if x.ndim < 2 else x for x in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def atleast_3d(*tensors):
    def lift(x):
        if x.ndim == 0:
            return reshape(x, (1, 1, 1))
        if x.ndim == 1:
            return reshape(x, (1, x.shape[0], 1))
        if x.ndim == 2:
            return unsqueeze_op(x, -1)
        return x
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(lift(x) for x in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def _in_place_view(fn):
    """x.squeeze_() and friends: x takes the view's geometry (same storage, same version counter)."""
    def method(x, *args, **kwargs):
        v = fn(x, *args, **kwargs)
        x._data = v._data
        return x
    method.__name__ = fn.__name__ + "_"
    return method


# ===================================================================================== gather kernel (cuda)

# Per-dim index maps of the gather kernel: where output index o along a dim reads from (n = input size there).
COPY = 0        # i = o
FLIP = 1        # i = n - 1 - o
WRAP = 2        # i = o % n                              (repeat)
SHIFT = 3       # i = o - p; outside [0, n) reads `fill`  (constant pad, p = pad before)
REFLECT = 4     # i = |o - p| mirrored at n - 1           (reflect pad: p < n)
CLAMP = 5       # i = clamp(o - p, 0, n - 1)              (replicate pad)
CIRCULAR = 6    # i = (o - p) mod n                       (circular pad of the cropped input; roll, p = shift)


@triton.jit
def _source_index(o, n, p, MAP: tl.constexpr):
    if MAP == 0:
        i = o
    elif MAP == 1:
        i = n - 1 - o
    elif MAP == 2:
        i = o % n
    elif MAP == 3:
        i = o - p
    elif MAP == 4:
        i = o - p
        i = tl.where(i < 0, -i, i)
        i = tl.where(i >= n, 2 * (n - 1) - i, i)
    elif MAP == 5:
        i = tl.minimum(tl.maximum(o - p, 0), n - 1)
    else:
        # `%` truncates on the GPU and floors in the interpreter: the where makes both a true modulo
        i = (o - p) % n
        i = tl.where(i < 0, i + n, i)
    return i


@triton.jit
def _gather_kernel(
    x_ptr,                          # input (any strides)
    out_ptr,                        # output (any strides)
    n_out,                          # number of output elements
    o1, o2, o3,                     # output sizes of dims 1..3 (dim 0 is implied by n_out)
    n0, n1, n2, n3,                 # input sizes per dim (the maps' n)
    p0, p1, p2, p3,                 # per-dim map parameter (pad before, roll shift)
    xs0, xs1, xs2, xs3,             # input strides in elements
    os0, os1, os2, os3,             # output strides in elements
    fill,                           # value for SHIFT positions outside the input (float64 as its int64 bits)
    M0: tl.constexpr, M1: tl.constexpr, M2: tl.constexpr, M3: tl.constexpr,  # per-dim index map (COPY, FLIP, ...)
    HAS_FILL: tl.constexpr,         # some map is SHIFT: positions outside the input get `fill`
    FILL_F64_BITS: tl.constexpr,    # fill travels as the int64 bits of a float64
    COMPUTE: tl.constexpr,          # type `fill` and loaded values meet in (fp32 for fp16/bf16)
    TILED: tl.constexpr,            # each program covers BLOCK elements of one row of dim 3 (dims 0..2 are
                                    # per-program scalars: no per-element division); else BLOCK flat elements
    INDEX64: tl.constexpr,          # offsets need 64-bit arithmetic
    BLOCK: tl.constexpr,            # elements per program
):
    # bytes: reads at most one input element per output element, writes every output element once
    pid = tl.program_id(0)
    if INDEX64:
        pid = pid.to(tl.int64)
    lanes = tl.arange(0, BLOCK)
    if TILED:
        blocks_per_row = tl.cdiv(o3, BLOCK)
        row = pid // blocks_per_row
        i3 = (pid % blocks_per_row) * BLOCK + lanes
        mask = i3 < o3
    else:
        offs = pid * BLOCK + lanes
        mask = offs < n_out
        i3 = offs % o3
        row = offs // o3
    i2 = row % o2
    row = row // o2
    i1 = row % o1
    i0 = row // o1
    j0 = _source_index(i0, n0, p0, M0)
    j1 = _source_index(i1, n1, p1, M1)
    j2 = _source_index(i2, n2, p2, M2)
    j3 = _source_index(i3, n3, p3, M3)
    # SHIFT maps read only inside the input (tl.where: j0..j2 may be per-program scalars)
    keep = mask
    if M0 == 3:
        keep = tl.where((j0 >= 0) & (j0 < n0), keep, False)
    if M1 == 3:
        keep = tl.where((j1 >= 0) & (j1 < n1), keep, False)
    if M2 == 3:
        keep = tl.where((j2 >= 0) & (j2 < n2), keep, False)
    if M3 == 3:
        keep = tl.where((j3 >= 0) & (j3 < n3), keep, False)
    v = tl.load(x_ptr + (j0 * xs0 + j1 * xs1 + j2 * xs2 + j3 * xs3), mask=keep, other=0)
    if HAS_FILL:
        if FILL_F64_BITS:
            f = fill.to(tl.int64).to(tl.float64, bitcast=True)
        else:
            f = tl.cast(fill, COMPUTE)
        v = tl.where(keep, v.to(COMPUTE), f)
    tl.store(out_ptr + (i0 * os0 + i1 * os1 + i2 * os2 + i3 * os3), v.to(out_ptr.dtype.element_ty), mask=mask)


# An innermost dim at least this long is tiled by rows (scalar outer indices); shorter ones go flat.
ROW_TILE_MIN = 64
_INT32_MAX = 2 ** 31 - 1


def _row_block(inner: int) -> int:
    """Block size for row tiles: as large as allowed, halved while the last block of a row is > 1/8 empty."""
    block = min(launch.ELEMENTWISE_BLOCK, launch.next_pow2(inner))
    while block > 128 and (-(-inner // block) * block - inner) * 8 > inner:
        block //= 2
    return block


def _launch_layout(n: int, inner: int) -> tuple:
    """(TILED, BLOCK, number of programs) for n elements whose innermost dim has `inner` elements."""
    if inner >= ROW_TILE_MIN:
        block = _row_block(inner)
        return True, block, (n // inner) * -(-inner // block)
    block = launch.ELEMENTWISE_BLOCK
    return False, block, launch.num_programs(n, block)


def _needs_int64(n: int, *arrays) -> bool:
    """True when some element offset of a launch may not fit in int32."""
    if n > _INT32_MAX:
        return True
    for shape, strides in arrays:
        if sum((s - 1) * abs(st) for s, st in zip(shape, strides) if s) > _INT32_MAX:
            return True
    return False


def _host_source(o: int, n: int, p: int, m: int) -> tuple[int, bool]:
    """The gather map on the host (for leading dims split off a launch of rank > 4): (index, inside)."""
    if m == COPY:
        return o, True
    if m == FLIP:
        return n - 1 - o, True
    if m == WRAP:
        return o % n, True
    i = o - p
    if m == SHIFT:
        return i, 0 <= i < n
    if m == REFLECT:
        i = -i if i < 0 else i
        return (2 * (n - 1) - i if i >= n else i), True
    if m == CLAMP:
        return min(max(i, 0), n - 1), True
    return i % n, True


@triton.jit
def _fill_value(x, y, z, p0, p1):
    return x


def _kernel_compute(dtype: _dt.dtype):
    return tl.uint8 if dtype is _dt.bool_ else pw.TL_COMPUTE[dtype]


def index_map_copy(src: CudaArray, out: CudaArray, maps, dtype: _dt.dtype, fill=0) -> CudaArray:
    """out[o] = src[source(o)] with one index map per output dim: maps[d] = (MAP, input size, parameter).

    Adjacent COPY dims that are contiguous in both arrays merge and size-1 COPY dims drop, so most calls launch
    one kernel of rank <= 4; leading dims beyond 4 are walked on the host (one launch each)."""
    if out.size_ == 0:
        return out
    dims = _map_dims(src.strides, out.shape, out.strides, maps)
    if len(dims) <= launch.MAX_RANK:
        _launch_gather(src, out, dims, dtype, fill)
        return out
    lead, tail = dims[:-launch.MAX_RANK], dims[-launch.MAX_RANK:]
    tail_shape, tail_ostrides = [d[0] for d in tail], [d[5] for d in tail]
    for idx in itertools.product(*[range(d[0]) for d in lead]):
        x_off = o_off = 0
        inside = True
        for o, (_, n_in, m, p, xs, os_) in zip(idx, lead):
            i, ok = _host_source(o, n_in, p, m)
            inside = inside and ok
            x_off += i * xs
            o_off += o * os_
        sub_out = out.view_as(tail_shape, tail_ostrides, out.offset + o_off)
        if inside:
            _launch_gather(src.view_as(src.shape, src.strides, src.offset + x_off), sub_out, tail, dtype, fill)
        else:
            pw.launch_pointwise(_fill_value, [fill], tuple(tail_shape), dtype, dtype, sub_out)
    return out


def _map_dims(in_strides, out_shape, out_strides, maps) -> list:
    """The launch dims [out size, in size, MAP, parameter, in stride, out stride] of an index-map copy: adjacent
    COPY dims contiguous in both arrays merge, size-1 COPY dims drop."""
    dims = []
    for d, (m, n_in, p) in enumerate(maps):
        size = out_shape[d]
        if m == COPY and size == 1:
            continue
        if dims and m == COPY and dims[-1][2] == COPY and dims[-1][4] == in_strides[d] * size \
                and dims[-1][5] == out_strides[d] * size:
            prev = dims[-1]
            prev[0] *= size
            prev[1] = prev[0]
            prev[4], prev[5] = in_strides[d], out_strides[d]
            continue
        dims.append([size, n_in, m, p, in_strides[d], out_strides[d]])
    return dims


def _launch_gather(src: CudaArray, out: CudaArray, dims, dtype: _dt.dtype, fill) -> None:
    dims = [[1, 1, COPY, 0, 0, 0]] * (launch.MAX_RANK - len(dims)) + dims
    n = _numel([d[0] for d in dims])
    if n == 0:
        return
    has_fill = any(d[2] == SHIFT for d in dims)
    compute = _kernel_compute(dtype)
    if dtype is _dt.float64 and has_fill:
        fill_arg, f64_bits = pw._scalar_arg(float(fill), _dt.float64)[0], True
    else:
        fill_arg, f64_bits = (float(fill) if dtype.kind == _dt.FLOAT else int(fill)), False
    tiled, block, programs = _launch_layout(n, dims[3][0])
    index64 = _needs_int64(n, ([d[1] for d in dims], [d[4] for d in dims]), ([d[0] for d in dims], [d[5] for d in dims]))
    _gather_kernel[(programs,)](
        pw.kernel_view(src), pw.kernel_view(out), n, dims[1][0], dims[2][0], dims[3][0],
        *[d[1] for d in dims], *[d[3] for d in dims], *[d[4] for d in dims], *[d[5] for d in dims], fill_arg,
        M0=dims[0][2], M1=dims[1][2], M2=dims[2][2], M3=dims[3][2], HAS_FILL=has_fill, FILL_F64_BITS=f64_bits,
        COMPUTE=compute, TILED=tiled, INDEX64=index64, BLOCK=block)


@triton.jit
def _scatter_map_kernel(
    src_ptr,                        # source (any strides): laid out like the output of the matching gather
    acc_ptr,                        # accumulator (any strides, fp32/fp64): laid out like the gather's input
    n_src,                          # number of source elements
    o1, o2, o3,                     # source sizes of dims 1..3 (dim 0 is implied by n_src)
    n0, n1, n2, n3,                 # accumulator sizes per dim (the maps' n)
    p0, p1, p2, p3,                 # per-dim map parameter (pad before, ...)
    as0, as1, as2, as3,             # accumulator strides in elements
    ss0, ss1, ss2, ss3,             # source strides in elements
    M0: tl.constexpr, M1: tl.constexpr, M2: tl.constexpr, M3: tl.constexpr,  # per-dim index map (COPY, ...)
    TILED: tl.constexpr,            # each program covers BLOCK elements of one row of dim 3; else BLOCK flat
    INDEX64: tl.constexpr,          # offsets need 64-bit arithmetic
    BLOCK: tl.constexpr,            # elements per program
):
    # bytes: reads every source element once, atomically adds each one that maps inside the accumulator
    # (the adjoint of _gather_kernel: acc[source(o)] += src[o]; SHIFT positions outside the input are dropped)
    pid = tl.program_id(0)
    if INDEX64:
        pid = pid.to(tl.int64)
    lanes = tl.arange(0, BLOCK)
    if TILED:
        blocks_per_row = tl.cdiv(o3, BLOCK)
        row = pid // blocks_per_row
        i3 = (pid % blocks_per_row) * BLOCK + lanes
        mask = i3 < o3
    else:
        offs = pid * BLOCK + lanes
        mask = offs < n_src
        i3 = offs % o3
        row = offs // o3
    i2 = row % o2
    row = row // o2
    i1 = row % o1
    i0 = row // o1
    j0 = _source_index(i0, n0, p0, M0)
    j1 = _source_index(i1, n1, p1, M1)
    j2 = _source_index(i2, n2, p2, M2)
    j3 = _source_index(i3, n3, p3, M3)
    keep = mask
    if M0 == 3:
        keep = tl.where((j0 >= 0) & (j0 < n0), keep, False)
    if M1 == 3:
        keep = tl.where((j1 >= 0) & (j1 < n1), keep, False)
    if M2 == 3:
        keep = tl.where((j2 >= 0) & (j2 < n2), keep, False)
    if M3 == 3:
        keep = tl.where((j3 >= 0) & (j3 < n3), keep, False)
    v = tl.load(src_ptr + (i0 * ss0 + i1 * ss1 + i2 * ss2 + i3 * ss3), mask=keep, other=0)
    tl.atomic_add(acc_ptr + (j0 * as0 + j1 * as1 + j2 * as2 + j3 * as3), v.to(acc_ptr.dtype.element_ty), mask=keep)


def index_map_scatter_add(acc: CudaArray, src: CudaArray, maps) -> CudaArray:
    """acc[source(o)] += src[o] for every position o of `src`: the adjoint of `index_map_copy` (acc is laid out
    like its input, src like its output; maps[d] = (MAP, acc size, parameter) per src dim). Atomic adds, so
    `acc` must be fp32/fp64 and sums over colliding positions run in an unspecified order."""
    if src.size_ == 0:
        return acc
    dims = _map_dims(acc.strides, src.shape, src.strides, maps)
    if len(dims) <= launch.MAX_RANK:
        _launch_scatter(acc, src, dims)
        return acc
    lead, tail = dims[:-launch.MAX_RANK], dims[-launch.MAX_RANK:]
    tail_shape, tail_sstrides = [d[0] for d in tail], [d[5] for d in tail]
    for idx in itertools.product(*[range(d[0]) for d in lead]):
        a_off = s_off = 0
        inside = True
        for o, (_, n_in, m, p, as_, ss) in zip(idx, lead):
            i, ok = _host_source(o, n_in, p, m)
            inside = inside and ok
            a_off += i * as_
            s_off += o * ss
        if inside:
            _launch_scatter(acc.view_as(acc.shape, acc.strides, acc.offset + a_off),
                            src.view_as(tail_shape, tail_sstrides, src.offset + s_off), tail)
    return acc


def _launch_scatter(acc: CudaArray, src: CudaArray, dims) -> None:
    dims = [[1, 1, COPY, 0, 0, 0]] * (launch.MAX_RANK - len(dims)) + dims
    n = _numel([d[0] for d in dims])
    if n == 0:
        return
    tiled, block, programs = _launch_layout(n, dims[3][0])
    index64 = _needs_int64(n, ([d[1] for d in dims], [d[4] for d in dims]),
                           ([d[0] for d in dims], [d[5] for d in dims]))
    _scatter_map_kernel[(programs,)](
        pw.kernel_view(src), acc, n, dims[1][0], dims[2][0], dims[3][0],
        *[d[1] for d in dims], *[d[3] for d in dims], *[d[4] for d in dims], *[d[5] for d in dims],
        M0=dims[0][2], M1=dims[1][2], M2=dims[2][2], M3=dims[3][2], TILED=tiled, INDEX64=index64, BLOCK=block)


# fp16/bf16 have no atomic add: they accumulate in an fp32 scratch array that is cast back
_SCRATCH = {_dt.float16: _dt.float32, _dt.bfloat16: _dt.float32}


def _zeros_cuda(shape, dtype: _dt.dtype) -> CudaArray:
    out = CudaArray.empty(tuple(shape), dtype.np)
    pw.launch_pointwise(_fill_value, [0.0 if dtype.kind == _dt.FLOAT else 0], tuple(shape), dtype, dtype, out)
    return out


def _accumulate_cuda(shape, dtype: _dt.dtype, dev, run) -> CudaArray:
    """A zeroed array of `shape`/`dtype` that run(acc) adds into atomically (through fp32 for fp16/bf16)."""
    acc_dt = _SCRATCH.get(dtype, dtype)
    acc = _zeros_cuda(shape, acc_dt)
    run(acc)
    if acc_dt is dtype:
        return acc
    out = CudaArray.empty(tuple(shape), dtype.np)
    _copy_into(out, _make(acc, acc_dt, dev), dtype)
    return out


def _gather_bench(sizes=(1 << 20, 1 << 24)):
    return dict(sizes=sizes, bytes=lambda size, dtype: 2 * size * dtype.itemsize, flops=lambda size: 0)


# ===================================================================================================== cat

def _tensor_list(tensors, name: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    return list(tensors)


def _promoted(tensors) -> _dt.dtype:
    return functools.reduce(_dt.promote_types, [t.dtype for t in tensors])


def _cat_infer(tensors, dim=0):
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    dev = _same_device(tensors)
    dtype = _promoted(tensors)
    # PyTorch's legacy rule: 1-D empty tensors are skipped (they still take part in dtype promotion)
    kept = [i for i, t in enumerate(tensors) if not (t.ndim == 1 and t._data.shape[0] == 0)]
    if not kept:
        return Meta((0,), dtype, dev, (0, ()))
    first = tensors[kept[0]]._data.shape
    nd = len(first)
    d = wrap_dim(dim, nd)
    total = 0
    for i in kept:
        shape = tensors[i]._data.shape
        if len(shape) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {len(shape)}")
        for j in range(nd):
            if j != d and shape[j] != first[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {first[j]} "
                                   f"but got size {shape[j]} for tensor number {i} in the list.")
        total += shape[d]
    return Meta(first[:d] + (total,) + first[d + 1:], dtype, dev, (d, tuple(kept)))


def _as_np(t: Tensor, dtype: _dt.dtype) -> np.ndarray:
    a = t._data
    return a if a.dtype == dtype.np else a.astype(dtype.np)


def _cat_cpu(meta, tensors, dim=0, out=None):
    d, kept = meta.aux
    arrays = [_as_np(tensors[i], meta.dtype) for i in kept]
    if out is not None:
        if arrays:
            np.concatenate(arrays, axis=d, out=out, casting="unsafe")
        return out
    return np.concatenate(arrays, axis=d) if arrays else np.empty((0,), meta.dtype.np)


def _slice_of(arr: CudaArray, d: int, start: int, length: int) -> CudaArray:
    shape = list(arr.shape)
    shape[d] = length
    return arr.view_as(shape, arr.strides, arr.offset + start * arr.strides[d])


def _copy_into(dst: CudaArray, t: Tensor, dtype: _dt.dtype) -> None:
    """The strided copy (with cast) of `t` into the view `dst`."""
    pw.launch_pointwise(_copy._identity, [t], tuple(dst.shape), dtype, _copy._cast_compute(t.dtype, dtype), dst)


def _cat_cuda(meta, tensors, dim=0, out=None):
    # one strided-copy launch per input, into its slice of the output
    d, kept = meta.aux
    if out is None:
        out = CudaArray.empty(meta.shape, meta.dtype.np)
    start = 0
    for i in kept:
        t = tensors[i]
        n = t._data.shape[d]
        if n:
            _copy_into(_slice_of(out, d, start, n), t, meta.dtype)
        start += n
    return out


def _cat_ref(tensors, dim=0):
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    if not kept:
        return np.zeros((0,))
    d = dim % kept[0].ndim
    shape = list(kept[0].shape)
    shape[d] = sum(t.shape[d] for t in kept)
    out = np.zeros(shape)
    start = 0
    for t in kept:
        index = [slice(None)] * len(shape)
        index[d] = slice(start, start + t.shape[d])
        out[tuple(index)] = t
        start += t.shape[d]
    return out


@_sampler
def _cat_samples(T, device, dtype):
    yield Sample(([T((1,))],), name="(1,)-single")
    yield Sample(([T((1,)), T((2,)), T((0,))],), name="1d-with-empty")
    yield Sample(([T((0,)), T((0,))],), name="all-empty")
    yield Sample(([T((2, 0)), T((2, 3))], 1), name="empty-dim")
    yield Sample(([T((2 ** 6 + 17,)), T((5,))],), name="odd")
    yield Sample(([T((2, 3)), T((4, 3)), T((0,))], 0), name="2d-skip-empty")
    yield Sample(([T((2, 3, 4)), T((2, 1, 4)), T((2, 2, 4))], -2), name="3d-middle")
    yield Sample(([T((5, 6), noncontiguous=True), _transposed(T, (5, 4))], 1), name="noncontig")
    yield Sample(([T((3, 1)).expand(3, 4), T((3, 2))], 1), name="broadcast-input")
    if dtype is not _dt.bool_:
        yield Sample(([T((2, 2)), make_tensor((1, 2), _dt.bool_, device)],), name="promote-bool")
    if dtype in (_dt.int32, _dt.float16, _dt.bfloat16):
        yield Sample(([T((2, 2)), make_tensor((1, 2), _dt.float32, device)],), name="promote-float32")


def _cat_fast_for():
    """OpDef.fast for cat: a list of cpu tensors of one dtype, at least 1-D and none a 1-D empty one (PyTorch's
    legacy skip), joined by np.concatenate (which refuses mismatched shapes: the full path then raises
    PyTorch's error). Recorded with the Meta.aux that cat's backward reads: (dim, indices of the joined inputs)."""
    op_box = [None]

    def fast(tensors, dim=0, **kw):
        if kw or tensors.__class__ is not list or not tensors or dim.__class__ is not int:
            return None
        dt = tensors[0].dtype if tensors[0].__class__ is Tensor else None
        arrays = []
        grad = False
        for t in tensors:
            if t.__class__ is not Tensor or t.device is not CPU or t.dtype is not dt:
                return None
            a = t._data
            if a.ndim == 0 or (a.ndim == 1 and a.shape[0] == 0):
                return None
            grad = grad or t._requires_grad
            arrays.append(a)
        nd = arrays[0].ndim
        if not -nd <= dim < nd:
            return None
        try:
            r = np.concatenate(arrays, axis=dim)
        except ValueError:
            return None
        out = _make(r, dt, CPU)
        if grad and (not _FLAGS.grad_off or _GRAD.enabled):
            meta = Meta(r.shape, dt, CPU, (dim % nd, tuple(range(len(arrays)))))
            _state.recorder(op_box[0], (tensors, dim), {}, out, meta)
        return out

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


cat_op = register(OpDef(
    name="cat", infer=_cat_infer, impl={"cpu": _cat_cpu, "cuda": _cat_cuda}, family=FAMILY, ref=_cat_ref,
    samples=_cat_samples, supports_out=True, list_input=True, fast=_cat_fast_for(),
    bench=BenchSpec(sizes=(1 << 20, 1 << 24), make=lambda size, device, dtype: (
        ([make_tensor((size // 1024, 512), dtype, device), make_tensor((size // 1024, 512), dtype, device)], 1), {}),
        bytes=lambda size, dtype: 2 * size * dtype.itemsize, flops=lambda size: 0),
    doc="cat(tensors, dim=0): join along an existing dim (dtype promoted across the inputs)"))
cat_op.extra["torch"] = lambda torch, tensors, dim=0: torch.cat(tensors, dim)


def cat(tensors, dim: int = 0, *, out=None, axis=_NA) -> Tensor:
    if axis is not _NA:   # (NumPy's name for dim, as PyTorch's parser takes it)
        dim = numpy_names("cat", dim, 0, False, axis, _NA)[0]
    return cat_op(_tensor_list(tensors, "cat"), dim, out=out)


concat = concatenate = cat


# =================================================================================================== stack

def _stack_infer(tensors, dim=0):
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                               f"{list(t._data.shape)} at entry {i}")
    dev = _same_device(tensors)
    d = wrap_dim(dim, len(shape) + 1)
    return Meta(shape[:d] + (len(tensors),) + shape[d:], _promoted(tensors), dev, d)


def _stack_cpu(meta, tensors, dim=0, out=None):
    arrays = [_as_np(t, meta.dtype) for t in tensors]
    if out is not None:
        np.stack(arrays, axis=meta.aux, out=out, casting="unsafe")
        return out
    return np.stack(arrays, axis=meta.aux)


def _stack_cuda(meta, tensors, dim=0, out=None):
    # one strided-copy launch per input, into its index of the new dim
    d = meta.aux
    if out is None:
        out = CudaArray.empty(meta.shape, meta.dtype.np)
    shape = out.shape[:d] + out.shape[d + 1:]
    strides = out.strides[:d] + out.strides[d + 1:]
    for i, t in enumerate(tensors):
        _copy_into(out.view_as(shape, strides, out.offset + i * out.strides[d]), t, meta.dtype)
    return out


def _stack_ref(tensors, dim=0):
    d = dim % (tensors[0].ndim + 1)
    out = np.zeros(tensors[0].shape[:d] + (len(tensors),) + tensors[0].shape[d:])
    for i, t in enumerate(tensors):
        out[(slice(None),) * d + (i,)] = t
    return out


@_sampler
def _stack_samples(T, device, dtype):
    yield Sample(([T(()), T(())],), name="()")
    yield Sample(([T((1,))], -1), name="(1,)")
    yield Sample(([T((0, 2)), T((0, 2))], 1), name="empty")
    yield Sample(([T((2 ** 6 + 17,)), T((2 ** 6 + 17,)), T((2 ** 6 + 17,))], 1), name="odd")
    yield Sample(([T((2, 3)), T((2, 3))], -1), name="last")
    yield Sample(([T((5, 6), noncontiguous=True), _transposed(T, (5, 6))], 1), name="noncontig")
    if dtype is not _dt.bool_:
        yield Sample(([T((2,)), make_tensor((2,), _dt.bool_, device)],), name="promote-bool")


def _stack_fast_for():
    """OpDef.fast for stack: a list of cpu tensors of one dtype and shape, joined by np.stack, without infer (a
    third of a small stack's time). Recorded with the Meta.aux stack's backward reads (the new dim). Anything else
    takes the full path, which promotes dtypes and raises PyTorch's errors."""
    op_box = [None]

    def fast(tensors, dim=0, **kw):
        if kw or tensors.__class__ is not list or not tensors or dim.__class__ is not int \
                or tensors[0].__class__ is not Tensor:
            return None
        dt, shape = tensors[0].dtype, tensors[0]._data.shape
        arrays = []
        grad = False
        for t in tensors:
            if t.__class__ is not Tensor or t.device is not CPU or t.dtype is not dt or t._data.shape != shape:
                return None
            grad = grad or t._requires_grad
            arrays.append(t._data)
        nd = len(shape) + 1
        if not -nd <= dim < nd:
            return None
        d = dim % nd
        unit = shape[:d] + (1,) + shape[d:]   # (np.stack's own expand_dims calls cost twice this)
        r = np.concatenate([a.reshape(unit) for a in arrays], axis=d)
        out = _make(r, dt, CPU)
        if grad and (not _FLAGS.grad_off or _GRAD.enabled):
            _state.recorder(op_box[0], (tensors, dim), {}, out, Meta(r.shape, dt, CPU, d))
        return out

    fast.bind = lambda op: op_box.__setitem__(0, op)
    return fast


stack_op = register(OpDef(
    name="stack", infer=_stack_infer, impl={"cpu": _stack_cpu, "cuda": _stack_cuda}, family=FAMILY, ref=_stack_ref,
    samples=_stack_samples, supports_out=True, list_input=True, fast=_stack_fast_for(),
    bench=BenchSpec(sizes=(1 << 20, 1 << 24), make=lambda size, device, dtype: (
        ([make_tensor((size // 2,), dtype, device), make_tensor((size // 2,), dtype, device)], 1), {}),
        bytes=lambda size, dtype: 2 * size * dtype.itemsize, flops=lambda size: 0),
    doc="stack(tensors, dim=0): join along a new dim"))
stack_op.extra["torch"] = lambda torch, tensors, dim=0: torch.stack(tensors, dim)


def stack(tensors, dim: int = 0, *, out=None, axis=_NA) -> Tensor:
    if axis is not _NA:   # (NumPy's name for dim, as PyTorch's parser takes it)
        dim = numpy_names("stack", dim, 0, False, axis, _NA)[0]
    return stack_op(_tensor_list(tensors, "stack"), dim, out=out)


def hstack(tensors, *, out=None) -> Tensor:
    ts = atleast_1d(tuple(_tensor_list(tensors, "hstack")))
    return cat(ts, 0 if ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None) -> Tensor:
    return cat(atleast_2d(tuple(_tensor_list(tensors, "vstack"))), 0, out=out)


def dstack(tensors, *, out=None) -> Tensor:
    return cat(atleast_3d(tuple(_tensor_list(tensors, "dstack"))), 2, out=out)


# ===================================================================================================== pad

_PAD_MODES = ("constant", "reflect", "replicate", "circular")
_PAD_SIZES_MSG = ("Supported combinations for non-constant padding:\n"
                  "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                  "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                  "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pad_fill(value, dtype: _dt.dtype):
    """The constant-pad value converted as PyTorch does (floats truncate toward zero for integer tensors)."""
    v = 0 if value is None else value
    if dtype is _dt.bool_:
        return bool(v)
    if dtype.kind == _dt.INT:
        return int(v)
    return float(v)


def _pad_check_mode(x, pad, mode, value):
    nd, k = x.ndim, len(pad) // 2
    shape = x._data.shape
    if value is not None:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n"
                                  f"{_PAD_SIZES_MSG}")
    if mode == "circular":
        for j in range(k):
            n, b, e = shape[nd - 1 - j], pad[2 * j], pad[2 * j + 1]
            kept = n - max(-b, 0) - max(-e, 0)
            # PyTorch wraps within the cropped input; with nothing left to wrap it reads garbage: refuse instead
            if b > n or e > n or (kept <= 0 < n + b + e):
                raise RuntimeError("Padding value causes wrapping around more than once.")
        return
    name = ("reflection" if mode == "reflect" else "replication") + f"_pad{k}d"
    if x.dtype is _dt.bool_:
        raise NotImplementedError(f'"{name}" not implemented for \'Bool\'')
    first = 1 if nd == k + 2 else 0
    if any(n == 0 for n in shape[first:]):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for input, but got: {list(shape)}")
    if mode == "reflect":
        for j in range(k):
            n = shape[nd - 1 - j]
            if pad[2 * j] >= n or pad[2 * j + 1] >= n:
                raise RuntimeError(f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding input "
                                   f"dimension, but got: padding ({pad[2 * j]}, {pad[2 * j + 1]}) at dimension "
                                   f"{nd - 1 - j} of input {list(shape)}")


def _pad_infer(x, pad, mode="constant", value=None):
    pad = tuple(operator.index(p) for p in pad)
    nd = x.ndim
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {nd}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        _pad_check_mode(x, pad, mode, value)
    shape = list(x._data.shape)
    before_after = [(0, 0)] * nd
    for j in range(len(pad) // 2):
        d = nd - 1 - j
        before_after[d] = (pad[2 * j], pad[2 * j + 1])
        shape[d] += pad[2 * j] + pad[2 * j + 1]
    for d, n in enumerate(shape):
        if n < 0:
            if mode == "constant":
                raise RuntimeError("narrow(): length must be non-negative.")
            if mode == "circular":
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            if len(pad) == 2:
                raise RuntimeError(f"input (W: {x._data.shape[-1]}) is too small. Calculated output W: {n}")
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {shape}")
    return Meta(tuple(shape), x.dtype, x.device, (tuple(before_after), _pad_fill(value, x.dtype)))


_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_cpu(meta, x, pad, mode="constant", value=None):
    before_after, fill = meta.aux
    a = x._data
    if mode == "constant":
        # fill, then copy the part of the input that survives (negative pads crop)
        out = np.full(meta.shape, fill, dtype=a.dtype)
        src, dst = [], []
        for (b, e), n in zip(before_after, a.shape):
            lo, hi = max(-b, 0), n - max(-e, 0)
            src.append(slice(lo, max(hi, lo)))
            dst.append(slice(max(b, 0), max(b, 0) + max(hi - lo, 0)))
        out[tuple(dst)] = a[tuple(src)]
        return out
    if mode == "circular":
        # circular wraps within the cropped input: crop first, then pad
        a = a[tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(before_after, a.shape))]
        return np.pad(a, [(max(b, 0), max(e, 0)) for b, e in before_after], mode="wrap")
    # reflect/replicate map relative to the original edges: pad the positive amounts, then crop the negative ones
    grown = np.pad(a, [(max(b, 0), max(e, 0)) for b, e in before_after], mode=_NP_PAD_MODE[mode])
    if all(b >= 0 and e >= 0 for b, e in before_after):
        return grown
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(before_after, grown.shape))
    return np.ascontiguousarray(grown[crop])


_PAD_MAP = {"constant": SHIFT, "reflect": REFLECT, "replicate": CLAMP, "circular": CIRCULAR}


def _pad_maps(a: CudaArray, before_after, mode: str):
    """(the input array as the gather reads it, per-dim index maps) of a pad."""
    m = _PAD_MAP[mode]
    if mode == "circular":
        # wrap within the cropped input: narrow the source, shift by the positive pad only
        offset = a.offset + sum(max(-b, 0) * st for (b, _), st in zip(before_after, a.strides))
        shape = tuple(n - max(-b, 0) - max(-e, 0) for (b, e), n in zip(before_after, a.shape))
        a = a.view_as(shape, a.strides, offset)
        return a, [(COPY, n, 0) if (b, e) == (0, 0) else (m, n, max(b, 0)) for (b, e), n in zip(before_after, shape)]
    return a, [(COPY, n, 0) if (b, e) == (0, 0) else (m, n, b) for (b, e), n in zip(before_after, a.shape)]


def _pad_cuda(meta, x, pad, mode="constant", value=None):
    before_after, fill = meta.aux
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    a, maps = _pad_maps(x._data, before_after, mode)
    return index_map_copy(a, out, maps, meta.dtype, fill)


def _pad_ref(x, pad, mode="constant", value=None):
    out = x
    for j in range(len(pad) // 2):
        axis = x.ndim - 1 - j
        b, e = pad[2 * j], pad[2 * j + 1]
        n = x.shape[axis]
        i = np.arange(n + b + e) - b
        if mode == "constant":
            inside = (i >= 0) & (i < n)
            taken = np.take(out, np.clip(i, 0, max(n - 1, 0)), axis=axis) if n else \
                np.zeros(out.shape[:axis] + (len(i),) + out.shape[axis + 1:])
            shape = [1] * out.ndim
            shape[axis] = len(i)
            out = np.where(inside.reshape(shape), taken, 0.0 if value is None else value)
            continue
        if mode == "reflect":
            i = np.abs(i)
            i = np.where(i >= n, 2 * (n - 1) - i, i)
        elif mode == "replicate":
            i = np.clip(i, 0, n - 1)
        else:
            lo, hi = max(-b, 0), n - max(-e, 0)
            i = lo + np.mod(np.arange(hi - lo + max(b, 0) + max(e, 0)) - max(b, 0), hi - lo)
        out = np.take(out, i, axis=axis)
    return out


@_sampler
def _pad_samples(T, device, dtype):
    yield Sample((T(()), ()), name="()-no-pad")
    yield Sample((T((1,)), (1, 2)), name="(1,)")
    yield Sample((T((0,)), (2, 1)), name="empty-input")
    yield Sample((T((2 ** 6 + 17,)), (3, 0)), name="odd")
    yield Sample((T((3, 5)), (-1, 2, 1, -2)), name="negative-crop")
    yield Sample((T((2, 3, 4)), (1, 1), "constant", 2), name="value")
    yield Sample((T((5, 6), noncontiguous=True), (2, 2, 1, 0)), name="noncontig")
    yield Sample((T((2, 1, 2, 1, 2, 3)), (1, 1, 0, 1, 1, 0)), name="6d")
    if dtype is not _dt.bool_:
        yield Sample((T((2, 5)), (2, 3), "reflect"), name="reflect-1d")
        yield Sample((T((1, 3, 5)), (-1, 3), "reflect"), name="reflect-crop")
        yield Sample((T((2, 3, 4)), (1, 2, 2, 1), "reflect"), name="reflect-2d")
        yield Sample((_transposed(T, (5, 6)), (1, 4), "replicate"), name="replicate-transposed")
        yield Sample((T((1, 2, 3, 2, 2)), (1, 1, 1, 1, 2, 0), "replicate"), name="replicate-3d")
        yield Sample((T((0, 3, 4)), (2, 2), "reflect"), name="reflect-empty-batch")
    yield Sample((T((2, 3, 4)), (2, 4, 3, 0), "circular"), name="circular-2d")
    yield Sample((T((2, 5)), (-2, 3), "circular"), name="circular-crop")
    yield Sample((T((1, 2, 5)), (-1, 2, 1, -1), "circular"), name="circular-crop-2d")
    if dtype is not _dt.float64:
        # Pads longer than the cropped input wrap it more than once. PyTorch's forward agrees, but its backward
        # does not (torch.autograd.gradcheck fails on it), so this case stays out of the float64 samples that
        # gradients are compared to PyTorch's on; tests/autograd/test_movement_grads.py gradchecks it.
        yield Sample((T((2, 5)), (-4, 4), "circular"), name="circular-wrap-cropped-twice")
    # six SHIFT dims: two leading dims run on the host, some of their positions are all padding
    yield Sample((T((2, 1, 2, 1, 2, 2)), (1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1)), name="6d-all-padded")


def _torch_pad(torch, x, pad, mode="constant", value=None):
    return torch.nn.functional.pad(x, pad, mode=mode, value=value)


pad_op = register(OpDef(
    name="pad", infer=_pad_infer, impl={"cpu": _pad_cpu, "cuda": _pad_cuda}, family=FAMILY, ref=_pad_ref,
    samples=_pad_samples,
    bench=BenchSpec(make=lambda size, device, dtype: ((_bench_2d(size, device, dtype), (1, 1, 1, 1)), {}),
                    **_gather_bench()),
    doc="pad(input, pad, mode='constant', value=None): torch.nn.functional.pad (constant, reflect, replicate, "
        "circular; pads listed from the last dim backwards; negative pads crop)"))
pad_op.extra["torch"] = _torch_pad


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    return pad_op(input, tuple(pad), mode, value)


# ==================================================================================================== flip

def _flip_infer(x, dims):
    nd = x.ndim
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    wrapped = []
    for d in dims:
        w = wrap_dim(d, nd)
        if w in wrapped:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        wrapped.append(w)
    return Meta(x._data.shape, x.dtype, x.device, tuple(wrapped) if nd else ())


def _flip_cpu(meta, x, dims):
    a = x._data
    return np.flip(a, meta.aux).copy() if meta.aux else a.copy()


def _flip_cuda(meta, x, dims):
    a = x._data
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    maps = [(FLIP if d in meta.aux else COPY, n, 0) for d, n in enumerate(a.shape)]
    return index_map_copy(a, out, maps, meta.dtype)


def _flip_ref(x, dims):
    if x.ndim == 0:
        return x
    index = [slice(None)] * x.ndim
    for d in ((dims,) if isinstance(dims, int) else dims):
        index[d] = slice(None, None, -1)
    return x[tuple(index)]


@_sampler
def _flip_samples(T, device, dtype):
    yield Sample((T(()), (0,)), name="()")
    yield Sample((T((1,)), (0,)), name="(1,)")
    yield Sample((T((3, 0)), (0, 1)), name="empty")
    yield Sample((T((2 ** 6 + 17,)), (-1,)), name="odd")
    yield Sample((T((2, 3, 5)), (0, 2)), name="outer-inner")
    yield Sample((T((2, 3, 5)), ()), name="no-dims")
    yield Sample((T((5, 6), noncontiguous=True), (1,)), name="noncontig")
    yield Sample((_transposed(T, (5, 6)), (0, 1)), name="transposed")
    yield Sample((T((2, 1, 2, 3, 1, 2, 2)), (0, 3, 6)), name="7d")


flip_op = register(OpDef(
    name="flip", infer=_flip_infer, impl={"cpu": _flip_cpu, "cuda": _flip_cuda}, family=FAMILY, ref=_flip_ref,
    samples=_flip_samples,
    bench=BenchSpec(make=lambda size, device, dtype: ((_bench_2d(size, device, dtype), (0, 1)), {}), **_gather_bench()),
    doc="flip(input, dims): reverse the order along dims (a copy, as in PyTorch)"))
flip_op.extra["torch"] = lambda torch, x, dims: torch.flip(x, dims)


def flip(input: Tensor, dims) -> Tensor:
    return flip_op(input, (dims,) if isinstance(dims, int) else tuple(dims))


def _flip_method(x: Tensor, *dims, **kw) -> Tensor:
    return flip_op(x, _sizes(keyword_sizes("flip", dims, kw, "dims")))


def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip_op(input, (1,))


def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip_op(input, (0,))


# ==================================================================================================== roll

def _roll_infer(x, shifts, dims=None):
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = () if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
    nd = x.ndim
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        # dims=None rolls the flattened tensor
        n = x.numel()
        return Meta(x._data.shape, x.dtype, x.device, None if n == 0 else ((operator.index(shifts[0]) % n),))
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if nd == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    shape = x._data.shape
    per_dim = [0] * nd
    for s, d in zip(shifts, dims):
        w = wrap_dim(d, nd)
        per_dim[w] += operator.index(s)
    return Meta(shape, x.dtype, x.device, tuple(s % n if n else 0 for s, n in zip(per_dim, shape)))


def _roll_cpu(meta, x, shifts, dims=None):
    a = x._data
    if meta.aux is None:
        return a.copy()
    if len(meta.aux) == 1 and (dims is None or (not isinstance(dims, int) and not dims)):
        return np.roll(a.reshape(-1), meta.aux[0]).reshape(a.shape)
    return np.roll(a, meta.aux, axis=tuple(range(a.ndim)))


def _roll_cuda(meta, x, shifts, dims=None):
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    if meta.aux is None:
        return out
    if dims is None or (not isinstance(dims, int) and not dims):
        # the flattened roll: one CIRCULAR map over the contiguous elements
        src = x._data if x.is_contiguous() else _copy.clone_op(x)._data
        n = out.size_
        flat_src = src.view_as((n,), (1,), src.offset)
        index_map_copy(flat_src, out.view_as((n,), (1,), out.offset), [(CIRCULAR, n, meta.aux[0])], meta.dtype)
        return out
    maps = [(CIRCULAR, n, s) if s else (COPY, n, 0) for s, n in zip(meta.aux, out.shape)]
    return index_map_copy(x._data, out, maps, meta.dtype)


def _roll_ref(x, shifts, dims=None):
    if dims is None or (not isinstance(dims, int) and not dims):
        flat = x.reshape(-1)
        if flat.size == 0:
            return x.copy()
        s = (shifts if isinstance(shifts, int) else shifts[0]) % flat.size
        return np.concatenate([flat[flat.size - s:], flat[:flat.size - s]]).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else shifts
    dims = (dims,) if isinstance(dims, int) else dims
    out = x
    for s, d in zip(shifts, dims):
        n = out.shape[d]
        if n:
            s %= n
            out = np.concatenate([np.take(out, range(n - s, n), axis=d), np.take(out, range(0, n - s), axis=d)], axis=d)
    return out


@_sampler
def _roll_samples(T, device, dtype):
    yield Sample((T(()), 1), name="()")
    yield Sample((T((1,)), 3, 0), name="(1,)")
    yield Sample((T((3, 0)), 2, 0), name="empty")
    yield Sample((T((2 ** 6 + 17,)), -5), name="odd")
    yield Sample((T((4, 7)), 3), name="flattened")
    yield Sample((T((4, 7)), (1, -9), (0, 1)), name="two-dims")
    yield Sample((T((2, 3, 5)), (2, 1), (-1, -1)), name="repeated-dim")
    yield Sample((T((5, 6), noncontiguous=True), 2, 1), name="noncontig")
    yield Sample((_transposed(T, (5, 6)), 4), name="transposed-flattened")


roll_op = register(OpDef(
    name="roll", infer=_roll_infer, impl={"cpu": _roll_cpu, "cuda": _roll_cuda}, family=FAMILY, ref=_roll_ref,
    samples=_roll_samples,
    bench=BenchSpec(make=lambda size, device, dtype: ((_bench_2d(size, device, dtype), (3, 5), (0, 1)), {}),
                    **_gather_bench()),
    doc="roll(input, shifts, dims=None): shift elements cyclically along dims (dims=None: the flattened tensor)"))
roll_op.extra["torch"] = lambda torch, x, shifts, dims=None: torch.roll(x, shifts, dims if dims is not None else ())


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    return roll_op(input, shifts, dims)


# ============================================================================================ repeat / tile

def _repeat_infer(x, repeats):
    repeats = tuple(operator.index(r) for r in repeats)
    nd = x.ndim
    if len(repeats) < nd:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    shape = (1,) * (len(repeats) - nd) + tuple(x._data.shape)
    out = tuple(r * n for r, n in zip(repeats, shape))
    for n in out:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(out)}")
    return Meta(out, x.dtype, x.device, shape)


def _repeat_cpu(meta, x, repeats):
    return np.tile(x._data.reshape(meta.aux), tuple(repeats))


def _repeat_cuda(meta, x, repeats):
    a = x._data
    lead = len(meta.aux) - a.ndim
    src = a.view_as(meta.aux, (0,) * lead + tuple(a.strides), a.offset)
    out = CudaArray.empty(meta.shape, meta.dtype.np)
    maps = [(WRAP if r != 1 else COPY, n, 0) for r, n in zip(repeats, meta.aux)]
    return index_map_copy(src, out, maps, meta.dtype)


def _repeat_ref(x, repeats):
    out = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    for d, r in enumerate(repeats):
        out = np.concatenate([out] * r, axis=d) if r else np.take(out, [], axis=d)
    return out


@_sampler
def _repeat_samples(T, device, dtype):
    yield Sample((T(()), ()), name="()")
    yield Sample((T(()), (2, 3)), name="()->(2,3)")
    yield Sample((T((1,)), (4,)), name="(1,)")
    yield Sample((T((0, 2)), (2, 3)), name="empty")
    yield Sample((T((3,)), (0, 2)), name="zero-repeat")
    yield Sample((T((2 ** 5 + 17,)), (2, 1, 3)), name="odd")
    yield Sample((T((2, 3)), (1, 1)), name="ones")
    yield Sample((T((5, 6), noncontiguous=True), (2, 2)), name="noncontig")
    yield Sample((_transposed(T, (3, 4)), (1, 2, 1)), name="transposed")


repeat_op = register(OpDef(
    name="repeat", infer=_repeat_infer, impl={"cpu": _repeat_cpu, "cuda": _repeat_cuda}, family=FAMILY,
    ref=_repeat_ref, samples=_repeat_samples,
    bench=BenchSpec(make=lambda size, device, dtype: ((make_tensor((size // 4,), dtype, device), (2, 2)), {}),
                    **_gather_bench()),
    doc="x.repeat(*sizes): tile the tensor sizes[d] times along each dim (leading dims added)"))
repeat_op.extra["torch"] = lambda torch, x, repeats: x.repeat(repeats)


def _repeat_method(x: Tensor, *sizes, **kw) -> Tensor:
    return repeat_op(x, _sizes(keyword_sizes("repeat", sizes, kw, "repeats")))


def tile(input: Tensor, dims) -> Tensor:
    """repeat() where too few dims means leading 1s (numpy.tile)."""
    dims = _sizes((dims,))
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat_op(input, dims)


def _tile_method(x: Tensor, *dims, **kw) -> Tensor:
    return tile(x, _sizes(keyword_sizes("tile", dims, kw, "dims")))


# ============================================================================================== tril / triu

@triton.jit
def _triangle_kernel(
    x_ptr,                          # input (any strides)
    out_ptr,                        # output (any strides; may be the input itself for tril_/triu_)
    n,                              # number of elements
    b1,                             # size of batch dim 1 (batch dim 0 is implied by n)
    rows, cols,                     # matrix size
    xs0, xs1, xs_r, xs_c,           # input strides: batch 0, batch 1, row, column
    os0, os1, os_r, os_c,           # output strides
    diagonal,                       # the k of tril/triu: keep col - row <= k (lower) or >= k (upper)
    UPPER: tl.constexpr,            # triu (True) or tril (False)
    TILED: tl.constexpr,            # each program covers BLOCK columns of one matrix row; else BLOCK flat elements
    INDEX64: tl.constexpr,          # offsets need 64-bit arithmetic
    BLOCK: tl.constexpr,            # elements per program
):
    # bytes: reads the kept triangle (the other loads are masked off), writes all n elements
    pid = tl.program_id(0)
    if INDEX64:
        pid = pid.to(tl.int64)
    lanes = tl.arange(0, BLOCK)
    if TILED:
        blocks_per_row = tl.cdiv(cols, BLOCK)
        row = pid // blocks_per_row
        c = (pid % blocks_per_row) * BLOCK + lanes
        mask = c < cols
    else:
        offs = pid * BLOCK + lanes
        mask = offs < n
        c = offs % cols
        row = offs // cols
    r = row % rows
    b = row // rows
    i1 = b % b1
    i0 = b // b1
    if UPPER:
        keep = c - r >= diagonal
    else:
        keep = c - r <= diagonal
    v = tl.load(x_ptr + (i0 * xs0 + i1 * xs1 + r * xs_r + c * xs_c), mask=mask & keep, other=0)
    tl.store(out_ptr + (i0 * os0 + i1 * os1 + r * os_r + c * os_c), v, mask=mask)


def _triangle_infer(name):
    def infer(x, diagonal=0):
        if x.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return Meta(x._data.shape, x.dtype, x.device, operator.index(diagonal))
    return infer


def _triangle_cpu(np_fn):
    def cpu(meta, x, diagonal=0, out=None):
        r = np_fn(x._data, meta.aux)
        if out is None:
            return r
        np.copyto(out, r)
        return out
    return cpu


def _triangle_cuda(upper: bool):
    def cuda(meta, x, diagonal=0, out=None):
        if out is None:
            out = CudaArray.empty(meta.shape, meta.dtype.np)
        launch_triangle(x._data, out, meta.aux, upper)
        return out
    return cuda


def launch_triangle(src: CudaArray, out: CudaArray, diagonal: int, upper: bool) -> None:
    """Keep one triangle of each matrix (the last two dims) of `src` in `out`, zero the rest. Batch dims collapse
    to at most two per launch; more are walked on the host."""
    if out.size_ == 0:
        return
    rows, cols = out.shape[-2:]
    bshape, (xb, ob) = launch.collapse(out.shape[:-2], [src.strides[:-2], out.strides[:-2]])
    x, o = pw.kernel_view(src), pw.kernel_view(out)
    lead = max(len(bshape) - 2, 0)
    for idx in itertools.product(*[range(n) for n in bshape[:lead]]):
        x_off = sum(i * s for i, s in zip(idx, xb))
        o_off = sum(i * s for i, s in zip(idx, ob))
        tb, txb, tob = bshape[lead:], xb[lead:], ob[lead:]
        k = 2 - len(tb)
        tb, txb, tob = (1,) * k + tuple(tb), (0,) * k + tuple(txb), (0,) * k + tuple(tob)
        n = tb[0] * tb[1] * rows * cols
        shape = tb + (rows, cols)
        tiled, block, programs = _launch_layout(n, cols)
        index64 = _needs_int64(n, (shape, txb + tuple(x.strides[-2:])), (shape, tob + tuple(o.strides[-2:])))
        _triangle_kernel[(programs,)](
            x.view_as(x.shape, x.strides, x.offset + x_off), o.view_as(o.shape, o.strides, o.offset + o_off), n,
            tb[1], rows, cols, txb[0], txb[1], x.strides[-2], x.strides[-1], tob[0], tob[1], o.strides[-2],
            o.strides[-1], diagonal, UPPER=upper, TILED=tiled, INDEX64=index64, BLOCK=block)


def _triangle_ref(upper: bool):
    def ref(x, diagonal=0):
        rows, cols = x.shape[-2:]
        offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]
        keep = offset >= diagonal if upper else offset <= diagonal
        return np.where(keep, x, 0)
    return ref


@_sampler
def _triangle_samples(T, device, dtype):
    yield Sample((T((1, 1)),), name="(1,1)")
    yield Sample((T((0, 3)),), name="empty")
    yield Sample((T((3, 2 ** 5 + 17)), 1), name="odd")
    yield Sample((T((4, 7)), -2), name="negative-k")
    yield Sample((T((2, 3, 5)), 10), name="batched-large-k")
    yield Sample((T((2, 1, 2, 3, 4)), -1), name="5d")
    yield Sample((T((5, 6), noncontiguous=True),), name="noncontig")
    yield Sample((_transposed(T, (6, 5)), 1), name="transposed")


def _register_triangle(name, upper, np_fn):
    op = register(OpDef(
        name=name, infer=_triangle_infer(name), impl={"cpu": _triangle_cpu(np_fn), "cuda": _triangle_cuda(upper)},
        family=FAMILY, ref=_triangle_ref(upper), samples=_triangle_samples, supports_out=True,
        bench=BenchSpec(make=lambda size, device, dtype: ((_bench_2d(size, device, dtype),), {}), **_gather_bench()),
        doc=f"{name}(input, diagonal=0): keep the {'upper' if upper else 'lower'} triangle of each matrix"))
    op.extra["torch"] = lambda torch, x, diagonal=0: getattr(torch, name)(x, diagonal)
    return op


tril_op = _register_triangle("tril", False, np.tril)
triu_op = _register_triangle("triu", True, np.triu)


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    return tril_op(input, diagonal, out=out)


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    return triu_op(input, diagonal, out=out)


# ============================================================================================ backward rules
#
# Every rule is written in registered ops on Tensors, so it runs on both devices and can be differentiated
# again. Views need only their input's geometry, so they save no tensors (save="none": ctx.inputs holds shape
# records); no rule ever writes into a tensor it was given (a view's output shares its input's storage).
# Two ops of this family exist for the backward: `strided_scatter_add` (the gradient of a strided view:
# diagonal, basic indexing, as_strided) and `pad_backward` (reflect/replicate/circular pad: a scatter-add of
# every padded position into the element it was read from). Each is the other's adjoint partner: the vjp of
# strided_scatter_add is as_strided, the vjp of pad_backward is pad.

class _Geometry:
    """Stands in for a contiguous tensor of `shape` in this family's infer rules (shape and strides only), so a
    view's geometry over a fresh contiguous gradient comes from the same code as the view itself."""

    __slots__ = ("_data", "ndim", "dtype", "device")

    class _Shape:
        __slots__ = ("shape", "strides")

        def __init__(self, shape):
            self.shape = tuple(shape)
            self.strides = _contiguous_strides(self.shape)

    def __init__(self, shape, dtype=None, device=None):
        self._data = _Geometry._Shape(shape)
        self.ndim = len(self._data.shape)
        self.dtype = dtype
        self.device = device


def _arg(ctx, i: int, name: str, default=None):
    """The call's argument at position i (or keyword `name`)."""
    ins = ctx.inputs
    return ins[i] if len(ins) > i else ctx.kwargs.get(name, default)


def _overlaps(shape, strides) -> bool:
    """True unless the strided positions are certainly distinct (dims sorted by stride, each stride beyond the
    extent of the smaller ones). Conservative: may say True for some exotic non-overlapping layouts."""
    if 0 in shape:
        return False
    extent = 0
    for st, n in sorted((st, n) for n, st in zip(shape, strides) if n > 1):
        if st <= extent:
            return True
        extent += (n - 1) * st
    return False


def _flat_positions(shape, strides, offset: int) -> np.ndarray:
    """int64 array of `shape`: offset + sum(i_k * strides[k]) (the element each position of a strided view reads)."""
    idx = np.full(tuple(shape), offset, np.int64)
    nd = len(shape)
    for d, (n, st) in enumerate(zip(shape, strides)):
        idx = idx + (np.arange(n, dtype=np.int64) * st).reshape([-1 if k == d else 1 for k in range(nd)])
    return idx


# ------------------------------------------------------------------------------------- strided_scatter_add

def _strided_scatter_infer(grad, shape, stride, offset=0):
    if grad.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"strided_scatter_add" not implemented for \'{_type_name(grad.dtype)}\'')
    shape = tuple(operator.index(s) for s in shape)
    stride = tuple(operator.index(s) for s in stride)
    offset = operator.index(offset)
    gshape = tuple(grad._data.shape)
    if len(stride) != len(gshape):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    if any(s < 0 for s in stride) or offset < 0:
        raise RuntimeError(f"strided_scatter_add: strides {list(stride)} and offset {offset} must be non-negative")
    numel = _numel(shape)
    if 0 not in gshape and offset + sum((n - 1) * s for n, s in zip(gshape, stride)) >= numel:
        raise RuntimeError(f"strided_scatter_add: sizes {list(gshape)}, strides {list(stride)} and offset {offset} "
                           f"reach outside a tensor of {numel} elements")
    # Meta.aux: whether positions collide (an atomic scatter-add instead of a strided copy)
    return Meta(shape, grad.dtype, grad.device, _overlaps(gshape, stride))


def _strided_scatter_cpu(meta, grad, shape, stride, offset=0):
    g = grad._data
    flat = np.zeros(_numel(meta.shape), g.dtype)
    if g.size:
        if not meta.aux:
            _np_view(flat, g.shape, tuple(stride), operator.index(offset))[...] = g
        else:
            idx = _flat_positions(g.shape, stride, operator.index(offset)).reshape(-1)
            sums = np.bincount(idx, weights=g.astype(np.float64).reshape(-1), minlength=flat.size)
            flat[...] = sums.astype(g.dtype)
    return flat.reshape(meta.shape)


def _strided_scatter_cuda(meta, grad, shape, stride, offset=0):
    g = grad._data
    offset = operator.index(offset)
    if not meta.aux:
        # distinct positions: zero-fill, then one strided copy into the view
        out = _zeros_cuda(meta.shape, meta.dtype)
        if g.size_:
            _copy_into(out.view_as(g.shape, tuple(stride), out.offset + offset), grad, meta.dtype)
        return out

    from .indexing import _deterministic_mode, _position_offsets, _sorted_add_at
    if _deterministic_mode(meta.dtype):   # overlapping positions: their sums formed in order, without atomics
        with _no_record():
            out = _zeros_cuda(meta.shape, meta.dtype)
            offsets = _position_offsets(tuple(g.shape), tuple(stride), meta.device) + offset
            _sorted_add_at(out, meta.dtype, meta.device, offsets, grad.reshape(-1))
        return out

    def run(acc):
        view = acc.view_as(g.shape, tuple(stride), acc.offset + offset)
        index_map_scatter_add(view, g, [(COPY, n, 0) for n in g.shape])

    return _accumulate_cuda(meta.shape, meta.dtype, meta.device, run)


def _strided_scatter_ref(g, shape, stride, offset=0):
    out = np.zeros(_numel(shape))
    if g.size:
        np.add.at(out, _flat_positions(g.shape, stride, offset).reshape(-1), g.reshape(-1))
    return out.reshape(shape)


@_sampler
def _strided_scatter_samples(T, device, dtype):
    yield Sample((T(()), (3,), (), 2), name="()")
    yield Sample((T((1,)), (1,), (1,)), name="(1,)")
    yield Sample((T((0, 3)), (4,), (1, 1), 0), name="empty")
    yield Sample((T((3,)), (3, 4), (5,), 1), name="diagonal")
    yield Sample((T((2, 3)), (4, 5), (5, 2), 1), name="strided")
    yield Sample((T((3, 4)), (6,), (1, 1)), name="overlapping")
    yield Sample((T((3, 2)), (2,), (0, 1), 0), name="zero-stride")
    yield Sample((T((2 ** 6 + 17,)), (2 * (2 ** 6 + 17) + 3,), (2,), 3), name="odd")
    yield Sample((T((9, 2 ** 5 + 17)), (2 ** 5 + 30,), (1, 1), 5), name="odd-overlapping")
    yield Sample((T((5, 6), noncontiguous=True), (5, 12), (12, 2), 1), name="noncontig")
    yield Sample((_transposed(T, (3, 4)), (3, 3), (1, 1), 2), name="transposed-overlapping")
    # six dims that do not merge: the two leading ones are walked on the host
    yield Sample((T((2, 2, 2, 2, 2, 2)), (13,), (3, 1, 3, 1, 3, 1)), name="6d-overlapping")


def _torch_strided_scatter_add(torch, g, shape, stride, offset=0):
    idx = torch.from_numpy(_flat_positions(tuple(g.shape), stride, offset).reshape(-1))
    return torch.zeros(_numel(shape), dtype=g.dtype).index_add(0, idx, g.reshape(-1)).reshape(tuple(shape))


strided_scatter_add_op = register(OpDef(
    name="strided_scatter_add", infer=_strided_scatter_infer,
    impl={"cpu": _strided_scatter_cpu, "cuda": _strided_scatter_cuda}, family=FAMILY, ref=_strided_scatter_ref,
    samples=_strided_scatter_samples, dtypes=_dt.FLOATS,
    bench=BenchSpec(sizes=(1 << 20, 1 << 24), make=lambda size, device, dtype: (
        (make_tensor((size // 2,), dtype, device), (size,), (2,), 0), {}),
        bytes=lambda size, dtype: (size // 2 + size) * dtype.itemsize, flops=lambda size: 0),
    doc="strided_scatter_add(grad, shape, stride, offset=0): zeros of `shape` (contiguous) with `grad` added at the "
        "positions of the strided view (grad.shape, stride, offset): the backward of a strided view"))
strided_scatter_add_op.extra["torch"] = _torch_strided_scatter_add


def _strided_scatter_vjp(ctx, gg):
    g = ctx.inputs[0]
    stride, offset = _arg(ctx, 2, "stride"), _arg(ctx, 3, "offset", 0)
    gg = _copy.contiguous(gg)
    return as_strided_op(gg, g.shape, tuple(stride), gg.storage_offset() + offset)


strided_scatter_add_op.vjp = _strided_scatter_vjp
strided_scatter_add_op.save = "none"


def _scatter_into(g: Tensor, shape, view_op_, *args) -> Tensor:
    """Gradient of the view `view_op_(x, *args)` for an x of `shape`: zeros of `shape` with `g` added through the
    same view (its geometry taken over a contiguous x)."""
    meta = view_op_.infer(_Geometry(shape), *args)
    strides, delta = meta.aux[0], meta.aux[1]
    return _scatter_add(g, tuple(shape), strides, delta)


def _scatter_add(g: Tensor, shape: tuple, strides, delta) -> Tensor:
    """strided_scatter_add_op, also for a complex gradient: through its (re, im) pairs, whose geometry is the
    complex one's doubled with the pair dim last."""
    if g.dtype.kind != _dt.COMPLEX:
        return strided_scatter_add_op(g, shape, strides, delta)
    from .complex import view_as_complex, view_as_real
    pairs = strided_scatter_add_op(view_as_real(g), shape + (2,), tuple(2 * s for s in strides) + (1,), 2 * delta)
    return view_as_complex(pairs)


# ---------------------------------------------------------------------------------------------- pad_backward

def _pad_backward_infer(grad, input_shape, pad, mode="constant"):
    if grad.dtype.kind != _dt.FLOAT:
        raise RuntimeError(f'"pad_backward" not implemented for \'{_type_name(grad.dtype)}\'')
    input_shape = tuple(operator.index(n) for n in input_shape)
    fwd = _pad_infer(_Geometry(input_shape, grad.dtype, grad.device), pad, mode)
    if tuple(grad._data.shape) != fwd.shape:
        raise RuntimeError(f"pad_backward: grad of shape {list(grad._data.shape)} does not match the padded shape "
                           f"{list(fwd.shape)}")
    return Meta(input_shape, grad.dtype, grad.device, fwd.aux[0])


def _pad_positions(input_shape, before_after, mode: str) -> np.ndarray:
    """int64 array of the padded shape: the input element (flat) each padded position reads, -1 for fill."""
    src = types.SimpleNamespace(_data=np.arange(_numel(input_shape), dtype=np.int64).reshape(input_shape))
    out_shape = tuple(n + b + e for n, (b, e) in zip(input_shape, before_after))
    # the forward's own NumPy pad, run on element numbers (constant fill -1 marks the padding)
    return _pad_cpu(Meta(out_shape, None, None, (before_after, -1)), src, None, mode)


def _pad_backward_cpu(meta, grad, input_shape, pad, mode="constant"):
    g = grad._data
    src = _pad_positions(meta.shape, meta.aux, mode)
    keep = src >= 0
    sums = np.bincount(src[keep], weights=g[keep].astype(np.float64), minlength=_numel(meta.shape))
    return sums.astype(g.dtype).reshape(meta.shape)


def _pad_backward_cuda(meta, grad, input_shape, pad, mode="constant"):
    if mode != "constant":   # (reflected / replicated / wrapped positions collide: atomic adds)
        from .indexing import _deterministic_mode, _sorted_add_at
        if _deterministic_mode(meta.dtype):
            # the forward pad of the input's element numbers names each grad element's source; their sums are
            # then formed in order, without atomics
            from .creation import arange, zeros
            with _no_record():
                n = _numel(meta.shape)
                source = pad_op(arange(n, device=meta.device).reshape(meta.shape), tuple(pad), mode, None)
                out = zeros(meta.shape, dtype=meta.dtype, device=meta.device)._data
                _sorted_add_at(out, meta.dtype, meta.device, source.reshape(-1), grad.reshape(-1))
            return out

    def run(acc):
        a, maps = _pad_maps(acc, meta.aux, mode)
        index_map_scatter_add(a, grad._data, maps)

    return _accumulate_cuda(meta.shape, meta.dtype, meta.device, run)


def _pad_backward_ref(g, input_shape, pad, mode="constant"):
    n = _numel(input_shape)
    index = np.arange(n, dtype=np.float64).reshape(input_shape)
    src = np.rint(_pad_ref(index, pad, mode, -1.0 if mode == "constant" else None)).astype(np.int64)
    out = np.zeros(n)
    keep = src >= 0
    np.add.at(out, src[keep], g[keep])
    return out.reshape(input_shape)


@_sampler
def _pad_backward_samples(T, device, dtype):
    yield Sample((T(()), (), ()), name="()-no-pad")
    yield Sample((T((4,)), (1,), (1, 2)), name="(1,)")
    yield Sample((T((5, 4)), (3, 4), (1, -1, 2, 0)), name="constant-crop")
    yield Sample((T((2, 10)), (2, 5), (2, 3), "reflect"), name="reflect-1d")
    yield Sample((T((1, 3, 7)), (1, 3, 5), (-1, 3), "reflect"), name="reflect-crop")
    yield Sample((T((1, 3, 5)), (1, 2, 3), (1, 1, 1, 0), "reflect"), name="reflect-2d")
    yield Sample((T((2, 3, 2 ** 6 + 17)), (2, 3, 2 ** 6 + 11), (2, 4), "reflect"), name="reflect-odd")
    yield Sample((T((2, 6)), (2, 3), (2, 1), "replicate"), name="replicate")
    yield Sample((T((1, 1, 3, 3, 4)), (1, 1, 2, 2, 2), (1, 1, 1, 0, 0, 1), "replicate"), name="replicate-3d")
    yield Sample((T((5, 6), noncontiguous=True), (5, 4), (1, 1), "replicate"), name="replicate-noncontig")
    yield Sample((T((0, 3, 8)), (0, 3, 4), (2, 2), "reflect"), name="reflect-empty-batch")
    yield Sample((T((1, 3, 6)), (1, 2, 3), (1, 2, 1, 0), "circular"), name="circular-2d")
    yield Sample((T((2, 6)), (2, 5), (-2, 3), "circular"), name="circular-crop")
    if dtype is not _dt.float64:
        # wrapping the cropped input more than once: PyTorch's backward is wrong there (see _pad_samples)
        yield Sample((T((2, 5)), (2, 5), (-4, 4), "circular"), name="circular-wrap-cropped-twice")
    yield Sample((T((3, 3, 3, 2, 3, 3)), (2, 1, 2, 1, 2, 2), (1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1)),
                 name="6d-constant")


def _torch_pad_backward(torch, g, input_shape, pad, mode="constant"):
    x = torch.zeros(tuple(input_shape), dtype=g.dtype, requires_grad=True)
    with torch.enable_grad():
        y = torch.nn.functional.pad(x, tuple(pad), mode=mode)
        return torch.autograd.grad(y, x, g, create_graph=True)[0]


pad_backward_op = register(OpDef(
    name="pad_backward", infer=_pad_backward_infer, impl={"cpu": _pad_backward_cpu, "cuda": _pad_backward_cuda},
    family=FAMILY, ref=_pad_backward_ref, samples=_pad_backward_samples, dtypes=_dt.FLOATS,
    bench=BenchSpec(make=lambda size, device, dtype: (
        (make_tensor((1,) + (max(int(size ** 0.5), 3) + 2,) * 2, dtype, device), (1,) + (max(int(size ** 0.5), 3),) * 2,
         (1, 1, 1, 1), "reflect"), {}), **_gather_bench()),
    doc="pad_backward(grad, input_shape, pad, mode='constant'): the gradient of pad(x, pad, mode) for an x of "
        "input_shape (every padded position added into the element it read)"))
pad_backward_op.extra["torch"] = _torch_pad_backward


def _pad_backward_vjp(ctx, gg):
    return pad_op(gg, tuple(_arg(ctx, 2, "pad")), _arg(ctx, 3, "mode", "constant"), None)


pad_backward_op.vjp = _pad_backward_vjp
pad_backward_op.save = "none"


# ------------------------------------------------------------------------------------------------- views

def _view_vjp(ctx, g):
    return reshape(g, ctx.inputs[0].shape)


def _permute_vjp(ctx, g):
    nd = len(ctx.inputs[0].shape)
    dims = [wrap_dim(d, nd) for d in _arg(ctx, 1, "dims")]
    inverse = [0] * nd
    for i, d in enumerate(dims):
        inverse[d] = i
    return permute_op(g, tuple(inverse))


def _transpose_vjp(ctx, g):
    return transpose_op(g, _arg(ctx, 1, "dim0"), _arg(ctx, 2, "dim1"))


def _squeeze_vjp(ctx, g):
    return reshape(g, ctx.inputs[0].shape)


def _unsqueeze_vjp(ctx, g):
    return squeeze_op(g, wrap_dim(_arg(ctx, 1, "dim"), len(ctx.inputs[0].shape) + 1))


def _expand_vjp(ctx, g):
    # the gradient in the output's shape: the engine sums it back over the expanded dims (reduce-to-shape)
    return g


def _pad_along(g: Tensor, d: int, before: int, after: int) -> Tensor:
    """Zero-pad g along dim d (a constant pad listing only the dims from the last back to d)."""
    pads = (0, 0) * (g.ndim - 1 - d) + (before, after)
    if g.dtype.kind == _dt.COMPLEX:   # the (re, im) pairs padded, the pair dim (last) left alone
        from .complex import view_as_complex, view_as_real
        return view_as_complex(pad_op(view_as_real(g), (0, 0) + pads, "constant", None))
    return pad_op(g, pads, "constant", None)


def _narrow_vjp(ctx, g):
    shape = ctx.inputs[0].shape
    d = wrap_dim(_arg(ctx, 1, "dim"), len(shape))
    start, length = operator.index(_arg(ctx, 2, "start")), operator.index(_arg(ctx, 3, "length"))
    if start < 0:
        start += shape[d]
    return _pad_along(g, d, start, shape[d] - start - length)


def _select_vjp(ctx, g):
    shape = ctx.inputs[0].shape
    d = wrap_dim(_arg(ctx, 1, "dim"), len(shape))
    index = operator.index(_arg(ctx, 2, "index"))
    if index < 0:
        index += shape[d]
    return _pad_along(unsqueeze_op(g, d), d, index, shape[d] - 1 - index)


def _diagonal_vjp(ctx, g):
    return _scatter_into(g, ctx.inputs[0].shape, diagonal_op, _arg(ctx, 1, "offset", 0), _arg(ctx, 2, "dim1", 0),
                         _arg(ctx, 3, "dim2", 1))


def _basic_index_vjp(ctx, g):
    return _scatter_into(g, ctx.inputs[0].shape, basic_index_op, _arg(ctx, 1, "idx"))


def _as_strided_vjp(ctx, g):
    # PyTorch's as_strided backward over the storage both geometries live in: scatter-add the gradient through
    # the output's geometry into a zeroed stretch of storage, read it back through the input's geometry (and,
    # where the input's own elements overlap, divide by how often each storage element appears in it)
    stride, delta, (xshape, xstrides, own) = ctx.meta.aux
    size = ctx.meta.shape
    out_off = own + delta
    x_hi = own + (sum((n - 1) * s for n, s in zip(xshape, xstrides)) if 0 not in xshape else 0)
    o_hi = out_off + (sum((n - 1) * s for n, s in zip(size, stride)) if 0 not in size else 0)
    lo = min(own, out_off)
    n = max(x_hi, o_hi) - lo + 1
    storage = _scatter_add(g, (n,), stride, out_off - lo)
    gx = as_strided_op(storage, xshape, xstrides, own - lo)
    if _overlaps(xshape, xstrides):
        ones = _creation.ones(*xshape, dtype=g.dtype.to_real(), device=g.device)
        counts = as_strided_op(strided_scatter_add_op(ones, (n,), xstrides, own - lo), xshape, xstrides, own - lo)
        gx = gx / counts
    return gx


def _missing_to_zeros(ctx, grads) -> list:
    """The outputs' gradients, zeros of the output's shape where one received none."""
    return [g if g is not None else _creation.zeros(*m.shape, dtype=m.dtype, device=m.device)
            for g, m in zip(grads, ctx.out_meta)]


def _split_vjp(ctx, *grads):
    shape = ctx.inputs[0].shape
    return cat_op(_missing_to_zeros(ctx, grads), wrap_dim(_arg(ctx, 2, "dim", 0), len(shape)))


def _unbind_vjp(ctx, *grads):
    shape = ctx.inputs[0].shape
    return stack_op(_missing_to_zeros(ctx, grads), wrap_dim(_arg(ctx, 1, "dim", 0), len(shape)))


for _op, _vjp in ((view_op, _view_vjp), (permute_op, _permute_vjp), (transpose_op, _transpose_vjp),
                  (squeeze_op, _squeeze_vjp), (unsqueeze_op, _unsqueeze_vjp), (expand_op, _expand_vjp),
                  (narrow_op, _narrow_vjp), (select_op, _select_vjp), (diagonal_op, _diagonal_vjp),
                  (basic_index_op, _basic_index_vjp), (as_strided_op, _as_strided_vjp), (split_op, _split_vjp),
                  (unbind_op, _unbind_vjp)):
    _op.vjp = _vjp
    _op.save = "none"


# ------------------------------------------------------------------------------------------------- copies

def _cat_vjp(ctx, g):
    d, kept = ctx.meta.aux
    tensors = ctx.inputs[0]
    grads = [None] * len(tensors)
    start = 0
    for i in kept:
        n = tensors[i].shape[d]
        if ctx.needs_input_grad[i]:
            grads[i] = narrow_op(g, d, start, n)
        start += n
    for i, t in enumerate(tensors):
        if grads[i] is None and ctx.needs_input_grad[i] and i not in kept:
            # a skipped 1-D empty input (PyTorch's legacy cat rule): an empty gradient
            grads[i] = view_op(narrow_op(g, d if kept else 0, 0, 0), (0,))
    return tuple(grads)


def _stack_vjp(ctx, g):
    d = ctx.meta.aux
    return tuple(select_op(g, d, i) if need else None for i, need in enumerate(ctx.needs_input_grad))


def _pad_vjp(ctx, g):
    pad = tuple(_arg(ctx, 1, "pad"))
    mode = _arg(ctx, 2, "mode", "constant")
    if mode == "constant":
        # the adjoint of a constant pad is the opposite pad: crop what was added, zero-fill what was cropped
        return pad_op(g, tuple(-p for p in pad), "constant", None)
    return pad_backward_op(g, ctx.inputs[0].shape, pad, mode)


def _flip_vjp(ctx, g):
    return flip_op(g, ctx.meta.aux)


def _roll_vjp(ctx, g):
    shifts = _arg(ctx, 1, "shifts")
    shifts = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
    return roll_op(g, shifts, _arg(ctx, 2, "dims"))


def _repeat_vjp(ctx, g):
    # sum over the tiles: view the gradient as (r0, n0, r1, n1, ...) and sum the repeat dims
    shape = ctx.inputs[0].shape
    split, sum_dims = [], []
    for r, n in zip(_arg(ctx, 1, "repeats"), ctx.meta.aux):
        if r != 1:
            sum_dims.append(len(split))
            split.append(r)
        split.append(n)
    if not sum_dims:
        return reshape(g, shape)
    return reshape(reshape(g, tuple(split)).sum(dim=tuple(sum_dims)), shape)


def _triangle_vjp(op):
    def vjp(ctx, g):
        return op(g, ctx.meta.aux)
    return vjp


for _op, _vjp in ((cat_op, _cat_vjp), (stack_op, _stack_vjp), (pad_op, _pad_vjp), (flip_op, _flip_vjp),
                  (roll_op, _roll_vjp), (repeat_op, _repeat_vjp), (tril_op, _triangle_vjp(tril_op)),
                  (triu_op, _triangle_vjp(triu_op))):
    _op.vjp = _vjp
    _op.save = "none"
del _op, _vjp


# ================================================================================================ bindings

def _getitem(x: Tensor, idx) -> Tensor:
    return basic_index_op(x, idx)


def _view_method(x: Tensor, *shape, **kw) -> Tensor:
    return view(x, *(keyword_sizes("view", shape, kw, "size", "dtype") if kw else shape))


def _expand_method(x: Tensor, *sizes, implicit: bool = False, **kw) -> Tensor:
    return expand_op(x, _sizes(keyword_sizes("expand", sizes, kw, "size") if kw else sizes))


def _split_method(x: Tensor, split_size, dim: int = 0) -> tuple:
    return split(x, split_size, dim)


def _squeeze_method(x: Tensor, dim=None, *, axis=_NA) -> Tensor:
    return squeeze(x, dim, axis=axis) if axis is not _NA else squeeze(x, dim)


_bind.methods(
    __getitem__=_getitem, view=_view_method, view_as=view_as, reshape=_reshape_method, reshape_as=reshape_as,
    permute=_permute_method, transpose=transpose, swapaxes=swapaxes, swapdims=swapdims, t=t, adjoint=adjoint,
    squeeze=_squeeze_method, unsqueeze=unsqueeze, expand=_expand_method, expand_as=expand_as,
    broadcast_to=broadcast_to, flatten=flatten, unflatten=unflatten, ravel=ravel, narrow=narrow, select=select,
    unbind=unbind, as_strided=as_strided, movedim=movedim, moveaxis=movedim, diagonal=diagonal,
    split=_split_method, tensor_split=tensor_split, chunk=chunk, flip=_flip_method, fliplr=fliplr, flipud=flipud,
    roll=roll, repeat=_repeat_method, tile=_tile_method, tril=tril, triu=triu,
    tril_=lambda x, diagonal=0: tril_op(x, diagonal, out=x), triu_=lambda x, diagonal=0: triu_op(x, diagonal, out=x),
    squeeze_=_in_place_view(_squeeze_method), unsqueeze_=_in_place_view(unsqueeze), t_=_in_place_view(t),
    transpose_=_in_place_view(transpose), swapaxes_=_in_place_view(swapaxes), swapdims_=_in_place_view(swapdims),
    as_strided_=_in_place_view(as_strided),
)
_bind.properties(T=_T, mT=_mT, mH=_mH, H=_H)


# ============================================================== composed movement ops (appended section)
#
# diff, repeat_interleave, meshgrid, index_fill(_), index_copy(_): functions composed of registered ops (narrow,
# sub, expand/reshape, index_select, where, index_put), as PyTorch composes them, so they run on both devices and
# are differentiable through their component ops. repeat_interleave with tensor repeats reads the repeats back
# (the result size depends on them; PyTorch synchronises there too unless output_size is given).

def _tt():
    import tritorch
    return tritorch


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along `dim` (logical xor for bool tensors), after prepend/append."""
    tt = _tt()
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = dim % input.dim()
    parts = [p for p in (prepend, input, append) if p is not None]
    x = tt.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = tt.narrow(x, d, 1, length - 1), tt.narrow(x, d, 0, length - 1)
        x = tt.logical_xor(hi, lo) if x.dtype is _dt.bool_ else hi - lo
    return x


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along `dim`) repeated `repeats` times (an int, or a tensor of per-element counts);
    repeat_interleave(repeats) alone gives repeats[i] copies of i."""
    tt = _tt()
    if repeats is None:
        counts = input
        return repeat_interleave(tt.arange(counts.shape[0], device=counts.device), counts, 0)
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    d = dim % max(input.dim(), 1)
    if isinstance(repeats, Tensor) and repeats.numel() == 1:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
        shape = list(input.shape)
        x = input.unsqueeze(d + 1)
        target = shape[:d + 1] + [repeats] + shape[d + 1:]
        shape[d] *= repeats
        return x.expand(*target).reshape(shape)
    if repeats.dim() != 1 or repeats.shape[0] != input.shape[d]:
        raise RuntimeError("repeats must have the same size as input along dim")
    counts = np.asarray(repeats.cpu().numpy(), np.int64)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = np.repeat(np.arange(counts.shape[0]), counts)
    return tt.index_select(input, d, tt.tensor(index, dtype=_dt.int64, device=input.device))


def meshgrid(*tensors, indexing=None):
    """Coordinate grids: with indexing 'ij' output i varies along dim i; 'xy' swaps the first two dims."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.dim()}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = [t.shape[0] for t in flat]
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = shape[i]
        grids.append(t.reshape(view).expand(*shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def _dim_mask(input, dim, index):
    """A bool tensor, True at the positions of `index` along `dim`, shaped to broadcast against input."""
    tt = _tt()
    n = input.shape[dim] if input.dim() else 1
    if index.dim() > 1:
        raise IndexError("index_fill_(): Expected dim of index to be 0 or 1, got " + f"{index.dim()}")
    idx = index.reshape(-1).to(_dt.int64)
    idx = tt.where(idx < 0, idx + n, idx)
    mask = (tt.arange(n, device=input.device).unsqueeze(1) == idx.unsqueeze(0)).any(dim=1)
    view = [1] * input.dim()
    if input.dim():
        view[dim] = n
    return mask.reshape(view)


def index_fill(input, dim, index, value):
    """input with the slices at `index` along `dim` set to `value` (a number or 0-dim tensor)."""
    tt = _tt()
    dim = dim % max(input.dim(), 1)
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.dim()} dimension(s).")
    v = value.to(input.dtype) if isinstance(value, Tensor) else value
    return tt.where(_dim_mask(input, dim, index), v, input).to(input.dtype)


def index_copy(input, dim, index, source):
    """input with the slices at `index` along `dim` replaced by source's slices, in order."""
    tt = _tt()
    dim = dim % max(input.dim(), 1)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{input.dtype} and (source) {source.dtype}")
    moved_in = tt.movedim(input, dim, 0) if input.dim() else input.reshape(1)
    moved_src = tt.movedim(source, dim, 0) if source.dim() else source.reshape(1)
    r = tt.index_put(moved_in, (index.reshape(-1).to(_dt.int64),), moved_src)
    return tt.movedim(r, 0, dim) if input.dim() else r.reshape(())


def _index_fill_(self, dim, index, value):
    return self.copy_(index_fill(self, dim, index, value))


def _index_copy_(self, dim, index, source):
    return self.copy_(index_copy(self, dim, index, source))


_bind.methods(diff=diff, repeat_interleave=repeat_interleave, index_fill=index_fill, index_copy=index_copy,
              index_fill_=_index_fill_, index_copy_=_index_copy_)
__all__ += ["diff", "repeat_interleave", "meshgrid", "index_fill", "index_copy"]
