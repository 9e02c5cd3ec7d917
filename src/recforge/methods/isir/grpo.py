"""GRPO on the verl parquet with TRL's GRPOTrainer and seed 000's rating reward.

verl -> TRL mapping of the paper's settings (config/config.yaml `methods.isir.grpo.args` holds them):
rollout n=8 -> num_generations; actor lr 1e-6 -> learning_rate; kl_loss_coef 0.001 with low_var_kl ->
beta (TRL's KL term is the same k3 estimator); token-mean loss aggregation -> loss_type "dapo";
std-normalised group advantages -> scale_rewards "group"; max_response_length -> max_completion_length.
Selection: the checkpoint with the highest mean reward on valid prompts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.methods.isir.chat import messages
from recforge.methods.isir.reward import grpo_reward
from recforge.methods.isir.chat import load_for_training
from recforge.train.arguments import Checkpointed, trainer_arguments
from recforge.train.checkpoints import checkpoint_dir
from recforge.train.progress import log_progress
from recforge.train.save import train_and_save
from recforge.train.select import early_stopping
from recforge.train.settings import StageSettings

log = logging.getLogger(__name__)


def grpo_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """TRL conversational prompts plus the columns the reward reads (passed to it by name)."""
    return [
        {
            "prompt": messages(r.prompt),
            "ground_truth": str(r.reward_model["ground_truth"]),
            "rating_scale": dict(r.reward_model["rating_scale"]),
            "sample_id": r.sample_id,
        }
        for r in rows.itertuples()
    ]


def train_grpo(
    start: dict[str, str],
    train: pd.DataFrame,
    valid: pd.DataFrame,
    stage: StageSettings,
    out_dir: str | Path,
    resume: bool = False,
) -> dict[str, Any]:
    """`start`: path, dtype, attn_implementation of the policy's starting point (the cold-start SFT
    model, or the base model when it already writes the format)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = load_for_training(start["path"], start["dtype"], start["attn_implementation"])
    config = trainer_arguments(
        GRPOConfig,
        stage.args,
        checkpoint_dir(out_dir),
        eval_steps=stage.eval_steps,
        checkpointed=Checkpointed("eval_reward", greater_is_better=True),
        dtype=start["dtype"],
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=grpo_reward,
        args=config,
        train_dataset=Dataset.from_list(grpo_records(train)),
        eval_dataset=Dataset.from_list(grpo_records(valid)),
        processing_class=tokenizer,
        callbacks=early_stopping(stage.patience),
    )
    log_progress(trainer, "isir grpo")
    result = train_and_save(trainer, tokenizer, out_dir, resume)
    history = [
        {k: v for k, v in entry.items() if k in ("step", "reward", "eval_reward", "kl", "eval_kl")}
        for entry in trainer.state.log_history
    ]
    return {
        "train_prompts": len(train),
        "valid_prompts": len(valid),
        "steps": result.global_step,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_eval_reward": trainer.state.best_metric,
        "history": [h for h in history if len(h) > 1],
    }
