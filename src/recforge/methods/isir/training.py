"""What every isir training stage shares: loading the model it starts from, the trainer arguments the
pipeline fixes (selection on valid, safetensors checkpoints, no external loggers), and saving.

The knobs of each trainer (learning rate, batch sizes, GRPO group size, ...) come from config as a
plain mapping passed to TRL's / transformers' argument dataclass, so any of its fields can be set and a
misspelt one fails with the dataclass's own error. The fields below are fixed here because the
pipeline's guarantees depend on them.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from recforge.models.loading import load_causal_lm, save_model
from recforge.models.tokens import ANSWER_END, ANSWER_START, THINK_END, THINK_START, add_tokens

log = logging.getLogger(__name__)

#: Owned by the pipeline; config may not override them.
FIXED_ARGS = (
    "output_dir",
    "eval_strategy",
    "save_strategy",
    "load_best_model_at_end",
    "metric_for_best_model",
    "greater_is_better",
    "report_to",
)


def training_args(
    cls: type,
    out_dir: str | Path,
    user_args: dict[str, Any],
    metric: str,
    greater_is_better: bool,
    steps: int,
) -> Any:
    """`cls(**user_args)` plus evaluation and checkpointing every `steps` optimiser steps on the valid
    set, keeping the checkpoint best on `metric` (loaded at the end), never simply the last."""
    clash = sorted(set(user_args) & set(FIXED_ARGS))
    if clash:
        raise ValueError(f"trainer arguments {clash} are set by the pipeline and may not be configured")
    # Keep the best and the latest checkpoint. Mixed precision only on GPUs: TRL defaults to bf16,
    # which on a CPU without bf16 units is several times slower than float32 (measured: 20 s vs 5 s
    # per SFT step of the tiny model).
    user_args = {"save_total_limit": 2, "bf16": torch.cuda.is_available(), **user_args}
    return cls(
        output_dir=str(out_dir),
        eval_strategy="steps",
        eval_steps=steps,
        save_strategy="steps",
        save_steps=steps,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=greater_is_better,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        **user_args,
    )


def load_for_training(path: str, dtype: str, attn_implementation: str) -> tuple[Any, Any]:
    """The model and tokenizer a stage starts from, on CPU (the trainer places it), with the seed-000
    tags as single tokens: a real checkpoint gets <answer>/</answer> (and <think> if missing) added by
    the token registry's rule; the tiny model already has them."""
    model, tokenizer = load_causal_lm(
        path, dtype=dtype, attn_implementation=attn_implementation, device="cpu"
    )
    add_tokens(tokenizer, [THINK_START, THINK_END, ANSWER_START, ANSWER_END], model)
    model.train()
    return model, tokenizer


def train_and_save(trainer: Any, tokenizer: Any, out_dir: str | Path, resume: bool) -> Any:
    """Train (resuming a killed run's checkpoints when `resume`), then save the selected model from
    the main process. Returns the TrainOutput."""
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    if trainer.is_world_process_zero():
        save_stage(trainer.model, tokenizer, out_dir)
    return result


def save_stage(model: Any, tokenizer: Any, out_dir: str | Path) -> None:
    """The selected model, merged (LoRA folded in) so the next stage loads it like any checkpoint."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.generation_config.do_sample = False
    save_model(model, tokenizer, out_dir)
    log.info("saved %s", out_dir)


def checkpoint_dir(out_dir: str | Path) -> Path:
    """Trainer checkpoints live beside the final model, not inside it: the model dir is the rule's
    output, which Snakemake deletes when a job fails, while the checkpoints must survive to resume."""
    out = Path(out_dir)
    return out.parent / f".{out.name}.checkpoints"


def resume_from(out_dir: str | Path, fingerprint: str) -> bool:
    """Whether a killed run of the same stage with the same spec left checkpoints to resume from.
    Checkpoints of a different spec (a changed config) are removed, never resumed."""
    ckpt = checkpoint_dir(out_dir)
    stamp = ckpt / "spec.sha256"
    if ckpt.exists() and (not stamp.exists() or stamp.read_text() != fingerprint):
        shutil.rmtree(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    resumable = any(ckpt.glob("checkpoint-*"))
    if resumable:
        log.info("resuming from the checkpoints in %s", ckpt)
    return resumable


def drop_checkpoints(out_dir: str | Path) -> None:
    """After the selected model is saved, the intermediate checkpoints are dead weight."""
    shutil.rmtree(checkpoint_dir(out_dir), ignore_errors=True)
