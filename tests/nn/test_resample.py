"""interpolate, pixel_shuffle, pixel_unshuffle, affine_grid, grid_sample (tritorch/nn/_resample.py) vs PyTorch's:
values and input gradients on cpu and cuda (GPU or interpreter), dtypes, and PyTorch's errors."""
import numpy as np
import pytest

import tritorch as tt
import tritorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(fn, x, *args, device="cpu", rtol=1e-5, atol=1e-6, **kwargs):
    xt = torch.tensor(x, requires_grad=True)
    xx = tt.tensor(x, device=device, requires_grad=True)
    ref, out = getattr(TF, fn)(xt, *args, **kwargs), getattr(F, fn)(xx, *args, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    w = _rand(tuple(ref.shape), 9, x.dtype)
    (ref * torch.tensor(w)).sum().backward()
    (out * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)


SIZES = [dict(size=9), dict(size=4), dict(scale_factor=2), dict(scale_factor=0.5), dict(scale_factor=1.7),
         dict(scale_factor=2.5, recompute_scale_factor=True)]
SHAPES = {1: (2, 3, 7), 2: (2, 3, 5, 6), 3: (1, 2, 3, 4, 5)}
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("how", SIZES, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_interpolate_cpu(dims, how):
    x = _rand(SHAPES[dims])
    for mode in ("nearest", "nearest-exact"):
        check("interpolate", x, mode=mode, **how)
    for align in (False, True):
        check("interpolate", x, mode=LINEAR[dims], align_corners=align, **how)
        if dims == 2:   # 16 products per output: float32 rounding of their sum
            check("interpolate", x, mode="bicubic", align_corners=align, atol=1e-5, **how)
    if dims < 3 and "scale_factor" not in how:
        check("interpolate", x, mode="area", **how)


@pytest.mark.parametrize("mode, kwargs", [("nearest", {}), ("bilinear", {"align_corners": False}),
                                          ("bicubic", {"align_corners": True}), ("area", {})])
def test_interpolate_cuda(mode, kwargs):
    check("interpolate", _rand((2, 3, 5, 6)), device="cuda", size=(7, 4), mode=mode,
          atol=1e-5 if mode == "bicubic" else 1e-6, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale_factor", [2.3, 2.0000001, 1.0000001, 3, 1 / 3])
def test_interpolate_nearest_2d_picks_torch_cpu_pixels(scale_factor, dtype):
    # PyTorch's cpu 2-D nearest: an output of the input's size (or twice it) is the identity (or j // 2) whatever
    # scale_factor says (3 -> 6 at 2.3 reads 0 0 1 1 2 2); the index math is float32 for float64 inputs too
    for shape in ((1, 2, 5, 3), (1, 1, 7, 4), (2, 1, 6, 6)):
        check("interpolate", _rand(shape, dtype=dtype), scale_factor=scale_factor, mode="nearest")
        check("interpolate", _rand(shape, dtype=dtype), scale_factor=scale_factor, mode="nearest-exact")


def test_interpolate_float64_and_half():
    check("interpolate", _rand((1, 2, 5, 6), dtype=np.float64), scale_factor=1.3, mode="bilinear", rtol=1e-12,
          atol=1e-12)
    x = _rand((1, 2, 5, 6))
    out = F.interpolate(tt.tensor(x).half(), scale_factor=2, mode="bilinear")
    ref = TF.interpolate(torch.tensor(x).half().float(), scale_factor=2, mode="bilinear").half()
    assert out.dtype is tt.float16
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize("call, exc", [
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5)), ValueError),
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5), size=3, scale_factor=2), ValueError),
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5), size=3, mode="linear"), NotImplementedError),
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5), size=3, align_corners=True), ValueError),
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5), size=(3, 4, 5)), ValueError),
    (lambda m, lib: m.interpolate(lib.randn(1, 1, 5, 5), size=3, mode="foo"), NotImplementedError),
    (lambda m, lib: m.interpolate(lib.randn(3, 4), size=3), NotImplementedError),
    (lambda m, lib: m.pixel_shuffle(lib.randn(5, 4), 2), RuntimeError),
    (lambda m, lib: m.pixel_shuffle(lib.randn(1, 5, 4, 4), 2), RuntimeError),
    (lambda m, lib: m.pixel_unshuffle(lib.randn(1, 5, 5, 4), 2), RuntimeError),
])
def test_errors_match_torch(call, exc):
    with pytest.raises(exc) as ours:
        call(F, tt)
    with pytest.raises(exc) as theirs:
        call(TF, torch)
    assert str(ours.value)[:40] == str(theirs.value)[:40]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_pixel_shuffle_round_trip(device):
    check("pixel_shuffle", _rand((2, 8, 3, 4)), 2, device=device)
    check("pixel_shuffle", _rand((9, 3, 4)), 3, device=device)
    check("pixel_unshuffle", _rand((2, 2, 6, 4)), 2, device=device)
    check("pixel_unshuffle", _rand((2, 1, 2, 6, 9)), 3, device=device)
    x = tt.tensor(_rand((2, 8, 3, 4)), device=device)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).cpu().numpy(), x.cpu().numpy())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": 2, "padding": 1},
                                    {"kernel_size": 3, "dilation": 2, "padding": (2, 1), "stride": (1, 2)}])
