"""Rating predictions from a seed-000 model: with reasoning (the GRPO teacher) or answer-only (one
generated token after an empty think block), in the evaluator's `rating` schema, timed."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.isir.chat import answer_only_prompt, cot_prompt
from recforge.methods.isir.generate import Generations, greedy_generate
from recforge.methods.isir.reward import parse_rating
from recforge.text.outputs import parse_answer

log = logging.getLogger(__name__)


def load_for_inference(path: str, load: dict[str, str]) -> tuple[Any, Any]:
    """`load`: dtype, attn_implementation, device ("auto": cuda when the job has a GPU)."""
    from recforge.models.loading import load_causal_lm
    from recforge.models.tiny import resolve_device

    return load_causal_lm(
        path, dtype=load["dtype"], attn_implementation=load["attn_implementation"], device=resolve_device(load["device"])
    )


def cot_generate(
    model: Any, tokenizer: Any, rows: pd.DataFrame, max_new_tokens: int, batch_size: int
) -> Generations:
    prompts = [cot_prompt(tokenizer, p) for p in rows["prompt"]]
    return greedy_generate(model, tokenizer, prompts, max_new_tokens, batch_size, desc="reasoning")


def answer_only_generate(model: Any, tokenizer: Any, rows: pd.DataFrame, batch_size: int) -> Generations:
    prompts = [answer_only_prompt(tokenizer, p) for p in rows["prompt"]]
    return greedy_generate(model, tokenizer, prompts, 1, batch_size, desc="answer-only")


def cot_ratings(texts: list[str]) -> np.ndarray:
    return np.array([parse_rating(parse_answer(t)) for t in texts], dtype="float64")


def answer_only_ratings(texts: list[str]) -> np.ndarray:
    """The one generated token as a rating; NaN (invalid, scored with the evaluator's fallback) when it
    is not a number. The paper mapped invalid outputs to 5.0 silently."""
    return np.array([parse_rating(t) for t in texts], dtype="float64")


def prediction_table(rows: pd.DataFrame, predictions: np.ndarray, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample_id": rows["sample_id"].astype(str).to_numpy(),
            "split": rows["split"].astype(str).to_numpy(),
            "prediction": predictions,
            "raw_output": texts,
        }
    )


def efficiency(gen: Generations, predictions: np.ndarray) -> dict[str, Any]:
    """Throughput and token counts of one prediction run (same machine for every variant)."""
    n = len(gen.texts)
    return {
        "n": n,
        "seconds": round(gen.seconds, 3),
        "predictions_per_s": round(gen.per_second, 3),
        "mean_prompt_tokens": round(float(np.mean(gen.prompt_tokens)), 2) if n else math.nan,
        "mean_generated_tokens": round(float(np.mean(gen.new_tokens)), 3) if n else math.nan,
        "invalid_rate": round(float(np.isnan(predictions).mean()), 4) if n else math.nan,
    }
