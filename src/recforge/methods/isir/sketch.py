"""The per-sample interest sketch (seed 000, A.3.6-7), without the paper's leakage.

For each topic cluster, count the user's liked (rating >= pos_threshold) and disliked (rating <
pos_threshold) events; a topic is liked when liked > disliked, disliked when disliked > liked, and left
out on a tie. The paper counted each user's whole pre-valid history once, so a train sample's sketch
included its own target's rating and every later one (A.3.8). Here the counts of a sample at position
p cover only the user's events with position < p: the sample's history (docs/contracts.md). For a test
sample that history includes the valid event, as for every other method.

Counting is vectorised: per-cluster cumulative counts over the (user, position)-sorted events, read at
each sample's history boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.isir.cluster_names import fallback_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SketchConfig:
    domain: str = "item"  # "movie": "...the following movie topics..."
    pos_threshold: float = 4.0  # rating >= this is a liked event; a rating below it a disliked one
    # Topics listed per block (liked, disliked): those with the largest margin of events (ties: lower
    # cluster id), listed in cluster-id order. None lists every topic, as the paper does.
    max_topics: int | None = None


def strongest(selected: np.ndarray, margin: np.ndarray, k: int | None) -> np.ndarray:
    """`selected` [n, c] restricted to each row's k columns with the largest margin (ties: lower column)."""
    if k is None or selected.shape[1] <= k:
        return selected
    if k < 0:
        raise ValueError("max_topics must be >= 0 or None")
    score = np.where(selected, margin, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(selected)
    np.put_along_axis(keep, order, True, axis=1)
    return selected & keep



def _number(value: float) -> str:
    return f"{float(value):g}"


def sketch_text(
    liked: Sequence[str], disliked: Sequence[str], domain: str, pos_threshold: float = 4.0
) -> str:
    """The sketch: a liked block and a disliked block joined by a blank line; either block is absent
    when it has no topic, and the sketch is "" when both are. With the default threshold the headers
    read "(ratings ≥ 4)" and "(ratings ≤ 3)" as in the paper; a fractional threshold t reads "< t"."""
    blocks = []
    if liked:
        bound = f"≥ {_number(pos_threshold)}"
        header = f"The user shows preference for the following {domain} topics (ratings {bound}):"
        blocks.append("\n".join([header, *(f"- {t}" for t in liked)]))
    if disliked:
        t = float(pos_threshold)
        bound = f"≤ {_number(t - 1)}" if t.is_integer() else f"< {_number(t)}"
        header = f"The user shows dislike for the following {domain} topics (ratings {bound}):"
        blocks.append("\n".join([header, *(f"- {t}" for t in disliked)]))
    return "\n\n".join(blocks)


@dataclass(frozen=True)
class ClusterCounts:
    """Per-sample counts over each sample's history: row i is samples row i, column c is cluster c."""

    liked: np.ndarray  # int32 [n_samples, n_clusters]
    disliked: np.ndarray  # int32 [n_samples, n_clusters]
    stats: dict[str, Any]


def history_bounds(
    interactions: pd.DataFrame, samples: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The events sorted by (user_id, position) and, per sample, the [start, end) row range of its
    history in them: the user's events with position < the sample's position (empty for a user with
    no events); and whether the sample's user has events at all."""
    events = interactions.sort_values(["user_id", "position"], kind="stable").reset_index(drop=True)
    users = pd.Index(pd.unique(events["user_id"]))
    event_user = users.get_indexer(events["user_id"]).astype(np.int64)
    positions = events["position"].to_numpy(dtype=np.int64)
    span = int(max(positions.max(initial=0), samples["position"].max() if len(samples) else 0)) + 1
    key = event_user * span + positions  # sorted, since users come in order of first appearance
    sample_user = users.get_indexer(samples["user_id"]).astype(np.int64)
    sample_pos = samples["position"].to_numpy(dtype=np.int64)
    known = sample_user >= 0
    start = np.where(known, np.searchsorted(key, sample_user * span, side="left"), 0)
    end = np.where(known, np.searchsorted(key, sample_user * span + sample_pos, side="left"), 0)
    return events, start, end, known


def cluster_counts(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    item_cluster: pd.Series,
    n_clusters: int,
    pos_threshold: float = 4.0,
) -> ClusterCounts:
    """Liked/disliked event counts per cluster over each sample's history. `item_cluster` maps item_id
    to cluster id in 0..n_clusters-1; events of items without a cluster, and unrated events, count
    nowhere (and are reported in stats)."""
    events, start, end, known = history_bounds(interactions, samples)
    cluster = item_cluster.reindex(events["item_id"].astype(str).to_numpy())
    has_cluster = cluster.notna().to_numpy()
    cluster = cluster.fillna(-1).to_numpy(dtype=np.int64)
    if has_cluster.any() and (cluster[has_cluster].max() >= n_clusters or cluster[has_cluster].min() < 0):
        raise ValueError(f"cluster ids must lie in 0..{n_clusters - 1}")
    rating = events["rating"].to_numpy(dtype=np.float64)
    rated = np.isfinite(rating)
    pos = has_cluster & rated & (rating >= pos_threshold)
    neg = has_cluster & rated & (rating < pos_threshold)

    def prefix(mask: np.ndarray) -> np.ndarray:
        # prefix[i] = counts over event rows < i, so a history [start, end) is prefix[end] - prefix[start]
        out = np.zeros((len(events) + 1, n_clusters), dtype=np.int32)
        rows = np.flatnonzero(mask)
        out[rows + 1, cluster[rows]] = 1
        return np.cumsum(out, axis=0, dtype=np.int32)

    liked_prefix = prefix(pos)
    disliked_prefix = prefix(neg)
    liked = liked_prefix[end] - liked_prefix[start]
    disliked = disliked_prefix[end] - disliked_prefix[start]
    unclustered = np.r_[0, np.cumsum(~has_cluster)]
    stats = {
        "events": int(len(events)),
        "events_without_cluster": int((~has_cluster).sum()),
        "items_without_cluster": int(events.loc[~has_cluster, "item_id"].nunique()),
        "unrated_events": int((~rated).sum()),
        "history_events": int((end - start).sum()),
        "history_events_without_cluster": int((unclustered[end] - unclustered[start]).sum()),
        "samples_of_unknown_users": int((~known).sum()),
    }
    if stats["events_without_cluster"]:
        log.warning(
            "%d events (%d items) have no cluster (not embedded); the sketch skips them",
            stats["events_without_cluster"],
            stats["items_without_cluster"],
        )
    return ClusterCounts(liked=liked, disliked=disliked, stats=stats)


def interest_sketches(
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    clusters: pd.DataFrame,
    names: pd.DataFrame | Mapping[int, str],
    config: SketchConfig = SketchConfig(),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The sketch of every sample from its own history. Returns (table, stats): table has one row per
    samples row, in order: sample_id, sketch, n_liked, n_disliked (topics listed); stats counts
    events, skipped events and empty sketches. `clusters` is the k-means table (item_id, cluster),
    `names` the cluster-name table (cluster, name) or a mapping; topics are listed in cluster-id
    order, at most config.max_topics per block."""
    if isinstance(names, pd.DataFrame):
        names = {int(c): str(n) for c, n in zip(names["cluster"], names["name"])}
    item_cluster = pd.Series(
        clusters["cluster"].to_numpy(dtype=np.int64), index=clusters["item_id"].astype(str).to_numpy()
    )
    n_clusters = int(max([*item_cluster.tolist(), *names.keys()], default=-1)) + 1
    topic = [names.get(c, fallback_name(c)) for c in range(n_clusters)]
    counts = cluster_counts(interactions, samples, item_cluster, n_clusters, config.pos_threshold)
    margin = counts.liked.astype(np.int64) - counts.disliked
    liked = strongest(margin > 0, margin, config.max_topics)
    disliked = strongest(margin < 0, -margin, config.max_topics)
    # Many samples share a pattern (same user, nothing new in a cluster): render each pattern once.
    both = np.hstack([liked, disliked]).reshape(len(samples), 2 * n_clusters)
    packed = np.packbits(both, axis=1)
    codes, uniques = pd.factorize(pd.Series([row.tobytes() for row in packed], dtype=object))
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # a row of each pattern
    texts = [
        sketch_text(
            [topic[c] for c in np.flatnonzero(both[row, :n_clusters])],
            [topic[c] for c in np.flatnonzero(both[row, n_clusters:])],
            config.domain,
            config.pos_threshold,
        )
        for row in first
    ]
    sketches = np.asarray(texts, dtype=object)[codes]
    table = pd.DataFrame(
        {
            "sample_id": samples["sample_id"].astype(str).to_numpy(),
            "sketch": pd.Series(sketches, dtype=object),
            "n_liked": liked.sum(axis=1).astype(np.int64),
            "n_disliked": disliked.sum(axis=1).astype(np.int64),
        }
    )
    stats = {
        **counts.stats,
        "samples": int(len(table)),
        "clusters": n_clusters,
        "pos_threshold": float(config.pos_threshold),
        "max_topics": config.max_topics,
        "empty_sketches": int((table["sketch"] == "").sum()),
        "mean_liked_topics": float(table["n_liked"].mean()) if len(table) else 0.0,
        "mean_disliked_topics": float(table["n_disliked"].mean()) if len(table) else 0.0,
    }
    log.info(
        "sketches for %d samples: %d empty; %.2f liked and %.2f disliked topics on average",
        stats["samples"],
        stats["empty_sketches"],
        stats["mean_liked_topics"],
        stats["mean_disliked_topics"],
    )
    return table, stats
