"""User summaries for the alignment task, written from train-phase events only.

The fork summarised the first 15 items of the full sequence, valid and test items included (seed notes
1.2: for 20,436 of 22,363 users the test item was summarised). Here a user's summary sees the user's
last `history` events of the train phase and nothing else; it goes through recforge.llm's
`user_summary` task (template and heuristic writer shared with the rest of RecForge).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recforge.io import write_parquet
from recforge.llm import LLMSettings, Sampling, make_request, run_stage
from recforge.methods.onerec.config import UserSummaryConfig
from recforge.methods.onerec.tasks import item_lookup
from recforge.text.contexts import rated_item
from recforge.text.render import template_id


def user_summary_contexts(items: pd.DataFrame, interactions: pd.DataFrame, cfg: UserSummaryConfig,
                          domain: str, like_threshold: float = 4.0) -> dict[str, dict]:
    """user_id -> user_summary context of the user's last cfg.history train-phase events."""
    info = item_lookup(items)
    train = interactions[interactions["split"] == "train"].sort_values(["user_id", "position"], kind="stable")
    contexts = {}
    for user_id, group in train.groupby("user_id", sort=True):
        recent = group.tail(cfg.history)
        history = [rated_item(info.get(i, {"item_id": i}), r) for i, r in zip(recent["item_id"], recent["rating"])]
        contexts[user_id] = {"domain": domain, "history": history, "max_words": cfg.max_words,
                             "like_threshold": like_threshold}
    return contexts


def summarize_users(items: pd.DataFrame, interactions: pd.DataFrame, cfg: UserSummaryConfig, domain: str,
                    settings: LLMSettings, cache_path: str | Path, out_path: str | Path,
                    usage_path: str | Path) -> pd.DataFrame:
    """-> user_id, summary, backend, model, template, error (parquet at out_path)."""
    sampling = Sampling(temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=cfg.seed)
    contexts = user_summary_contexts(items, interactions, cfg, domain)
    requests = [make_request(user, "user_summary", ctx, sampling) for user, ctx in contexts.items()]
    run = run_stage(requests, settings, cache_path, usage_path, stage="onerec_user_summaries")
    table = pd.DataFrame({
        "user_id": [r.request_id for r in run.responses],
        "summary": [r.text for r in run.responses],
        "backend": [r.backend for r in run.responses],
        "model": [r.model for r in run.responses],
        "template": template_id("user_summary"),
        "error": [r.error for r in run.responses],
    })
    write_parquet(table, out_path)
    return table
