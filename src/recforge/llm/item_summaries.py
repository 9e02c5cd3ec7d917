"""The item-summary stage: one short summary per catalogue item, shared by every method that shows
items as text (OneRec-Think captions, Persona4Rec item summaries, ReasoningRec item descriptions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import pandas as pd

from recforge.io import write_parquet
from recforge.llm.requests import make_request
from recforge.llm.settings import LLMSettings
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, Sampling
from recforge.text.contexts import item_info
from recforge.text.render import template_id


@dataclass(frozen=True)
class ItemSummaryConfig:
    domain: str = "item"
    max_words: int = 60
    temperature: float = 0.0
    max_tokens: int = 128
    seed: int = 0


def item_summary_requests(items: pd.DataFrame, config: ItemSummaryConfig) -> list[GenerationRequest]:
    """One item_summary request per items.parquet row, in row order."""
    sampling = Sampling(temperature=config.temperature, max_tokens=config.max_tokens, seed=config.seed)
    return [
        make_request(
            info["item_id"],
            "item_summary",
            {"domain": config.domain, "item": info, "max_words": config.max_words},
            sampling,
        )
        for info in (item_info(row) for row in items.to_dict("records"))
    ]


def summarize_items(
    items: pd.DataFrame,
    config: ItemSummaryConfig,
    settings: LLMSettings,
    cache_path: str | Path,
    out_path: str | Path,
    usage_path: str | Path,
) -> pd.DataFrame:
    """items.parquet -> item_id, summary, backend, model, template, error (parquet at out_path)."""
    requests = item_summary_requests(items, config)
    run = run_stage(requests, settings, cache_path, usage_path, stage="item_summaries")
    table = pd.DataFrame(
        {
            "item_id": [r.request_id for r in run.responses],
            "summary": [r.text for r in run.responses],
            "backend": [r.backend for r in run.responses],
            "model": [r.model for r in run.responses],
            "template": template_id("item_summary"),
            "error": [r.error for r in run.responses],
        }
    )
    write_parquet(table, out_path)
    return table
