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
    # Weights' dtype when reading (null: the preset's). bfloat16 reads 2.4-2.5x faster on a CPU with
    # avx512_bf16; P(Yes) then moves by up to 0.07 from float32's (docs/benchmarks.md, seed 004).
    dtype: str | None = None
    # platt: `probability` is P(Yes) mapped by a logistic fit on the valid windows (needs valid in
    # splits; recforge.methods.platt): log-loss calibrated, AUC kept. null: P(Yes) as read.
    calibration: str | None = None

    def __post_init__(self) -> None:
        if self.calibration not in (None, "platt"):
            raise ValueError(f"methods.reasoningrec.predict.calibration: {self.calibration!r} is not null or 'platt'")
        if self.calibration and "valid" not in self.splits:
            raise ValueError("methods.reasoningrec.predict.calibration: platt fits on the valid windows, so "
                             f"splits must hold valid (it is {list(self.splits)})")


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
