"""Next-item transitions: the worked example of docs/adding-a-method.md, and a first-order Markov
baseline for the top-k protocol.

An item's score for a sample is how often it directly followed the sample's last history item in the
users' train-phase sequences (transition counts); items never seen after it are ranked by popularity
below every transition, so each list is full. The items of the sample's history are never recommended
(as popularity and SASRec). Only train-phase events are counted, so valid and test targets are unseen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recforge.data.sequences import histories
from recforge.methods._common import select_samples, topk_frame, train_events
from recforge.methods.popularity import item_counts


@dataclass(frozen=True)
class NextItemSettings:
    """methods.next_item in config/config.yaml (its values are the defaults; written there once)."""

    min_count: int = 1  # transitions seen fewer times than this are ignored (noise on sparse data)


def transitions(interactions: pd.DataFrame, min_count: int = 1) -> dict[str, Counter]:
    """item -> Counter of the items that directly followed it in a user's train-phase sequence."""
    events = train_events(interactions).sort_values(["user_id", "position"], kind="stable")
    users, items = events["user_id"].to_numpy(), events["item_id"].to_numpy(dtype=object)
    same_user = users[1:] == users[:-1]
    follows: dict[str, Counter] = {}
    for before, after in zip(items[:-1][same_user], items[1:][same_user]):
        follows.setdefault(before, Counter())[after] += 1
    if min_count > 1:
        follows = {i: Counter({j: n for j, n in c.items() if n >= min_count}) for i, c in follows.items()}
    return follows


def rank(history: list[str], follows: dict[str, Counter], popular: list[str], k: int) -> tuple[list[str], list[float]]:
    """Top-k items and scores: transition counts from the last history item (ties by item_id), then
    popularity (score 0), history items left out."""
    seen = set(history)
    after = follows.get(history[-1], Counter()) if history else Counter()
    ordered = sorted(after.items(), key=lambda kv: (-kv[1], kv[0]))
    items = [i for i, _ in ordered if i not in seen][:k]
    scores = [float(after[i]) for i in items]
    for item in popular:
        if len(items) == k:
            break
        if item not in seen and item not in after:
            items.append(item)
            scores.append(0.0)
    return items, scores


def predict(interactions: pd.DataFrame, samples: pd.DataFrame, settings: NextItemSettings, k: int = 20,
            splits: tuple[str, ...] = ("valid", "test")) -> pd.DataFrame:
    """topk predictions DataFrame[sample_id, split, items, scores]."""
    chosen = select_samples(samples, splits)
    follows = transitions(interactions, settings.min_count)
    popular = item_counts(interactions).index.tolist()
    ranked = [rank(h, follows, popular, k) for h in histories(interactions, chosen)]
    lists = [items for items, _ in ranked]
    scores = [np.asarray(s, dtype=np.float64).tolist() for _, s in ranked]
    return topk_frame(chosen["sample_id"], chosen["split"], lists, scores)
