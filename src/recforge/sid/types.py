"""The SemanticIds result and the input checks every quantiser shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SemanticIds:
    """One semantic ID per item.

    item_ids[i] has the code row codes[i] (int64, [n, n_levels]); rows are unique. raw_codes are the
    quantiser's codes before collision resolution ([n, levels]; fewer columns than codes when the
    resolution appended a disambiguation level). report: the dict of recforge.sid.report.sid_report
    plus the quantiser's settings and wall time.
    """

    item_ids: list[str]
    codes: np.ndarray
    raw_codes: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.item_ids = [str(i) for i in self.item_ids]
        self.codes = np.asarray(self.codes, dtype=np.int64)
        self.raw_codes = np.asarray(self.raw_codes, dtype=np.int64)
        n = len(self.item_ids)
        for name, arr in (("codes", self.codes), ("raw_codes", self.raw_codes)):
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"{name} must be [n_items={n}, n_levels], got shape {arr.shape}")
            if arr.size and arr.min() < 0:
                raise ValueError(f"{name} must be non-negative")
        if len(set(self.item_ids)) != n:
            raise ValueError("item_ids must be unique")
        if np.unique(self.codes, axis=0).shape[0] != n:
            raise ValueError("codes must be unique per item (resolve collisions first)")

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def n_levels(self) -> int:
        return int(self.codes.shape[1])

    def texts(self) -> dict[str, str]:
        """item_id -> "<|sid_begin|><s_a_..>...<|sid_end|>"."""
        from recforge.sid.io import sid_text

        return {item: sid_text(row) for item, row in zip(self.item_ids, self.codes)}


def check_inputs(vectors: Any, item_ids: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """float32 C-contiguous [n, d] vectors and str ids, or a ValueError that says what is wrong."""
    x = np.asarray(vectors)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"vectors must be a non-empty 2-D array [n_items, dim], got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"vectors must be numeric, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"vectors contain NaN/inf in {bad.sum()} row(s), e.g. rows {rows[:5].tolist()}")
    ids = [str(i) for i in item_ids]
    if len(ids) != x.shape[0]:
        raise ValueError(f"{len(ids)} item_ids for {x.shape[0]} vectors: they must be the same length")
    if len(set(ids)) != len(ids):
        raise ValueError("item_ids must be unique")
    return x, ids


def check_shape(levels: int, codebook_size: int) -> None:
    if int(levels) < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if int(codebook_size) < 2:
        raise ValueError(f"codebook_size must be >= 2, got {codebook_size}")