def test_unfold_fold(device, kwargs):
    check("unfold", _rand((2, 3, 6, 7)), device=device, **kwargs)
    check("unfold", _rand((3, 6, 7), 1), device=device, **kwargs)                # unbatched
    cols = F.unfold(tt.tensor(_rand((2, 3, 6, 7))), **kwargs)
    check("fold", _rand(tuple(cols.shape), 2), (6, 7), device=device, **kwargs)   # overlapping blocks add up
    x = np.full((1, 1, 4, 4), np.inf, np.float32)
    x[0, 0, 1, 2] = np.nan                                                        # copied, never multiplied
    np.testing.assert_array_equal(F.unfold(tt.tensor(x, device=device), 2).cpu().numpy(),
                                  TF.unfold(torch.tensor(x), 2).numpy())


def test_unfold_fold_errors_and_layers():
    for call in (lambda m, lib: m.fold(lib.randn(2, 12, 5), (4, 4), 2),
                 lambda m, lib: m.fold(lib.randn(2, 13, 9), (4, 4), 2)):
        with pytest.raises(RuntimeError) as ours:
            call(F, tt)
        with pytest.raises(RuntimeError) as theirs:
            call(TF, torch)
        assert str(ours.value) == str(theirs.value)
    assert repr(tt.nn.Unfold(3, padding=1, stride=2)) == repr(torch.nn.Unfold(3, padding=1, stride=2))
    assert repr(tt.nn.Fold((4, 5), 2)) == repr(torch.nn.Fold((4, 5), 2))
    x = _rand((2, 12, 12))
    np.testing.assert_allclose(tt.nn.Fold((4, 5), 2)(tt.tensor(x)).numpy(),
                               torch.nn.Fold((4, 5), 2)(torch.tensor(x)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_grid_sample(device, align_corners):
    rng = np.random.default_rng(3)
    theta = (np.eye(2, 3)[None].repeat(2, 0) + rng.standard_normal((2, 2, 3)) * 0.3).astype(np.float32)
    check("affine_grid", theta, (2, 3, 5, 6), device=device, align_corners=align_corners)
    x = _rand((2, 3, 7, 8))
    grid = (rng.random((2, 4, 5, 2)) * 2.4 - 1.2).astype(np.float32)   # some locations outside the image
    for mode in ("bilinear", "nearest"):
        for padding_mode in ("zeros", "border", "reflection"):
            xt, xx = torch.tensor(x, requires_grad=True), tt.tensor(x, device=device, requires_grad=True)
            gt, gg = torch.tensor(grid, requires_grad=True), tt.tensor(grid, device=device, requires_grad=True)
            kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
            ref, out = TF.grid_sample(xt, gt, **kw), F.grid_sample(xx, gg, **kw)
            np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
            w = _rand(tuple(ref.shape), 5)
            (ref * torch.tensor(w)).sum().backward()
            (out * tt.tensor(w, device=device)).sum().backward()
            np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
            if mode == "bilinear":
                np.testing.assert_allclose(gg.grad.cpu().numpy(), gt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_grid_sample_gradient_reaches_the_grid_and_errors():
    x, grid = _rand((1, 2, 5, 5)), (np.random.default_rng(4).random((1, 3, 3, 2)) * 1.6 - 0.8).astype(np.float32)
    tg, g = torch.tensor(grid, requires_grad=True), tt.tensor(grid, requires_grad=True)
    TF.grid_sample(torch.tensor(x), tg, align_corners=False).square().sum().backward()
    F.grid_sample(tt.tensor(x), g, align_corners=False).square().sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), tg.grad.numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bicubic'"):
        F.grid_sample(tt.ones(1, 1, 2, 2), tt.zeros(1, 1, 1, 2), mode="foo", align_corners=False)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(tt.tensor(np.eye(2, 3, dtype=np.float32)[None]), (1, 1, 2, 2))
    with pytest.raises(RuntimeError, match="Expected size for first two dimensions"):
        F.affine_grid(tt.tensor(np.eye(2, 3, dtype=np.float32)[None]), (2, 1, 2, 2), align_corners=False)


def _grid_case(device, nd, mode, padding_mode, align_corners, seed):
    """grid_sample on an nd-d input against torch's: output, input gradient and (not nearest) grid gradient."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3) + ((5, 6) if nd == 2 else (4, 5, 6)))
    grid = rng.uniform(-1.3, 1.3, (2,) + ((4, 7) if nd == 2 else (3, 4, 5)) + (nd,))   # some points outside
    xt, xx = torch.tensor(x, requires_grad=True), tt.tensor(x, device=device, requires_grad=True)
    gt, gg = torch.tensor(grid, requires_grad=True), tt.tensor(grid, device=device, requires_grad=True)
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    ref, out = TF.grid_sample(xt, gt, **kw), F.grid_sample(xx, gg, **kw)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(tuple(ref.shape))
    (ref * torch.tensor(w)).sum().backward()
    (out * tt.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(xx.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if mode != "nearest":
        np.testing.assert_allclose(gg.grad.cpu().numpy(), gt.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_bicubic_and_3d_float64(padding_mode, align_corners):
    """Bicubic (Keys' cubic convolution, PyTorch's A = -0.75, padding applied per tap) and 5-D trilinear / nearest
    sampling, in float64 against torch to rounding."""
    _grid_case("cpu", 2, "bicubic", padding_mode, align_corners, 20)
    for mode in ("bilinear", "nearest"):
        _grid_case("cpu", 3, mode, padding_mode, align_corners, 21)


@pytest.mark.parametrize("mode", ["bicubic", "trilinear", "nearest-3d"])
def test_grid_sample_new_modes_on_cuda(mode):
    nd, m = (2, "bicubic") if mode == "bicubic" else (3, "bilinear" if mode == "trilinear" else "nearest")
    _grid_case("cuda", nd, m, "reflection", False, 22)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_affine_grid_3d_and_area_5d(device):
    rng = np.random.default_rng(23)
    theta = (np.eye(3, 4)[None].repeat(2, 0) + rng.standard_normal((2, 3, 4)) * 0.3).astype(np.float32)
    for align in (False, True):
        check("affine_grid", theta, (2, 3, 4, 5, 6), device=device, align_corners=align)
    check("interpolate", _rand((2, 3, 8, 9, 10)), device=device, size=(3, 4, 5), mode="area")
    check("interpolate", _rand((1, 2, 4, 6, 5)), device=device, scale_factor=0.5, mode="area")


def test_new_resample_errors_match_torch():
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(tt.ones(1, 1, 2, 2, 2), tt.zeros(1, 1, 1, 1, 3), mode="bicubic", align_corners=False)
    with pytest.raises(ValueError, match="Expected a batch of 3D affine matrices of shape Nx3x4"):
        F.affine_grid(tt.zeros(1, 2, 3), (1, 1, 2, 2, 2), align_corners=False)
    with pytest.raises(NotImplementedError, match="affine_grid only supports 4D and 5D sizes"):
        F.affine_grid(tt.zeros(1, 2, 3), (1, 1, 2), align_corners=False)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_antialias(device, mode, align_corners):
    """antialias=True (the kernel stretched by the shrink factor, weights normalised per output, PIL's bicubic
    a = -0.5): values and input gradients as torch's when shrinking, enlarging, and both at once."""
    x = _rand((2, 3, 17, 23), 24)
    for how in (dict(size=(5, 7)), dict(scale_factor=0.3), dict(size=(34, 11)), dict(scale_factor=(0.5, 2.2))):
        check("interpolate", x, device=device, mode=mode, align_corners=align_corners, antialias=True,
              rtol=1e-5, atol=1e-5, **how)


def test_interpolate_antialias_modes_error_as_torch():
    for call in (lambda m, lib: m.interpolate(lib.ones(1, 1, 8, 8), size=3, mode="nearest", antialias=True),
                 lambda m, lib: m.interpolate(lib.ones(1, 1, 8), size=3, mode="linear", antialias=True),
                 lambda m, lib: m.interpolate(lib.ones(1, 1, 4, 4, 4), size=3, mode="trilinear", antialias=True)):
        with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear, bicubic"):
            call(TF, torch)
        with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear, bicubic"):
            call(F, tt)


def test_grid_sample_nearest_gives_the_grid_a_zero_gradient():
    """The grid reaches a nearest sample only through round(): PyTorch gives it a zero gradient, not none."""
    rng = np.random.default_rng(0)
    x = tt.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True)
    g = tt.tensor(rng.uniform(-1, 1, (2, 3, 2, 2)), requires_grad=True)
    tt.nn.functional.grid_sample(x, g, mode="nearest", align_corners=False).sum().backward()
    assert g.grad is not None and g.grad.shape == g.shape and not g.grad.numpy().any()
    assert x.grad.numpy().sum() == 2 * 3 * 3 * 2


@pytest.mark.parametrize("mode,antialias,tol", [("nearest", False, 0), ("nearest-exact", False, 0),
                                                ("bilinear", False, 1), ("bilinear", True, 1)])
def test_interpolate_uint8_images_like_torch(mode, antialias, tol):
    # torchvision's resize hands uint8 images to interpolate on cpu (nearest modes anywhere)
    x = np.random.RandomState(0).randint(0, 256, (1, 3, 40, 50)).astype(np.uint8)
    kw = dict(size=(24, 31), mode=mode, antialias=antialias)
    got = F.interpolate(tt.tensor(x), **kw)
    want = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()
    assert got.dtype is tt.uint8
    assert np.abs(got.numpy().astype(int) - want.astype(int)).max() <= tol   # PyTorch's fixed-point math: +-1
    b = F.interpolate(tt.tensor(x), size=(24, 31), mode="bicubic")      # taken, computed in float32 and rounded
    assert b.dtype is tt.uint8 and b.shape == (1, 3, 24, 31)
    for bad in [dict(mode="linear", t=tt.ones(1, 2, 6, dtype=tt.uint8)),
                dict(mode="nearest", t=tt.ones(1, 2, 6, 6, dtype=tt.int32))]:
        with pytest.raises(RuntimeError, match="not implemented for"):
            F.interpolate(bad["t"], size=4 if bad["t"].dim() == 3 else (4, 4), mode=bad["mode"])
