"""Collision resolution: make every item's code row unique.

Two methods (`method=`):

- "reassign" (default): in every group of items sharing a full code, the item reconstructed best by
  the shared code keeps it; each other item moves to the nearest *free* code (no item has it) that
  keeps as much of its prefix as possible: first a free last-level code under the same first L-1
  levels, nearest to the item's last-level residual; only when that prefix is full (more items than
  last-level codes) a free pair of last two codes under the first L-2 levels, and so on. "Nearest" is
  the reconstruction error of the item's vector (in the quantiser's space: the input for RQ-KMeans,
  the latent for RQ-VAE) by the candidate code. Matching is greedy: per prefix, the cheapest remaining
  (item, free code) pair first. Only colliding items change, mostly on the last level only, and the
  number of levels stays as configured: the token vocabulary, the decoding-trie depth and the
  meaning of every token (a codeword) are untouched. That is why it is the default.
- "append" (TIGER): one extra level numbers the items of each group 0, 1, 2, ... (best reconstructed
  first); items without a collision get 0. Always succeeds, but every SID gets one more token and
  that level carries no semantics.

Without vectors and codebooks all costs are equal: the lowest row keeps the code and movers take the
lowest free codes. LC-Rec/LETTER instead re-run Sinkhorn on colliding groups for up to 20 rounds and
only report what is left; both methods here guarantee uniqueness (or raise when there are more items
than codes).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from recforge.sid.kmeans import squared_distances

METHODS = ("reassign", "append")
MAX_CANDIDATES = 1 << 22  # free-code candidates enumerated per prefix when a whole prefix is full


def collision_groups(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices (ascending) of every group of >= 2 items sharing a full code row."""
    codes = np.asarray(codes)
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    return [g for g in np.split(order, np.cumsum(counts)[:-1]) if len(g) > 1]


