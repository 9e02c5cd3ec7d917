"""Candidate lists from the first stage, and their re-ranking by item personas.

Online scoring of one sample (`ScoringIndex.rerank`): look up the cached vectors of the user's events
before the target (`encoder.profile_rows`), weight them into a profile, take dot products with the
cached personas of the candidate items, and score each item by its best persona (max over personas:
"the most plausible item-side persona"). `persona4rec` sorts by that score; `persona4rec_blend` by
alpha * persona + (1 - alpha) * base, both min-max scaled within the list, alpha chosen on valid.
Items without personas score as the list's lowest persona score; ties keep the first-stage order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recforge.methods.persona4rec.encoder import profile, profile_rows


def candidate_lists(first_stage: pd.DataFrame, samples: pd.DataFrame, k: int) -> tuple[pd.DataFrame, dict]:
    """(candidates, report): each predicted sample's first `k` items and scores from a top-k
    predictions frame (the test target is not forced in), with the sample's user, target and position;
    the report gives, per split, the share of targets inside the lists (the ceiling of HIT@k)."""
    meta = samples.set_index("sample_id")[["user_id", "item_id", "position"]]
    out = first_stage[["sample_id", "split"]].join(meta, on="sample_id")
    out["items"] = [list(x)[:k] for x in first_stage["items"]]
    if "scores" in first_stage:
        out["scores"] = [np.asarray(s, dtype=np.float64)[:k].tolist() for s in first_stage["scores"]]
    else:  # rank-based scores when the first stage gives none
        out["scores"] = [(-np.arange(len(x), dtype=np.float64)).tolist() for x in out["items"]]
    inside = [t in set(items) for t, items in zip(out["item_id"], out["items"])]
    out = out.assign(_inside=inside)
    report = {"k": k, "splits": {
        split: {"n": int(len(g)), "target_in_list": float(g["_inside"].mean()),
                "mean_list_length": float(g["items"].map(len).mean())}
        for split, g in out.groupby("split", sort=True)}}
    return out.drop(columns="_inside").reset_index(drop=True), report


def minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(values)), float(np.max(values))
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def order(scores: np.ndarray) -> np.ndarray:
    """Indices by descending score, ties in list order."""
    return np.argsort(-scores, kind="stable")


@dataclass
class ScoringIndex:
    """Unit vectors of personas and of events, with the id lookups the online scorer needs."""

    personas: np.ndarray                     # [P, d]
    item_rows: dict[str, np.ndarray]         # item_id -> persona rows
    events: np.ndarray                       # [E, d]
    user_events: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # user -> positions, ratings, rows

    @classmethod
    def build(cls, persona_vectors: np.ndarray, persona_items: Sequence[str], event_vectors: np.ndarray,
              events: pd.DataFrame) -> "ScoringIndex":
        """`events` has user_id, position, rating in the row order of `event_vectors`."""
        item_rows: dict[str, list[int]] = {}
        for row, item in enumerate(persona_items):
            item_rows.setdefault(item, []).append(row)
        frame = events.reset_index(drop=True).assign(_row=np.arange(len(events)))
        user_events = {}
        for user, g in frame.sort_values(["user_id", "position"], kind="stable").groupby("user_id", sort=False):
            user_events[user] = (g["position"].to_numpy(), g["rating"].to_numpy(dtype=np.float64), g["_row"].to_numpy())
        return cls(np.asarray(persona_vectors, dtype=np.float32), {k: np.asarray(v) for k, v in item_rows.items()},
                   np.asarray(event_vectors), user_events)

    def profile(self, user: str, before: int, k_recent: int, gamma: float, min_rating: float) -> np.ndarray | None:
        if user not in self.user_events:
            return None
        positions, ratings, rows = self.user_events[user]
        chosen = profile_rows(positions, ratings, before, k_recent, min_rating)
        if not len(chosen):
            return None
        return profile(self.events[rows[chosen]].astype(np.float32), gamma)

    def persona_scores(self, user_vector: np.ndarray | None, items: Sequence[str]) -> np.ndarray:
        """Max persona cosine per item (NaN: the item has no personas, or the user no profile)."""
        scores = np.full(len(items), np.nan)
        if user_vector is None:
            return scores
        for i, item in enumerate(items):
            rows = self.item_rows.get(item)
            if rows is not None:
                scores[i] = float(np.max(self.personas[rows] @ user_vector))
        return scores


def combine(persona: np.ndarray, base: np.ndarray, alpha: float | None) -> np.ndarray:
    """The re-ranking score: the persona score (alpha None), or the blend of min-max scaled scores.
    Missing persona scores take the list's lowest; a list without any keeps the base order."""
    if np.all(np.isnan(persona)):
        return minmax(base) if alpha is not None else np.zeros_like(base)
    filled = np.where(np.isnan(persona), np.nanmin(persona), persona)
    if alpha is None:
        return filled
    return alpha * minmax(filled) + (1.0 - alpha) * minmax(base)


def ndcg_at(lists: Sequence[Sequence[str]], targets: Sequence[str], k: int = 10) -> float:
    total = 0.0
    for items, target in zip(lists, targets):
        top = list(items)[:k]
        if target in top:
            total += 1.0 / np.log2(top.index(target) + 2)
    return total / len(targets) if len(targets) else 0.0


def persona_lists(candidates: pd.DataFrame, index: ScoringIndex, k_recent: int, gamma: float,
                  min_rating: float) -> tuple[list[np.ndarray], list[float]]:
    """Per candidate row: persona scores of its items, and the seconds the online scoring took
    (profile from cached rows + dot products + max)."""
    scores, seconds = [], []
    for row in candidates.itertuples(index=False):
        start = time.perf_counter()
        vector = index.profile(row.user_id, int(row.position), k_recent, gamma, min_rating)
        scores.append(index.persona_scores(vector, row.items))
        seconds.append(time.perf_counter() - start)
    return scores, seconds


def reranked(candidates: pd.DataFrame, persona: list[np.ndarray], alpha: float | None) -> list[list[str]]:
    out = []
    for items, base, p in zip(candidates["items"], candidates["scores"], persona):
        score = combine(p, np.asarray(base, dtype=np.float64), alpha)
        out.append([items[i] for i in order(score)])
    return out


def choose_alpha(candidates: pd.DataFrame, persona: list[np.ndarray], alphas: Sequence[float]) -> tuple[float, dict]:
    """The alpha of the best valid NDCG@10 (the first on ties); the valid curve for the report."""
    valid = (candidates["split"] == "valid").to_numpy()
    if len(alphas) == 1 or not valid.any():
        return float(alphas[0]), {}
    rows = candidates[valid]
    chosen = [p for p, v in zip(persona, valid) if v]
    curve = {float(a): ndcg_at(reranked(rows, chosen, a), rows["item_id"].tolist()) for a in alphas}
    best = max(curve, key=lambda a: (curve[a], -list(curve).index(a)))
    return best, curve
