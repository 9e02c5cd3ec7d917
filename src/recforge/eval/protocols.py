"""The four evaluation protocols (docs/evaluation.md): rating, topk, rerank, ctr.

`evaluate` joins predictions to the samples (join.py), then scores each predicted split with the pure
functions of metrics.py. It returns one entry per split:
    {"split": "test", "n": 2629, "metrics": {...}, ...protocol extras}
Protocol extras: rating -> "fallback", "rating_scale", "label_distribution", "n_unlabelled"; ctr -> "label_balance",
"like_threshold", "n_unlabelled"; rerank -> "scenarios" (when interactions are given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale, rating_scale
from recforge.eval import metrics as M
from recforge.eval.join import join_predictions, ordered_splits
from recforge.eval.scenarios import scenario_metrics

PAD = "[PAD]"
DEFAULT_KS = {"topk": (1, 5, 10, 20), "rerank": (5, 10, 20)}
DEFAULT_LIKE_THRESHOLD = 4.0

# Prediction columns each protocol reads (required ones; optional ones are ignored by the scorer).
PREDICTION_COLUMNS = {
    "rating": ["prediction"],
    "topk": ["items"],
    "rerank": ["items"],
    "ctr": ["probability"],
}
PROTOCOLS = tuple(PREDICTION_COLUMNS)


def evaluate(
    protocol: str,
    predictions: pd.DataFrame,
    samples: pd.DataFrame,
    interactions: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    *,
    ks: Sequence[int] | None = None,
    source: str = "predictions",
    **options: Any,
) -> list[dict]:
    """Score `predictions` under `protocol`; one result entry per split present in the predictions.

    `samples` is splits.parquet. `interactions` gives histories (topk in-history rate), scenario counts
    (rerank) and the training mean rating (rating fallback); `items` gives the catalogue (topk
    out-of-catalogue rate). `ks` defaults to (1, 5, 10, 20) for topk and (5, 10, 20) for rerank.
    `source` names the method/file in error messages. Options, per protocol:
      rating: fallback (float; default the train-phase mean rating, else 3.0), scale (a RatingScale or
              {min, max, step}; default the scale of the dataset's ratings, recforge.data.scale)
      rerank: placeholder ("[PAD]"), scenarios (True), scenario_k (10), count_phases (("train",)),
              top_p (0.8), bottom_p (0.2)
      ctr:    like_threshold (4.0; label = rating >= threshold), eps (1e-15)
    Unknown options raise TypeError.
    """
    if protocol not in SCORERS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    scorer, allowed = SCORERS[protocol]
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"protocol {protocol!r} takes no option(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    joined = join_predictions(predictions, samples, source, columns=PREDICTION_COLUMNS[protocol])
    if protocol in DEFAULT_KS:
        options["ks"] = tuple(DEFAULT_KS[protocol] if ks is None else ks)
    context = {"samples": samples, "interactions": interactions, "items": items, "source": source}
    results = []
    for split in ordered_splits(joined["split"]):
        part = joined[joined["split"].astype(str) == split].reset_index(drop=True)
        results.append({"split": split, **scorer(part, context, **options)})
    return results


# ---------------------------------------------------------------------------------------------------------
# rating
# ---------------------------------------------------------------------------------------------------------


def train_mean_rating(interactions: pd.DataFrame | None) -> float | None:
    """Mean explicit rating of train-phase events, or None if there are none (the caller then uses 3.0)."""
    if interactions is None:
        return None
    ratings = interactions.loc[interactions["split"] == "train", "rating"].astype(np.float64)
    ratings = ratings[np.isfinite(ratings)]
    return float(ratings.mean()) if len(ratings) else None


def dataset_scale(samples: pd.DataFrame, interactions: pd.DataFrame | None, scale=None) -> RatingScale:
    """`scale` (a RatingScale or the config's {min, max, step}) if given, else the scale of every
    explicit rating of the dataset (samples of every split and interactions): the scale is a property
    of the data, so every split and method is clipped and rounded alike."""
    if isinstance(scale, RatingScale):
        return scale
    tables = [samples] if interactions is None else [samples, interactions]
    return rating_scale(np.concatenate([t["rating"].to_numpy(dtype=np.float64) for t in tables]), scale)


def _score_rating(part: pd.DataFrame, context: dict, *, fallback: float | None = None, scale=None) -> dict:
    if fallback is None:
        fallback = train_mean_rating(context["interactions"])
    fallback = M.DEFAULT_RATING_FALLBACK if fallback is None else float(fallback)
    labels = part["rating"].astype(np.float64).to_numpy()
    labelled = np.isfinite(labels)
    pred = pd.to_numeric(part["prediction"]).astype(np.float64).to_numpy()[labelled]
    scale = dataset_scale(context["samples"], context["interactions"], scale)
    return {
        "n": int(labelled.sum()),
        "metrics": M.rating_metrics(pred, labels[labelled], fallback=fallback, scale=scale),
        "fallback": fallback,
        "rating_scale": scale.as_dict(),
        "n_unlabelled": int((~labelled).sum()),
        "label_distribution": M.label_distribution(labels[labelled]),
    }


# ---------------------------------------------------------------------------------------------------------
# topk and rerank
# ---------------------------------------------------------------------------------------------------------


def _check_lists(lists: pd.Series, source: str) -> list:
    """The item lists as a Python list, after checking none is null and every entry is a str."""
    null = lists.isna() if lists.dtype != object else lists.map(lambda x: x is None)
    if null.any():
        raise ValueError(f"{source}: {int(null.sum())} row(s) have a null items list (write [] for no items)")
    values = lists.tolist()
    lengths = [len(x) for x in values]
    if sum(lengths):
        flat = np.concatenate([np.asarray(x, dtype=object) for x in values])
        if pd.api.types.infer_dtype(flat, skipna=False) != "string":
            raise ValueError(f"{source}: items lists must hold only str item ids (found null or non-str entries)")
    return values


def in_history_flags(lists: list, part: pd.DataFrame, interactions: pd.DataFrame) -> np.ndarray:
    """For every entry of every list, flattened in order: is it in its sample's history?

    Same definition as recforge.data.sequences.histories (an event of the sample's user with position <
    the sample's position), computed with one merge on each (user, item)'s earliest position rather than
    by building 22k history lists, which is several times slower.
    """
    rows, flat = M.flatten_lists(lists)
    earliest = interactions.groupby(["user_id", "item_id"], sort=False, observed=True)["position"].min()
    users = part["user_id"].astype(str).to_numpy(dtype=object)
    entries = pd.MultiIndex.from_arrays([users[rows], flat.astype(str)], names=["user_id", "item_id"])
    first_pos = earliest.reindex(entries).to_numpy(dtype=np.float64)  # NaN where the user never had the item
    return first_pos < part["position"].to_numpy(dtype=np.float64)[rows]


def _score_topk(part: pd.DataFrame, context: dict, *, ks: Sequence[int]) -> dict:
    lists = _check_lists(part["items"], context["source"])
    ranks = M.first_hit_ranks(lists, part["item_id"].astype(str).tolist())
    catalogue = None if context["items"] is None else context["items"]["item_id"].astype(str)
    flags = None
    if context["interactions"] is not None:
        flags = in_history_flags(lists, part, context["interactions"])
    diagnostics = M.list_diagnostics(lists, catalogue=catalogue, in_history=flags)
    return {"n": len(part), "metrics": {**M.ranking_metrics(ranks, ks, "HR"), **diagnostics}}


def _score_rerank(
    part: pd.DataFrame,
    context: dict,
    *,
    ks: Sequence[int],
    placeholder: str | None = PAD,
    scenarios: bool = True,
    scenario_k: int = 10,
    count_phases: Sequence[str] = ("train",),
    top_p: float = 0.8,
    bottom_p: float = 0.2,
) -> dict:
    lists = _check_lists(part["items"], context["source"])
    targets = part["item_id"].astype(str).tolist()
    ranks = M.first_hit_ranks(lists, targets, placeholder=placeholder)
    n_entries = sum(len(x) for x in lists)
    n_pad = sum(int(np.sum(np.asarray(x, dtype=object) == placeholder)) for x in lists) if placeholder else 0
    diagnostics = {
        "mean_list_length": n_entries / len(lists) if lists else float("nan"),
        "pad_rate": n_pad / n_entries if n_entries else float("nan"),
    }
    out: dict = {"n": len(part), "metrics": {**M.ranking_metrics(ranks, ks, "HIT"), **diagnostics}}
    if scenarios and context["interactions"] is not None:
        out["scenarios"] = scenario_metrics(
            ranks,
            part["user_id"].astype(str).tolist(),
            targets,
            context["interactions"],
            k=scenario_k,
            phases=tuple(count_phases),
            top_p=top_p,
            bottom_p=bottom_p,
        )
    return out


# ---------------------------------------------------------------------------------------------------------
# ctr
# ---------------------------------------------------------------------------------------------------------


def _score_ctr(
    part: pd.DataFrame, context: dict, *, like_threshold: float = DEFAULT_LIKE_THRESHOLD, eps: float = 1e-15
) -> dict:
    ratings = part["rating"].astype(np.float64).to_numpy()
    labelled = np.isfinite(ratings)
    labels = ratings[labelled] >= like_threshold
    prob = pd.to_numeric(part["probability"]).astype(np.float64).to_numpy()
    try:
        prob = M.check_probabilities(prob)[labelled]
    except ValueError as err:
        raise ValueError(f"{context['source']}: {err}") from None
    return {
        "n": int(labelled.sum()),
        "metrics": {"AUC": M.auc(labels, prob), "log_loss": M.log_loss(labels, prob, eps)},
        "like_threshold": float(like_threshold),
        "n_unlabelled": int((~labelled).sum()),
        "label_balance": M.label_balance(labels),
        # Test sets of a few hundred samples with ~7% negatives: the AUC's sampling spread matters.
        "auc_ci95": M.auc_bootstrap_ci(labels, prob),
    }


def _options(fn: Callable) -> set[str]:
    code = fn.__code__
    names = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    return set(names) - {"ks"}


SCORERS: dict[str, tuple[Callable[..., dict], set[str]]] = {
    name: (fn, _options(fn))
    for name, fn in (("rating", _score_rating), ("topk", _score_topk), ("rerank", _score_rerank), ("ctr", _score_ctr))
}
