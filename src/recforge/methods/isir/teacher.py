"""The GRPO teacher's chain of thought on train samples, and the correctness mask keyed by sample_id
(the paper kept the mask as a list in gather order, misaligned with rows under several GPUs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods.isir.chat import split_thinking
from recforge.methods.isir.checks import check_parse_rate
from recforge.methods.isir.predict import READOUTS, cot_distribution, cot_generate, cot_ratings, read_ratings
from recforge.methods.isir.verl import rows_scale

ANSWERS = ("greedy", *READOUTS)


@dataclass(frozen=True)
class TeacherSettings:
    """config section methods.isir.teacher."""

    max_train_samples: int | None = 7500
    max_new_tokens: int = 128
    batch_size: int = 32
    min_parse_rate: float = 0.5  # below it the stage stops: its answers were cut off (max_new_tokens)
    # The teacher's answer the mask compares with the label: greedy (the rating its completion writes,
    # the paper's) or a readout of its distribution at the "<answer>" after its own reasoning, snapped
    # to the nearest rating of the scale (a teacher whose greedy answer is one rating everywhere still
    # ranks the samples by its uncertainty). expected: on Movies the greedy answer is 5 on every row;
    # the mean answers 4 on some, and with align.min_label_share "all" the students did as well or
    # better on valid over three seeds (docs/benchmarks.md).
    answer: str = "expected"

    def __post_init__(self) -> None:
        if self.answer not in ANSWERS:
            raise ValueError(f"methods.isir.teacher.answer: unknown {self.answer!r}; known: {list(ANSWERS)}")


def teacher_traces(model: Any, tokenizer: Any, rows: pd.DataFrame, settings: TeacherSettings) -> pd.DataFrame:
    """sample_id, label, completion, thinking (up to </think>; "" when the completion has none, as the
    paper's split at the last </think> gives), parsed (the rating the completion writes; NaN when it
    writes none), prediction (settings.answer), correct (the prediction equals the label exactly: the
    paper's mask), generated_tokens."""
    scale = rows_scale(rows)
    gen = cot_generate(model, tokenizer, rows, settings.max_new_tokens, settings.batch_size)
    parsed = cot_ratings(gen.texts, scale)
    predictions = parsed
    if settings.answer != "greedy":
        dist, _ = cot_distribution(model, tokenizer, rows, gen, scale.values(), settings.batch_size)
        predictions = scale.nearest(read_ratings(dist, scale.values(), settings.answer))
    labels = rows["label"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "sample_id": rows["sample_id"].astype(str).to_numpy(),
            "label": labels,
            "completion": gen.texts,
            "thinking": [split_thinking(t) or "" for t in gen.texts],
            "parsed": parsed,
            "prediction": predictions,
            "correct": predictions == labels,
            "generated_tokens": gen.new_tokens,
        }
    )


def teacher_report(traces: pd.DataFrame, settings: TeacherSettings) -> dict[str, Any]:
    """Parse rate (stopping below the floor), the answers' ratings (a teacher that gives one rating
    everywhere leaves a one-label mask), correct rate and lengths of the teacher's completions."""
    parse_rate = check_parse_rate(
        traces["parsed"], settings.min_parse_rate, "isir teacher",
        "methods.isir.teacher.max_new_tokens", "methods.isir.teacher.min_parse_rate",
    )
    tokens = traces["generated_tokens"].to_numpy()
    return {
        "n": len(traces),
        "parse_rate": parse_rate,
        "answer": settings.answer,
        "answer_distribution": {f"{v:g}": int(n) for v, n in traces["prediction"].value_counts().sort_index().items()},
        "correct_rate": float(traces["correct"].mean()) if len(traces) else 0.0,
        "mean_generated_tokens": float(tokens.mean()) if len(tokens) else 0.0,
        "at_max_new_tokens": float(np.mean(tokens >= settings.max_new_tokens)) if len(tokens) else 0.0,
    }
