"""The config vocabulary every LLM training stage shares, under the same names for every method."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recforge.settings import typed

__all__ = ["StageSettings", "typed"]


@dataclass(frozen=True)
class StageSettings:
    """What every LLM training stage is configured with, under the same names for every method.

    `args` goes to the trainer's own argument dataclass (TRL SFTConfig / GRPOConfig, transformers
    TrainingArguments): any of its fields may be set, and a misspelt one fails with that dataclass's
    error; the fields the pipeline owns (arguments.FIXED) may not be set."""

    args: dict[str, Any] = field(default_factory=dict)
    eval_steps: int | None = None  # optimiser steps between valid evaluations; None: each epoch end
    max_train_samples: int | None = None  # seeded subset of the training samples (None: all)
    max_valid_samples: int | None = None  # seeded subset of the valid samples used for selection
    seed: int = 0  # the subsets' seed (the trainer's own seed is args.seed)
    # evaluations in a row without a better valid metric before training stops (None: every epoch of
    # args.num_train_epochs runs); the best evaluated state is kept either way
    patience: int | None = None

    @property
    def max_length(self) -> int:
        """Token budget of one training row (args.max_length; 1024 when unset)."""
        return int(self.args.get("max_length", 1024))
