"""Helpers shared by the classic baselines: sample selection, phase rules, ranking and output frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Events a model may be fitted on (or read as history input) when predicting samples of a split.
#: A valid target is history for the test sample (docs/contracts.md); test events are never seen.
VISIBLE_PHASES: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "valid": ("train",),
    "test": ("train", "valid"),
}

SAMPLE_COLUMNS = ("sample_id", "user_id", "item_id", "position", "split")
INTERACTION_COLUMNS = ("user_id", "item_id", "position", "split")


def check_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


def select_samples(samples: pd.DataFrame, splits: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The samples of the requested splits, in their given order."""
    check_columns(samples, SAMPLE_COLUMNS, "samples")
    unknown = set(splits) - set(VISIBLE_PHASES)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}")
    out = samples[samples["split"].isin(list(splits))]
    if out["sample_id"].duplicated().any():
        raise ValueError("duplicate sample_id in samples")
    return out


def train_events(interactions: pd.DataFrame, phases: tuple[str, ...] = ("train",)) -> pd.DataFrame:
    check_columns(interactions, INTERACTION_COLUMNS, "interactions")
    return interactions[interactions["split"].isin(list(phases))]


def catalogue(interactions: pd.DataFrame, items: list[str] | pd.Series | None = None) -> list[str]:
    """The ranked catalogue: `items` when given (e.g. items.parquet's item_id), else every item_id in
    interactions. Knowing which ids exist is not leakage; their events are."""
    ids = interactions["item_id"] if items is None else pd.Series(list(items), dtype=object)
    return sorted(pd.unique(ids.astype(str)).tolist())


def ranks_from_scores(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target column (ties counted in the target's favour, like sorting
    with the target first); 0 where the target index is < 0 or its score is -inf (excluded)."""
    scores = np.asarray(scores)
    targets = np.asarray(targets)
    out = np.zeros(len(targets), dtype=np.int64)
    ok = targets >= 0
    if ok.any():
        rows = np.nonzero(ok)[0]
        t = scores[rows, targets[rows]]
        r = 1 + (scores[rows] > t[:, None]).sum(axis=1)
        r[~np.isfinite(t)] = 0
        out[rows] = r
    return out


def topk_frame(sample_ids, splits, items: list[list[str]], scores: list[list[float]] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"sample_id": list(sample_ids), "split": list(splits), "items": items})
    if scores is not None:
        frame["scores"] = scores
    return frame


def loo_frames(
    sequences: dict[str, list[str]], ratings: dict[str, list[float]] | None = None, first_target: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical (interactions, samples) frames from in-memory sequences with a leave-one-out split
    (last event test, second to last valid, the rest train). For tests and small examples; real
    datasets come from recforge.data. Samples start at position `first_target`."""
    rows = []
    for user, items in sequences.items():
        n = len(items)
        user_ratings = ratings[user] if ratings is not None else [np.nan] * n
        for position, (item, rating) in enumerate(zip(items, user_ratings, strict=True)):
            split = "test" if position == n - 1 else "valid" if position == n - 2 else "train"
            rows.append((str(user), str(item), float(rating), position, split))
    inter = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "position", "split"])
    inter.insert(3, "timestamp", pd.array([pd.NA] * len(inter), dtype="Int64"))
    inter = inter.sort_values(["user_id", "position"], kind="stable").reset_index(drop=True)
    s = inter[inter["position"] >= first_target]
    samples = pd.DataFrame({
        "sample_id": s["user_id"] + ":" + s["position"].astype(str),
        "user_id": s["user_id"], "item_id": s["item_id"], "position": s["position"],
        "split": s["split"], "rating": s["rating"],
    }).reset_index(drop=True)
    return inter, samples
