"""recforge.train: the argument builder owns selection, and a checkpointed stage hands over (and saves)
the weights of the best valid evaluation, never simply the last."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import Trainer, TrainerCallback, TrainingArguments

from onerec_example import save_tiny_model
from recforge.models.loading import load_causal_lm
from recforge.train.arguments import Checkpointed, trainer_arguments
from recforge.train.checkpoints import checkpoint_dir
from recforge.train.launch import accelerate_args
from recforge.train.save import train_and_save

torch.set_num_threads(1)


class ScriptedLoss(TrainerCallback):
    """Replaces each evaluation's eval_loss with the next scripted value before the trainer decides
    which checkpoint is best (on_evaluate sees the same metrics dict)."""

    def __init__(self, losses):
        self.losses = iter(losses)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics["eval_loss"] = next(self.losses)


def rows(tokenizer, n):
    ids = tokenizer("a b c d e f", add_special_tokens=False)["input_ids"]
    return [{"input_ids": ids, "labels": ids, "attention_mask": [1] * len(ids)} for _ in range(n)]


def test_pipeline_owned_fields_cannot_be_configured(tmp_path):
    with pytest.raises(ValueError, match="set by the pipeline"):
        trainer_arguments(TrainingArguments, {"save_strategy": "no"}, tmp_path, eval_steps=2)
    args = trainer_arguments(TrainingArguments, {"learning_rate": 0.1}, tmp_path, eval_steps=3,
                             checkpointed=Checkpointed("eval_loss", greater_is_better=False))
    assert args.eval_strategy == "steps" and args.eval_steps == 3 and args.save_steps == 3
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_loss" and args.learning_rate == 0.1
    in_memory = trainer_arguments(TrainingArguments, {}, tmp_path, eval_steps=None)
    assert in_memory.eval_strategy == "epoch" and in_memory.save_strategy == "no"


def test_checkpointed_stage_saves_the_best_evaluation_not_the_last(tmp_path):
    save_tiny_model(tmp_path / "base")
    model, tokenizer = load_causal_lm(str(tmp_path / "base"), dtype="float32", attn_implementation="sdpa", device="cpu")
    out = tmp_path / "stage" / "model"
    args = trainer_arguments(
        TrainingArguments,
        {"max_steps": 6, "per_device_train_batch_size": 2, "learning_rate": 0.05, "save_total_limit": None},
        checkpoint_dir(out), eval_steps=2, checkpointed=Checkpointed("eval_loss", greater_is_better=False),
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows(tokenizer, 12), eval_dataset=rows(tokenizer, 2),
                      callbacks=[ScriptedLoss([3.0, 1.0, 2.0])])
    train_and_save(trainer, tokenizer, out)

    assert trainer.state.best_model_checkpoint.endswith("checkpoint-4")  # the 2nd evaluation
    saved = load_file(out / "model.safetensors")
    best = load_file(checkpoint_dir(out) / "checkpoint-4" / "model.safetensors")
    last = load_file(checkpoint_dir(out) / "checkpoint-6" / "model.safetensors")
    assert saved.keys() == best.keys()
    assert all(torch.equal(saved[name], best[name]) for name in saved)
    assert any(not torch.equal(saved[name], last[name]) for name in saved)  # training moved on after it


def test_accelerate_arguments_per_hardware():
    assert accelerate_args(0) == "--cpu --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no"
    assert accelerate_args(0, cpu_processes=2).startswith("--multi_gpu --num_processes 2")
    assert accelerate_args(1) == "--num_processes 1 --num_machines 1"
    assert accelerate_args(4) == "--multi_gpu --num_processes 4 --num_machines 1"
    assert accelerate_args(2, deepspeed=True).startswith("--config_file config/accelerate/deepspeed_zero2.yaml")
