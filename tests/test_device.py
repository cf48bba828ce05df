"""Devices: parsing, interning, mixed-device errors, the cuda device's availability with and without Triton's
interpreter."""
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

import tritorch as tt

SAME_DEVICE = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"


# ---------------------------------------------------------------------------------------------------- parsing

def test_device_parsing():
    cpu = tt.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None and str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    cuda = tt.device("cuda:0")
    assert cuda.type == "cuda" and cuda.index == 0 and str(cuda) == "cuda:0"
    assert repr(cuda) == "device(type='cuda', index=0)"
    assert tt.device("cuda", 0) is cuda and tt.device("cuda") is cuda  # one GPU: "cuda" means cuda:0
    assert tt.device(cuda) is cuda
    assert tt.device("cpu") is cpu and tt.device("cpu:0") is cpu


def test_device_equality_hash_and_pickle():
    assert tt.device("cuda") == "cuda:0" and tt.device("cpu") == "cpu" and tt.device("cpu") != tt.device("cuda")
    assert {tt.device("cuda:0"): 1}[tt.device("cuda")] == 1
    assert pickle.loads(pickle.dumps(tt.device("cuda"))) is tt.device("cuda")


def test_device_parsing_errors():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda, meta device type at start of device string: tpu"):
        tt.device("tpu")
    with pytest.raises(RuntimeError, match="type \\(string\\) must not include an index because index was passed"):
        tt.device("cuda:0", 1)
    with pytest.raises((RuntimeError, ValueError)):
        tt.device("cuda:x")


def test_device_arguments_of_creation_functions():
    assert tt.zeros(2, device=tt.device("cuda")).device is tt.device("cuda")
    assert tt.zeros(2, device="cuda:0").device is tt.device("cuda")
    assert tt.zeros(2, device=0).device is tt.device("cuda")  # an int means a cuda index, as in PyTorch
    assert tt.zeros(2).device is tt.device("cpu")


def test_only_one_cuda_device():
    assert tt.cuda.device_count() == 1 and tt.cuda.current_device() == 0
    with pytest.raises(RuntimeError):
        tt.cuda.set_device(1)
    with pytest.raises(RuntimeError):
        tt.zeros(2, device="cuda:1")  # PyTorch: "CUDA error: invalid device ordinal"


# ---------------------------------------------------------------------------------------------- mixed devices

def test_mixed_device_error_names_the_cuda_device_first():
    a, b = tt.ones(3), tt.ones(3, device="cuda")
    for fn in (lambda: a + b, lambda: b + a, lambda: b * a, lambda: a - b):
        with pytest.raises(RuntimeError) as err:
            fn()
        assert str(err.value) == SAME_DEVICE


def test_cpu_zero_dim_tensors_mix_with_cuda_tensors():
    b = tt.ones(3, device="cuda")
    s = tt.tensor(2.0)
    for r in (b + s, s + b, b * s):
        assert r.device is tt.device("cuda") and r.shape == (3,)
    assert (s + b).tolist() == [3.0, 3.0, 3.0]
    # but a 0-dim cuda tensor does not join cpu tensors that have dims
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tt.tensor(2.0, device="cuda") + tt.ones(3)


def test_moving_between_devices_keeps_values():
    x = tt.tensor([[1.5, -2.0], [3.0, 4.25]], dtype=tt.float64)
    y = x.cuda()
    assert y.device is tt.device("cuda") and y.dtype is tt.float64 and y.tolist() == x.tolist()
    z = y.t().cpu()  # a non-contiguous view moves with its values
    assert z.tolist() == [[1.5, 3.0], [-2.0, 4.25]]


# -------------------------------------------------------------------------------------------- availability

def test_cuda_is_available_under_the_interpreter():
    if tt.cuda.is_interpreter():
        assert tt.cuda.is_available()
        assert tt.cuda.get_device_name() == "Triton interpreter (CPU)"
        assert os.environ.get("TRITON_INTERPRET") not in (None, "", "0")
    assert tt.cuda.is_available() == (tt.cuda.device_count() == 1)


def _run_without_interpreter(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TRITON_INTERPRET", None)
    env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU either, even on a machine that has one
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_without_interpreter_and_gpu_cuda_is_unavailable_and_says_how_to_fix_it():
    proc = _run_without_interpreter("""
        import tritorch as tt
        assert not tt.cuda.is_available(), "cuda reported available without a GPU or the interpreter"
        assert tt.cuda.device_count() == 0
        assert tt.ones(2).tolist() == [1.0, 1.0]  # the cpu device still works
        for make in (lambda: tt.zeros(2, device="cuda"), lambda: tt.tensor([1.0]).cuda(),
                     lambda: tt.tensor([1.0], device="cuda")):
            try:
                make()
            except RuntimeError as e:
                assert "TRITON_INTERPRET" in str(e), str(e)
            else:
                raise AssertionError("creating a cuda tensor did not raise")
        event = tt.cuda.Event(enable_timing=True)   # (created lazily, as PyTorch's: the first record raises)
        for use in (event.record, tt.cuda.Stream, tt.cuda.current_stream):
            try:
                use()
            except RuntimeError as e:
                assert "TRITON_INTERPRET" in str(e), str(e)
            else:
                raise AssertionError(f"{use} did not raise")
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
