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
    assert tt.device("cuda", 0) is cuda and tt.device(0) is cuda
    # as in PyTorch, "cuda" names no index (the current device): it is not cuda:0, but tensors placed there are
    anycuda = tt.device("cuda")
    assert anycuda.index is None and str(anycuda) == "cuda" and repr(anycuda) == "device(type='cuda')"
    assert anycuda != cuda and tt.zeros(1, device=anycuda).device is cuda
    assert tt.device(cuda) is cuda
    assert tt.device("cpu") is cpu and tt.device("cpu:0") is cpu


def test_device_equality_hash_and_pickle():
    assert tt.device("cuda:0") == "cuda:0" and tt.device("cpu") == "cpu" and tt.device("cpu") != tt.device("cuda")
    assert tt.device("cuda") == "cuda" and tt.device("cuda") != "cuda:0"   # as PyTorch's
    # another framework's device name is simply not equal (accelerate asks `device == "npu"`), not an error
    assert tt.device("cpu") != "npu" and not (tt.device("cuda:0") == "xla") and tt.device("cpu") != "bogus:x"
    assert {tt.device("cuda:0"): 1}[tt.device(0)] == 1
    assert pickle.loads(pickle.dumps(tt.device("cuda:0"))) is tt.device("cuda:0")
    assert pickle.loads(pickle.dumps(tt.device("cuda"))) is tt.device("cuda")


def test_device_parsing_errors():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda, meta device type at start of device string: tpu"):
        tt.device("tpu")
    with pytest.raises(RuntimeError, match="type \\(string\\) must not include an index because index was passed"):
        tt.device("cuda:0", 1)
    with pytest.raises((RuntimeError, ValueError)):
        tt.device("cuda:x")


def test_device_arguments_of_creation_functions():
    assert tt.zeros(2, device=tt.device("cuda")).device is tt.device("cuda:0")
    assert tt.zeros(2, device="cuda:0").device is tt.device("cuda:0")
    assert tt.zeros(2, device=0).device is tt.device("cuda:0")  # an int means a cuda index, as in PyTorch
    assert tt.zeros(2).device is tt.device("cpu")


def test_only_one_cuda_device():
    assert tt.cuda.device_count() == 1 and tt.cuda.current_device() == 0
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        tt.cuda.set_device(1)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        tt.zeros(2, device="cuda:1")  # PyTorch: "CUDA error: invalid device ordinal"
    tt.cuda.set_device(0)   # the device it is on: nothing changes
    tt.cuda.set_device(-1)  # negative: nothing changes, as in PyTorch


def test_device_from_an_int_is_a_cuda_index():
    assert tt.device(0) is tt.device("cuda:0") and str(tt.device(0)) == "cuda:0"
    with pytest.raises(RuntimeError, match="must not be negative"):
        tt.device(-1)


# The interpreter can present several devices (TRITORCH_INTERPRET_DEVICES); each process drives one, chosen by
# set_device before its first cuda work, as a torchrun worker does. Run in a fresh process: the choice is global.
ONE_OF_TWO_DEVICES = """
import pytest, tritorch as tt
held = tt.device("cuda:1")              # made before the choice, as `torch.device(f"cuda:{rank}")` often is
assert tt.cuda.device_count() == 2 and tt.cuda.current_device() == 0 and tt.cuda.is_available()
assert not tt.cuda.is_initialized()     # asking neither initialises nor chooses
tt.cuda.set_device(held)
cur = tt.device("cuda:1")
assert tt.cuda.current_device() == 1 and tt.device(1) is cur and held is not cur
assert held == cur and hash(held) == hash(cur) and tt.device("cuda") != cur
x = tt.arange(4.0).to(held)
assert x.device is cur and x.get_device() == 1 and str(x.device) == "cuda:1"
for y in (x.cuda(), x.cuda(1), x.to(1), tt.zeros(2, device="cuda"), tt.zeros(2, device=1), tt.ones(2, device=held)):
    assert y.device is x.device
assert (x * 2).sum().item() == 12.0 and (x * 2).device is x.device
with pytest.raises(RuntimeError, match="one cuda device per process, cuda:1 in this one"):
    tt.zeros(2, device="cuda:0")
with pytest.raises(RuntimeError, match="invalid device ordinal"):
    x.to("cuda:2")
with pytest.raises(RuntimeError, match="already run cuda work on cuda:1"):
    tt.cuda.set_device(0)
tt.cuda.set_device(1)
with tt.cuda.device(1):
    assert tt.cuda.current_device() == 1
with pytest.raises(RuntimeError, match="already run cuda work"):
    with tt.cuda.device(0):
        pass
assert tt.cuda.Stream().device is x.device and tt.cuda.Stream(device="cuda:1").device_index == 1
with pytest.raises(ValueError, match="index 1"):
    tt.cuda.Stream(device="cuda:0")
assert tt.cuda.get_device_name(1) == tt.cuda.get_device_name()
assert tt.cuda.memory_allocated(0) == 0 and tt.cuda.memory_allocated(1) == tt.cuda.memory_allocated() > 0
m = tt.nn.DataParallel(tt.nn.Linear(2, 1), device_ids=[1])
assert m.device_ids == [1] and m.module.weight.device is x.device
with pytest.raises(RuntimeError, match="one cuda device per process"):
    tt.nn.DataParallel(tt.nn.Linear(2, 1), device_ids=[0, 1])
import io
buf = io.BytesIO()
tt.save({"w": x}, buf)
buf.seek(0)
assert tt.load(buf)["w"].device is x.device     # saved on cuda:1, back on cuda:1
buf.seek(0)
assert tt.equal(tt.load(buf, map_location="cpu")["w"], tt.arange(4.0))
buf = io.BytesIO()
tt.save({"w": x.cpu()}, buf)
buf.seek(0)
with pytest.raises(RuntimeError, match="map_location='cuda:1'"):
    tt.load(buf, map_location="cuda:0")
buf.seek(0)
with pytest.raises(RuntimeError, match="device_count\\(\\) is 2"):
    tt.load(buf, map_location="cuda:5")
print("ok")
"""

CHOICE_BEFORE_WORK = """
import tritorch as tt
with tt.cuda.device(1):                  # nothing ran inside: leaving goes back
    assert tt.cuda.current_device() == 1
assert tt.cuda.current_device() == 0
with tt.cuda.device(1):                  # work inside fixes the process on cuda:1
    y = tt.ones(2, device="cuda")
assert tt.cuda.current_device() == 1 and y.device is tt.device("cuda:1") and y.get_device() == 1
print("ok")
"""


@pytest.mark.parametrize("script", [ONE_OF_TWO_DEVICES, CHOICE_BEFORE_WORK], ids=["set_device", "context"])
def test_each_process_drives_the_cuda_device_it_chooses(script):
    import os
    import subprocess
    import sys
    env = dict(os.environ, TRITON_INTERPRET="1", TRITORCH_INTERPRET_DEVICES="2")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


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
        assert r.device is tt.device("cuda:0") and r.shape == (3,)
    assert (s + b).tolist() == [3.0, 3.0, 3.0]
    # but a 0-dim cuda tensor does not join cpu tensors that have dims
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        tt.tensor(2.0, device="cuda") + tt.ones(3)


def test_moving_between_devices_keeps_values():
    x = tt.tensor([[1.5, -2.0], [3.0, 4.25]], dtype=tt.float64)
    y = x.cuda()
    assert y.device is tt.device("cuda:0") and y.dtype is tt.float64 and y.tolist() == x.tolist()
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
