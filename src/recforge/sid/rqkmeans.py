"""RQ-KMeans: residual k-means, the fast semantic-ID quantiser.

Level 0 clusters the vectors; level l clusters what the previous levels left over (the residual
x - sum of the chosen centroids), so each level refines the last and the sum of an item's centroids
reconstructs its vector. This is the RQ-KMeans of OneRec / MiniOneRec: no training, seconds on a
catalogue of ~10k items, and a good baseline (and initialiser) for the RQ-VAE.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recforge.sid.collisions import resolve_collisions
from recforge.sid.kmeans import balanced_kmeans, kmeans, nearest
from recforge.sid.report import sid_report
from recforge.sid.types import SemanticIds, check_inputs, check_shape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResidualCodebooks:
    codebooks: tuple[np.ndarray, ...]  # level l: float32 [k_l, d]

    @property
    def sizes(self) -> list[int]:
        return [int(c.shape[0]) for c in self.codebooks]

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Greedy residual assignment: int64 [n, levels]."""
        residual = np.array(x, dtype=np.float32, copy=True)
        codes = np.empty((residual.shape[0], len(self.codebooks)), dtype=np.int64)
        for level, book in enumerate(self.codebooks):
            codes[:, level] = nearest(residual, book)
            residual -= book[codes[:, level]]
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Sum of the chosen centroids of every level: float32 [n, d]."""
        out = np.zeros((codes.shape[0], self.codebooks[0].shape[1]), dtype=np.float32)
        for level, book in enumerate(self.codebooks):
            out += book[codes[:, level]]
        return out


def residual_kmeans(
    x: np.ndarray, levels: int, codebook_size: int, seed: int = 0, niter: int = 20, balanced: bool = False
) -> tuple[ResidualCodebooks, np.ndarray]:
    """Fit `levels` codebooks of (at most) `codebook_size` centroids, level l with seed `seed + l`;
    returns the codebooks and the codes of `x`. A level has min(codebook_size, n) centroids.
    balanced: every level is a balanced k-means (recforge.sid.kmeans.balanced_kmeans); the codes are
    then its Sinkhorn assignment, which ResidualCodebooks.encode (nearest centroid) does not repeat."""
    check_shape(levels, codebook_size)
    residual = np.array(x, dtype=np.float32, copy=True)
    books, codes = [], np.empty((residual.shape[0], levels), dtype=np.int64)
    for level in range(levels):
        if balanced:
            book, codes[:, level] = balanced_kmeans(residual, codebook_size, seed=seed + level, niter=niter)
        else:
            book = kmeans(residual, codebook_size, seed=seed + level, niter=niter)
            codes[:, level] = nearest(residual, book)
        residual -= book[codes[:, level]]
        books.append(book)
        log.info("rq-kmeans level %d: %d centroids, residual mse %.6g", level, len(book), float((residual**2).mean()))
    return ResidualCodebooks(tuple(books)), codes


def fit_rqkmeans(
    vectors: np.ndarray,
    item_ids: Sequence[str],
    levels: int = 3,
    codebook_size: int = 256,
    seed: int = 0,
    niter: int = 20,
    resolve: str = "reassign",
    *,
    balanced: bool = False,
) -> SemanticIds:
    """Semantic IDs by residual k-means (faiss), collisions resolved by `resolve`
    ("reassign" or "append", see recforge.sid.collisions.resolve_collisions).

    balanced=True balances every level (OneRec-style; Sinkhorn, see balanced_kmeans): deeper levels
    then use all codes and fewer items collide (docs/sid.md has the measured effect). Off by
    default: plain residual k-means is the specified fast baseline and its codes are reproducible
    from the codebooks alone (nearest centroid)."""
    start = time.perf_counter()
    x, ids = check_inputs(vectors, item_ids)
    check_shape(levels, codebook_size)
    books, raw = residual_kmeans(x, levels, codebook_size, seed=seed, niter=niter, balanced=balanced)
    codes = resolve_collisions(raw, resolve, vectors=x, codebooks=books.codebooks)
    recon = books.decode(codes[:, :levels])
    report = sid_report(
        codes,
        codebook_size=_level_sizes(codebook_size, levels, codes),
        raw_codes=raw,
        vectors=x,
        reconstruction=recon,
    )
    report["reconstruction_mse_raw"] = float(np.mean((books.decode(raw) - x) ** 2))
    report.update(
        quantiser="rqkmeans",
        settings={"levels": levels, "codebook_size": codebook_size, "effective_codebook_sizes": books.sizes,
                  "seed": seed, "niter": niter, "balanced": balanced, "resolve": resolve, "dim": int(x.shape[1])},
        wall_s=round(time.perf_counter() - start, 3),
    )
    log.info("rq-kmeans: %d items, collision rate %.4f -> %.4f, %.1fs", len(ids),
             report["collision_rate_raw"], report["collision_rate"], report["wall_s"])
    return SemanticIds(ids, codes, raw, report)


def _level_sizes(codebook_size: int, levels: int, codes: np.ndarray) -> list[int]:
    """Requested size per level; an appended disambiguation level is as large as its largest code."""
    sizes = [int(codebook_size)] * levels
    if codes.shape[1] > levels:
        sizes.append(int(codes[:, levels].max()) + 1)
    return sizes
