"""Reasoning traces for the cold-start SFT, written by the configured LLM backend (template
`rating_cot`: exactly the prompt the policy sees) for the train and valid samples of the verl tables.

The context carries no rating: the writer (the heuristic one or an LLM, which is only shown the
prompt) predicts from the evidence, and the SFT stage keeps the traces whose answer equals the label
(rejection sampling). Traces that explained the known rating instead taught the tiny teacher the label
prior: it answered 5 for all 4,000 Movies train samples it was run on (issue 12). The heuristic
writer's thinking states the evidence and leaves the rating to the answer (llm.heuristic.reasoning).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale
from recforge.io import write_parquet
from recforge.llm.requests import make_request
from recforge.llm.settings import LLMSettings
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, Sampling
from recforge.methods.isir.reward import parse_rating
from recforge.methods.isir.prompts import target_rating_stats, trim_categories
from recforge.methods.isir.sketch import SketchConfig, history_bounds, interest_sketches
from recforge.text.contexts import RatingCotContext, item_info, rated_item
from recforge.text.outputs import parse_answer


def trace_requests(
    items: pd.DataFrame,
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    clusters: pd.DataFrame,
    names: pd.DataFrame,
    domain: str,
    pos_threshold: float,
    max_history: int,
    sampling: Sampling,
    max_topics: int | None = None,
    max_categories: int | None = None,
    scale: RatingScale = RatingScale(),
    item_stats: bool = False,
) -> list[GenerationRequest]:
    """One request per samples row (the samples to trace), id = sample_id; the sketch and item lines
    compacted as the verl prompts are (methods.isir max_topics, max_categories, item_stats), on the
    verl rows' rating scale."""
    sketches, _ = interest_sketches(
        interactions, samples, clusters, names,
        SketchConfig(domain=domain, pos_threshold=pos_threshold, max_topics=max_topics),
    )
    items = trim_categories(items, max_categories)
    info = {str(r["item_id"]): r for r in items.to_dict("records")}
    events, start, end, _ = history_bounds(interactions, samples)
    event_items = events["item_id"].astype(str).to_numpy()
    ratings = events["rating"].to_numpy(dtype=np.float64)
    reception = target_rating_stats(interactions, samples) if item_stats else [None] * len(samples)
    requests = []
    for row, sketch, lo, hi, others in zip(samples.itertuples(), sketches["sketch"], start, end, reception):
        lo = max(lo, hi - max_history)
        context = RatingCotContext(
            domain=domain,
            sketch=sketch,
            history=[rated_item(info[i], r) for i, r in zip(event_items[lo:hi], ratings[lo:hi])],
            target=item_info(info[str(row.item_id)]),
            rating=None,
            max_history=max_history,
            rating_scale=scale.as_dict(),
        )
        if others is not None:
            context["target_stats"] = others
        requests.append(make_request(str(row.sample_id), "rating_cot", context, sampling))
    return requests


def write_traces(
    requests: list[GenerationRequest],
    settings: LLMSettings,
    cache_path: str | Path,
    out_path: str | Path,
    usage_path: str | Path,
    scale: RatingScale = RatingScale(),
) -> pd.DataFrame:
    """sample_id, text, prediction (the trace's answer as a rating; NaN if none), error."""
    run = run_stage(requests, settings, cache_path, usage_path, stage="isir_traces")
    table = pd.DataFrame(
        {
            "sample_id": [r.request_id for r in run.responses],
            "text": [r.text for r in run.responses],
            "prediction": [parse_rating(parse_answer(r.text or ""), scale) for r in run.responses],
            "error": [r.error for r in run.responses],
        }
    )
    write_parquet(table, out_path)
    return table
