"""all_reduce / broadcast / all_gather across processes on one machine: tritorch.distributed against PyTorch's
gloo backend, same sizes, same number of ranks.

    .venv/bin/python perf/bench_distributed.py [--world 2] [--sizes 1e3,1e5,1e6,4e6] [--reps 20]

Each framework runs in its own set of spawned processes (rank 0 reports the median over reps of the slowest
rank's time, after a barrier before each repetition). Bus bandwidth is PyTorch's convention for all_reduce:
2 (n - 1) / n * bytes / time. Tensors are float32 on the cpu.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time


def _worker(rank, framework, world, port, sizes, reps, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if framework == "torch":
        import torch
        import torch.distributed as dist
        torch.set_num_threads(1)
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        import tritorch as torch
        import tritorch.distributed as dist
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    for n in sizes:
        x = torch.ones(n)
        outs = [torch.zeros(n) for _ in range(world)]
        for name, fn in (("all_reduce", lambda: dist.all_reduce(x)), ("broadcast", lambda: dist.broadcast(x, 0)),
                         ("all_gather", lambda: dist.all_gather(outs, x))):
            times = []
            for _ in range(reps + 2):
                dist.barrier()
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            t = torch.tensor([statistics.median(times[2:])], dtype=torch.float64)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            results[f"{name} {n}"] = float(t.item())
    if rank == 0:
        queue.put(results)
    dist.destroy_process_group()


def _run(framework, world, sizes, reps):
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [ctx.Process(target=_worker, args=(r, framework, world, port, sizes, reps, queue)) for r in range(world)]
    for p in procs:
        p.start()
    result = queue.get()
    for p in procs:
        p.join()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", type=int, default=2)
    p.add_argument("--sizes", default="1e3,1e5,1e6,4e6")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--framework", help=argparse.SUPPRESS)
    args = p.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    if args.framework:
        print(json.dumps(_run(args.framework, args.world, sizes, args.reps)))
        return
    runs = {}
    for framework in ("tritorch", "torch"):
        cmd = [sys.executable, __file__, "--framework", framework, "--world", str(args.world), "--sizes",
               args.sizes, "--reps", str(args.reps)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(f"{framework}: failed\n{done.stderr[-2000:]}")
            continue
        runs[framework] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"cpu, {os.cpu_count()} cores, {args.world} ranks; median ms (the slowest rank's); all_reduce bus GB/s")
    print(f"{'collective':28s} {'tritorch':>10s} {'torch gloo':>11s} {'ratio':>7s} {'GB/s ours':>10s} {'GB/s gloo':>10s}")
    for key in runs.get("tritorch", {}):
        ours, theirs = runs["tritorch"][key], runs.get("torch", {}).get(key)
        n = int(key.split()[-1])
        bw = lambda t: 2 * (args.world - 1) / args.world * 4 * n / t / 1e9 if key.startswith("all_reduce") else None
        cells = [f"{ours * 1e3:10.3f}", f"{theirs * 1e3:11.3f}" if theirs else f"{'-':>11s}",
                 f"{ours / theirs:6.2f}x" if theirs else f"{'-':>7s}"]
        if key.startswith("all_reduce"):
            cells += [f"{bw(ours):10.2f}", f"{bw(theirs):10.2f}" if theirs else ""]
        print(f"{key:28s} " + " ".join(cells))


if __name__ == "__main__":
    main()
