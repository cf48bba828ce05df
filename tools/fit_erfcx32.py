"""Fit the float32 erfcx polynomial of tritorch/ops/erfc.py (prints the coefficients and the fit's error).

(1 + 2a) erfcx(a), a >= 0, is smooth and bounded on [0, inf) (1 at a = 0, 2/sqrt(pi) as a -> inf), and so is a
polynomial in t = (a - K) / (a + K) on [-1, 1) (the change of variable of Shepherd and Laframboise, 1981). The fit
is least squares in relative error against mpmath on Chebyshev nodes of t, reweighted (Lawson) towards minimax:

    python tools/fit_erfcx32.py [--k 2.0] [--degree 12]
"""
from __future__ import annotations

import argparse

import mpmath
import numpy as np


def target(t: float, k: float) -> float:
    if t >= 1.0:
        return float(2 / mpmath.sqrt(mpmath.pi))
    a = mpmath.mpf(k) * (1 + mpmath.mpf(t)) / (1 - mpmath.mpf(t))
    return float((1 + 2 * a) * mpmath.exp(a * a) * mpmath.erfc(a))


def fit(k: float, degree: int, nodes: int = 3000, rounds: int = 30) -> np.ndarray:
    t = np.concatenate([[-1.0], np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)[::-1], [1.0]])
    f = np.array([target(v, k) for v in t])
    vander = np.vander(t, degree + 1, increasing=True)
    w = 1.0 / f
    for _ in range(rounds):
        c, *_ = np.linalg.lstsq(vander * w[:, None], f * w, rcond=None)
        err = np.abs(vander @ c - f) / f
        w = w * np.sqrt(err + 1e-3 * err.max())
        w *= (1.0 / f).max() / w.max()
    c32 = c.astype(np.float32)
    p = np.full(t.shape, c32[-1], np.float32)
    for ci in c32[-2::-1]:
        p = p * t.astype(np.float32) + ci
    print(f"K = {k}, degree {degree}: max relative error {np.max(np.abs(vander @ c - f) / f):.2e} (float64 "
          f"evaluation), {np.max(np.abs(p - f) / f):.2e} (float32 coefficients and Horner steps)")
    return c32


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=float, default=2.0)
    ap.add_argument("--degree", type=int, default=12)
    args = ap.parse_args()
    mpmath.mp.dps = 40
    print(", ".join(np.format_float_positional(v, unique=True) for v in fit(args.k, args.degree)))
