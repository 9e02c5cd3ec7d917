"""RecLM-uni's GRPO stage (`reclm_cgen_grpo`): TRL's GRPOTrainer from reclm_cgen's selected model, with
rollouts constrained by the same title trie as decoding and the ranking reward.

- Prompts: the SFT table's train rows (targets are train events only; the seed's GRPO data could hold
  the validation item), rendered as generation prompts.
- Rollouts: `num_generations` sampled answers per prompt. TRL calls `model.generate` for them;
  `constrain_rollouts` makes that call add the trie processor (recforge.decode.TrieLogitsProcessor, title
  mode: inside <SOI>..<EOI> only real titles, no item twice; free text outside), so every sampled item is
  a catalogue item (the seed sampled unconstrained). The processor masks before temperature and top-k/p
  (transformers merges custom processors first), so sampling never meets an all-masked row. History
  items are not excluded in rollouts (the reward gives them nothing unless one is the target).
- Reward (`ranking_reward`, the one OneRec-Think's GRPO uses): hit@k + NDCG@k of the train target in the
  answer's items, read from the completion's token ids (TRL decodes the text without <SOI>/<EOI>).
- Selection: the starting model is evaluated first and stays a candidate; BestOnValid ranks the valid
  subset (rank_eval) every `eval_steps` and at the end; the best state is saved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.decode.generate import items_in
from recforge.methods.reclm.config import GRPOSettings, RankEvalConfig, SampleConfig
from recforge.methods.reclm.decode import Decoder
from recforge.methods.reclm.sft import prompts_of, subsample, valid_ranker
from recforge.train.arguments import trainer_arguments
from recforge.train.progress import log_progress
from recforge.train.rewards import ranking_reward
from recforge.train.save import save_stage
from recforge.train.select import BestOnValid

log = logging.getLogger(__name__)


class TitleRankingReward:
    """TRL reward function: the items of each sampled answer (its <SOI>..<EOI> spans, looked up in the
    trie) ranked against the row's `target`."""

    __name__ = "title_ranking"

    def __init__(self, decoder: Decoder, k: int = 10):
        self.decoder, self.k = decoder, k

    def items(self, completion_ids: Sequence[int]) -> list[str]:
        found = items_in(completion_ids, self.decoder.trie, "title", self.decoder.soi, self.decoder.eoi)
        return list(dict.fromkeys(found))  # first occurrences, as the evaluator counts them

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Sequence[int]],
                 target: Sequence[str], **_: Any) -> list[float]:
        return [ranking_reward(self.items(ids), str(t), self.k) for ids, t in zip(completion_ids, target)]


def constrain_rollouts(model: Any, decoder: Decoder) -> None:
    """Route `model.generate` (what GRPOTrainer samples its rollouts with) through the title trie: each
    call gets a fresh processor whose prompt length is that call's (left-padded) input width. Calls that
    bring their own trie processor (the decoder's valid ranking) pass through unchanged."""
    from transformers import LogitsProcessorList

    from recforge.decode import TrieLogitsProcessor

    generate = model.generate

    def constrained(*args: Any, **kwargs: Any) -> Any:
        given = list(kwargs.get("logits_processor") or [])
        if any(isinstance(p, TrieLogitsProcessor) for p in given):
            return generate(*args, **kwargs)  # a decoder's own call (valid ranking): already constrained
        width = (kwargs["input_ids"] if "input_ids" in kwargs else args[0]).shape[1]
        processor = TrieLogitsProcessor(decoder.trie, width, decoder.eoi, "title", item_start_id=decoder.soi,
                                        eos_token_id=decoder.eos)
        kwargs["logits_processor"] = LogitsProcessorList([processor, *given])
        return generate(*args, **kwargs)

    model.generate = constrained


def grpo_dataset(tokenizer: Any, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence):
    from datasets import Dataset

    return Dataset.from_dict({"prompt": prompts_of(tokenizer, rows, item_text, chat),
                              "target": rows["target"].astype(str).tolist()})


def train_grpo(model: Any, tokenizer: Any, samples: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence,
               decoder: Decoder, cfg: GRPOSettings, samples_cfg: SampleConfig, rank: RankEvalConfig,
               out_dir: str | Path, *, work_dir: str | Path, lora: Any = None, dtype: str = "float32") -> dict:
    """Train, keep the state best on valid (the start included), save it; returns the report. With
    `cfg.lora`, `lora` (a LoraDefaults) wraps the model before anything snapshots it: the adapters
    start at zero, so the first candidate is still the SFT model."""
    from trl import GRPOConfig, GRPOTrainer

    started = time.perf_counter()
    train_rows = subsample(samples[samples["split"] == "train"], cfg.max_train_samples, cfg.seed)
    valid_rows = subsample(samples[samples["split"] == "valid"], rank.valid_samples, rank.seed)
    if not len(train_rows) or not len(valid_rows):
        raise ValueError("RecLM GRPO needs train and valid rows")
    if cfg.lora:
        from peft import get_peft_model

        model = get_peft_model(model, lora.peft_config())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    selector = BestOnValid("ndcg", rank_fn=valid_ranker(decoder, valid_rows, item_text, chat, samples_cfg, rank),
                           k=10, every_steps=cfg.eval_steps, state_dir=work_dir,
                           patience=cfg.patience)
    if not selector.records:
        selector.consider(model, 0, 0.0)  # the SFT model is a candidate (unless resumed)
    constrain_rollouts(model, decoder)
    args = trainer_arguments(GRPOConfig, dict(cfg.args), work_dir, eval_steps=cfg.eval_steps, evaluate=False,
                             resumable=True, dtype=dtype)
    reward = TitleRankingReward(decoder, cfg.reward_k)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, processing_class=tokenizer,
                          train_dataset=grpo_dataset(tokenizer, train_rows, item_text, chat), callbacks=[selector])
    log_progress(trainer, "reclm grpo")
    resume = any(Path(work_dir).glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    tokenizer.padding_side = "left"
    selector.restore_best(trainer.model)
    history = [{k: v for k, v in e.items() if isinstance(v, (int, float, str))} for e in trainer.state.log_history]
    report = {"stage": "grpo", "config": cfg.__dict__, "lora": bool(cfg.lora), "trainable_parameters": trainable,
              "selection": selector.report(), "train_rows": len(train_rows), "train_metrics": result.metrics,
              "log_history": history, "wall_time_s": time.perf_counter() - started}
    save_stage(trainer.model, tokenizer, out_dir, report)
    return report
