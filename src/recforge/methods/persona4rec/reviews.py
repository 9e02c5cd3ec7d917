"""Review text joined to the canonical events, and the phase rules that keep it from leaking.

A review belongs to one event of interactions.parquet (same user, item and timestamp), so it carries
that event's position and split. Test-phase reviews are dropped here, at the source: no stage ever
reads the text of an event a model is scored on. Valid-phase reviews feed only the user side of test
samples (events before the test target); personas read train-phase reviews only (personas.py).
"""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)

#: Phases whose review text any stage may read (the test target's review never is).
READABLE_PHASES = ("train", "valid")
#: Phases whose reviews may describe an item (personas): the evaluation period (valid, test) excluded.
PERSONA_PHASES = ("train",)
REVIEW_COLUMNS = ["review_id", "user_id", "item_id", "position", "split", "timestamp", "rating",
                  "review_title", "review_text"]


def review_table(interactions: pd.DataFrame, raw_reviews: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """(reviews, report): one row per readable event that has a review, review_id = "{user}:{position}".

    `raw_reviews` holds user_id, item_id, timestamp (ms), review_title, review_text (an adapter's
    `read_review_texts`); repeated raw rows of one event keep the first."""
    events = interactions[["user_id", "item_id", "position", "split", "timestamp", "rating"]].copy()
    events["timestamp"] = events["timestamp"].astype("Int64")
    raw = raw_reviews.drop_duplicates(["user_id", "item_id", "timestamp"], keep="first").copy()
    raw["timestamp"] = raw["timestamp"].astype("Int64")
    joined = events.merge(raw[["user_id", "item_id", "timestamp", "review_title", "review_text"]],
                          on=["user_id", "item_id", "timestamp"], how="left")
    has_text = joined["review_text"].notna()
    readable = joined["split"].isin(READABLE_PHASES)
    out = joined[has_text & readable].copy()
    out["review_id"] = out["user_id"] + ":" + out["position"].astype(str)
    out = out.sort_values(["user_id", "position"], kind="stable").reset_index(drop=True)
    report = {
        "events": int(len(joined)),
        "events_with_review": int(has_text.sum()),
        "dropped_test_phase_reviews": int((has_text & ~readable).sum()),
        "reviews": int(len(out)),
        "reviews_per_split": {k: int(v) for k, v in out["split"].value_counts().sort_index().items()},
    }
    log.info("reviews: %s", report)
    return out[REVIEW_COLUMNS], report
