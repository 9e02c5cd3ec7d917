"""Cold-start SFT: teach a model that does not yet write <think>..</think><answer>r</answer> the format,
on reasoning traces written by the LLM backend for train samples (TRL SFTTrainer, completion-only loss).
Selection: the checkpoint with the lowest loss on traces of valid samples."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.methods.isir.chat import messages
from recforge.methods.isir.chat import load_for_training
from recforge.methods.isir.checks import check_completion_lengths
from recforge.train.arguments import Checkpointed, trainer_arguments
from recforge.train.checkpoints import checkpoint_dir
from recforge.train.progress import eval_curve, log_progress
from recforge.train.save import train_and_save
from recforge.train.select import early_stopping
from recforge.train.settings import StageSettings

log = logging.getLogger(__name__)


def usable_traces(rows: pd.DataFrame, traces: pd.DataFrame) -> pd.DataFrame:
    """Rows (verl table) joined with their trace by sample_id, keeping only traces whose answer equals
    the label: a trace that reasons to a wrong rating would teach wrong reasoning (the heuristic writer
    is always right; an LLM may not be)."""
    joined = rows.merge(traces[["sample_id", "text", "prediction"]], on="sample_id", how="inner")
    keep = joined["prediction"].to_numpy() == joined["label"].to_numpy()
    log.info("traces: %d of %d agree with the label and are used", int(keep.sum()), len(joined))
    return joined[keep]


def sft_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"prompt": messages(r.prompt), "completion": [{"role": "assistant", "content": r.text}]}
        for r in rows.itertuples()
    ]


def cold_start_sft(
    base: dict[str, str],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    traces: pd.DataFrame,
    stage: StageSettings,
    out_dir: str | Path,
    resume: bool = False,
    limits: Mapping[str, int | None] | None = None,
) -> dict[str, Any]:
    """`base`: path, dtype, attn_implementation of the starting model. Writes the selected model to
    out_dir and returns a report. `limits` (setting name -> tokens) are the generation limits the
    policy will write under (GRPO, teacher, isir_cot): checked against the traces' lengths before
    training, since a policy taught to reason that long is cut off before its answer."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    train_rows, valid_rows = usable_traces(train, traces), usable_traces(valid, traces)
    if train_rows.empty or valid_rows.empty:
        raise ValueError("cold-start SFT needs traces that agree with the label for train and valid samples")
    model, tokenizer = load_for_training(base["path"], base["dtype"], base["attn_implementation"])
    lengths = [len(ids) for ids in tokenizer(train_rows["text"].tolist(), add_special_tokens=False)["input_ids"]]
    trace_tokens = check_completion_lengths(lengths, limits or {}, "the SFT traces")
    config = trainer_arguments(
        SFTConfig,
        stage.args,
        checkpoint_dir(out_dir),
        eval_steps=stage.eval_steps,
        checkpointed=Checkpointed("eval_loss", greater_is_better=False),
        dtype=base["dtype"],
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(sft_records(train_rows)),
        eval_dataset=Dataset.from_list(sft_records(valid_rows)),
        processing_class=tokenizer,
        callbacks=early_stopping(stage.patience),
    )
    log_progress(trainer, "isir sft")
    result = train_and_save(trainer, tokenizer, out_dir, resume)
    final = trainer.evaluate()
    return {
        "train_samples": len(train_rows),
        "valid_samples": len(valid_rows),
        "trace_tokens": trace_tokens,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_eval_loss": trainer.state.best_metric,
        "selected_eval_loss": final["eval_loss"],
        "selected_valid_perplexity": math.exp(final["eval_loss"]),
        "curve": eval_curve(trainer),
    }
