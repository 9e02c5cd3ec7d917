"""Most-popular baseline for the top-k protocol.

Items are ranked by their number of `train`-phase events (ties broken by item_id, so the order is
deterministic). The same counts serve valid and test samples. With `exclude_history` (default, as in
RecBole's full-sort evaluation) the items of the sample's own history (events before its position,
which for a test sample includes the valid target) are not recommended.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recforge.data.sequences import histories
from recforge.methods._common import select_samples, topk_frame, train_events


def item_counts(interactions: pd.DataFrame) -> pd.Series:
    """train-phase event count per item, most popular first (ties by item_id)."""
    counts = train_events(interactions)["item_id"].value_counts()
    frame = counts.rename("count").rename_axis("item_id").reset_index()
    frame = frame.sort_values(["count", "item_id"], ascending=[False, True], kind="stable")
    return frame.set_index("item_id")["count"]


def recommend(counts: pd.Series, histories_: list[list[str]], k: int, exclude_history: bool = True) -> list[list[str]]:
    """Top-k lists from a popularity ranking for each history."""
    ranking = counts.index.tolist()
    out = []
    for history in histories_:
        seen = set(history) if exclude_history else ()
        picked = []
        for item in ranking:
            if item not in seen:
                picked.append(item)
                if len(picked) == k:
                    break
        out.append(picked)
    return out


def predict(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    k: int = 20,
    exclude_history: bool = True,
    splits: tuple[str, ...] = ("valid", "test"),
) -> pd.DataFrame:
    """topk predictions DataFrame[sample_id, split, items, scores] (scores = train counts)."""
    chosen = select_samples(samples, splits)
    counts = item_counts(interactions)
    hist = histories(interactions, chosen)
    lists = recommend(counts, hist.tolist(), k, exclude_history)
    count_of = counts.astype(np.float64).to_dict()
    scores = [[count_of[item] for item in items] for items in lists]
    return topk_frame(chosen["sample_id"], chosen["split"], lists, scores)
