"""python -m tritorch.distributed.run [options] SCRIPT [ARGS...]: torchrun's static launcher for tritorch.

Starts --nproc-per-node copies of SCRIPT (or of a module, with -m) with torchrun's environment variables (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID), so that
their init_process_group("gloo" or "nccl") meets through env://; rank 0 serves the store on MASTER_PORT. Several
nodes: the same command on each with --nnodes, --node-rank and one --master-addr. When one worker fails the
others are stopped and the launcher exits with its code. Under `python -m tritorch -m torch.distributed.run ...`
the workers run under the torch alias too, so an unchanged torchrun script gets tritorch in every rank.
No elastic restarts, no dynamic rendezvous: --max-restarts must be 0.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tritorch.distributed.run", description=__doc__.splitlines()[0])
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="workers on this node: a number, or 'cpu' (one per core)")
    p.add_argument("--nnodes", default="1", help="nodes (N or N:N; elastic ranges are not supported)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true", help="one node on a free local port")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0)
    p.add_argument("--rdzv-id", "--rdzv_id", default="none")
    p.add_argument("--rdzv-endpoint", "--rdzv_endpoint", default=None,
                   help="host:port of the rendezvous (rank 0's store): sets --master-addr and --master-port")
    p.add_argument("--rdzv-backend", "--rdzv_backend", default="static", help="accepted: c10d or static")
    p.add_argument("-m", "--module", action="store_true", help="run SCRIPT as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true", help="run SCRIPT as an executable")
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def _nodes(text: str) -> int:
    lo, _, hi = str(text).partition(":")
    if hi and hi != lo:
        raise SystemExit(f"--nnodes {text}: elastic node ranges are not supported; give one number")
    return int(lo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _under_alias() -> bool:
    import tritorch
    return sys.modules.get("torch") is tritorch


def worker_command(args) -> list:
    if args.no_python:
        return [args.script, *args.script_args]
    python = [sys.executable, "-u"] + (["-m", "tritorch"] if _under_alias() else [])
    return python + (["-m", args.script] if args.module else [args.script]) + list(args.script_args)


def main(argv: list | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.max_restarts:
        raise SystemExit("--max-restarts: tritorch's launcher does not restart workers; use 0")
    nproc = (os.cpu_count() or 1) if args.nproc_per_node == "cpu" else int(args.nproc_per_node)
    nnodes = _nodes(args.nnodes)
    if args.rdzv_endpoint:
        host, _, port = args.rdzv_endpoint.rpartition(":")
        args.master_addr, args.master_port = host or args.rdzv_endpoint, int(port) if port else args.master_port
    if args.standalone:
        nnodes, args.node_rank, args.master_addr, args.master_port = 1, 0, "127.0.0.1", _free_port()
    world = nnodes * nproc
    cmd = worker_command(args)
    procs = []
    for local in range(nproc):
        env = dict(os.environ, RANK=str(args.node_rank * nproc + local), LOCAL_RANK=str(local),
                   WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(nproc), GROUP_RANK=str(args.node_rank),
                   MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
                   TORCHELASTIC_RUN_ID=args.rdzv_id)
        if nproc > 1 and "OMP_NUM_THREADS" not in os.environ:
            env["OMP_NUM_THREADS"] = "1"     # as torchrun: the workers share the cores
        procs.append(subprocess.Popen(cmd, env=env))
    return _supervise(procs)


def _supervise(procs: list) -> int:
    """Wait for every worker; when one fails, stop the others and return its exit code."""
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                rank, code = failed[0]
                print(f"tritorch.distributed.run: worker {rank} (pid {procs[rank].pid}) exited with code {code}; "
                      "stopping the others", file=sys.stderr)
                _stop(procs)
                return code if code > 0 else 1
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs)
        return 130


def _stop(procs: list) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    sys.exit(main())
