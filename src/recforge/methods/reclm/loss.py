"""RecLM's SFT loss (seed notes 001, B.5): scope mask and focal-loss variants, all switches effective.

Positions are label positions p (the token labels[p], predicted by the logits at p - 1). The scope of
an item span labels[s] = <SOI> ... labels[e] = <EOI> is its title positions s < p < e (the <EOI>
position is not in scope, as in the seed). At such a p the trie's allowed continuations of
labels[s+1:p] are the children of that prefix plus <EOI> when the prefix is itself a complete item.
`scope_mask_type` filters the scope: 1 drops positions with fewer than 2 allowed tokens, 2 drops
positions whose only allowed token is <EOI> (cannot happen at a title position, so it equals 3), 3
keeps every title position.

`reclm_loss`: per label position -log p(y) (loss_type 3), -(1 - p(y))^gamma log p(y) (focal, loss_type
2, at every label) or focal at the scope positions only and plain CE elsewhere (loss_type 1); with the
scope mask, p(y) at scope positions is the softmax over the allowed tokens only. Token mean over the
labelled positions (labels != -100).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

IGNORE = -100


def item_spans(labels: Sequence[int], soi: int, eoi: int) -> list[tuple[int, int]]:
    """(s, e) of each complete <SOI> ... <EOI> pair among the labels."""
    spans, opened = [], None
    for p, token in enumerate(labels):
        if token == soi:
            opened = p
        elif token == eoi and opened is not None:
            spans.append((opened, p))
            opened = None
    return spans


def scope_positions(labels: torch.Tensor, trie: Any, soi: int, eoi: int, mask_type: int = 3
                    ) -> tuple[list[tuple[int, int]], list[list[int]]]:
    """([(row, p)], [allowed token ids at that position]) for labels [B, T]."""
    where, allowed = [], []
    for b, row in enumerate(labels.tolist()):
        for s, e in item_spans(row, soi, eoi):
            for p in range(s + 1, e):
                prefix = row[s + 1 : p]
                ok = list(trie.next_tokens(prefix))
                if trie.lookup(prefix):
                    ok.append(eoi)
                if row[p] not in ok:  # not a catalogue item (cannot happen for built rows): stop the span
                    break
                if mask_type == 1 and len(ok) < 2:
                    continue
                if mask_type == 2 and ok == [eoi]:
                    continue
                where.append((b, p))
                allowed.append(ok)
    return where, allowed


def label_logprobs(logits: torch.Tensor, labels: torch.Tensor, where: Sequence[tuple[int, int]] = (),
                   allowed: Sequence[Sequence[int]] = (), scope_mask: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log p(y) [B, T-1], labelled mask [B, T-1], in-scope mask [B, T-1]) on the shifted grid
    (column q is label position q + 1)."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    valid = shift_labels != IGNORE
    y = shift_labels.clamp(min=0)
    logp = shift_logits.gather(-1, y.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(shift_logits, dim=-1)
    in_scope = torch.zeros_like(valid)
    if len(where):
        rows = torch.tensor([b for b, _ in where], device=logits.device)
        cols = torch.tensor([p - 1 for _, p in where], device=logits.device)
        in_scope[rows, cols] = True
        if scope_mask:
            selected = shift_logits[rows, cols]
            blocked = torch.ones_like(selected, dtype=torch.bool)
            r = torch.tensor([n for n, ok in enumerate(allowed) for _ in ok], device=logits.device)
            c = torch.tensor([t for ok in allowed for t in ok], device=logits.device)
            blocked[r, c] = False
            masked = selected.masked_fill(blocked, float("-inf"))
            ys = y[rows, cols]
            logp = logp.index_put((rows, cols), masked.gather(-1, ys[:, None]).squeeze(-1)
                                  - torch.logsumexp(masked, dim=-1))
    return logp, valid, in_scope & valid


def reclm_loss(logits: torch.Tensor, labels: torch.Tensor, *, loss_type: int = 3, gamma: float = 2.0,
               where: Sequence[tuple[int, int]] = (), allowed: Sequence[Sequence[int]] = (),
               scope_mask: bool = True) -> torch.Tensor:
    logp, valid, in_scope = label_logprobs(logits, labels, where, allowed, scope_mask)
    loss = -logp
    if loss_type in (1, 2):
        focal = (1 - logp.exp()).clamp(min=0) ** gamma
        factor = focal if loss_type == 2 else torch.where(in_scope, focal, torch.ones_like(focal))
        loss = factor * loss
    elif loss_type != 3:
        raise ValueError(f"loss_type must be 1, 2 or 3, got {loss_type}")
    n = valid.sum()
    return (loss * valid).sum() / n.clamp(min=1)
