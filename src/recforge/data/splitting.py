"""Shared event-table steps: ordering into positions, k-core filtering, leave-one-out and temporal splits.

Input is a raw event frame with columns user_id, item_id, rating, timestamp (Int64 ms or <NA>) and the
provenance columns _file/_line; `_order` (optional) is the source order used to break timestamp ties.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recforge.data.canonical import SOURCE_FILE, SOURCE_LINE
from recforge.data.quarantine import Quarantine


def assign_positions(events: pd.DataFrame, by_time: bool = True) -> pd.DataFrame:
    """Sort each user's events (time order, source order breaking ties) and number them from 0."""
    order = "_order" if "_order" in events else SOURCE_LINE
    keys = ["user_id", "timestamp", order] if by_time else ["user_id", order]
    out = events.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)
    out["position"] = out.groupby("user_id", sort=False).cumcount().astype("int64")
    return out


def kcore(events: pd.DataFrame, user_core: int, item_core: int, quarantine: Quarantine) -> pd.DataFrame:
    """Iteratively drop users with < user_core events and items with < item_core events until stable.

    Removing an item can push a user under the threshold and vice versa, hence the loop. The dropped
    rows are counted (reason "kcore") in the report.
    """
    if user_core <= 1 and item_core <= 1:
        return events
    n0 = len(events)
    rounds = 0
    while True:
        rounds += 1
        user_n = events["user_id"].map(events["user_id"].value_counts())
        item_n = events["item_id"].map(events["item_id"].value_counts())
        keep = (user_n >= user_core) & (item_n >= item_core)
        if keep.all():
            break
        events = events.loc[keep.to_numpy()]
    quarantine.drop(f"kcore (user_core={user_core}, item_core={item_core})", n0 - len(events))
    return events.reset_index(drop=True)


def drop_short_users(events: pd.DataFrame, min_events: int, quarantine: Quarantine, why: str) -> pd.DataFrame:
    """Reject (raise or quarantine) users with fewer than `min_events` events.

    Used where a protocol needs a non-empty history for every target, e.g. leave-one-out needs 3
    events (the valid target needs one event before it). The message names the user's first line.
    """
    sizes = events.groupby("user_id", sort=False)["item_id"].transform("size")
    short = sizes < min_events
    if not short.any():
        return events
    first = events.loc[short.to_numpy()].groupby("user_id", sort=True).agg(
        n=("item_id", "size"), file=(SOURCE_FILE, "first"), line=(SOURCE_LINE, "min"))
    for user, row in first.iterrows():
        quarantine.reject(row["file"], int(row["line"]),
                          f"user {user} has {row['n']} event(s); {why} needs at least {min_events}",
                          key="empty_history")
    return events.loc[~short.to_numpy()].reset_index(drop=True)


def leave_one_out(events: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Last event = test, second to last = valid, the rest train (positions must be assigned).

    Returns the events with `split` and the sample mask: every position >= 1 before valid (train
    samples), plus the valid and the test target.
    """
    size = events.groupby("user_id", sort=False)["position"].transform("size").to_numpy()
    pos = events["position"].to_numpy()
    split = np.where(pos == size - 1, "test", np.where(pos == size - 2, "valid", "train"))
    out = events.assign(split=split)
    return out, pos >= 1


def temporal(events: pd.DataFrame, ratios: list[float]) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Global temporal split: the first ratios[0] of all events by time are train, then valid, then test.

    Boundaries are timestamps: t_valid is the timestamp of the event at index ceil(r0 * N) in global
    time order, t_test that at ceil((r0 + r1) * N); an event is train if ts < t_valid, valid if
    t_valid <= ts < t_test, else test. Equal timestamps therefore always share a phase, so the realised
    fractions can differ slightly from the ratios (reported).

    Users who straddle a boundary keep their whole sequence: each event is a sample of the phase of its
    timestamp, and its history is *all* the user's earlier events, whatever their phase (so a test
    target sees the user's train, valid and earlier test events — the usual sliding-window protocol;
    nothing after the target is ever visible). A user's first event has no history and is never a
    sample; the number of such events per phase is reported ("unsampled_first_events").
    """
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not math.isclose(sum(ratios), 1.0, abs_tol=1e-9):
        raise ValueError(f"temporal ratios must be three non-negative numbers summing to 1, got {ratios}")
    if events["timestamp"].isna().any():
        raise ValueError("temporal split needs a timestamp on every event")
    ts = np.sort(events["timestamp"].to_numpy(dtype=np.int64), kind="stable")
    n = len(ts)
    i_valid = min(n - 1, math.ceil(ratios[0] * n))
    i_test = min(n - 1, math.ceil((ratios[0] + ratios[1]) * n))
    t_valid, t_test = int(ts[i_valid]), int(ts[i_test])
    ev_ts = events["timestamp"].to_numpy(dtype=np.int64)
    split = np.where(ev_ts < t_valid, "train", np.where(ev_ts < t_test, "valid", "test"))
    out = events.assign(split=split)
    pos = out["position"].to_numpy()
    first = pos == 0
    info = {
        "ratios": list(ratios),
        "t_valid_ms": t_valid,
        "t_test_ms": t_test,
        "realised": {s: round(float((split == s).mean()), 6) for s in ("train", "valid", "test")},
        "unsampled_first_events": {s: int((first & (split == s)).sum()) for s in ("train", "valid", "test")},
        "users_straddling": int(out.groupby("user_id")["split"].nunique().gt(1).sum()),
    }
    return out, ~first, info