def resolve_collisions(
    codes: np.ndarray,
    method: str = "reassign",
    *,
    vectors: np.ndarray | None = None,
    codebooks: Sequence[np.ndarray] | None = None,
    codebook_size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Unique code rows from `codes` (int [n, levels]).

    vectors [n, d] and codebooks (level l: [K_l, d]) define the costs: vectors are what the codes
    quantise (residual quantisation: vector ~ sum of the chosen codewords). codebook_size (one or
    per level) is needed instead when no codebooks are given. Returns a new int64 array, [n, levels]
    for "reassign", [n, levels + 1] for "append".
    """
    if method not in METHODS:
        raise ValueError(f"unknown collision resolution {method!r}; choose one of {METHODS}")
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise ValueError(f"codes must be [n_items, n_levels], got shape {codes.shape}")
    costs = _Costs(codes, vectors, codebooks, codebook_size)
    groups = collision_groups(codes)
    if method == "append":
        out = np.concatenate([codes, np.zeros((len(codes), 1), dtype=np.int64)], axis=1)
        for group in groups:
            out[costs.keeper_order(group), -1] = np.arange(len(group))
        return out
    return _reassign(codes, groups, costs)


class _Costs:
    """Reconstruction error of an item by a candidate code, from vectors and codebooks (or zeros)."""

    def __init__(self, codes, vectors, codebooks, codebook_size) -> None:
        levels = codes.shape[1]
        if codebooks is not None:
            self.books = [np.asarray(b, dtype=np.float32) for b in codebooks]
            if vectors is None or len(self.books) != levels:
                raise ValueError(f"need vectors and one codebook per level ({levels})")
            self.vectors = np.asarray(vectors, dtype=np.float32)
            if self.vectors.shape[0] != len(codes) or any(b.shape[1] != self.vectors.shape[1] for b in self.books):
                raise ValueError("vectors must be [n_items, d] and every codebook [K, d]")
            self.sizes = [len(b) for b in self.books]
        elif codebook_size is not None:
            self.books, self.vectors = None, None
            scalar = np.isscalar(codebook_size)
            self.sizes = [int(codebook_size)] * levels if scalar else [int(s) for s in codebook_size]
            if len(self.sizes) != levels:
                raise ValueError(f"{len(self.sizes)} codebook sizes for {levels} levels")
        else:
            raise ValueError("give vectors and codebooks, or codebook_size")
        if len(codes) and (codes.max(axis=0) >= np.array(self.sizes)).any():
            raise ValueError(f"codes exceed the codebook sizes {self.sizes}")
        self.codes = codes

    def residual(self, rows: np.ndarray, level: int) -> np.ndarray:
        """What is left of the rows' vectors after their own codewords of levels < level."""
        r = self.vectors[rows].copy()
        for lvl in range(level):
            r -= self.books[lvl][self.codes[rows, lvl]]
        return r

    def keeper_order(self, group: np.ndarray) -> np.ndarray:
        """The group's rows, best reconstructed by their (shared) code first; ties: lower row first."""
        if self.books is None:
            return group
        err = (self.residual(group, len(self.books)) ** 2).sum(axis=1)
        return group[np.argsort(err, kind="stable")]

    def suffix_costs(self, rows: np.ndarray, level: int, suffixes: np.ndarray) -> np.ndarray:
        """[len(rows), len(suffixes)]: error when the rows keep levels < level and take `suffixes`."""
        if self.books is None:
            return np.zeros((len(rows), len(suffixes)))
        recon = np.zeros((len(suffixes), self.vectors.shape[1]), dtype=np.float32)
        for j, lvl in enumerate(range(level, len(self.books))):
            recon += self.books[lvl][suffixes[:, j]]
        return squared_distances(self.residual(rows, level), recon)


def _reassign(codes: np.ndarray, groups: list[np.ndarray], costs: _Costs) -> np.ndarray:
    if len(codes) > math.prod(costs.sizes):
        raise ValueError(
            f"{len(codes)} items but only {math.prod(costs.sizes)} distinct codes "
            f"({' x '.join(map(str, costs.sizes))}): no assignment can make them unique; "
            "use more levels, a larger codebook or method='append'"
        )
    out = codes.copy()
    pending = [int(r) for g in groups for r in costs.keeper_order(g)[1:]]
    levels = codes.shape[1]
    for level in range(levels - 1, -1, -1):  # keep L-1 levels, then L-2, ... then none
        if not pending:
            break
        used: dict[tuple, set[tuple]] = {}
        for row in out.tolist():
            used.setdefault(tuple(row[:level]), set()).add(tuple(row[level:]))
        by_prefix: dict[tuple, list[int]] = {}
        for r in pending:
            by_prefix.setdefault(tuple(out[r, :level].tolist()), []).append(r)
        pending = []
        for prefix, rows in by_prefix.items():
            free = _free_suffixes(used[prefix], costs.sizes[level:])
            placed = min(len(free), len(rows))
            if placed < len(rows):
                # Too few free codes here: the items that fit best move now, the rest go one level up.
                own = costs.suffix_costs(np.array(rows), level, codes[rows, level:]).diagonal()
                rows = [rows[i] for i in np.argsort(own, kind="stable")]
                pending.extend(rows[placed:])
                rows = rows[:placed]
            if not rows:
                continue
            cost = costs.suffix_costs(np.array(rows), level, free)
            for i, j in _greedy_pairs(cost):
                out[rows[i], level:] = free[j]
    assert not pending, "the capacity check above guarantees a free code at level 0"
    return out


def _free_suffixes(used: set[tuple], sizes: Sequence[int]) -> np.ndarray:
    """Every suffix code (lexicographic order) that no item under the prefix uses: int64 [m, len(sizes)]."""
    total = math.prod(sizes)  # Python ints: 256 ** 8 overflows int64
    if total - len(used) <= 0:
        return np.zeros((0, len(sizes)), dtype=np.int64)
    if total > MAX_CANDIDATES:
        raise ValueError(
            f"resolving this collision needs {total} candidate codes (codebook sizes {list(sizes)}); "
            "use method='append' or a larger codebook"
        )
    free = [s for s in itertools.product(*(range(k) for k in sizes)) if s not in used]
    return np.array(free, dtype=np.int64).reshape(-1, len(sizes))


def _greedy_pairs(cost: np.ndarray) -> list[tuple[int, int]]:
    """Match every row to a distinct column, cheapest remaining pair first (stable on ties)."""
    order = np.argsort(cost, axis=None, kind="stable")
    taken_rows, taken_cols, pairs = set(), set(), []
    for flat in order:
        i, j = divmod(int(flat), cost.shape[1])
        if i in taken_rows or j in taken_cols:
            continue
        pairs.append((i, j))
        taken_rows.add(i)
        taken_cols.add(j)
        if len(pairs) == cost.shape[0]:
            break
    return pairs

