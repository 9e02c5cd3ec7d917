"""Trainer argument dataclasses from a stage's `args` mapping plus the fields the pipeline owns.

The pipeline owns evaluation/saving/selection (every stage hands over the state best on valid, never
the last), logging (ProgressLog writes the rule log; no external loggers) and the device. Mixed
precision only on GPUs: TRL defaults to bf16, which on a CPU without bf16 units is several times slower
than float32 (measured: 20 s vs 5 s per SFT step of the tiny model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Owned by the pipeline; config may not set them.
FIXED = (
    "output_dir",
    "eval_strategy",
    "save_strategy",
    "load_best_model_at_end",
    "metric_for_best_model",
    "greater_is_better",
    "report_to",
    "use_cpu",
    "disable_tqdm",
)


@dataclass(frozen=True)
class Checkpointed:
    """Selection by the trainer's own valid metric (eval_loss, eval_reward): a checkpoint at every
    evaluation, the best one loaded at the end (transformers' load_best_model_at_end), so a killed run
    resumes with its selection intact (checkpoints.py)."""

    metric: str
    greater_is_better: bool


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def trainer_arguments(
    cls: type,
    args: dict[str, Any],
    out_dir: str | Path,
    *,
    eval_steps: int | None,
    checkpointed: Checkpointed | None = None,
    resumable: bool = False,
    evaluate: bool = True,
    dtype: str = "bfloat16",
) -> Any:
    """`cls(**args)` plus the pipeline's fields. Evaluation every `eval_steps` optimiser steps (None:
    each epoch end). With `checkpointed`, checkpoints at each evaluation and the best loaded at the
    end. Without it a BestOnValid callback keeps the best state in memory (`evaluate=False`: the
    callback evaluates on its own schedule, e.g. GRPO without a valid set); `resumable` then writes
    the latest checkpoint at each evaluation point, next to which BestOnValid keeps its selection."""
    clash = sorted(set(args) & set(FIXED))
    if clash:
        raise ValueError(f"trainer arguments {clash} are set by the pipeline and may not be configured")
    cuda = cuda_available()
    cadence = "steps" if eval_steps else "epoch"
    fixed: dict[str, Any] = {
        "output_dir": str(out_dir),
        "eval_strategy": cadence if evaluate else "no",
        "report_to": [],
        "use_cpu": not cuda,
        "disable_tqdm": True,
    }
    if evaluate and eval_steps:
        fixed["eval_steps"] = eval_steps
    if checkpointed:
        fixed.update(
            save_strategy=cadence,
            load_best_model_at_end=True,
            metric_for_best_model=checkpointed.metric,
            greater_is_better=checkpointed.greater_is_better,
        )
        if eval_steps:
            fixed["save_steps"] = eval_steps
    elif resumable:
        fixed["save_strategy"] = cadence
        if eval_steps:
            fixed["save_steps"] = eval_steps
    else:
        fixed["save_strategy"] = "no"
    # Checkpointed: the best and the latest; resumable: the latest is all a resumed run needs.
    defaults = {"save_total_limit": 1 if resumable and not checkpointed else 2, "bf16": cuda and dtype == "bfloat16"}
    return cls(**{**defaults, **args, **fixed})
