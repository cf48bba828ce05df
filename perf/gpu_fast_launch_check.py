"""GPU smoke check of tritorch/ops/fast_launch.py, run by perf/gpu_check.sh before the test suite: each op runs
three times on fresh data of one shape (the first launch takes Triton's path, the next two the remembered
compiled kernel) and must match the cpu result every time; then it prints how many launch keys were remembered.
Exit status 1 on any mismatch (the script stops there: every later step would launch the same way)."""
from __future__ import annotations

import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tritorch as tt  # noqa: E402
import tritorch.nn.functional as F  # noqa: E402
from tritorch.ops import fast_launch  # noqa: E402


def _cases():
    lab = np.random.default_rng(9).integers(0, 10, 16)
    return [
        ("add", lambda x, y: x + y, [(64, 33), (64, 33)]),
        ("mul by scalar", lambda x: x * 2.5, [(1000,)]),
        ("broadcast sub", lambda x, y: x - y, [(8, 1, 5), (7, 1)]),
        ("sum", lambda x: x.sum(), [(4096,)]),
        ("sum dim 1", lambda x: x.sum(1), [(33, 257)]),
        ("softmax", lambda x: F.softmax(x, -1), [(64, 300)]),
        ("layer_norm", lambda x, w, b: F.layer_norm(x, (96,), w, b), [(37, 96), (96,), (96,)]),
        ("rms_norm", lambda x, w: F.rms_norm(x, (96,), w), [(37, 96), (96,)]),
        ("matmul", lambda a, b: a @ b, [(64, 48), (48, 80)]),
        ("conv2d", lambda x, w: F.conv2d(x, w, padding=1), [(2, 3, 12, 12), (4, 3, 3, 3)]),
        ("sdpa causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         [(1, 2, 40, 16)] * 3),
        ("cross_entropy", lambda x: F.cross_entropy(x, tt.tensor(lab, device=x.device)), [(16, 10)]),
        ("relu backward", lambda x: tt.autograd.grad(F.relu(x).sum(), [x])[0], [(50, 20)]),
    ]


def main() -> int:
    print("fast launch enabled:", fast_launch.ENABLED)
    bad = 0
    for name, fn, shapes in _cases():
        rng = np.random.default_rng(len(name))
        for call in range(3):
            arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            grad = name.endswith("backward")
            cpu = fn(*[tt.tensor(a, requires_grad=grad) for a in arrays]).numpy()
            gpu = fn(*[tt.tensor(a, device="cuda", requires_grad=grad) for a in arrays]).cpu().numpy()
            tol = 2e-2 if name in ("matmul", "conv2d", "sdpa causal") else 1e-4  # TF32 dots on the GPU
            if not np.allclose(gpu, cpu, rtol=tol, atol=tol):
                print(f"MISMATCH {name} (call {call + 1}): max |diff| {np.max(np.abs(gpu - cpu)):.3g}")
                bad += 1
    kernels = [o for o in gc.get_objects() if isinstance(o, (fast_launch.FastJITFunction, fast_launch.FastAutotuner))]
    keys = sum(len(k._fast_entries) for k in kernels)
    tuners = [k for k in kernels if isinstance(k, fast_launch.FastAutotuner)]
    print(f"fast launch: {len(kernels)} kernels have the fast path, {keys} launch keys remembered "
          f"({sum(len(k._fast_entries) for k in tuners)} by {len(tuners)} autotuners); "
          f"{len(_cases())} ops x 3 calls checked against cpu, {bad} mismatches")
    if fast_launch.ENABLED and not any(k._fast_entries for k in tuners):
        print("WARNING: no autotuner remembered a launch (matmul, conv2d and sdpa ran): each of their calls pays "
              "the Autotuner's key again")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
