"""`gbdt`: a gradient-boosted rating regressor (LightGBM) on features an isir prompt already carries,
the honest bar for the rating methods next to `mf`.

Every feature of a sample comes from what is visible at that sample: the user's events *before* its
position (count, mean, last rating, mean of the last three, standard deviation, share of top ratings)
and the target item's train-phase rating mean and count (a train sample's own event left out). Nothing
needs the user's future (e.g. their total number of events). The model trains on train samples
(optionally only each user's last `last_train_per_user`, the positions closest to valid and test), stops
early on the valid samples, and predicts valid and test; test is read by the evaluator only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FEATURES = ("user_n", "user_mean", "user_last", "user_last3", "user_std", "user_top_share",
            "item_n", "item_mean")


@dataclass(frozen=True)
class GBDTSettings:
    """methods.gbdt in config/config.yaml (defaults are written there)."""

    objective: str = "huber"  # l2 | l1 | huber (LightGBM's names)
    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 2000  # the cap; early stopping on valid picks the number of trees
    early_stopping_rounds: int = 50
    min_child_samples: int = 20
    last_train_per_user: int | None = 5  # train only on each user's last N train samples (None: all)
    seed: int = 0


def user_features(interactions: pd.DataFrame, samples: pd.DataFrame, top: float) -> pd.DataFrame:
    """Per sample, from the user's rated events with position < the sample's position."""
    events = interactions[interactions["rating"].notna()].sort_values(["user_id", "position"], kind="stable")
    by_user = {u: (g["position"].to_numpy(), g["rating"].to_numpy(dtype=np.float64))
               for u, g in events.groupby("user_id", sort=False)}
    rows = []
    empty = (np.empty(0, dtype=np.int64), np.empty(0))
    for user, position in zip(samples["user_id"], samples["position"]):
        positions, ratings = by_user.get(user, empty)
        before = ratings[: np.searchsorted(positions, position, side="left")]
        n = len(before)
        rows.append((
            n,
            before.mean() if n else np.nan,
            before[-1] if n else np.nan,
            before[-3:].mean() if n else np.nan,
            before.std() if n > 1 else np.nan,
            (before >= top).mean() if n else np.nan,
        ))
    return pd.DataFrame(rows, columns=list(FEATURES[:6]), index=samples.index)


def item_features(interactions: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """The target item's train-phase rating count and mean; a train sample's own event is left out."""
    train = interactions[(interactions["split"] == "train") & interactions["rating"].notna()]
    stats = train.groupby("item_id")["rating"].agg(["count", "sum"])
    count = samples["item_id"].map(stats["count"]).fillna(0).to_numpy(dtype=np.float64)
    total = samples["item_id"].map(stats["sum"]).fillna(0).to_numpy(dtype=np.float64)
    own = (samples["split"].to_numpy() == "train") & samples["rating"].notna().to_numpy()
    count = count - own
    total = total - np.where(own, samples["rating"].fillna(0).to_numpy(dtype=np.float64), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return pd.DataFrame({"item_n": count, "item_mean": mean}, index=samples.index)


def features(interactions: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    top = float(interactions["rating"].max())
    return pd.concat([user_features(interactions, samples, top), item_features(interactions, samples)], axis=1)


def training_rows(samples: pd.DataFrame, last_per_user: int | None) -> pd.DataFrame:
    train = samples[(samples["split"] == "train") & samples["rating"].notna()]
    if last_per_user:
        train = train.sort_values(["user_id", "position"]).groupby("user_id", sort=False).tail(last_per_user)
    return train


def fit_predict(interactions: pd.DataFrame, samples: pd.DataFrame, settings: GBDTSettings, threads: int = 1,
                splits: tuple[str, ...] = ("valid", "test")) -> tuple[pd.DataFrame, dict]:
    """Predictions DataFrame[sample_id, split, prediction] and a report (trees kept, valid curve)."""
    import lightgbm as lgb

    rated = samples[samples["rating"].notna()]
    train = training_rows(samples, settings.last_train_per_user)
    valid = rated[rated["split"] == "valid"]
    if train.empty or valid.empty:
        raise ValueError("gbdt needs rated train and valid samples")
    model = lgb.LGBMRegressor(
        objective=settings.objective, num_leaves=settings.num_leaves, learning_rate=settings.learning_rate,
        n_estimators=settings.n_estimators, min_child_samples=settings.min_child_samples,
        random_state=settings.seed, deterministic=True, force_row_wise=True, n_jobs=threads, verbose=-1,
    )
    curve: dict = {}
    model.fit(features(interactions, train), train["rating"].to_numpy(), eval_X=(features(interactions, valid),),
              eval_y=(valid["rating"].to_numpy(),), eval_metric=["l1", "l2"],
              callbacks=[lgb.early_stopping(settings.early_stopping_rounds, first_metric_only=True, verbose=False),
                         lgb.record_evaluation(curve)])
    chosen = samples[samples["split"].isin(list(splits))]
    prediction = model.predict(features(interactions, chosen), num_iteration=model.best_iteration_)
    lo, hi = float(interactions["rating"].min()), float(interactions["rating"].max())
    report = {
        "train_samples": len(train),
        "valid_samples": len(valid),
        "best_iteration": int(model.best_iteration_),
        "valid_curve": {k: [round(float(v), 5) for v in vals] for k, vals in curve.get("valid_0", {}).items()},
        "feature_importance": dict(zip(FEATURES, map(int, model.feature_importances_))),
    }
    log.info("gbdt: %d train samples, %d trees (early stopping on %d valid samples)", len(train),
             model.best_iteration_, len(valid))
    out = pd.DataFrame({"sample_id": chosen["sample_id"].to_numpy(), "split": chosen["split"].to_numpy(),
                        "prediction": np.clip(prediction, lo, hi)})
    return out, report
