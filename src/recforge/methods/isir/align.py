"""Hidden alignment: a student on the GRPO model (LoRA, or every weight with `lora: false`) that sees an
empty think block and learns the rating token, while its state at the <answer> token is pulled towards
the teacher's state after reasoning. loss = (1 - kd_ratio) * LM + kd_ratio * alignment, on train
samples the teacher got right (and, when that set lacks labels, the min_label_share top-ups).

Written on transformers' Trainer (not TRL's SFTTrainer) because the batch must carry each sample's
teacher tensor and aligned position, which SFTTrainer's collator drops; Trainer still gives DDP /
DeepSpeed under `accelerate launch`. Selection: lowest LM loss of the rating on valid (answer-only
prompts; no teacher states exist for valid, so the alignment term is a training-only loss as in the
paper).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from recforge.methods.isir.alignment_loss import alignment_loss
from recforge.methods.isir.chat import answer_only_prompt
from recforge.methods.isir.hidden import TeacherStates
from recforge.methods.isir.verl import subsample
from recforge.methods.isir.chat import load_for_training
from recforge.train.arguments import Checkpointed, trainer_arguments
from recforge.train.checkpoints import checkpoint_dir
from recforge.train.progress import eval_curve, log_progress
from recforge.train.save import train_and_save
from recforge.train.select import early_stopping
from recforge.train.settings import StageSettings
from recforge.models.tokens import ANSWER_END

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignSettings:
    kd_ratio: float = 0.5
    loss: str = "cosine"
    training_ratio: float = 1.0  # fraction of the teacher-correct train samples used (paper: 0.1)
    seed: int = 0  # isir.seed
    sample_order: str = "random"  # isir.sample_order: which top-up samples are taken first
    # LoRA on the preset's defaults (true, or a dict of LoraConfig overrides), or false: every weight
    # trains (a model of a few million weights has too little capacity for a rank-8 adapter).
    lora: bool | dict = False
    # Fallback for a degenerate teacher-correct set (a teacher that answers one rating for every sample
    # leaves a mask of one label): every train label gets at least this share of the student's samples,
    # topped up with samples the teacher got wrong, which train the rating (LM loss) without alignment.
    # "pool": each label's share among the student's train rows (align.max_train_samples), so that the
    # top-ups restore the label distribution of the samples the student was offered. "all": every row
    # offered trains the rating; the mask only decides which rows carry the alignment term.
    min_label_share: float | str = "all"

    def __post_init__(self) -> None:
        if isinstance(self.min_label_share, str) and self.min_label_share not in ("pool", "all"):
            raise ValueError(f"methods.isir.align.min_label_share: a number in [0, 1], 'pool' or 'all', "
                             f"not {self.min_label_share!r}")


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
        if any(known):  # rows without a state (valid rows, top-ups) get zeros and are masked out
            template = next(self.teacher[f["sample_id"]] for f, k in zip(features, known) if k)
            batch["teacher_states"] = torch.stack(
                [self.teacher[f["sample_id"]] if k else torch.zeros_like(template) for f, k in zip(features, known)]
            ).float()
            batch["teacher_mask"] = torch.tensor(known)
        return batch


def make_trainer_class():
    from transformers import Trainer

    class HiddenAlignTrainer(Trainer):
        def __init__(self, *args: Any, kd_ratio: float, loss_kind: str, layers: list[int], **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.kd_ratio, self.loss_kind, self.layers = kd_ratio, loss_kind, layers

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            teacher = inputs.pop("teacher_states", None)
            known = inputs.pop("teacher_mask", None)
            align_pos = inputs.pop("align_pos")
            outputs = model(**inputs, output_hidden_states=self.kd_ratio > 0)
            loss = outputs.loss
            if model.training and self.kd_ratio > 0 and teacher is not None and bool(known.any()):
                rows = torch.nonzero(known.to(align_pos.device)).squeeze(1)
                student = torch.stack([outputs.hidden_states[i][rows, align_pos[rows]] for i in self.layers], dim=1)
                distil = alignment_loss(student, teacher[known].to(student.device), self.loss_kind)
                loss = (1 - self.kd_ratio) * loss + self.kd_ratio * distil
            return (loss, outputs) if return_outputs else loss

    return HiddenAlignTrainer


def label_counts(rows: pd.DataFrame) -> dict[str, int]:
    return {f"{float(k):g}": int(v) for k, v in rows["label"].value_counts().sort_index().items()}


def top_up(counts: dict[str, int], share: float | dict[str, float]) -> dict[str, int]:
    """Rows to add per label so that each label holds at least `share` of the final set (one share for
    every label, or one per label); the final size grows with what is added, hence the fixed point."""
    shares = share if isinstance(share, dict) else {k: share for k in counts}
    if not counts or all(v <= 0 for v in shares.values()):
        return {}
    if sum(shares.get(k, 0.0) for k in counts) > 1 + 1e-9:
        raise ValueError(f"min_label_share {share} is impossible for {len(counts)} labels")
    total = sum(counts.values())
    add: dict[str, int] = {}
    for _ in range(100):  # converges in a few rounds: each adds at most one row per label
        final = total + sum(add.values())
        # the rounding guard keeps a share that is exactly met (pool shares are ratios of counts) from
        # asking for one more row
        add = {k: math.ceil(shares.get(k, 0.0) * final - 1e-9) - c for k, c in counts.items()
               if c < shares.get(k, 0.0) * final - 1e-9}
        if total + sum(add.values()) == final:
            break
    return {k: v for k, v in add.items() if v > 0}


def select_train(rows: pd.DataFrame, teacher: TeacherStates, settings: AlignSettings) -> tuple[pd.DataFrame, dict]:
    """Teacher-correct samples (those with stored states), then a seeded `training_ratio` subset, then
    the min_label_share fallback. Returns the rows and a report of the mask's label distribution."""
    has_state = rows["sample_id"].astype(str).isin(teacher.index.keys())
    kept = rows[has_state]
    if settings.training_ratio < 1.0:
        kept = kept.sample(frac=settings.training_ratio, random_state=settings.seed)
    if kept.empty:
        raise ValueError("no train sample has a teacher state: the teacher got none right")
    mask = label_counts(kept)
    share = settings.min_label_share
    if share == "all":  # every row without a state (rows with one are aligned wherever they appear)
        extra = rows[~has_state]
    else:
        if share == "pool":
            offered = label_counts(rows)
            share = {k: n / len(rows) for k, n in offered.items()}
        wanted = top_up({f"{float(k):g}": mask.get(f"{float(k):g}", 0) for k in rows["label"].unique()}, share)
        added = [subsample(rows[~has_state & (rows["label"].astype(float) == float(label))], n, settings.seed,
                           settings.sample_order) for label, n in wanted.items()]
        extra = pd.concat(added) if added else rows.iloc[:0]
    report = {
        "mask_labels": mask,
        "degenerate_mask": len(mask) <= 1,
        "min_label_share": settings.min_label_share,
        "added_without_teacher": label_counts(extra),
        "student_labels": label_counts(pd.concat([kept, extra])),
    }
    if report["degenerate_mask"]:
        log.warning("the teacher-correct set holds one label only (%s): %s", mask,
                    "topped up by min_label_share" if len(extra) else "set min_label_share > 0 to top it up")
    return pd.concat([kept, extra]).sort_values("sample_id"), report


