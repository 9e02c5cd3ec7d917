"""k-means and nearest-codeword search with faiss (one level of a residual quantiser)."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def effective_k(k: int, n: int) -> int:
    """faiss needs at least as many points as centroids: with fewer items than codes the codebook
    shrinks to one code per item (every item can still get its own code, and utilisation is then
    reported against the requested size)."""
    return max(1, min(int(k), int(n)))


def kmeans(x: np.ndarray, k: int, seed: int, niter: int) -> np.ndarray:
    """Centroids [min(k, n), d] of `x` (float32 [n, d]).

    k-means++ initialisation (faiss ClusteringInitMethod_KMEANS_PLUS_PLUS) instead of faiss' default
    random sample: a random sample often puts two seeds in one well-separated cluster, and Lloyd
    iterations never move them apart. No subsampling (all points train every centroid) and no
    "too few points" warning: small catalogues are a supported case, not a mistake.
    """
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    k = effective_k(k, x.shape[0])
    if k == 1:
        return x.mean(axis=0, keepdims=True)
    km = faiss.Kmeans(
        x.shape[1],
        k,
        niter=int(niter),
        seed=int(seed),
        init_method=faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
        min_points_per_centroid=1,
        max_points_per_centroid=max(256, x.shape[0]),
    )
    km.train(x)
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


def squared_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """[n, k] squared L2 distances (exact; clipped at 0 against rounding)."""
    x = x.astype(np.float32, copy=False)
    c = centroids.astype(np.float32, copy=False)
    d = (x * x).sum(1, keepdims=True) - 2.0 * (x @ c.T) + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid per row (faiss exact L2 search)."""
    import faiss

    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    _, labels = index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return labels[:, 0].astype(np.int64)


def balanced_kmeans(
    x: np.ndarray,
    k: int,
    seed: int,
    niter: int,
    rounds: int = 5,
    epsilon: float = 0.003,
    sinkhorn_iters: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, labels) with near-equal cluster sizes: faiss k-means, then `rounds` of balanced
    Lloyd steps (Sinkhorn assignment with uniform code marginals, recforge.sid.sinkhorn, then
    centroids = means) and a final Sinkhorn assignment.

    Why: on residuals, plain k-means sends every item with a small residual to the centroid nearest
    the origin, so deeper levels use few codes (perplexity ~30 of 256 on MiniLM item vectors, see
    docs/sid.md) and many items collide; the RQ-VAE recipe balances its last level with Sinkhorn for
    the same reason. The balance is approximate (argmax of an entropic plan), not exact capacities.
    Labels are then not the nearest centroids (the assignment is transductive); the [n, k] distance
    matrix is held in memory (float64), fine for catalogues up to ~10^5 items.
    """
    import torch

    from recforge.sid.sinkhorn import sinkhorn_assign

    centroids = kmeans(x, k, seed=seed, niter=niter)
    k = centroids.shape[0]
    for step in range(rounds + 1):
        dist = torch.from_numpy(squared_distances(x, centroids))
        labels = sinkhorn_assign(dist, epsilon, sinkhorn_iters).numpy().astype(np.int64)
        if step == rounds:
            break
        sums = np.zeros_like(centroids, dtype=np.float64)
        np.add.at(sums, labels, x)
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0  # an empty code keeps its centroid
        centroids[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
    return centroids, labels
