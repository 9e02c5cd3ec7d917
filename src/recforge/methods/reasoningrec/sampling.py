"""Stratified, seeded subsets: K training examples (the paper's `sample`: 32 Yes / 32 No for K = 64)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def stratified_sample(rows: pd.DataFrame, k: int | None, seed: int, label: str = "label") -> pd.DataFrame:
    """`k` rows, half of each label when both have enough (the rarer label all taken and the rest from
    the other otherwise), drawn with a seeded permutation; order: by the permutation. None: all rows."""
    if k is None or k >= len(rows):
        return rows.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    pos = rows[rows[label] == 1]
    neg = rows[rows[label] == 0]
    n_neg = min(len(neg), k // 2)
    n_pos = min(len(pos), k - n_neg)
    n_neg = min(len(neg), k - n_pos)
    rng = np.random.default_rng(seed)
    picked = pd.concat([
        pos.iloc[np.sort(rng.permutation(len(pos))[:n_pos])],
        neg.iloc[np.sort(rng.permutation(len(neg))[:n_neg])],
    ])
    return picked.iloc[rng.permutation(len(picked))].reset_index(drop=True)
