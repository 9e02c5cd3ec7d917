"""Settings of the reasoningrec methods (config `methods.reasoningrec`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TextTask:
    max_words: int = 25
    temperature: float = 0.0
    max_tokens: int = 64
    seed: int = 0


@dataclass(frozen=True)
class ReasoningTask:
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0


@dataclass(frozen=True)
class PredictSettings:
    batch_size: int = 4
    splits: tuple[str, ...] = ("test",)
    # Cost comparison only: this many test prompts also get their reasoning generated (greedy).
    reasoning_samples: int = 8
    max_new_tokens: int = 96
    # embedder preset whose token vectors compare generated with teacher reasoning (similarity.py)
    similarity_embedder: str = "minilm"


@dataclass(frozen=True)
class ReasoningRecSettings:
    model: str = "smollm2-135m"  # models.presets name (not the dataset's base_model)
    like_threshold: float = 4.0  # Liked = rating >= this (Amazon: > 3 on whole stars)
    history: int = 5  # events shown before the target
    profile_items: int = 15  # first events of the profile window summarised
    texts: str = "generated"  # generated (recforge.llm) | paper (the shipped Mixtral texts)
    paper_texts: str | None = None  # folder with processed_item_information.json, user_profile_summary.json
    description: TextTask = field(default_factory=TextTask)
    profile: TextTask = field(default_factory=lambda: TextTask(max_words=100, max_tokens=256))
    reasoning: ReasoningTask = field(default_factory=ReasoningTask)
    sft: dict[str, Any] = field(default_factory=dict)  # recforge.train.StageSettings keys
    predict: PredictSettings = field(default_factory=PredictSettings)


def settings_from_dict(raw: dict[str, Any], where: str = "methods.reasoningrec") -> ReasoningRecSettings:
    """The method's config section (or the part a rule passes) with its nested sections typed."""
    from recforge.settings import typed

    raw = dict(raw)
    nested = {"description": TextTask, "profile": TextTask, "reasoning": ReasoningTask, "predict": PredictSettings}
    for key, cls in nested.items():
        if key in raw:
            value = dict(raw[key])
            if key == "predict" and "splits" in value:
                value["splits"] = tuple(value["splits"])
            raw[key] = typed(cls, value, f"{where}.{key}")
    return typed(ReasoningRecSettings, raw, where)
