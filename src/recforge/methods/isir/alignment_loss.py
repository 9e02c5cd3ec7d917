"""Seed 000's hidden-alignment losses between student and teacher states, [B, L, H] each (float32).
Each returns the mean over samples of a per-sample loss averaged over layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6
LOSSES = ("cosine", "mse", "mae", "mse_zscore_t", "mse_zscore")


def _zscore(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (x - mean) / (std + EPS)


def alignment_loss(student: torch.Tensor, teacher: torch.Tensor, kind: str) -> torch.Tensor:
    if student.shape != teacher.shape:
        raise ValueError(f"student states {tuple(student.shape)} != teacher states {tuple(teacher.shape)}")
    s, t = student.float(), teacher.float()
    if kind == "cosine":  # mean_l (1 - cos(s_l, t_l))
        per_sample = (1 - F.cosine_similarity(s, t, dim=-1, eps=EPS)).mean(dim=1)
    elif kind == "mse":
        per_sample = ((s - t) ** 2).mean(dim=(1, 2))
    elif kind == "mae":
        per_sample = (s - t).abs().mean(dim=(1, 2))
    elif kind == "mse_zscore_t":  # both scaled by the teacher vector's own per-layer statistics
        mean, std = t.mean(dim=-1, keepdim=True), t.std(dim=-1, keepdim=True)
        per_sample = ((_zscore(s, mean, std) - _zscore(t, mean, std)) ** 2).mean(dim=(1, 2))
    elif kind == "mse_zscore":  # each vector scaled by its own statistics: scale-free
        zs = _zscore(s, s.mean(dim=-1, keepdim=True), s.std(dim=-1, keepdim=True))
        zt = _zscore(t, t.mean(dim=-1, keepdim=True), t.std(dim=-1, keepdim=True))
        per_sample = ((zs - zt) ** 2).mean(dim=(1, 2))
    else:
        raise ValueError(f"unknown alignment loss {kind!r}; use one of {LOSSES}")
    return per_sample.mean()
