"""Metric functions on plain arrays and lists; no I/O, no joins (see protocols.py for those).

Conventions (docs/contracts.md, "Metrics"):
- Ranks are 1-based; 0 means the target was not retrieved.
- A ranked list is de-duplicated before scoring, keeping the first occurrence of every item, so a target
  repeated in a list counts once and an earlier duplicate does not push the target down.
- A *placeholder* entry (Persona4Rec's "[PAD]") keeps its slot: it is never relevant, never removed as a
  duplicate, and still occupies a rank, exactly as Persona4Rec's eval.py treats it.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale

# ---------------------------------------------------------------------------------------------------------
# Ranking metrics from ranks
# ---------------------------------------------------------------------------------------------------------


def hit_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """1.0 where the target sits within the top k, else 0.0."""
    ranks = np.asarray(ranks)
    return ((ranks >= 1) & (ranks <= k)).astype(np.float64)


def ndcg_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """1/log2(rank+1) for a hit within the top k (one relevant item, so IDCG = 1), else 0."""
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = (ranks >= 1) & (ranks <= k)
    return np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 1.0) + 1.0), 0.0)


def mrr_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """1/rank for a hit within the top k, else 0 (reciprocal rank truncated at k)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = (ranks >= 1) & (ranks <= k)
    return np.where(hit, 1.0 / np.where(hit, ranks, 1.0), 0.0)


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int], hit_name: str = "HR") -> dict[str, float]:
    """Mean `{hit_name}@K`, `NDCG@K` and `MRR@K` over samples, for every K (empty input -> NaN)."""
    ranks = np.asarray(ranks)
    out: dict[str, float] = {}
    for k in ks:
        for name, fn in ((hit_name, hit_at_k), ("NDCG", ndcg_at_k), ("MRR", mrr_at_k)):
            out[f"{name}@{k}"] = float(fn(ranks, k).mean()) if ranks.size else float("nan")
    return out


# ---------------------------------------------------------------------------------------------------------
# First relevant rank in a ranked list
# ---------------------------------------------------------------------------------------------------------


def first_hit_rank(items: Sequence[str], target: str | Collection[str], *, placeholder: str | None = None) -> int:
    """1-based rank of the first relevant entry of `items` after de-duplication; 0 if none.

    `target` is one item id or a collection of relevant ids (Persona4Rec allows several ground-truth
    items; the first relevant rank is scored). De-duplication keeps the first occurrence of each item.
    `placeholder` entries are never relevant and never de-duplicated: they keep their slot.
    """
    targets = {target} if isinstance(target, str) else set(target)
    seen: set[str] = set()
    rank = 0
    for item in items:
        if item == placeholder:
            rank += 1
            continue
        if item in seen:
            continue
        seen.add(item)
        rank += 1
        if item in targets:
            return rank
    return 0


