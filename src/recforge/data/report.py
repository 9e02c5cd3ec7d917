"""The data report (data_report.json): counts, dropped/repaired rows, distributions, split kind."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recforge.data.canonical import SPLITS, CanonicalDataset


def _stats(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"min": 0, "median": 0.0, "mean": 0.0, "max": 0, "p90": 0.0}
    v = np.asarray(values, dtype=np.float64)
    return {
        "min": int(v.min()),
        "median": float(np.median(v)),
        "mean": round(float(v.mean()), 4),
        "max": int(v.max()),
        "p90": float(np.percentile(v, 90)),
    }


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 = every item equally popular, -> 1 = one item)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def item_popularity(interactions: pd.DataFrame, item_ids: pd.Series) -> dict:
    """Events per catalogue item (items without events count as 0)."""
    counts = interactions["item_id"].value_counts().reindex(pd.Index(item_ids), fill_value=0).to_numpy()
    ordered = np.sort(counts)[::-1]
    top = max(1, math.ceil(0.2 * len(ordered))) if len(ordered) else 0
    total = ordered.sum()
    return {
        "over": "catalogue items (items with no event count as 0)",
        "min": int(ordered.min()) if len(ordered) else 0,
        "median": float(np.median(ordered)) if len(ordered) else 0.0,
        "max": int(ordered.max()) if len(ordered) else 0,
        "gini": round(gini(counts), 6),
        "top20pct_item_share": round(float(ordered[:top].sum() / total), 6) if total else 0.0,
        "items_without_events": int((counts == 0).sum()),
    }


def rating_histogram(ratings: pd.Series) -> dict[str, int]:
    """Events per rating value ("missing" for events without a rating)."""
    r = ratings.astype("float64")
    hist = {(f"{v:g}"): int(n) for v, n in r.dropna().value_counts().sort_index().items()}
    missing = int(r.isna().sum())
    if missing:
        hist["missing"] = missing
    return hist


def build_report(ds: CanonicalDataset, name: str | None = None) -> dict:
    """The full report: the adapter's own facts (ds.report) plus statistics computed from the tables."""
    inter, samples, items = ds.interactions, ds.samples, ds.items
    seq_len = inter.groupby("user_id", sort=False).size().to_numpy()
    ts = inter["timestamp"]
    train_items = set(inter.loc[inter["split"] == "train", "item_id"])
    counts = {
        "users": int(inter["user_id"].nunique()),
        "items": int(len(items)),
        "items_with_events": int(inter["item_id"].nunique()),
        "interactions": int(len(inter)),
        "events_per_split": {s: int((inter["split"] == s).sum()) for s in SPLITS},
        "samples": {s: int((samples["split"] == s).sum()) for s in SPLITS},
        "users_per_split": {s: int(samples.loc[samples["split"] == s, "user_id"].nunique()) for s in SPLITS},
    }
    report = {
        "dataset": name,
        "split_kind": ds.report.get("split_kind"),
        "counts": counts,
        "rows": ds.quarantine.counts(),
        "rating_histogram": rating_histogram(inter["rating"]),
        "sequence_length": _stats(seq_len),
        "item_popularity": item_popularity(inter, items["item_id"]),
        "timestamps": {
            "missing": int(ts.isna().sum()),
            "min_ms": int(ts.min()) if ts.notna().any() else None,
            "max_ms": int(ts.max()) if ts.notna().any() else None,
        },
        "cold_targets": {
            s: int((~samples.loc[samples["split"] == s, "item_id"].isin(train_items)).sum()) for s in ("valid", "test")
        },
        "items_with_empty_title": int((items["title"] == "").sum()),
        "repeat_consumptions": int(inter.duplicated(["user_id", "item_id"]).sum()),
    }
    # Adapter facts (sources, notes, split details) go last and never overwrite computed numbers.
    for key, value in ds.report.items():
        report.setdefault(key, value)
    return report
