"""Topic clusters of the catalogue: faiss k-means on the item embeddings (seed 000, A.3.3-4).

L2 k-means on unit vectors (cosine in effect). Every embedded item is assigned to its nearest centroid;
within a cluster the items are ranked by distance to the centroid, and the nearest `top_k` are the
ones shown to the LLM that names the cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recforge.embed.items import ItemEmbeddings

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ("item_id", "cluster", "distance", "rank_in_cluster")


@dataclass(frozen=True)
class ClusterConfig:
    n_clusters: int = 20  # the paper's k; capped at the number of items
    niter: int = 30
    nredo: int = 5  # k-means restarts; faiss keeps the best objective
    seed: int = 0



def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def kmeans_clusters(embeddings: ItemEmbeddings, config: ClusterConfig = ClusterConfig()) -> pd.DataFrame:
    """One row per embedded item: item_id, cluster (int64, 0..k-1), distance (float64, squared L2 to
    the cluster's centroid, as faiss reports it), rank_in_cluster (int64, 0 = nearest the centroid;
    ties broken by item_id). Rows are sorted by (cluster, rank_in_cluster)."""
    import faiss

    n = len(embeddings.item_ids)
    if n == 0:
        raise ValueError("no item embeddings to cluster")
    k = min(int(config.n_clusters), n)
    if k < config.n_clusters:
        log.warning("only %d items: k capped from %d to %d", n, config.n_clusters, k)
    x = _unit_rows(embeddings.vectors)
    kmeans = faiss.Kmeans(
        x.shape[1],
        k,
        niter=int(config.niter),
        nredo=int(config.nredo),
        seed=int(config.seed),
        verbose=False,
        # Train on every item (the paper sets max_points_per_centroid = N // k); faiss would otherwise
        # subsample above 256 points per centroid and warn below 39.
        max_points_per_centroid=max(1, -(-n // k)),
        min_points_per_centroid=1,
    )
    kmeans.train(x)
    distances, labels = kmeans.index.search(x, 1)
    table = pd.DataFrame(
        {
            "item_id": pd.Series(embeddings.item_ids, dtype=object).astype(str),
            "cluster": labels[:, 0].astype(np.int64),
            "distance": distances[:, 0].astype(np.float64),
        }
    )
    table = table.sort_values(["cluster", "distance", "item_id"], kind="stable").reset_index(drop=True)
    table["rank_in_cluster"] = table.groupby("cluster").cumcount().astype(np.int64)
    sizes = table["cluster"].value_counts()
    log.info(
        "k-means: %d items, k=%d, objective %.4f; cluster sizes min %d, median %d, max %d; %d empty",
        n,
        k,
        float(kmeans.obj[-1]) if len(kmeans.obj) else float("nan"),
        int(sizes.min()),
        int(sizes.median()),
        int(sizes.max()),
        k - len(sizes),
    )
    return table[list(CLUSTER_COLUMNS)]


def cluster_members(clusters: pd.DataFrame, top_k: int | None = None) -> dict[int, list[str]]:
    """For each non-empty cluster (ascending id), its item ids nearest the centroid first, at most
    `top_k` of them (None: all)."""
    ordered = clusters.sort_values(["cluster", "rank_in_cluster"], kind="stable")
    if top_k is not None:
        ordered = ordered[ordered["rank_in_cluster"] < int(top_k)]
    return {
        int(c): group.astype(str).tolist() for c, group in ordered.groupby("cluster", sort=True)["item_id"]
    }


def item_clusters(clusters: pd.DataFrame) -> pd.Series:
    """item_id -> cluster (int64)."""
    return pd.Series(
        clusters["cluster"].to_numpy(dtype=np.int64), index=clusters["item_id"].astype(str).to_numpy()
    )
