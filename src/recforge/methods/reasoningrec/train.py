"""LoRA SFT of the chat model on K predfirst examples (TRL SFTTrainer, prompt-completion: the loss is on
the assistant turn only), selected on valid AUC read at the prediction slot only (BestOnValid keeps the
best adapter state in memory; the merged best model is saved). Entry point for recforge.train:
`recforge.methods.reasoningrec.train:sft` with the spec of rules/reasoningrec.smk."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recforge.eval.metrics import auc
from recforge.methods.reasoningrec.prompts import predfirst, row_messages, slot_prompt
from recforge.methods.reasoningrec.readout import answer_token_ids, slot_probabilities
from recforge.methods.reasoningrec.slot_loss import slot_weighted_trainer
from recforge.methods.reasoningrec.sampling import stratified_sample
from recforge.models.presets import LoraDefaults
from recforge.train.arguments import trainer_arguments
from recforge.train.checkpoints import checkpoint_dir
from recforge.train.progress import log_progress
from recforge.train.save import save_stage
from recforge.train.select import BestOnValid
from recforge.train.settings import StageSettings, typed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SFTSettings(StageSettings):
    valid_batch_size: int = 4  # prompts per forward pass of the valid AUC
    # a number in [0, 1]: slot_loss.py's per-example slot_weight x NLL(answer at the slot)
    # + (1 - slot_weight) x mean NLL(the completion's other tokens); null: TRL's loss (the token mean)
    slot_weight: float | None = 0.5

    def __post_init__(self) -> None:
        if self.slot_weight is not None and not 0.0 <= self.slot_weight <= 1.0:
            raise ValueError(f"methods.reasoningrec.sft.slot_weight: {self.slot_weight} is not in [0, 1] (or null)")


def training_rows(prompts: pd.DataFrame, rationales: pd.DataFrame, k: int | None, seed: int,
                  reasoning: bool) -> list[dict[str, Any]]:
    """K stratified train windows as prompt-completion records (predfirst; label only without reasoning)."""
    train = prompts[prompts["split"] == "train"].merge(rationales[["sample_id", "reasoning"]], on="sample_id",
                                                       how="inner")
    picked = stratified_sample(train, k, seed)
    return [{"prompt": row_messages(r),
             "completion": [{"role": "assistant", "content": predfirst(r.label, r.reasoning if reasoning else None)}]}
            for r in picked.itertuples(index=False)]


def trainer_class(tokenizer: Any, slot_weight: float | None) -> type:
    """TRL's SFTTrainer, or its slot-weighted subclass keyed on the first token of " Yes" and " No"."""
    from trl import SFTTrainer

    if slot_weight is None:
        return SFTTrainer
    yes, no = answer_token_ids(tokenizer)
    if yes[0] == no[0]:
        raise ValueError(f"methods.reasoningrec.sft.slot_weight needs answers whose first tokens differ; this "
                         f"tokenizer writes both starting with token {yes[0]}")
    return slot_weighted_trainer(slot_weight, [yes[0], no[0]])


def valid_auc(model: Any, tokenizer: Any, valid: pd.DataFrame, batch_size: int) -> dict[str, float]:
    probs = slot_probabilities(model, tokenizer, [slot_prompt(tokenizer, r) for r in valid.itertuples()], batch_size)
    value = auc(valid["label"].to_numpy(), probs)
    return {"AUC": float(value) if value is not None else math.nan, "mean_p_yes": float(np.mean(probs))}


def sft(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    from datasets import Dataset
    from peft import get_peft_model
    from trl import SFTConfig

    from recforge.models.loading import load_causal_lm

    settings = dict(spec["settings"])
    reasoning = bool(settings.pop("reasoning"))
    stage = typed(SFTSettings, settings, "methods.reasoningrec.sft")
    prompts, rationales = pd.read_parquet(spec["prompts"]), pd.read_parquet(spec["rationales"])
    records = training_rows(prompts, rationales, stage.max_train_samples, stage.seed, reasoning)
    valid = stratified_sample(prompts[prompts["split"] == "valid"], stage.max_valid_samples, stage.seed)
    start = spec["start"]
    model, tokenizer = load_causal_lm(start["path"], dtype=start["dtype"],
                                      attn_implementation=start["attn_implementation"], device="cpu")
    lora = LoraDefaults.from_dict(start["lora"])
    model = get_peft_model(model, lora.peft_config())
    model.train()
    args = trainer_arguments(SFTConfig, stage.args, checkpoint_dir(spec["out_dir"]), eval_steps=stage.eval_steps,
                             evaluate=False, resumable=True, dtype=start["dtype"])
    steps_per_epoch = math.ceil(len(records) / (args.per_device_train_batch_size * args.gradient_accumulation_steps))
    every = stage.eval_steps or steps_per_epoch
    selector = BestOnValid("auc", rank_fn=lambda m: valid_auc(m, tokenizer, valid, stage.valid_batch_size),
                           every_steps=every, state_dir=checkpoint_dir(spec["out_dir"]), patience=stage.patience)
    trainer = trainer_class(tokenizer, stage.slot_weight)(
        model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tokenizer,
        callbacks=[selector])
    log_progress(trainer, "reasoningrec sft")
    base = selector.consider(trainer.model, 0, 0.0) if not selector.records else selector.records[0]
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    selector.restore_best(trainer.model)
    tokenizer.padding_side = "left"
    save_stage(trainer.model, tokenizer, spec["out_dir"])
    return {
        "reasoning": reasoning,
        "slot_weight": stage.slot_weight,
        "train_samples": len(records),
        "train_positive": int(sum(r["completion"][0]["content"].startswith("Prediction: Yes") for r in records)),
        "valid_samples": len(valid),
        "valid_positive": int(valid["label"].sum()),
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "base_valid": base,
        "selection": selector.report(),
    }
