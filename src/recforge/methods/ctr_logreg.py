"""Feature CTR baseline on the reasoningrec windows: logistic regression on three features of the data
before each target: the user's like rate over the window's history (Beta(1,1)-smoothed), the item's like
rate over train-phase events with the sample's own event left out (smoothed), and the
number of liked history items. Fitted on the train windows (valid is only scored), predicting
P(like) for valid and test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CtrLogRegSettings:
    c: float = 1.0  # inverse L2 strength
    prior: float = 1.0  # Beta(prior, prior) smoothing of both like rates
    splits: tuple[str, ...] = ("valid", "test")


def features(windows: pd.DataFrame, interactions: pd.DataFrame, like_threshold: float, prior: float) -> np.ndarray:
    """(n, 3): user like rate over the history, item like rate from train-phase events (the sample's own
    event left out), liked history items."""
    train = interactions[interactions["split"] == "train"]
    liked = (train["rating"] >= like_threshold).astype(float)
    item_likes = liked.groupby(train["item_id"]).sum().to_dict()
    item_count = train.groupby("item_id").size().to_dict()
    own = set(zip(train["user_id"], train["position"]))
    rows = []
    for w in windows.itertuples(index=False):
        hist = np.asarray(w.history_ratings, dtype=float) >= like_threshold
        likes, count = item_likes.get(w.item_id, 0.0), item_count.get(w.item_id, 0)
        if (w.user_id, w.position) in own:  # a train target: its own label is not a feature
            likes, count = likes - float(w.label), count - 1
        rows.append([(hist.sum() + prior) / (len(hist) + 2 * prior), (likes + prior) / (count + 2 * prior),
                     float(hist.sum())])
    return np.asarray(rows, dtype="float64")


def predict(windows: pd.DataFrame, interactions: pd.DataFrame, settings: CtrLogRegSettings,
            like_threshold: float) -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression

    x = features(windows, interactions, like_threshold, settings.prior)
    train = (windows["split"] == "train").to_numpy()
    model = LogisticRegression(C=settings.c, max_iter=1000).fit(x[train], windows["label"].to_numpy()[train])
    keep = windows["split"].isin(list(settings.splits)).to_numpy()
    return pd.DataFrame({"sample_id": windows["sample_id"][keep].astype(str).to_numpy(),
                         "split": windows["split"][keep].astype(str).to_numpy(),
                         "probability": model.predict_proba(x[keep])[:, 1].astype("float64")})
