"""Fit the float32 Phi polynomial of tritorch/ops/unary.py (prints the coefficients and the fit's error).

Phi(x) = (1 + erf(x / sqrt 2)) / 2 = (1 + tanh(y)) / 2 with y = atanh(erf(x / sqrt 2)), an odd function of x, so
y = x h(x^2). h is fitted as g(t) = atanh(erf(z)) / z in t = z^2 on [0, 16] (z = x / sqrt 2, so x^2 in [0, 32];
float32's erf is 1 beyond), then h(s) = g(s / 2) / sqrt 2. The fit is least squares on the error of erf itself
(a change dg of g moves erf by z (1 - erf^2) dg), scaled by half a float32 ulp of erf, on Chebyshev nodes of t,
reweighted (Lawson) towards minimax; atanh(erf(z)) is taken as log((2 - erfc) / erfc) / 2 from the C library's
erfc, accurate where erf is near 1:

    python tools/fit_phi_tanh.py [--degree 6]
"""
from __future__ import annotations

import argparse
import math

import numpy as np

T_MAX = 16.0


def fit(degree: int, nodes: int = 4000, rounds: int = 60):
    t = (np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)[::-1] + 1) * T_MAX / 2
    z = np.sqrt(t)
    e = np.array([math.erfc(v) for v in z])
    g = np.where(z < 1e-4, 2 / math.sqrt(math.pi) * (1 + t / 3), 0.5 * np.log((2 - e) / e) / np.maximum(z, 1e-4))
    erf = 1 - e
    scale = np.maximum(np.abs(erf) * 2.0 ** -24, 2.0 ** -25)       # half a float32 ulp of erf
    sens = z * (1 - erf * erf) + 1e-300
    vander = np.vander(t, degree + 1, increasing=True)
    w = np.ones(nodes)
    for _ in range(rounds):
        weight = w * sens / scale
        c, *_ = np.linalg.lstsq(vander * weight[:, None], g * weight, rcond=None)
        err = np.abs(np.tanh(z * (vander @ c)) - erf) / scale
        w *= np.sqrt(err / err.max()) + 1e-3
    return c, err.max()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--degree", type=int, default=6)
    args = ap.parse_args()
    c, err = fit(args.degree)
    h = [float(ci) / 2 ** i / math.sqrt(2) for i, ci in enumerate(c)]
    print(f"degree {args.degree}: largest error of erf {err / 2:.3f} float32 ulp (float64 evaluation)")
    print("h =", h)


if __name__ == "__main__":
    main()
