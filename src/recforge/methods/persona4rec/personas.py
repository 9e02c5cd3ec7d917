"""Stage 2.5 (grouping, no LLM) and stage 3 (personas per item through recforge.llm).

Grouping keeps only reviews of the persona phases (train: written before any evaluation target, so
never the review of a valid or test event) whose aspects could be read, the item's most recent
`max_reviews`, joined with the item summary (the shared item-summary stage). The persona catalogue
gives each persona the unique id "{item_id}_{P#}" and its item summary (seed stage 3.5's
persona_with_summary).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from recforge.io import write_json, write_parquet
from recforge.llm.requests import make_request
from recforge.llm.settings import LLMSettings
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, Sampling
from recforge.methods.persona4rec.reviews import PERSONA_PHASES
from recforge.methods.persona4rec.settings import PersonaSettings

log = logging.getLogger(__name__)
TASK = "review_personas"
PERSONA_FIELDS = ("ID", "Name", "Description", "Preference_Rationale")


def group_aspects(aspects: pd.DataFrame, items: pd.DataFrame, summaries: pd.DataFrame, max_reviews: int) -> pd.DataFrame:
    """item_id, title, summary, reviews (JSON list of {review_id, rating, aspects}, oldest first),
    review_count; one row per item with at least one usable persona-phase review."""
    usable = aspects[aspects["split"].isin(PERSONA_PHASES) & aspects["aspects"].notna()]
    usable = usable.sort_values(["item_id", "timestamp", "review_id"], kind="stable")
    summary = dict(zip(summaries["item_id"], summaries["summary"]))
    title = dict(zip(items["item_id"], items["title"]))
    rows = []
    for item, group in usable.groupby("item_id", sort=True):
        group = group.tail(max_reviews)
        reviews = [{"review_id": r.review_id, "rating": float(r.rating), "aspects": json.loads(r.aspects)}
                   for r in group.itertuples(index=False)]
        rows.append({"item_id": item, "title": title.get(item, ""), "summary": summary.get(item, ""),
                     "reviews": json.dumps(reviews, ensure_ascii=False), "review_count": len(reviews)})
    return pd.DataFrame(rows, columns=["item_id", "title", "summary", "reviews", "review_count"])


def persona_requests(grouped: pd.DataFrame, settings: PersonaSettings, domain: str,
                     like_threshold: float) -> list[GenerationRequest]:
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
    return [
        make_request(row.item_id, TASK, {
            "domain": domain, "item_id": row.item_id, "summary": row.summary,
            "reviews": [{"rating": r["rating"], "aspects": r["aspects"]} for r in json.loads(row.reviews)],
            "min_personas": settings.min_personas, "max_personas": settings.max_personas,
            "like_threshold": like_threshold,
        }, sampling)
        for row in grouped.itertuples(index=False)
    ]


def catalogue_rows(item_id: str, summary: str, personas: list[dict], max_personas: int) -> list[dict]:
    """The catalogue rows of one item's personas: IDs de-duplicated (first kept), at most
    `max_personas`, unique id "{item_id}_{ID}"."""
    rows, seen = [], set()
    for persona in personas:
        if persona["ID"] in seen or len(rows) >= max_personas:
            continue
        seen.add(persona["ID"])
        rows.append({"persona_uid": f"{item_id}_{persona['ID']}", "item_id": item_id,
                     **{k: persona[k] for k in PERSONA_FIELDS}, "item_summary": summary})
    return rows


def build_personas(grouped: pd.DataFrame, settings: PersonaSettings, domain: str, like_threshold: float,
                   llm: LLMSettings, cache_path: str | Path, out_path: str | Path, usage_path: str | Path) -> pd.DataFrame:
    """grouped.parquet -> personas.parquet (the catalogue); failed items get no personas and are counted
    in the usage sidecar's `parse` section, with the personas-per-item histogram."""
    requests = persona_requests(grouped, settings, domain, like_threshold)
    run = run_stage(requests, llm, cache_path, usage_path, stage="persona4rec_personas")
    rows, failed = [], []
    for row, response in zip(grouped.itertuples(index=False), run.responses):
        if response.parsed is None:
            failed.append(row.item_id)
            continue
        rows.extend(catalogue_rows(row.item_id, row.summary, response.parsed["personas"], settings.max_personas))
    columns = ["persona_uid", "item_id", *PERSONA_FIELDS, "item_summary"]
    table = pd.DataFrame(rows, columns=columns)
    table["backend"], table["model"] = run.backend, run.model
    per_item = Counter(Counter(table["item_id"]).values())
    usage = json.loads(Path(usage_path).read_text())
    usage["parse"] = {"items": len(grouped), "failed_items": len(failed), "failed": failed[:20],
                      "personas": len(table), "personas_per_item": {str(k): per_item[k] for k in sorted(per_item)}}
    write_json(usage, usage_path)
    if failed:
        log.warning("personas: %d items without a valid answer: %s", len(failed), failed[:10])
    write_parquet(table, out_path)
    return table