def flatten_lists(lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Row index and item of every entry of a list of lists, as flat arrays."""
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    flat = np.concatenate([np.asarray(x, dtype=object) for x in lists]) if lengths.sum() else np.empty(0, object)
    return rows, flat


def duplicate_mask(rows: np.ndarray, flat: np.ndarray, placeholder: str | None = None) -> np.ndarray:
    """True for entries that repeat an earlier entry of the same list (placeholders never do)."""
    if flat.size == 0:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(flat, use_na_sentinel=False)
    # One int64 key per (list, item) pair; duplicated() on ints is far faster than on object pairs.
    dup = pd.Series(rows * max(len(uniques), 1) + codes).duplicated(keep="first").to_numpy().copy()
    if placeholder is not None:
        dup &= flat != placeholder
    return dup


def first_hit_ranks(
    lists: Sequence[Sequence[str]], targets: Sequence[str], *, placeholder: str | None = None
) -> np.ndarray:
    """Vectorised `first_hit_rank` for one target per list; returns an int64 array (0 = miss)."""
    if len(lists) != len(targets):
        raise ValueError(f"{len(lists)} lists but {len(targets)} targets")
    ranks = np.zeros(len(lists), dtype=np.int64)
    rows, flat = flatten_lists(lists)
    if flat.size == 0:
        return ranks
    keep = ~duplicate_mask(rows, flat, placeholder)
    rows, flat = rows[keep], flat[keep]
    # Rank within the de-duplicated list: running count of kept entries per row.
    starts = np.searchsorted(rows, rows, side="left")
    rank = np.arange(rows.size, dtype=np.int64) - starts + 1
    target_arr = np.asarray(targets, dtype=object)
    hit = flat == target_arr[rows]
    if placeholder is not None:
        hit &= flat != placeholder
    # After de-duplication the target occurs at most once per row, so assignment is unambiguous.
    ranks[rows[hit]] = rank[hit]
    return ranks


# ---------------------------------------------------------------------------------------------------------
# Generated-list diagnostics (pooled over all entries of all lists)
# ---------------------------------------------------------------------------------------------------------


def list_diagnostics(
    lists: Sequence[Sequence[str]],
    catalogue: Collection[str] | None = None,
    histories: Sequence[Collection[str]] | None = None,
    in_history: np.ndarray | None = None,
) -> dict[str, float]:
    """Out-of-catalogue, repeat and in-history rates of generated lists.

    Every rate is pooled: (number of offending entries) / (number of entries), over all entries of all
    lists as submitted (before de-duplication), so long lists weigh more than short ones and empty lists
    contribute nothing. An entry is
    - out-of-catalogue if its id is not in `catalogue` (the item table),
    - a repeat if it equals an earlier entry of the same list,
    - in-history if it is one of the sample's history items (repeats of a history item all count).
    A rate is omitted when its reference (catalogue or histories) is not given; NaN when there are no entries.
    `in_history` may replace `histories`: a precomputed bool per entry, in list order (see protocols.py).
    """
    rows, flat = flatten_lists(lists)
    n = flat.size
    out: dict[str, float] = {"mean_list_length": float(n / len(lists)) if len(lists) else float("nan")}

    def rate(mask: np.ndarray) -> float:
        return float(mask.sum() / n) if n else float("nan")

    out["repeat_rate"] = rate(duplicate_mask(rows, flat))
    if catalogue is not None:
        out["out_of_catalogue_rate"] = rate(~pd.Index(flat).isin(list(catalogue)) if n else np.zeros(0, bool))
    if histories is not None:
        if len(histories) != len(lists):
            raise ValueError(f"{len(lists)} lists but {len(histories)} histories")
        h_rows, h_flat = flatten_lists([list(h) for h in histories])
        # Encode (row, item) pairs as one int64 key so membership is a single vectorised isin.
        codes, _ = pd.factorize(np.concatenate([flat, h_flat]), use_na_sentinel=False)
        width = int(codes.max()) + 1 if codes.size else 1
        in_history = np.isin(rows * width + codes[:n], h_rows * width + codes[n:])
    if in_history is not None:
        if len(in_history) != n:
            raise ValueError(f"{n} entries but {len(in_history)} in-history flags")
        out["in_history_rate"] = rate(np.asarray(in_history, dtype=bool))
    return out


# ---------------------------------------------------------------------------------------------------------
# Rating prediction
# ---------------------------------------------------------------------------------------------------------

DEFAULT_RATING_FALLBACK = 3.0


def rating_metrics(
    predictions: np.ndarray,
    labels: np.ndarray,
    *,
    fallback: float | None = None,
    scale: RatingScale = RatingScale(),
) -> dict[str, float]:
    """MAE, RMSE, exact accuracy and invalid-output rate of rating predictions.

    A non-finite prediction (NaN = unparseable model output) is invalid: it is counted in `invalid_rate`
    and scored as `fallback` (the caller passes the training global mean; 3.0 if None). Every prediction
    is then clipped to the dataset's `scale` before MAE/RMSE/accuracy, since a rating outside the scale
    is certainly wrong and clipping is a fixed post-processing any method could apply. Accuracy compares
    the valid rating nearest to the prediction (a tie goes up: 2.5 -> 3 on whole stars, 3.75 -> 4.0 on
    half stars) with the label.
    """
    pred = np.asarray(predictions, dtype=np.float64)
    label = np.asarray(labels, dtype=np.float64)
    if pred.shape != label.shape:
        raise ValueError(f"{pred.shape} predictions but {label.shape} labels")
    if np.isnan(label).any():
        raise ValueError("rating labels contain NaN; drop unlabelled samples before scoring")
    fb = DEFAULT_RATING_FALLBACK if fallback is None else float(fallback)
    invalid = ~np.isfinite(pred)
    scored = scale.clip(np.where(invalid, fb, pred))
    err = scored - label
    n = pred.size
    if n == 0:
        nan = float("nan")
        return {"MAE": nan, "RMSE": nan, "accuracy": nan, "invalid_rate": nan}
    return {
        "MAE": float(np.abs(err).mean()),
        "RMSE": float(np.sqrt((err**2).mean())),
        "accuracy": float((scale.nearest(scored) == label).mean()),
        "invalid_rate": float(invalid.mean()),
    }


def label_distribution(labels: np.ndarray) -> dict[str, int]:
    """Count of every label value, keyed by its string form ("4" for 4.0), sorted by value."""
    values, counts = np.unique(np.asarray(labels, dtype=np.float64), return_counts=True)
    return {_label_key(v): int(c) for v, c in zip(values, counts, strict=True)}


def _label_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---------------------------------------------------------------------------------------------------------
# Click-through / like prediction
# ---------------------------------------------------------------------------------------------------------


def check_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Return `probabilities` as float64 after checking they are finite, in [0, 1] and not hard labels.

    AUC from hard 0/1 predictions is balanced accuracy, not ranking quality (a known trap in the
    ReasoningRec seed), so predictions whose values are all in {0, 1} are rejected.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if not np.isfinite(p).all():
        raise ValueError(f"{int((~np.isfinite(p)).sum())} probabilities are NaN or infinite")
    if p.size and ((p < 0).any() or (p > 1).any()):
        raise ValueError(f"probabilities must lie in [0, 1]; got range [{p.min()}, {p.max()}]")
    if p.size and np.isin(p, (0.0, 1.0)).all():
        raise ValueError(
            "every probability is exactly 0 or 1: these are hard predictions, and AUC/log-loss must be "
            "computed from probabilities such as P(Yes) (docs/evaluation.md)"
        )
    return p


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney U statistic with average ranks for ties.

    AUC = (sum of positive ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg): the probability that a random
    positive outscores a random negative, a tie counting one half. NaN (with a warning) if only one class.
    """
    y = np.asarray(labels).astype(bool)
    s = check_probabilities(scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        warnings.warn("AUC is undefined with a single class; returning NaN", RuntimeWarning, stacklevel=2)
        return float("nan")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(labels: np.ndarray, probabilities: np.ndarray, eps: float = 1e-15) -> float:
    """Mean binary cross-entropy, with probabilities clipped to [eps, 1 - eps] so a confident miss is finite."""
    y = np.asarray(labels).astype(np.float64)
    p = np.clip(check_probabilities(probabilities), eps, 1.0 - eps)
    if y.size == 0:
        return float("nan")
    return float(-(y * np.log(p) + (1.0 - y) * np.log1p(-p)).mean())


def auc_bootstrap_ci(labels: np.ndarray, scores: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                     seed: int = 0) -> list[float] | None:
    """Percentile bootstrap interval of the AUC: `n_boot` resamples of the samples with replacement
    (seeded), resamples with a single class skipped. None when the labels have a single class."""
    y = np.asarray(labels).astype(bool)
    s = check_probabilities(scores)
    if y.all() or not y.any():
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        yb = y[idx]
        if yb.all() or not yb.any():
            continue
        ranks = pd.Series(s[idx]).rank(method="average").to_numpy()
        n_pos = int(yb.sum())
        values.append((ranks[yb].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * (yb.size - n_pos)))
    tail = (1.0 - level) / 2.0
    return [float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))]


def label_balance(labels: np.ndarray) -> dict[str, float]:
    """Positive and negative counts and the positive rate of binary labels."""
    y = np.asarray(labels).astype(bool)
    pos = int(y.sum())
    return {
        "positive": pos,
        "negative": int(y.size - pos),
        "positive_rate": float(pos / y.size) if y.size else float("nan"),
    }
