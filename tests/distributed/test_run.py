"""python -m tritorch.distributed.run (torchrun's static launcher): an unchanged torchrun script under the torch
alias gets tritorch in every rank, torchrun's environment, and DDP-synchronised weights; a failing worker stops
the launch with its exit code."""
import os
import re
import socket
import subprocess
import sys

SCRIPT = '''
import os, sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
assert torch.__name__ == "tritorch" and dist.is_torchelastic_launched()
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
assert (int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])) == (rank, world)
torch.manual_seed(rank)
model = DDP(torch.nn.Linear(3, 1))
torch.optim.SGD(model.parameters(), lr=0.1).zero_grad()
model(torch.ones(4, 3) * (rank + 1)).sum().backward()
w = [torch.zeros(3) for _ in range(world)]
dist.all_gather(w, model.module.weight.grad.reshape(-1))
assert all(torch.equal(w[0], t) for t in w)
print(f"rank {rank} of {world}: grad {w[0].tolist()}", flush=True)
if sys.argv[1:] == ["fail"] and rank == 1:
    sys.exit(7)
dist.destroy_process_group()
'''


def _launch(tmp_path, *args, rendezvous=("--standalone",)):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    cmd = [sys.executable, "-m", "tritorch", "-m", "torch.distributed.run", "--nproc-per-node", "2", *rendezvous,
           str(script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ))


def test_torchrun_script_runs_on_tritorch_in_every_rank(tmp_path):
    done = _launch(tmp_path)
    assert done.returncode == 0, done.stderr
    # (the two workers share the pipe: their lines may interleave)
    lines = sorted(re.findall(r"rank \d of 2: grad \[[^\]]*\]", done.stdout))
    # the mean of the two ranks' gradients (inputs of ones and of twos: 4 rows each) on both
    assert lines == ["rank 0 of 2: grad [6.0, 6.0, 6.0]", "rank 1 of 2: grad [6.0, 6.0, 6.0]"]


def test_failing_worker_stops_the_launch_with_its_code(tmp_path):
    with socket.socket() as s:      # (torchrun's --rdzv_endpoint form names the store's address)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = _launch(tmp_path, "fail", rendezvous=("--nnodes=1", "--rdzv_id=101", f"--rdzv_endpoint=localhost:{port}"))
    assert done.returncode == 7
    assert "worker 1" in done.stderr and "exited with code 7" in done.stderr


GPU_PER_RANK = '''
import os
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
rank = int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(rank)                 # each worker its own GPU, as torchrun programs do
dist.init_process_group("nccl")
torch.manual_seed(rank)
model = DDP(torch.nn.Linear(3, 1).to(rank), device_ids=[rank])
assert model.module.weight.device == torch.device(f"cuda:{rank}") and model.module.weight.get_device() == rank
model(torch.ones(4, 3, device=f"cuda:{rank}") * (rank + 1)).sum().backward()
grad = model.module.weight.grad
assert grad.get_device() == rank
w = [torch.zeros(3, device="cuda") for _ in range(2)]
dist.all_gather(w, grad.reshape(-1))
assert torch.equal(w[0], w[1]) and w[0].get_device() == rank
print(f"rank {rank} on {grad.device}: grad {w[0].tolist()}", flush=True)
dist.destroy_process_group()
'''


def test_torchrun_workers_each_drive_their_own_cuda_device(tmp_path):
    script = tmp_path / "train_gpu.py"
    script.write_text(GPU_PER_RANK)
    env = dict(os.environ, TRITON_INTERPRET="1", TRITORCH_INTERPRET_DEVICES="2")
    cmd = [sys.executable, "-m", "tritorch", "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
           str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    lines = sorted(re.findall(r"rank \d on cuda:\d: grad \[[^\]]*\]", done.stdout))
    assert lines == ["rank 0 on cuda:0: grad [6.0, 6.0, 6.0]", "rank 1 on cuda:1: grad [6.0, 6.0, 6.0]"]
