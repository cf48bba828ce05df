"""tritorch.testing.assert_close / assert_allclose against torch.testing's: the same inputs pass or fail with the
same exception type and message (tritorch's reprs read `tritorch.` where PyTorch's read `torch.`)."""
import math

import numpy as np
import pytest

import tritorch as tt

torch = pytest.importorskip("torch")


def _outcome(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e), str(e).replace("tritorch.tensor.Tensor", "torch.Tensor").replace("tritorch.", "torch.")
    return None


def _convert(x, lib):
    """The same input for tritorch (lib=tt) or torch: tensors rebuilt from their values, containers recursed."""
    if isinstance(x, np.ndarray) and x.dtype.kind != "O":
        return lib.tensor(x.tolist(), dtype=getattr(lib, str(x.dtype)))
    if isinstance(x, list):
        return [_convert(v, lib) for v in x]
    if isinstance(x, dict):
        return {k: _convert(v, lib) for k, v in x.items()}
    return x


A32 = np.array([1.0, 2.0, 3.0], np.float32)
CASES = [
    (A32, A32.copy(), {}),
    (A32, np.array([1.0, 2.5, 3.1], np.float32), {}),
    (A32, A32 + 1e-6, {}),
    (A32, A32.astype(np.float64), {}),
    (A32, A32.astype(np.float64), {"check_dtype": False}),
    (A32, np.array([1.0, 2.0], np.float32), {}),
    (np.array([1, 2]), np.array([1, 3]), {}),
    (np.array([True, False]), np.array([True, True]), {}),
    (np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), np.array([[1.0, 2.0], [3.5, 4.0]], np.float32), {}),
    (np.array([math.nan, 1.0], np.float32), np.array([math.nan, 1.0], np.float32), {}),
    (np.array([math.nan, 1.0], np.float32), np.array([math.nan, 1.0], np.float32), {"equal_nan": True}),
    (np.array([math.inf, 1.0], np.float32), np.array([math.inf, 1.0], np.float32), {}),
    (np.array([math.inf]), np.array([-math.inf]), {}),
    (np.array(2.0, np.float32), np.array(2.5, np.float32), {}),
    (A32, A32 + 0.01, {"rtol": 0.0, "atol": 0.02}),
    (A32, A32 + 0.01, {"rtol": 1e-3}),
    (A32, A32 + 0.01, {"atol": 1e-3}),
    (A32, A32 + 0.01, {"rtol": 0, "atol": 0}),
    (A32, A32 + 1, {"msg": "custom"}),
    (np.array([1.0, 2.0], np.float16), np.array([1.0, 2.001], np.float16), {}),
    (1.0, 1.1, {}),
    (1.0, 1.0 + 1e-9, {}),
    (1, 1.0, {}),
    (1, 1.0, {"check_dtype": False}),
    (True, False, {}),
    (None, None, {}),
    (None, 1, {}),
    ([A32, 1.0], [A32 + 1, 1.0], {}),
    ([1, 2], [1, 2, 3], {}),
    ({"a": A32, "b": 2}, {"a": A32, "b": 3}, {}),
    ({"a": 1}, {"b": 1}, {}),
    (A32, [1.0, 2.0, 3.0], {}),
]


@pytest.mark.parametrize("actual, expected, kwargs", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_assert_close_matches_torch(actual, expected, kwargs):
    ours = _outcome(tt.testing.assert_close, _convert(actual, tt), _convert(expected, tt), **kwargs)
    theirs = _outcome(torch.testing.assert_close, _convert(actual, torch), _convert(expected, torch), **kwargs)
    assert ours == theirs


def test_tensor_against_numpy_array_is_a_type_error_as_in_torch():
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs of type"):
        tt.testing.assert_close(tt.ones(2), np.ones(2))
    tt.testing.assert_close(np.ones(2), np.ones(2))


def test_callable_msg_receives_the_generated_message():
    with pytest.raises(AssertionError) as info:
        tt.testing.assert_close([tt.ones(2)], [tt.zeros(2)], msg=lambda m: f"Header\n\n{m}\n\nFooter")
    text = str(info.value)
    assert text.startswith("Header\n\nTensor-likes are not close!") and text.endswith("item [0]\n\nFooter")


def test_device_and_stride_checks():
    if not tt.cuda.is_available():
        pytest.skip("needs the cuda device (GPU or TRITON_INTERPRET=1)")
    a, b = tt.ones(2, 3), tt.ones(2, 3, device="cuda")
    with pytest.raises(AssertionError, match="The values for attribute 'device' do not match"):
        tt.testing.assert_close(a, b)
    tt.testing.assert_close(a, b, check_device=False)
    stride_msg = r"The values for attribute 'stride\(\)' do not match: \(3, 1\) != \(1, 2\)"
    with pytest.raises(AssertionError, match=stride_msg):
        tt.testing.assert_close(a, tt.ones(3, 2).t(), check_stride=True)
    tt.testing.assert_close(a, tt.ones(3, 2).t())


def test_bfloat16_tolerance():
    x = tt.tensor([1.0, 2.0], dtype=tt.bfloat16)
    tt.testing.assert_close(x, x * 1.0078125)  # one bfloat16 ulp at 1: within rtol 1.6e-2
    with pytest.raises(AssertionError, match="up to 0.016 allowed"):
        tt.testing.assert_close(x, x * 1.03125)


@pytest.mark.parametrize("actual, expected, kwargs", [
    (A32, A32 + 5e-5, {}), (A32, A32 + 1e-3, {}), (A32, np.array([1, 2, 3]), {}),
    (np.array([math.nan], np.float32), np.array([math.nan], np.float32), {}), (A32, A32 + 0.1, {"msg": "why"}),
])
def test_assert_allclose_matches_torch(actual, expected, kwargs):
    with pytest.warns(FutureWarning, match="assert_allclose"):
        ours = _outcome(tt.testing.assert_allclose, _convert(actual, tt), _convert(expected, tt), **kwargs)
    with pytest.warns(FutureWarning):
        theirs = _outcome(torch.testing.assert_allclose, _convert(actual, torch), _convert(expected, torch), **kwargs)
    assert ours == theirs
