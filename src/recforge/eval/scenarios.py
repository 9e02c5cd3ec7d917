"""Warm/cold user and head/tail item buckets for the re-ranking protocol (Persona4Rec's scenario analysis).

The threshold rule is Persona4Rec eval.py's `classify_by_percentile`, reproduced exactly: sort the counts,
`top = sorted[max(0, int(n * 0.8) - 1)]`, `bottom = sorted[min(n - 1, int(n * 0.2))]`; head/warm are the
entities with count >= top and tail/cold those with count <= bottom, so ties make a bucket larger than 20%.

Differences from eval.py, on purpose:
- counts come from the interactions of the given phases (train by default), not the raw review file, so a
  test event does not make its own item "head";
- every entity being bucketed gets a count, 0 if it has no such interaction (eval.py never sees 0 counts
  because its GT items all come from the review file); a target never seen in training is tail;
- buckets are per sample, not per user: with leave-one-out valid/test there is one sample per user, so this
  is the same thing there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recforge.eval.metrics import ranking_metrics

SCENARIOS = ("warm", "cold", "head", "tail")


def percentile_thresholds(counts: np.ndarray, top_p: float = 0.8, bottom_p: float = 0.2) -> tuple[float, float]:
    """(top, bottom) thresholds of Persona4Rec's classify_by_percentile over one count per entity."""
    ordered = np.sort(np.asarray(counts))
    n = ordered.size
    if n == 0:
        return float("nan"), float("nan")
    top = ordered[max(0, int(n * top_p) - 1)]
    bottom = ordered[min(n - 1, int(n * bottom_p))]
    return float(top), float(bottom)


def classify_by_percentile(counts: pd.Series, top_p: float = 0.8, bottom_p: float = 0.2) -> tuple[set[str], set[str]]:
    """(head, tail) sets of the ids in `counts` (index = id, value = count), ties included."""
    top, bottom = percentile_thresholds(counts.to_numpy(), top_p, bottom_p)
    return set(counts.index[counts >= top]), set(counts.index[counts <= bottom])


def entity_counts(interactions: pd.DataFrame, column: str, ids: Sequence[str], phases: Sequence[str]) -> pd.Series:
    """Number of interactions of each id in `ids` among events whose split is in `phases` (0 if none)."""
    events = interactions[interactions["split"].isin(list(phases))]
    unique_ids = pd.unique(np.asarray(ids, dtype=object))
    return events[column].value_counts().reindex(unique_ids, fill_value=0).astype(np.int64)


def scenario_metrics(
    ranks: np.ndarray,
    user_ids: Sequence[str],
    target_ids: Sequence[str],
    interactions: pd.DataFrame,
    *,
    k: int = 10,
    phases: Sequence[str] = ("train",),
    top_p: float = 0.8,
    bottom_p: float = 0.2,
    hit_name: str = "HIT",
) -> dict:
    """HIT/NDCG/MRR@k within each of the warm, cold, head and tail buckets, with bucket sizes and thresholds.

    Users are bucketed by their own count among the users of these samples; items by their count among
    the distinct target items of these samples (each item once, however many samples target it).
    """
    ranks = np.asarray(ranks)
    users = pd.Series(np.asarray(user_ids, dtype=object))
    targets = pd.Series(np.asarray(target_ids, dtype=object))
    user_counts = entity_counts(interactions, "user_id", users, phases)
    item_counts = entity_counts(interactions, "item_id", targets, phases)
    warm, cold = classify_by_percentile(user_counts, top_p, bottom_p)
    head, tail = classify_by_percentile(item_counts, top_p, bottom_p)
    masks = {
        "warm": users.isin(warm).to_numpy(),
        "cold": users.isin(cold).to_numpy(),
        "head": targets.isin(head).to_numpy(),
        "tail": targets.isin(tail).to_numpy(),
    }
    buckets = {}
    for name in SCENARIOS:
        mask = masks[name]
        buckets[name] = {"n": int(mask.sum()), **ranking_metrics(ranks[mask], (k,), hit_name)}
    user_top, user_bottom = percentile_thresholds(user_counts.to_numpy(), top_p, bottom_p)
    item_top, item_bottom = percentile_thresholds(item_counts.to_numpy(), top_p, bottom_p)
    return {
        "k": k,
        "count_phases": list(phases),
        "thresholds": {
            "warm_user_min_count": user_top,
            "cold_user_max_count": user_bottom,
            "head_item_min_count": item_top,
            "tail_item_max_count": item_bottom,
        },
        "buckets": buckets,
    }
