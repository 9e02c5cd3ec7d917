"""Reasoning ground truth: the label-conditioned ("rationalisation") prompt of seed notes 3.5 through
recforge.llm's `rationale` task, one request per window of the asked splits (every row: no batch is
left out), cached, with usage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recforge.io import write_parquet
from recforge.llm import LLMSettings, Sampling, make_request, run_stage
from recforge.methods.reasoningrec.config import ReasoningTask
from recforge.methods.reasoningrec.prompts import reasoning_only, teacher_answer
from recforge.text.contexts import item_info, rated_item
from recforge.text.render import template_id


def rationale_contexts(windows: pd.DataFrame, items: pd.DataFrame, profiles: pd.DataFrame, domain: str,
                       like_threshold: float) -> dict[str, dict]:
    info = {r["item_id"]: r for r in items.to_dict("records")}
    prof = dict(zip(profiles["user_id"].astype(str), profiles["profile"]))
    return {
        w.sample_id: {
            "domain": domain,
            "profile": prof.get(w.user_id, ""),
            "history": [rated_item(info[i], r) for i, r in zip(w.history_items, w.history_ratings)],
            "target": item_info(info[w.item_id]),
            "label": "like" if w.label else "dislike",
            "like_threshold": like_threshold,
        }
        for w in windows.itertuples(index=False)
    }


def write_rationales(windows: pd.DataFrame, items: pd.DataFrame, profiles: pd.DataFrame, splits: Sequence[str],
                     task: ReasoningTask, domain: str, like_threshold: float, llm: LLMSettings,
                     cache_path: str | Path, out_path: str | Path, usage_path: str | Path,
                     test_rows: int = 0) -> pd.DataFrame:
    """-> sample_id, split, label, reasoning (Prediction line removed), teacher_label, backend, model.

    Every window of `splits`, plus the first `test_rows` test windows by sample id: the references that
    the test's generated reasoning is compared with (predict.py); training reads train rows only."""
    test = windows[windows["split"] == "test"].sort_values("sample_id").head(test_rows)
    rows = pd.concat([windows[windows["split"].isin(list(splits))], test]).drop_duplicates("sample_id")
    contexts = rationale_contexts(rows, items, profiles, domain, like_threshold)
    sampling = Sampling(temperature=task.temperature, max_tokens=task.max_tokens, seed=task.seed)
    requests = [make_request(sid, "rationale", ctx, sampling) for sid, ctx in contexts.items()]
    run = run_stage(requests, llm, cache_path, usage_path, stage="reasoningrec_rationales")
    table = pd.DataFrame({
        "sample_id": rows["sample_id"].to_numpy(),
        "split": rows["split"].to_numpy(),
        "label": rows["label"].astype(int).to_numpy(),
        "reasoning": [reasoning_only(r.text) for r in run.responses],
        "teacher_label": pd.array([teacher_answer(r.text) for r in run.responses], dtype="Int64"),
        "backend": [r.backend for r in run.responses],
        "model": [r.model for r in run.responses],
        "template": template_id("rationale"),
    })
    write_parquet(table, out_path)
    return table
