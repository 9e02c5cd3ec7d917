"""SASRec network (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018).

Item embedding + learned positional embedding -> LayerNorm -> dropout -> `num_layers` blocks of causal
multi-head self-attention and a GELU feed-forward layer, each with residual connection, dropout and
post-LayerNorm (the RecBole 1.2 layout). The item embedding is shared with the output layer: the score
of item j at a position is `h . E[j]`. Index 0 is padding.

Sequences are LEFT-padded (the most recent item sits in the last column; a batch may be trimmed to its
last T columns, T <= max_len). Positions are counted either from the sequence's first (oldest) item
(`position_from="start"`, as RecBole does: a prefix gets the same positions whether or not more items
follow, so training on all positions of a sequence matches inference on a prefix) or from its end
(`"end"`, as the original SASRec's left padding does: the most recent item always gets the last one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, dropout: float):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden_size {hidden} is not divisible by num_heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, inner)
        self.ff2 = nn.Linear(inner, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """[B, T, H] -> [B, T, H]; with `last_only`, only the last position's output [B, 1, H]."""
        b, t, h = x.shape
        k, v = self.qkv(x)[..., h:].view(b, t, 2, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        if last_only:
            x, mask = x[:, -1:], mask[:, :, -1:]
        q = F.linear(x, self.qkv.weight[:h], self.qkv.bias[:h]).view(b, -1, self.heads, h // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        a = a.transpose(1, 2).reshape(b, -1, h)
        x = self.norm1(x + self.drop(self.out(a)))
        f = self.ff2(F.gelu(self.ff1(x)))
        return self.norm2(x + self.drop(f))


class SASRecNet(nn.Module):
    def __init__(self, n_items: int, hidden: int, layers: int, heads: int, inner: int, dropout: float, max_len: int,
                 position_from: str = "start"):
        super().__init__()
        if position_from not in ("start", "end"):
            raise ValueError(f"position_from must be 'start' or 'end', got {position_from!r}")
        self.n_items = n_items
        self.max_len = max_len
        self.position_from = position_from
        self.item_emb = nn.Embedding(n_items + 1, hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, hidden)
        self.emb_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.emb_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(hidden, heads, inner, dropout) for _ in range(layers))
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, seq: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Hidden states [B, T, H] of a left-padded item-index batch [B, T] ([B, 1, H] for the last
        position only with `last_only`, which skips the other positions' work in the last block)."""
        t = seq.size(1)
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len {self.max_len}")
        keep = seq != 0
        if self.position_from == "end":
            pos = torch.arange(self.max_len - t, self.max_len, device=seq.device)
        else:  # 0 at the first real item of each row (padding sits at the left)
            pad = t - keep.sum(1, keepdim=True)
            pos = (torch.arange(t, device=seq.device) - pad).clamp(min=0)
        x = self.emb_drop(self.emb_norm(self.item_emb(seq) + self.pos_emb(pos)))
        causal = torch.ones(t, t, dtype=torch.bool, device=seq.device).tril()
        eye = torch.eye(t, dtype=torch.bool, device=seq.device)
        # attend to earlier non-padding positions; every query may attend to itself (no all-masked row)
        mask = (causal & keep[:, None, :]) | eye
        mask = mask[:, None, :, :]
        for n, block in enumerate(self.blocks):
            x = block(x, mask, last_only=last_only and n == len(self.blocks) - 1)
        return x

    def item_scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores over the catalogue (padding excluded): column j is item index j + 1."""
        return hidden @ self.item_emb.weight[1:].T
