"""torch.nn.utils.parametrizations: weight_norm, spectral_norm and orthogonal as parametrizations
(nn.utils.parametrize), the forms PyTorch recommends over the older hook-based nn.utils.weight_norm and
nn.utils.spectral_norm. Their originals and buffers carry PyTorch's state-dict names
(parametrizations.weight.original0 / original1, parametrizations.weight.0._u, ...)."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..modules.module import Module
from . import parametrize
from .weight_norm import _norm_except_dim

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _tt():
    import tritorch
    return tritorch


# ============================================================================================ weight_norm

class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over every dim but `dim` (the whole tensor when dim is None)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim=0) -> Module:
    """module.<name> = g * v / ||v|| with g (original0) and v (original1) trained in its place."""
    parametrize.register_parametrization(module, name, _WeightNorm(None if dim is None or dim == -1 else dim),
                                         unsafe=True)
    return module


# =========================================================================================== spectral_norm

class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value of the weight seen as a matrix (dim first, the rest
    flattened), estimated by power iteration on buffers _u, _v: n_power_iterations steps before each training
    forward (15 at registration); a 1-d weight is normalised to unit norm instead."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.dim()
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got "
                             f"{dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._as_matrix(weight)
            h, w = mat.shape
            self.register_buffer("_u", F.normalize(mat.new_empty(h).normal_(0, 1), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(mat.new_empty(w).normal_(0, 1), dim=0, eps=eps))
            self._power_method(mat, 15)

    def _as_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, mat: Tensor, steps: int) -> None:
        with no_grad():
            for _ in range(steps):
                self._u.copy_(F.normalize(mat @ self._v, dim=0, eps=self.eps))
                self._v.copy_(F.normalize(mat.mT @ self._u, dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._as_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim=None) -> Module:
    """module.<name> divided by its spectral norm (power iteration); dim defaults to 1 for transposed
    convolutions (their output channels), 0 otherwise."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ============================================================================================== orthogonal

_MAPS = ("matrix_exp", "cayley", "householder")


def _orthonormalised(A: Tensor) -> Tensor:
    """The Q of A = Q R with R's diagonal positive (A tall, full rank)."""
    return _tt().linalg.qr(A).Q


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^T with v_i = (0, .., 0, 1, A[i+1:, i]) (LAPACK's orgqr form),
    the first k columns of the n x n product (A is n x k)."""
    tt = _tt()
    n, k = A.shape[-2:]
    eye = tt.eye(n, dtype=A.dtype, device=A.device)
    V = A.tril(-1) + tt.eye(n, k, dtype=A.dtype, device=A.device)
    Q = eye.expand(*A.shape[:-2], n, n)
    for i in range(k):
        v = V[..., :, i:i + 1]
        Q = Q - (Q @ v) * tau[..., i:i + 1].unsqueeze(-1) @ v.mT
    return Q[..., :, :k]


class _Orthogonal(Module):
    """An orthogonal (n x k: orthonormal columns, or rows when n < k) matrix from an unconstrained one, through
    the exponential or the Cayley map of a skew-symmetric matrix, or a product of Householder reflections. With
    use_trivialization, the map's output is multiplied by a buffer `base` (the matrix last assigned, made
    orthogonal), so the map starts at the identity."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        tt = _tt()
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = tt.cat([X, X.new_zeros(*X.shape[:-2], n, n - k)], -1)
            A = X - X.mT   # skew-symmetric
            if self.orthogonal_map == "matrix_exp":
                Q = tt.linalg.matrix_exp(A)
            else:   # Cayley: (I - A/2)^-1 (I + A/2)
                eye = tt.eye(n, dtype=A.dtype, device=A.device)
                Q = tt.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            Q = Q[..., :, :k] if n != k else Q
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = _householder_product(A, tau)
            # X's diagonal (+-1 from right_inverse, and given no gradient, so training leaves it) orients each
            # reflection; it is truncated to an integer as PyTorch's parametrization does
            Q = Q * X.diagonal(0, -2, -1).detach().trunc().unsqueeze(-2)
        if "base" in self._buffers and self.base is not None:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        tt = _tt()
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{tuple(Q.shape)}.")
        with no_grad():
            Q_in = Q
            n, k = Q.shape[-2:]
            if n < k:
                Q, n, k = Q.mT, k, n
            if "base" not in self._buffers:
                raise RuntimeError("orthogonal(use_trivialization=False) cannot be assigned to in tritorch: it "
                                   "needs a Householder QR in LAPACK's packed form (torch.geqrf), which tritorch "
                                   "does not have; use the default use_trivialization=True")
            if n != k:   # complete Q with random columns, then orthonormalise
                Q = tt.cat([Q, tt.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)], -1)
                Q = _orthonormalised(Q)
            else:
                eye = tt.eye(k, dtype=Q.dtype, device=Q.device)
                eps = 10.0 * n * (1.1920928955078125e-07 if Q.dtype is tt.float32 else 2.220446049250313e-16)
                Q = Q.clone() if bool(tt.allclose(Q.mT @ Q, eye.expand(*Q.shape[:-2], k, k), atol=eps)) \
                    else _orthonormalised(Q)
            self.base = Q
            # -I is the map's preimage of the identity for every map (the Householder one reads the diagonal's signs)
            neg_eye = tt.zeros_like(Q_in)
            neg_eye.diagonal(0, -2, -1).fill_(-1.0)
            return neg_eye


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain module.<name> (a matrix or batch of matrices) to be orthogonal. orthogonal_map: "matrix_exp"
    (default for square), "cayley", or "householder" (default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: '
                         f"{orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
