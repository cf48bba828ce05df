"""torch.amp.custom_fwd / custom_bwd (and torch.cuda.amp's deprecated forms) on autograd.Function, against torch."""
import inspect

import pytest

import tritorch as tt

SEEN = {}


def _make(device_type, cast_inputs):
    class Mul(tt.autograd.Function):
        @staticmethod
        @tt.amp.custom_fwd(device_type=device_type, cast_inputs=cast_inputs)
        def forward(ctx, a, b):
            SEEN["fwd"] = (a.dtype, b.dtype, tt.is_autocast_enabled(device_type))
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        @tt.amp.custom_bwd(device_type=device_type)
        def backward(ctx, grad):
            SEEN["bwd"] = (tt.is_autocast_enabled(device_type), tt.get_autocast_dtype(device_type))
            a, b = ctx.saved_tensors
            return grad * b, grad * a
    return Mul


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cast_inputs_casts_and_runs_forward_and_backward_without_autocast(device):
    a = tt.ones(3, device=device, requires_grad=True)
    b = tt.full((3,), 2.0, device=device, dtype=tt.float64)       # float64 is never cast, as torch's _cast
    half = tt.bfloat16 if device == "cpu" else tt.float16
    with tt.autocast(device_type=device, dtype=half):
        y = _make(device, half).apply(a, b)
    assert SEEN["fwd"] == (half, tt.float64, False)
    y.sum().backward()
    assert SEEN["bwd"][0] is False
    assert a.grad.dtype == tt.float32 and a.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_backward_runs_under_the_forwards_autocast_state(device):
    a, b = tt.ones(2, device=device, requires_grad=True), tt.ones(2, device=device)
    with tt.autocast(device_type=device, dtype=tt.bfloat16):
        y = _make(device, None).apply(a, b)
    assert SEEN["fwd"] == (tt.float32, tt.float32, True)
    y.sum().backward()                                 # outside the region: backward still autocasts
    assert SEEN["bwd"] == (True, tt.bfloat16)
    y = _make(device, tt.float16).apply(a, b)          # no autocast region: no cast, no autocast
    assert SEEN["fwd"] == (tt.float32, tt.float32, False)
    y.sum().backward()
    assert SEEN["bwd"][0] is False


def test_signatures_and_errors_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in ((tt.amp.custom_fwd, torch.amp.custom_fwd), (tt.amp.custom_bwd, torch.amp.custom_bwd),
                         (tt.cuda.amp.custom_fwd, torch.cuda.amp.custom_fwd),
                         (tt.cuda.amp.custom_bwd, torch.cuda.amp.custom_bwd)):
        assert [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()] == \
            [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        tt.amp.custom_fwd(device_type=None)
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.custom_fwd\(args...\)` is deprecated"):
        fwd = tt.cuda.amp.custom_fwd(cast_inputs=tt.float16)
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.custom_bwd\(args...\)` is deprecated"):
        tt.cuda.amp.custom_bwd(lambda ctx, g: g)
    assert callable(fwd(lambda ctx, x: x))
