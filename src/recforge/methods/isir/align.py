"""Hidden alignment: a LoRA student on the GRPO model that sees an empty think block and learns the
rating token, while its state at the <answer> token is pulled towards the teacher's state after
reasoning. loss = (1 - kd_ratio) * LM + kd_ratio * alignment, on train samples the teacher got right.

Written on transformers' Trainer (not TRL's SFTTrainer) because the batch must carry each sample's
teacher tensor and aligned position, which SFTTrainer's collator drops; Trainer still gives DDP /
DeepSpeed under `accelerate launch`. Selection: lowest LM loss of the rating on valid (answer-only
prompts; no teacher states exist for valid, so the alignment term is a training-only loss as in the
paper).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from recforge.methods.isir.alignment_loss import alignment_loss
from recforge.methods.isir.chat import answer_only_prompt
from recforge.methods.isir.hidden import TeacherStates
from recforge.methods.isir.training import checkpoint_dir, load_for_training, train_and_save, training_args
from recforge.models.tokens import ANSWER_END

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignSettings:
    kd_ratio: float = 0.5
    loss: str = "cosine"
    training_ratio: float = 1.0  # fraction of the teacher-correct train samples used (paper: 0.1)
    seed: int = 42
    lora: dict | None = None  # LoraConfig overrides of the base preset's defaults


def encode(tokenizer: Any, row: Any) -> dict[str, Any]:
    """Prompt (answer-only) + completion "r</answer><eos>"; the LM loss covers the completion and the
    aligned position is the prompt's last token, <answer>."""
    prompt = tokenizer(answer_only_prompt(tokenizer, row.prompt), add_special_tokens=False)["input_ids"]
    completion = tokenizer(f"{int(row.label)}{ANSWER_END}", add_special_tokens=False)["input_ids"]
    completion = completion + [tokenizer.eos_token_id]
    return {
        "input_ids": prompt + completion,
        "labels": [-100] * len(prompt) + completion,
        "align_pos": len(prompt) - 1,
        "sample_id": str(row.sample_id),
    }


class AlignCollator:
    """Right-pads a batch and attaches the teacher states [B, L, H] of its samples. Train samples all
    have one; valid samples have none (the teacher reasons on train only), so valid batches carry none
    and evaluation is the LM loss of the rating alone."""

    def __init__(self, pad_id: int, teacher: TeacherStates) -> None:
        self.pad_id, self.teacher = pad_id, teacher

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        batch = {
            "input_ids": torch.tensor(
                [f["input_ids"] + [self.pad_id] * (width - len(f["input_ids"])) for f in features]
            ),
            "attention_mask": torch.tensor(
                [[1] * len(f["input_ids"]) + [0] * (width - len(f["input_ids"])) for f in features]
            ),
            "labels": torch.tensor([f["labels"] + [-100] * (width - len(f["labels"])) for f in features]),
            "align_pos": torch.tensor([f["align_pos"] for f in features]),
        }
        known = [f["sample_id"] in self.teacher for f in features]
        if any(known) and not all(known):
            raise ValueError("a batch mixes samples with and without teacher states")
        if all(known):
            batch["teacher_states"] = torch.stack([self.teacher[f["sample_id"]] for f in features]).float()
        return batch


def make_trainer_class():
    from transformers import Trainer

    class HiddenAlignTrainer(Trainer):
        def __init__(self, *args: Any, kd_ratio: float, loss_kind: str, layers: list[int], **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.kd_ratio, self.loss_kind, self.layers = kd_ratio, loss_kind, layers

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            teacher = inputs.pop("teacher_states", None)
            align_pos = inputs.pop("align_pos")
            outputs = model(**inputs, output_hidden_states=self.kd_ratio > 0)
            loss = outputs.loss
            if model.training and self.kd_ratio > 0 and teacher is not None:
                rows = torch.arange(align_pos.shape[0], device=align_pos.device)
                student = torch.stack([outputs.hidden_states[i][rows, align_pos] for i in self.layers], dim=1)
                distil = alignment_loss(student, teacher.to(student.device), self.loss_kind)
                loss = (1 - self.kd_ratio) * loss + self.kd_ratio * distil
            return (loss, outputs) if return_outputs else loss

    return HiddenAlignTrainer


def select_train(rows: pd.DataFrame, teacher: TeacherStates, settings: AlignSettings) -> pd.DataFrame:
    """Teacher-correct samples (those with stored states), then a seeded `training_ratio` subset."""
    kept = rows[rows["sample_id"].astype(str).isin(teacher.index.keys())]
    if settings.training_ratio < 1.0:
        kept = kept.sample(frac=settings.training_ratio, random_state=settings.seed)
    if kept.empty:
        raise ValueError("no train sample has a teacher state: the teacher got none right")
    return kept.sort_values("sample_id")


def train_student(
    start: dict[str, Any],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    teacher_dir: str | Path,
    settings: AlignSettings,
    args: dict[str, Any],
    eval_steps: int,
    out_dir: str | Path,
    resume: bool = False,
) -> dict[str, Any]:
    """`start`: path, dtype, attn_implementation and `lora` (the preset's LoraDefaults) of the GRPO
    model. Writes the merged student to out_dir."""
    from peft import get_peft_model
    from transformers import TrainingArguments

    teacher = TeacherStates(teacher_dir)
    rows = select_train(train, teacher, settings)
    model, tokenizer = load_for_training(start["path"], start["dtype"], start["attn_implementation"])
    model = get_peft_model(model, start["lora"].peft_config(**(settings.lora or {})))
    config = training_args(
        TrainingArguments,
        checkpoint_dir(out_dir),
        {"remove_unused_columns": False, **args},
        metric="eval_loss",
        greater_is_better=False,
        steps=eval_steps,
    )
    trainer = make_trainer_class()(
        model=model,
        args=config,
        train_dataset=[encode(tokenizer, r) for r in rows.itertuples()],
        eval_dataset=[encode(tokenizer, r) for r in valid.itertuples()],
        data_collator=AlignCollator(tokenizer.pad_token_id, teacher),
        kd_ratio=settings.kd_ratio,
        loss_kind=settings.loss,
        layers=teacher.layers,
    )
    result = train_and_save(trainer, tokenizer, out_dir, resume)
    final = trainer.evaluate()
    return {
        "train_samples": len(rows),
        "valid_samples": len(valid),
        "kd_ratio": settings.kd_ratio,
        "loss": settings.loss,
        "layers": teacher.layers,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "selected_eval_loss": final["eval_loss"],
        "world_size": trainer.args.world_size,
    }
