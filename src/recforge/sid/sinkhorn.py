"""Sinkhorn-Knopp balanced assignment (hand-written; the LC-Rec / LETTER recipe).

Nearest-codeword assignment lets a few codes take most items (collisions, dead codes). Sinkhorn
instead solves an entropy-regularised optimal transport between the B items and the K codes with
uniform marginals (every item has mass 1/B, every code receives 1/K), so each code gets about B/K
items; an item then takes the code with the largest transport mass.

As in LC-Rec's vq.py, distances are first centred and scaled to [-1, 1] (so epsilon means the same
for any data scale); the plan Q = diag(u) exp(-d / epsilon) diag(v) is then alternately normalised
over codes (columns sum to 1/K) and items (rows sum to 1/B), columns first, `iters` times.

Two equivalent numerics, both float64: the scaling form (two matrix-vector products per iteration,
~10x faster than re-normalising the whole matrix: 17 vs 180 ms for 1024 x 256 on one thread) while
exp(-2 / epsilon) is a normal float64 (epsilon >= ~0.0029), else the log domain (logsumexp), where
LC-Rec's direct exponentiation would overflow (epsilon < ~0.0015).
"""

from __future__ import annotations

import math

import torch

_MAX_EXPONENT = 700.0  # exp(-700) ~ 1e-304 is still a normal float64


def _scaled(distances: torch.Tensor, epsilon: float) -> torch.Tensor:
    if epsilon <= 0:
        raise ValueError(f"sinkhorn epsilon must be > 0, got {epsilon}")
    d = distances.detach().to(torch.float64)
    lo, hi = d.min(), d.max()
    middle = (hi + lo) / 2
    amplitude = hi - middle + 1e-5
    return (d - middle) / amplitude  # in [-1, 1]


def sinkhorn_log_plan(distances: torch.Tensor, epsilon: float, iters: int = 50) -> torch.Tensor:
    """log of the transport plan [B, K] (log-domain iterations)."""
    log_q = -_scaled(distances, epsilon) / epsilon
    b, k = log_q.shape
    for _ in range(int(iters)):
        log_q = log_q - torch.logsumexp(log_q, dim=0, keepdim=True) - math.log(k)  # codes get 1/K each
        log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True) - math.log(b)  # items give 1/B each
    return log_q


def sinkhorn_plan(distances: torch.Tensor, epsilon: float, iters: int = 50) -> torch.Tensor:
    """The transport plan [B, K] (scaling form; float64)."""
    d = _scaled(distances, epsilon)
    # Shifting each row by its minimum is absorbed into u; every row keeps an entry equal to 1.
    kernel = torch.exp(-(d - d.min(dim=1, keepdim=True).values) / epsilon)
    b, k = kernel.shape
    u = torch.ones(b, dtype=kernel.dtype, device=kernel.device)
    v = torch.ones(k, dtype=kernel.dtype, device=kernel.device)
    for _ in range(int(iters)):
        v = 1.0 / (k * (kernel.T @ u))
        u = 1.0 / (b * (kernel @ v))
    return u[:, None] * kernel * v[None, :]


def sinkhorn_assign(distances: torch.Tensor, epsilon: float, iters: int = 50) -> torch.Tensor:
    """Balanced code per row of `distances` [B, K]: int64 [B]."""
    if 2.0 / epsilon < _MAX_EXPONENT:
        return torch.argmax(sinkhorn_plan(distances, epsilon, iters), dim=1)
    return torch.argmax(sinkhorn_log_plan(distances, epsilon, iters), dim=1)
