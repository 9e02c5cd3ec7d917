"""Seed 000's rule-based GRPO reward (verl `reward_score/regression.py`), as a pure function and as a
TRL reward function, on the dataset's rating scale (recforge.data.scale).

score = format + content, in [-3, 3]:
- format: +1 if each of <think>, </think>, <answer>, </answer> appears exactly once and in that order,
  else -1;
- content: 2 - 4 |clip(pred) - label| / (max - min) where pred is the float in the last
  <answer>...</answer> clipped to the scale, or -2 when there is no answer or it does not parse as a
  finite number. On the paper's 1-5 scale this is its 2 - |pred - label|; on any other scale the
  error is measured in the same share of the range, so the worst answer still scores as no answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recforge.data.scale import RatingScale
from recforge.models.tokens import ANSWER_END, ANSWER_START, THINK_END, THINK_START
from recforge.text.outputs import parse_answer

_TAGS = (THINK_START, THINK_END, ANSWER_START, ANSWER_END)


@dataclass(frozen=True)
class RewardBreakdown:
    score: float
    format_score: float
    content_score: float
    prediction: float  # clipped; NaN when unparseable


def parse_rating(answer: str | None, scale: RatingScale = RatingScale()) -> float:
    """The answer as a rating clipped to the scale, or NaN when it is missing or not a finite number."""
    if answer is None:
        return math.nan
    try:
        value = float(answer.strip())
    except ValueError:
        return math.nan
    if not math.isfinite(value):
        return math.nan
    return min(scale.max, max(scale.min, value))


def format_ok(text: str) -> bool:
    if any(text.count(tag) != 1 for tag in _TAGS):
        return False
    positions = [text.index(tag) for tag in _TAGS]
    return positions == sorted(positions)


def rating_reward(text: str, ground_truth: str | float, scale: RatingScale = RatingScale()) -> RewardBreakdown:
    format_score = 1.0 if format_ok(text) else -1.0
    prediction = parse_rating(parse_answer(text), scale)
    if math.isnan(prediction):
        content = -2.0
    else:
        span = (scale.max - scale.min) or 1.0
        content = 2.0 - 4.0 * abs(prediction - float(ground_truth)) / span
    return RewardBreakdown(format_score + content, format_score, content, prediction)


def completion_text(completion: Any) -> str:
    """TRL passes a conversational completion as [{"role": "assistant", "content": ...}], a standard
    one as a string."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion)


def grpo_reward(
    completions: Sequence[Any],
    ground_truth: Sequence[str],
    rating_scale: Sequence[Mapping[str, float]] | None = None,
    **_: Any,
) -> list[float]:
    """TRL reward function: `ground_truth` and `rating_scale` are the dataset columns of those names
    (verl's reward_model fields, flattened; no rating_scale: 1-5)."""
    if rating_scale is None:
        rating_scale = [{}] * len(completions)
    scales = [RatingScale(**dict(s)) for s in rating_scale]
    return [
        rating_reward(completion_text(c), gt, scale).score
        for c, gt, scale in zip(completions, ground_truth, scales)
    ]
