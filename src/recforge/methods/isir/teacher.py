"""The GRPO teacher's chain of thought on train samples, and the correctness mask keyed by sample_id
(the paper kept the mask as a list in gather order, misaligned with rows under several GPUs)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from recforge.methods.isir.chat import split_thinking
from recforge.methods.isir.predict import cot_generate, cot_ratings


def teacher_traces(
    model: Any, tokenizer: Any, rows: pd.DataFrame, max_new_tokens: int, batch_size: int
) -> pd.DataFrame:
    """sample_id, label, completion, thinking (up to </think>; "" when the completion has none, as the
    paper's split at the last </think> gives), prediction, correct (the answer equals the label
    exactly: the paper's mask), generated_tokens."""
    gen = cot_generate(model, tokenizer, rows, max_new_tokens, batch_size)
    predictions = cot_ratings(gen.texts)
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
