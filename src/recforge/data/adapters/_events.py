"""The shared pipeline for raw rating logs (Amazon 2023 reviews, MovieLens ratings).

screen rows -> de-duplicate repeat interactions -> iterative k-core -> time-ordered positions ->
leave-one-out or global temporal split. Every removed row is counted by reason in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import pandas as pd

from recforge.data.canonical import SOURCE_LINE, CanonicalDataset, make_interactions, make_items, make_samples
from recforge.data.errors import ConfigError
from recforge.data.quarantine import Quarantine
from recforge.data.splitting import (
    assign_positions,
    drop_short_users,
    kcore,
    leave_one_out,
    temporal,
)
from recforge.data.validate import screen_events

# Option types of the adapters that use this pipeline: recforge.data.options reads the accepted values
# from these annotations at plan time.
Dedup = Literal["first", "last", "none"]
Split = Literal["leave_one_out", "temporal"]
DEDUP_POLICIES = get_args(Dedup)
SPLIT_POLICIES = get_args(Split)


def check_policy(dedup: str, split: str, ratios: Sequence[float], user_core: int, item_core: int) -> None:
    """Fail early, before any file is read, on a bad option value."""
    if dedup not in DEDUP_POLICIES:
        raise ConfigError(f"dedup must be one of {DEDUP_POLICIES}, got {dedup!r}")
    if split not in SPLIT_POLICIES:
        raise ConfigError(f"split must be one of {SPLIT_POLICIES}, got {split!r}")
    if split == "temporal" and (len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-9):
        raise ConfigError(f"ratios must be three non-negative numbers summing to 1, got {list(ratios)}")
    for name, value in (("user_core", user_core), ("item_core", item_core)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")


def dedup_repeats(events: pd.DataFrame, policy: str, q: Quarantine) -> pd.DataFrame:
    """Keep one event per (user, item): the earliest ("first"), the latest ("last"), or all ("none").

    Exact duplicates (same timestamp too) were already rejected by screen_events; this handles a user
    rating the same item again later, which most sequential benchmarks collapse.
    """
    if policy == "none":
        return events
    ordered = events.sort_values(["timestamp", SOURCE_LINE], kind="stable")
    keep = ~ordered.duplicated(["user_id", "item_id"], keep="first" if policy == "first" else "last")
    q.drop(f"repeat interaction with the same item (dedup={policy})", int((~keep).sum()))
    return ordered.loc[keep.to_numpy()].sort_values(SOURCE_LINE, kind="stable").reset_index(drop=True)


def split_events(events: pd.DataFrame, item_ids: Sequence[str], q: Quarantine, *, rating_range: tuple[float, float],
                 dedup: str, user_core: int, item_core: int, split: str,
                 ratios: Sequence[float]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(interactions, samples, report facts) from a raw event frame with _file/_line provenance."""
    events = screen_events(events, item_ids, q, rating_range=rating_range, rating_required=True)
    events = dedup_repeats(events, dedup, q)
    events = kcore(events, user_core, item_core, q)
    facts: dict = {"dedup": dedup, "user_core": user_core, "item_core": item_core}
    if split == "leave_one_out":
        events = drop_short_users(events, 3, q, "leave-one-out")
        events = assign_positions(events, by_time=True)
        events, mask = leave_one_out(events)
    else:
        events = assign_positions(events, by_time=True)
        events, mask, info = temporal(events, list(ratios))
        facts["temporal"] = info
    interactions = make_interactions(events.assign(_sample=mask))
    return interactions, make_samples(interactions), facts


def reviews_meta_dataset(adapter: str, events: pd.DataFrame, meta_table: pd.DataFrame, q: Quarantine,
                         sources: dict[str, str], *, dedup: str, user_core: int, item_core: int, split: str,
                         ratios: Sequence[float], meta_missing: Sequence[str] | None = None):
    """The canonical dataset of an Amazon-style reviews + meta source (amazon2018, amazon2023): 1-5
    ratings split by split_events; items kept only where they keep an event. `meta_missing`: reviewed
    items that had no meta row (counted in the report's notes; None: the source cannot have any)."""
    interactions, samples, facts = split_events(
        events, meta_table["item_id"], q, rating_range=(1.0, 5.0), dedup=dedup,
        user_core=user_core, item_core=item_core, split=split, ratios=ratios)
    used = set(interactions["item_id"])
    kept = meta_table[meta_table["item_id"].isin(used)]
    q.drop("meta item without events (after filtering)", len(meta_table) - len(kept))
    if meta_missing is not None:
        facts["items_without_meta"] = len(set(meta_missing) & used)
    report = {"split_kind": split, "adapter": adapter, "sources": sources, "rating_range": [1.0, 5.0], "notes": facts}
    return CanonicalDataset(make_items(kept), interactions, samples, report, q)
