"""Causal-LM pretraining on packed token blocks, and held-out perplexity."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainConfig:
    seq_len: int = 256
    batch_size: int = 16
    steps: int = 300
    lr: float = 3e-3
    warmup_steps: int = 30
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0


def pack(token_lists: Sequence[Sequence[int]], separator: int, block: int) -> torch.Tensor:
    """Concatenate documents (each followed by `separator`) and cut into [n, block] rows; the tail that
    does not fill a block is dropped. Packing wastes no compute on padding; the separator tells the
    model where a document ends."""
    if not token_lists:
        raise ValueError("no documents to pack")
    stream: list[int] = []
    for ids in token_lists:
        stream.extend(ids)
        stream.append(separator)
    n = len(stream) // block
    if n == 0:
        raise ValueError(f"corpus too small: {len(stream)} tokens for one block of {block}")
    return torch.tensor(stream[: n * block], dtype=torch.long).view(n, block)


def _lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))  # cosine to 10%


def pretrain(model: torch.nn.Module, blocks: torch.Tensor, cfg: PretrainConfig) -> list[tuple[int, float]]:
    """Train in place; returns (step, loss) every 10 steps. Batches are drawn with a seeded generator,
    so the same seed, blocks and thread count give the same weights."""
    generator = torch.Generator().manual_seed(cfg.seed)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # norms: no weight decay
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    model.train()
    curve: list[tuple[int, float]] = []
    bar = tqdm(range(cfg.steps), desc="pretrain", mininterval=5)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, cfg)
        rows = torch.randint(0, blocks.shape[0], (cfg.batch_size,), generator=generator)
        batch = blocks[rows.to(blocks.device)]
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        if step % 10 == 0 or step == cfg.steps - 1:
            curve.append((step, round(loss.item(), 5)))
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % 50 == 0:
            log.info("step %d/%d loss %.4f lr %.2e", step, cfg.steps, loss.item(), _lr_at(step, cfg))
    model.eval()
    return curve


@torch.no_grad()
def perplexity(model: torch.nn.Module, blocks: torch.Tensor, batch_size: int = 16) -> float:
    """exp(mean next-token loss) over every predicted token of `blocks`."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, blocks.shape[0], batch_size):
        batch = blocks[start : start + batch_size]
        loss = model(input_ids=batch, labels=batch).loss
        n = batch.shape[0] * (batch.shape[1] - 1)
        total += loss.item() * n
        count += n
    return math.exp(total / count)
