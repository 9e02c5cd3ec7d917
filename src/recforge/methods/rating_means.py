"""Mean-rating baselines for the rating protocol: global, per-user and per-item means.

Fitting: a sample is predicted from rated events of the phases visible to its split (valid samples:
`train` events; test samples: `train` and `valid` events, because the valid target is history for the
test sample; train samples: `train` events, in-sample). Events with NaN rating are ignored.

Fallbacks: a user (for `user_mean`) or item (for `item_mean`) without a rated visible event gets the
global mean of the same fit; if no rated event is visible at all the prediction is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recforge.methods._common import VISIBLE_PHASES, select_samples, train_events

KINDS = ("global_mean", "user_mean", "item_mean")


def fit(kind: str, events: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """(global mean, per-key means) of the rated events; per-key is empty for global_mean."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    rated = events[events["rating"].notna()]
    mu = float(rated["rating"].mean()) if len(rated) else float("nan")
    if kind == "global_mean":
        return mu, {}
    key = "user_id" if kind == "user_mean" else "item_id"
    return mu, rated.groupby(key, sort=False)["rating"].mean().astype(float).to_dict()


def predict(
    kind: str,
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    splits: tuple[str, ...] = ("valid", "test"),
) -> pd.DataFrame:
    """Rating-protocol predictions: DataFrame[sample_id, split, prediction] for samples of `splits`."""
    if "rating" not in interactions.columns:
        raise ValueError("interactions lacks a rating column")
    chosen = select_samples(samples, splits)
    key = None if kind == "global_mean" else ("user_id" if kind == "user_mean" else "item_id")
    parts = []
    for split in splits:
        part = chosen[chosen["split"] == split]
        if part.empty:
            continue
        mu, means = fit(kind, train_events(interactions, VISIBLE_PHASES[split]))
        if key is None:
            pred = np.full(len(part), mu, dtype=np.float64)
        else:
            pred = part[key].map(means).astype(np.float64).fillna(mu).to_numpy()
        parts.append(pd.DataFrame({"sample_id": part["sample_id"].to_numpy(), "split": split, "prediction": pred}))
    if not parts:
        return pd.DataFrame({"sample_id": pd.Series(dtype=object), "split": pd.Series(dtype=object),
                             "prediction": pd.Series(dtype=np.float64)})
    return pd.concat(parts, ignore_index=True)
