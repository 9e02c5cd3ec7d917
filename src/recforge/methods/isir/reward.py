"""Seed 000's rule-based GRPO reward (verl `reward_score/regression.py`), as a pure function and as a
TRL reward function.

score = format + content, in [-3, 3]:
- format: +1 if each of <think>, </think>, <answer>, </answer> appears exactly once and in that order,
  else -1;
- content: 2 - |clip(pred, 1, 5) - label| where pred is the float in the last <answer>...</answer>,
  or -2 when there is no answer or it does not parse as a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recforge.models.tokens import ANSWER_END, ANSWER_START, THINK_END, THINK_START
from recforge.text.outputs import parse_answer

RATING_MIN, RATING_MAX = 1.0, 5.0
_TAGS = (THINK_START, THINK_END, ANSWER_START, ANSWER_END)


@dataclass(frozen=True)
class RewardBreakdown:
    score: float
    format_score: float
    content_score: float
    prediction: float  # clipped; NaN when unparseable


def parse_rating(answer: str | None) -> float:
    """The answer as a rating clipped to [1, 5], or NaN when it is missing or not a finite number."""
    if answer is None:
        return math.nan
    try:
        value = float(answer.strip())
    except ValueError:
        return math.nan
    if not math.isfinite(value):
        return math.nan
    return min(RATING_MAX, max(RATING_MIN, value))


def format_ok(text: str) -> bool:
    if any(text.count(tag) != 1 for tag in _TAGS):
        return False
    positions = [text.index(tag) for tag in _TAGS]
    return positions == sorted(positions)


def rating_reward(text: str, ground_truth: str | float) -> RewardBreakdown:
    format_score = 1.0 if format_ok(text) else -1.0
    prediction = parse_rating(parse_answer(text))
    if math.isnan(prediction):
        content = -2.0
    else:
        content = 2.0 - abs(prediction - float(ground_truth))
    return RewardBreakdown(format_score + content, format_score, content, prediction)


def completion_text(completion: Any) -> str:
    """TRL passes a conversational completion as [{"role": "assistant", "content": ...}], a standard
    one as a string."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion)


def grpo_reward(completions: Sequence[Any], ground_truth: Sequence[str], **_: Any) -> list[float]:
    """TRL reward function: `ground_truth` is the dataset column of that name (verl's
    reward_model.ground_truth, flattened)."""
    return [rating_reward(completion_text(c), gt).score for c, gt in zip(completions, ground_truth)]
