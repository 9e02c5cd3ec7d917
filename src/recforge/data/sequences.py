"""Per-sample histories: the only sanctioned way for a method to see a user's past.

A sample's history is the user's events with position < the sample's position, so no method can read
the target or anything after it (see docs/contracts.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def user_sequences(interactions: pd.DataFrame, splits: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """Item sequences per user in position order, optionally restricted to events of the given phases."""
    events = interactions if splits is None else interactions[interactions["split"].isin(splits)]
    events = events.sort_values(["user_id", "position"], kind="stable")
    return {user: group.tolist() for user, group in events.groupby("user_id", sort=False)["item_id"]}


def histories(
    interactions: pd.DataFrame, samples: pd.DataFrame, max_len: int | None = None
) -> pd.Series:
    """History (list of item ids, oldest first) of every sample, indexed by sample_id.

    `max_len` keeps only the most recent events. Positions are 0..n-1 per user (docs/contracts.md), so a
    history is a slice of the user's block in the (user, position)-sorted item array.
    """
    events = interactions.sort_values(["user_id", "position"], kind="stable")
    users = events["user_id"].to_numpy()
    boundaries = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    starts = dict(zip(users[boundaries], boundaries))
    lengths = dict(zip(users[boundaries], np.diff(np.r_[boundaries, len(users)])))
    items = events["item_id"].to_numpy(dtype=object)
    out = []
    for user, position in zip(samples["user_id"], samples["position"]):
        if user not in starts:
            out.append([])
            continue
        end = starts[user] + min(int(position), int(lengths[user]))
        begin = starts[user] if max_len is None else max(starts[user], end - max_len)
        out.append(items[begin:end].tolist())
    return pd.Series(out, index=samples["sample_id"].to_numpy(), name="history")
