"""CTR windows from the canonical tables: per user, one train window (ending at the user's last train
event), the valid and the test window (ending at the valid / test event). A window is the target and
the `history` events right before it, each with Liked/Disliked; the profile window is the user's events
before the train window's history (so before every window's history), the first `profile_items` of
them. Only events before the target are ever read (positions < the target's)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")


def liked(ratings: np.ndarray | pd.Series, threshold: float) -> np.ndarray:
    return np.asarray(ratings, dtype="float64") >= threshold


def build_windows(interactions: pd.DataFrame, samples: pd.DataFrame, history: int, profile_items: int,
                  like_threshold: float) -> pd.DataFrame:
    """-> sample_id, user_id, split, item_id, position, rating, label, history_items, history_ratings,
    profile_items, profile_ratings (lists oldest first)."""
    events = interactions.sort_values(["user_id", "position"], kind="stable")
    by_user = {u: g for u, g in events.groupby("user_id", sort=False)}
    targets = samples[samples["split"].isin(SPLITS)].copy()
    last_train = targets[targets["split"] == "train"].groupby("user_id")["position"].transform("max")
    keep = (targets["split"] != "train") | (targets["position"] == last_train.reindex(targets.index))
    targets = targets[keep.to_numpy()]
    train_end = targets[targets["split"] == "train"].groupby("user_id")["position"].max().to_dict()
    rows = []
    for t in targets.sort_values(["user_id", "position"], kind="stable").itertuples(index=False):
        g = by_user[t.user_id]
        before = g[g["position"] < t.position]
        if before.empty:
            continue
        shown = before.tail(history)
        # The train window's history starts `history` events before the train target (positions are
        # 0..n-1 per user); users without a train window start at this window's history.
        start = min(int(train_end.get(t.user_id, shown["position"].min())) - history, int(shown["position"].min()))
        profile = g[g["position"] < start].head(profile_items)
        rows.append({
            "sample_id": t.sample_id, "user_id": t.user_id, "split": t.split, "item_id": t.item_id,
            "position": int(t.position), "rating": float(t.rating),
            "label": int(liked([t.rating], like_threshold)[0]),
            "history_items": shown["item_id"].tolist(), "history_ratings": shown["rating"].tolist(),
            "profile_items": profile["item_id"].tolist(), "profile_ratings": profile["rating"].tolist(),
        })
    return pd.DataFrame(rows)


def window_report(windows: pd.DataFrame) -> dict:
    """Label balance and sizes per split."""
    out = {}
    for split in SPLITS:
        part = windows[windows["split"] == split]
        pos = int(part["label"].sum())
        out[split] = {
            "n": len(part), "positive": pos, "negative": len(part) - pos,
            "positive_rate": round(pos / len(part), 4) if len(part) else None,
            "mean_history": round(float(part["history_items"].map(len).mean()), 3) if len(part) else None,
            "with_profile": int((part["profile_items"].map(len) > 0).sum()),
        }
    return out
