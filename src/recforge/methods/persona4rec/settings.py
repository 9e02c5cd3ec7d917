"""methods.persona4rec in config/config.yaml (its values are the defaults; written there once)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0
    max_tokens: int = 500
    seed: int = 0


@dataclass(frozen=True)
class PersonaSettings:
    min_personas: int = 2
    max_personas: int = 7
    max_reviews: int = 40        # most recent train-phase reviews of an item shown to the writer
    temperature: float = 0.0
    max_tokens: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class SelectionSettings:
    targets_per_user: int = 3    # each user's most recent liked train targets judged (selection labels)
    min_history: int = 2         # a target needs this many earlier events (the seed: 6)
    history: int = 6             # most recent reviews shown to the judge
    temperature: float = 0.1
    max_tokens: int = 300
    seed: int = 0


@dataclass(frozen=True)
class EncoderSettings:
    embedder: str = "minilm"     # an embedder preset (embedder.presets): the encoder starts from it
    max_seq_length: int = 128
    k_recent: int = 10           # most recent liked events in a user profile
    gamma: float = 0.65          # recency weight gamma^(L-1-i), most recent = 1
    min_rating: float = 3.0      # profile events: rating >= this (the seed's like-only cache); none: all
    temperature: float = 0.05    # InfoNCE: logits = cos / temperature
    label_smoothing: float = 0.05
    batch_size: int = 16
    lr: float = 5.0e-5
    weight_decay: float = 0.01
    warmup_steps: int = 10
    epochs: int = 1
    train_layers: int | None = 2     # top transformer layers trained (null: all)
    max_train_pairs: int | None = None
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class Persona4RecSettings:
    like_threshold: float = 3.0  # rating >= this is liked (the seed: 3.0)
    aspects: SamplingSettings = field(default_factory=SamplingSettings)
    personas: PersonaSettings = field(default_factory=PersonaSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    candidates: int = 20         # first-stage (SASRec) list length
    # persona4rec_blend: alpha * persona + (1 - alpha) * base (each min-max scaled per list); alpha is
    # chosen on valid NDCG@10 among these values (one value: fixed).
    blend_alphas: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

    @classmethod
    def from_dict(cls, raw: dict, where: str = "methods.persona4rec") -> "Persona4RecSettings":
        """From the config section; unknown keys are errors naming their config place."""
        from recforge.settings import typed

        raw = dict(raw)
        nested = {
            "aspects": SamplingSettings,
            "personas": PersonaSettings,
            "selection": SelectionSettings,
            "encoder": EncoderSettings,
        }
        parts = {name: typed(kind, raw.pop(name, {}), f"{where}.{name}") for name, kind in nested.items()}
        if "blend_alphas" in raw:
            raw["blend_alphas"] = tuple(float(a) for a in raw["blend_alphas"])
        flat = typed(cls, raw, where)
        return dataclasses.replace(flat, **parts)
