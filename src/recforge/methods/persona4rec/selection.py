"""Stage 4: the LLM judge picks the persona of the target item that explains the user's choice.

Input as the seed's prepare_selection_input: the user's `history` most recent reviews before the
target ("Liked|Disliked: review title | item summary"), the target's id only, and its personas. The
answer is read by recforge.text.outputs.parse_persona_selection, which reads both formats the seed
notes found ("Selection: P3" and "**Selection:** 3. {item}_P3"); an answer naming no persona of the
target is counted as a parse failure and its pair gets no label (never a default P1).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd

from recforge.io import write_json, write_parquet
from recforge.llm.requests import make_request
from recforge.llm.settings import LLMSettings
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, Sampling
from recforge.methods.persona4rec.personas import PERSONA_FIELDS
from recforge.methods.persona4rec.settings import SelectionSettings
from recforge.text.outputs import parse_persona_selection

log = logging.getLogger(__name__)
TASK = "review_persona_selection"
_REASONING = re.compile(r"Reasoning:\s*(.+?)(?=\n\s*\**\s*Selection|\Z)", re.IGNORECASE | re.DOTALL)


def selection_requests(pairs: pd.DataFrame, history: pd.DataFrame, personas: pd.DataFrame,
                       settings: SelectionSettings, like_threshold: float) -> list[GenerationRequest]:
    sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed)
    by_user = {u: g for u, g in history.groupby("user_id", sort=False)}
    by_item = {i: g for i, g in personas.groupby("item_id", sort=False)}
    requests = []
    for pair in pairs.itertuples(index=False):
        events = by_user[pair.user_id]
        before = events[events["position"] < pair.position].tail(settings.history)
        requests.append(make_request(pair.sample_id, TASK, {
            "like_threshold": like_threshold,
            "target_id": pair.item_id,
            "history": [{"rating": float(e.rating), "review_title": e.review_title or "", "summary": e.summary,
                         "aspects": json.loads(e.aspects) if isinstance(e.aspects, str) else {}}
                        for e in before.itertuples(index=False)],
            "personas": [{k: getattr(p, k) for k in PERSONA_FIELDS} for p in by_item[pair.item_id].itertuples(index=False)],
        }, sampling))
    return requests


def select_personas(pairs: pd.DataFrame, history: pd.DataFrame, personas: pd.DataFrame, settings: SelectionSettings,
                    like_threshold: float, llm: LLMSettings, cache_path: str | Path, out_path: str | Path,
                    usage_path: str | Path) -> pd.DataFrame:
    """pairs -> selections.parquet: the pair's ids, persona_id (P#) and persona_uid (None when the
    answer names no persona), reasoning, status (parsed | failed)."""
    requests = selection_requests(pairs, history, personas, settings, like_threshold)
    run = run_stage(requests, llm, cache_path, usage_path, stage="persona4rec_selection")
    ids = personas.groupby("item_id")["ID"].apply(set).to_dict()
    chosen, reasoning = [], []
    for pair, response in zip(pairs.itertuples(index=False), run.responses):
        chosen.append(parse_persona_selection(response.text, ids[pair.item_id], pair.item_id))
        match = _REASONING.search(response.text)
        reasoning.append(match.group(1).strip() if match else "")
    table = pairs.copy()
    table["persona_id"] = chosen
    table["persona_uid"] = [f"{i}_{p}" if p else None for i, p in zip(table["item_id"], chosen)]
    table["reasoning"] = reasoning
    table["status"] = ["parsed" if p else "failed" for p in chosen]
    failed = int((table["status"] == "failed").sum())
    usage = json.loads(Path(usage_path).read_text())
    usage["parse"] = {"pairs": len(table), "failed": failed, "failure_rate": failed / len(table) if len(table) else 0.0,
                      "selected_ids": table["persona_id"].value_counts().sort_index().to_dict()}
    write_json(usage, usage_path)
    if failed:
        log.warning("selection: %d of %d answers name no persona of the target (pairs dropped)", failed, len(table))
    write_parquet(table, out_path)
    return table
