"""The RQ-VAE network: MLP encoder, residual vector quantiser, mirrored MLP decoder (LC-Rec layout)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recforge.sid.sinkhorn import sinkhorn_assign


def mlp(dims: Sequence[int], dropout: float) -> nn.Sequential:
    """Dropout -> Linear -> ReLU blocks, no activation after the last Linear (LC-Rec MLPLayers without
    batch norm); Xavier-normal weights and zero biases as LC-Rec initialises them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        linear = nn.Linear(a, b)
        nn.init.xavier_normal_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def pairwise_sq(x: torch.Tensor, book: torch.Tensor) -> torch.Tensor:
    """[B, K] squared L2 distances."""
    return (x.pow(2).sum(1, keepdim=True) - 2 * x @ book.T + book.pow(2).sum(1)[None, :]).clamp_min(0)


class RQVAE(nn.Module):
    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int],
        latent_dim: int,
        levels: int,
        codebook_size: int,
        beta: float = 0.25,
        dropout: float = 0.0,
        sinkhorn_epsilon: float = 0.0,
        sinkhorn_iters: int = 50,
    ) -> None:
        super().__init__()
        self.encoder = mlp([in_dim, *hidden_dims, latent_dim], dropout)
        self.decoder = mlp([latent_dim, *reversed(list(hidden_dims)), in_dim], dropout)
        # One [K, latent] codebook per level; uniform +-1/K as LC-Rec before its k-means initialisation.
        self.codebooks = nn.Parameter(
            torch.empty(levels, codebook_size, latent_dim).uniform_(-1.0 / codebook_size, 1.0 / codebook_size)
        )
        self.beta = beta
        self.sinkhorn_epsilon = sinkhorn_epsilon
        self.sinkhorn_iters = sinkhorn_iters

    @property
    def levels(self) -> int:
        return int(self.codebooks.shape[0])

    def quantise(self, z: torch.Tensor, balance_last: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(straight-through quantised latent, codes [B, levels], mean per-level VQ loss).

        Per level: codebook loss mse(q, sg(r)) + beta * commitment mse(r, sg(q)). The next level
        quantises r - sg(q) (as in residual-VQ implementations), so the encoder still gets the deeper
        levels' commitment gradients. balance_last: the last level assigns by Sinkhorn instead of
        nearest codeword (training only, as LC-Rec's sk_epsilons = 0 ... 0 eps)."""
        residual, total, codes, losses = z, torch.zeros_like(z), [], []
        for level in range(self.levels):
            book = self.codebooks[level]
            with torch.no_grad():
                dist = pairwise_sq(residual, book)
                if balance_last and level == self.levels - 1 and self.sinkhorn_epsilon > 0:
                    idx = sinkhorn_assign(dist, self.sinkhorn_epsilon, self.sinkhorn_iters)
                else:
                    idx = dist.argmin(dim=1)
            q = book[idx]
            losses.append(F.mse_loss(q, residual.detach()) + self.beta * F.mse_loss(residual, q.detach()))
            total = total + q
            residual = residual - q.detach()
            codes.append(idx)
        # Straight-through: the decoder sees the quantised latent, the encoder gets its gradient.
        z_q = z + (total - z).detach()
        return z_q, torch.stack(codes, dim=1), torch.stack(losses).mean()

    def forward(self, x: torch.Tensor, balance_last: bool = False):
        z = self.encoder(x)
        z_q, codes, vq_loss = self.quantise(z, balance_last)
        return self.decoder(z_q), codes, vq_loss

    @torch.no_grad()
    def codes_and_residuals(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest-codeword residual codes [B, levels] of latents z (no Sinkhorn) and the residual
        entering each level [B, levels, latent]."""
        residual, codes, residuals = z, [], []
        for level in range(self.levels):
            book = self.codebooks[level]
            idx = pairwise_sq(residual, book).argmin(dim=1)
            residuals.append(residual)
            residual = residual - book[idx]
            codes.append(idx)
        return torch.stack(codes, dim=1), torch.stack(residuals, dim=1)

    @torch.no_grad()
    def codes_of(self, z: torch.Tensor) -> torch.Tensor:
        return self.codes_and_residuals(z)[0]

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        z = sum(self.codebooks[level][codes[:, level]] for level in range(self.levels))
        return self.decoder(z)
