"""Benchmark of DataLoader worker processes: one epoch over the digits (examples/data/digits8x8.npz), each sample
augmented in NumPy (upsampled to 32x32, randomly shifted and flipped, noised, normalised) as an image pipeline
does, with num_workers 0 and N, for tritorch and PyTorch's DataLoader over the same dataset code.

    .venv/bin/python perf/bench_dataloader.py [--workers N] [--repeat R] [--work K] [--image S]

--work repeats the augmentation K times per sample (more CPU per sample, as a heavier pipeline). Each figure is
the median of R interleaved repeats (tritorch and torch alternate); worker start-up is included, as a training
epoch without persistent workers pays it.

--image S instead times the transfer of large batches: 20 batches of 64 constant 3xSxS float32 images (no
augmentation) with N workers, persistent, after a warm-up epoch: what a worker's batch costs to reach the main
process (PyTorch and tritorch both collate into shared memory in the workers and send a file descriptor).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

DATA = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "digits8x8.npz")


class Augmented:
    """A map-style dataset (duck-typed, so both libraries' DataLoaders take it) returning (image, label) tensors
    of the given library."""

    def __init__(self, lib, work: int):
        d = np.load(DATA)
        self.images, self.labels, self.lib, self.work = d["images"], d["labels"], lib, work

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        img = self.images[i].astype(np.float32) / 16.0
        for _ in range(self.work):
            big = np.kron(img, np.ones((4, 4), np.float32))                       # 32x32
            big = np.roll(big, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
            if rng.random() < 0.5:
                big = big[:, ::-1]
            big = big + rng.normal(0.0, 0.05, big.shape).astype(np.float32)
            out = (big - big.mean()) / (big.std() + 1e-6)
        return self.lib.from_numpy(np.ascontiguousarray(out)[None]), int(self.labels[i])


def epoch_seconds(lib, workers: int, work: int) -> float:
    loader = lib.utils.data.DataLoader(Augmented(lib, work), batch_size=64, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    n = 0
    for x, y in loader:
        n += len(y)
    assert n == 1797
    return time.perf_counter() - start


class Images:
    """20 batches of 64 constant 3 x size x size float32 images of the given library (no CPU work per sample)."""

    def __init__(self, lib, size: int):
        self.lib, self.size = lib, size

    def __len__(self):
        return 64 * 20

    def __getitem__(self, i):
        return self.lib.from_numpy(np.full((3, self.size, self.size), i % 7, np.float32)), i


def image_batches(libs, workers: int, size: int, repeat: int) -> None:
    loaders = {name: lib.utils.data.DataLoader(Images(lib, size), batch_size=64, num_workers=workers,
                                               persistent_workers=True) for name, lib in libs}
    times = {}
    for r in range(repeat + 1):
        for name, _ in libs:
            start = time.perf_counter()
            for x, _ in loaders[name]:
                pass
            if r:   # (the first pass starts the workers)
                times.setdefault(name, []).append((time.perf_counter() - start) / 20)
    print(f"{os.cpu_count()} CPUs; batches of 64 x 3x{size}x{size} float32 ({64 * 3 * size * size * 4 / 2**20:.1f}"
          f" MiB), {workers} persistent workers")
    for name, _ in libs:
        print(f"{name:<10}{statistics.median(times[name]) * 1e3:>8.1f} ms a batch")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--work", type=int, default=4)
    p.add_argument("--image", type=int, default=0)
    args = p.parse_args()
    libs = [("tritorch", tt)] + ([("torch", torch)] if torch is not None else [])
    if args.image:
        image_batches(libs, args.workers, args.image, args.repeat)
        return
    print(f"{os.cpu_count()} CPUs; one epoch of 1797 digits, batch 64, augmentation x{args.work}")
    print(f"{'library':<10}{'workers':>8}{'epoch s':>10}{'vs 0 workers':>14}")
    for name, lib in libs:
        epoch_seconds(lib, 0, 1)   # warm-up
    results = {}
    for _ in range(args.repeat):
        for workers in (0, args.workers):
            for name, lib in libs:
                results.setdefault((name, workers), []).append(epoch_seconds(lib, workers, args.work))
    for name, _ in libs:
        base = statistics.median(results[(name, 0)])
        for workers in (0, args.workers):
            t = statistics.median(results[(name, workers)])
            print(f"{name:<10}{workers:>8}{t:>10.3f}{base / t:>13.2f}x")


if __name__ == "__main__":
    main()