def train_student(
    start: dict[str, Any],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    teacher_dir: str | Path,
    settings: AlignSettings,
    stage: StageSettings,
    out_dir: str | Path,
    resume: bool = False,
) -> dict[str, Any]:
    """`start`: path, dtype, attn_implementation and `lora` (the preset's LoraDefaults) of the GRPO
    model. Writes the merged student to out_dir."""
    from peft import get_peft_model
    from transformers import TrainingArguments

    teacher = TeacherStates(teacher_dir)
    rows, mask_report = select_train(train, teacher, settings)
    model, tokenizer = load_for_training(start["path"], start["dtype"], start["attn_implementation"])
    if settings.lora is not False:
        overrides = settings.lora if isinstance(settings.lora, dict) else {}
        model = get_peft_model(model, start["lora"].peft_config(**overrides))
    config = trainer_arguments(
        TrainingArguments,
        {"remove_unused_columns": False, **stage.args},
        checkpoint_dir(out_dir),
        eval_steps=stage.eval_steps,
        checkpointed=Checkpointed("eval_loss", greater_is_better=False),
        dtype=start["dtype"],
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
        callbacks=early_stopping(stage.patience),
    )
    log_progress(trainer, "isir align")
    result = train_and_save(trainer, tokenizer, out_dir, resume)
    final = trainer.evaluate()
    return {
        "train_samples": len(rows),
        "valid_samples": len(valid),
        "kd_ratio": settings.kd_ratio,
        "loss": settings.loss,
        "lora": settings.lora,
        "layers": teacher.layers,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "selected_eval_loss": final["eval_loss"],
        "world_size": trainer.args.world_size,
        "mask": mask_report,
        "curve": eval_curve(trainer),
    }
