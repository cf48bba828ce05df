"""A tour of tritorch's tensor API on both devices: cpu (NumPy) and cuda (a GPU, or Triton's interpreter).

    python examples/tensor_demo.py            # uses the interpreter for cuda when no GPU is found
"""
import os
import sys

os.environ.setdefault("TRITON_INTERPRET", "0" if os.path.exists("/dev/nvidia0") else "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import tritorch as tt  # noqa: E402


def tour(device: str) -> None:
    print(f"=== device {device!r}")
    tt.manual_seed(0)
    x = tt.arange(12, dtype=tt.float32, device=device).reshape(3, 4)
    print("x =", x)
    print("x.T (a view, shares storage):", x.T.shape, x.T.stride(), "contiguous:", x.T.is_contiguous())
    y = x[:, 1::2]
    y += 100                                     # writes through the view into x
    print("after y += 100, x =", x)
    b = tt.tensor([1.0, -2.0, 3.0, -4.0], device=device)
    print("broadcast x * b =", x * b)
    print("promotion: int64 + 2.5 ->", (tt.tensor([1, 2], device=device) + 2.5).dtype)
    print("reductions: sum(dim=1) =", x.sum(dim=1), " max =", x.max().item(), " argmax(dim=0) =", x.argmax(dim=0))
    w = tt.randn(4, 2, device=device)
    print("matmul x @ w ->", (x @ w).shape, "  exp/tanh/relu:", x.exp().shape, (x / 100).tanh().shape, (-x).relu().sum().item())
    mask = x > 104
    print("mask x > 104:", mask, " masked_select:", x[mask])
    vals, idx = tt.sort(tt.tensor([3.0, 1.0, 2.0], device=device))
    print("sort:", vals, idx)
    print("cat/stack:", tt.cat([x, x], dim=0).shape, tt.stack([b, b]).shape)
    print("back to numpy:", x.cpu().numpy()[0])


if __name__ == "__main__":
    tour("cpu")
    if tt.cuda.is_available():
        tour("cuda")
    else:
        print("cuda: no GPU and TRITON_INTERPRET is not set, skipping")
    print("demo finished")
