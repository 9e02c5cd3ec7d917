"""Predictions of rerank_base, persona4rec and persona4rec_blend (rerank protocol), with the online
latency of the persona scoring and the blend weight chosen on valid."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recforge.methods.persona4rec.rerank import ScoringIndex, choose_alpha, persona_lists, reranked
from recforge.methods.persona4rec.settings import Persona4RecSettings

METHODS = ("rerank_base", "persona4rec", "persona4rec_blend")


def frame(candidates: pd.DataFrame, lists: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": candidates["sample_id"], "split": candidates["split"], "items": lists})


def base_predictions(candidates: pd.DataFrame) -> pd.DataFrame:
    """The first stage's own order: the lists every re-ranker permutes."""
    return frame(candidates, [list(x) for x in candidates["items"]])


def latency(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000.0
    return {"n": int(len(ms)), "mean_ms": float(ms.mean()), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max())} if len(ms) else {"n": 0}


def persona_predictions(method: str, candidates: pd.DataFrame, index: ScoringIndex,
                        settings: Persona4RecSettings) -> tuple[pd.DataFrame, dict]:
    """(predictions, efficiency) of persona4rec (max-persona score) or persona4rec_blend."""
    if method not in METHODS[1:]:
        raise ValueError(f"unknown persona method {method!r}; known: {METHODS[1:]}")
    enc = settings.encoder
    scores, seconds = persona_lists(candidates, index, enc.k_recent, enc.gamma, enc.min_rating)
    alpha, curve = (None, {}) if method == "persona4rec" else choose_alpha(candidates, scores, settings.blend_alphas)
    lists = reranked(candidates, scores, alpha)
    test = (candidates["split"] == "test").to_numpy()
    missing = [float(np.mean(np.isnan(s))) if len(s) else 0.0 for s in scores]
    efficiency = {
        "online_latency_per_user": latency([s for s, t in zip(seconds, test) if t]),
        "latency_scope": "profile from cached fp16 event vectors + dot products with cached personas + max per item, "
                         "one test user at a time, CPU, numpy",
        "alpha": alpha,
        "alpha_valid_ndcg@10": {str(a): v for a, v in curve.items()},
        "share_of_candidates_without_personas": float(np.mean(missing)) if missing else 0.0,
        "users_without_profile": int(sum(bool(np.all(np.isnan(s))) for s in scores)),
    }
    return frame(candidates, lists), efficiency
