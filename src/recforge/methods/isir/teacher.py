"""The GRPO teacher's chain of thought on train samples, and the correctness mask keyed by sample_id
(the paper kept the mask as a list in gather order, misaligned with rows under several GPUs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.isir.chat import split_thinking
from recforge.methods.isir.checks import check_parse_rate
from recforge.methods.isir.predict import cot_generate, cot_ratings
from recforge.methods.isir.verl import rows_scale


@dataclass(frozen=True)
class TeacherSettings:
    """config section methods.isir.teacher."""

    max_train_samples: int | None = 5000
    max_new_tokens: int = 128
    batch_size: int = 32
    min_parse_rate: float = 0.5  # below it the stage stops: its answers were cut off (max_new_tokens)


def teacher_traces(
    model: Any, tokenizer: Any, rows: pd.DataFrame, max_new_tokens: int, batch_size: int
) -> pd.DataFrame:
    """sample_id, label, completion, thinking (up to </think>; "" when the completion has none, as the
    paper's split at the last </think> gives), prediction, correct (the answer equals the label
    exactly: the paper's mask), generated_tokens."""
    gen = cot_generate(model, tokenizer, rows, max_new_tokens, batch_size)
    predictions = cot_ratings(gen.texts, rows_scale(rows))
    thinking = [split_thinking(t) or "" for t in gen.texts]
    labels = rows["label"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "sample_id": rows["sample_id"].astype(str).to_numpy(),
            "label": labels,
            "completion": gen.texts,
            "thinking": thinking,
            "prediction": predictions,
            "correct": predictions == labels,
            "generated_tokens": gen.new_tokens,
        }
    )


def teacher_report(traces: pd.DataFrame, settings: TeacherSettings) -> dict[str, Any]:
    """Parse rate (stopping below the floor), correct rate and lengths of the teacher's completions."""
    parse_rate = check_parse_rate(
        traces["prediction"], settings.min_parse_rate, "isir teacher",
        "methods.isir.teacher.max_new_tokens", "methods.isir.teacher.min_parse_rate",
    )
    tokens = traces["generated_tokens"].to_numpy()
    return {
        "n": len(traces),
        "parse_rate": parse_rate,
        "correct_rate": float(traces["correct"].mean()) if len(traces) else 0.0,
        "mean_generated_tokens": float(tokens.mean()) if len(tokens) else 0.0,
        "at_max_new_tokens": float(np.mean(tokens >= settings.max_new_tokens)) if len(tokens) else 0.0,
    }
