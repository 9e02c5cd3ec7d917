"""Stage 1: aspects per review through recforge.llm, strict JSON, repaired where possible.

Every answer goes through the LLM layer's schema validation (with its repair re-asks); an answer that
still fails is repaired locally (recforge.text.outputs.parse_aspects: JSON slips, key spellings,
missing keys). A review whose answer cannot be read keeps aspects = None and status "failed": it is
counted, reported, and left out of the personas, never turned into an empty {}.
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
from recforge.llm.types import GenerationRequest, GenerationResponse, Sampling
from recforge.methods.persona4rec.settings import SamplingSettings
from recforge.text.outputs import AspectParseError, parse_aspects

log = logging.getLogger(__name__)
TASK = "review_aspects"


def aspect_requests(reviews: pd.DataFrame, domain: str, settings: SamplingSettings) -> list[GenerationRequest]:
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
    return [
        make_request(row.review_id, TASK, {"domain": domain, "review_title": row.review_title or "",
                                           "review_text": row.review_text or "", "rating": float(row.rating)},
                     sampling)
        for row in reviews.itertuples(index=False)
    ]


def read_answer(response: GenerationResponse) -> tuple[dict | None, str, str | None]:
    """(aspects, status, error): status "valid" (the schema held as written), "repaired" (read after
    local repair) or "failed" (aspects None)."""
    text = json.dumps(response.parsed) if response.parsed is not None else response.text
    try:
        aspects, repaired = parse_aspects(text)
    except AspectParseError as problem:
        return None, "failed", f"{response.error or 'invalid answer'}; local repair: {problem}"
    return aspects, "repaired" if (repaired or response.error) else "valid", None


def extract_aspects(reviews: pd.DataFrame, settings: SamplingSettings, domain: str, llm: LLMSettings,
                    cache_path: str | Path, out_path: str | Path, usage_path: str | Path) -> pd.DataFrame:
    """reviews.parquet -> aspects.parquet (review columns + aspects JSON, status, error); the usage
    sidecar gains a `parse` section with the counts per status."""
    run = run_stage(aspect_requests(reviews, domain, settings), llm, cache_path, usage_path, stage="persona4rec_aspects")
    read = [read_answer(r) for r in run.responses]
    table = reviews.drop(columns=["review_text"]).copy()
    table["aspects"] = [json.dumps(a, ensure_ascii=False) if a is not None else None for a, _, _ in read]
    table["status"] = [s for _, s, _ in read]
    table["error"] = [e for _, _, e in read]
    table["backend"] = run.backend
    table["model"] = run.model
    counts = Counter(table["status"])
    parse = {"valid": counts["valid"], "repaired": counts["repaired"], "failed": counts["failed"],
             "failure_rate": counts["failed"] / len(table) if len(table) else 0.0}
    if counts["failed"]:
        log.warning("aspects: %d of %d answers could not be read (left out of the personas)", counts["failed"], len(table))
    usage = json.loads(Path(usage_path).read_text())
    write_json({**usage, "parse": parse}, usage_path)
    write_parquet(table, out_path)
    return table


def aspects_of(value: str | None) -> dict | None:
    """The aspects dict of an aspects.parquet cell (None for a failed review)."""
    return json.loads(value) if isinstance(value, str) else None
