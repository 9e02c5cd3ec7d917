"""Quality of a semantic-ID assignment: collisions, codebook usage, reconstruction.

Definitions (docs/sid.md):
- collision rate: fraction of items whose full code row is shared with at least one other item
  (LC-Rec's "collision rate" is instead 1 - distinct codes / items; both are reported);
- utilisation of a level: distinct codes used / codebook size;
- perplexity of a level: exp of the entropy (nats) of the code-usage distribution over items; it
  equals the number of codes when usage is uniform and 1 when every item has the same code;
- reconstruction MSE: mean over items and dimensions of (vector - reconstruction)^2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def collision_rate(codes: np.ndarray) -> float:
    codes = np.asarray(codes)
    if len(codes) == 0:
        return 0.0
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    return float((counts[inverse.reshape(-1)] > 1).mean())


def duplicate_rate(codes: np.ndarray) -> float:
    """1 - distinct code rows / items (LC-Rec / LETTER's collision rate)."""
    codes = np.asarray(codes)
    return 0.0 if len(codes) == 0 else float(1.0 - np.unique(codes, axis=0).shape[0] / len(codes))


def perplexity(column: np.ndarray) -> float:
    _, counts = np.unique(np.asarray(column), return_counts=True)
    p = counts / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def utilisation(column: np.ndarray, codebook_size: int) -> float:
    return float(len(np.unique(np.asarray(column))) / codebook_size)


def sid_report(
    codes: np.ndarray,
    codebook_size: int | Sequence[int],
    raw_codes: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
    reconstruction: np.ndarray | None = None,
) -> dict[str, Any]:
    """Report on `codes` (int [n, levels]); codebook_size is one size for all levels or one per level.
    raw_codes: the codes before collision resolution (adds *_raw entries and the number of items
    whose code changed). vectors + reconstruction: adds reconstruction_mse."""
    codes = np.asarray(codes, dtype=np.int64)
    n, levels = codes.shape
    sizes = [int(codebook_size)] * levels if np.isscalar(codebook_size) else [int(s) for s in codebook_size]
    if len(sizes) != levels:
        raise ValueError(f"{len(sizes)} codebook sizes for {levels} levels")
    _, counts = np.unique(codes, axis=0, return_counts=True)
    report: dict[str, Any] = {
        "n_items": int(n),
        "levels": int(levels),
        "codebook_sizes": sizes,
        "n_unique_codes": int(len(counts)),
        "collision_rate": collision_rate(codes),
        "duplicate_rate": duplicate_rate(codes),
        "max_items_per_code": int(counts.max()) if n else 0,
        "used_codes": [int(len(np.unique(codes[:, level]))) for level in range(levels)],
        "utilisation": [utilisation(codes[:, level], sizes[level]) for level in range(levels)],
        "perplexity": [perplexity(codes[:, level]) for level in range(levels)],
        # How much each added level separates items: collision rate of the first l+1 levels.
        "prefix_collision_rate": [collision_rate(codes[:, : level + 1]) for level in range(levels)],
    }
    if raw_codes is not None:
        raw = np.asarray(raw_codes, dtype=np.int64)
        _, raw_counts = np.unique(raw, axis=0, return_counts=True)
        report.update(
            collision_rate_raw=collision_rate(raw),
            duplicate_rate_raw=duplicate_rate(raw),
            max_items_per_code_raw=int(raw_counts.max()) if len(raw) else 0,
            perplexity_raw=[perplexity(raw[:, level]) for level in range(raw.shape[1])],
            items_changed=int((raw != codes[:, : raw.shape[1]]).any(axis=1).sum()),
        )
    if vectors is not None and reconstruction is not None:
        x = np.asarray(vectors, dtype=np.float64)
        err = ((x - np.asarray(reconstruction, dtype=np.float64)) ** 2).sum()
        report["reconstruction_mse"] = float(err / x.size)
        # Scale-free: the share of the data's variance the codes do not explain.
        report["reconstruction_rel"] = float(err / max(((x - x.mean(axis=0)) ** 2).sum(), 1e-30))
    return report
