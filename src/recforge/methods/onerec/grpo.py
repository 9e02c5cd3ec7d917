"""Reasoning enhancement with TRL's GRPOTrainer and the rollout-beam ranking reward (reward.py).

The released code has no RL (seed notes 1.5, issue #1); the paper names a GRPO-style reward computed
from a beam search after the reasoning. Here: prompts are the sequential prompts + "<think>\\n"; the
policy samples `num_generations` completions per prompt; each completion's reasoning is closed and the
policy's own constrained beam search ranks items after it; reward = hit@k + NDCG@k of the target
(reward.ranking_reward). The starting (stage-3) model is evaluated first and stays a candidate: the
stage hands over whichever evaluated state is best on valid (think-then-SID HR@10).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import GRPOSettings, RankEvalConfig
from recforge.methods.onerec.predict import SidDecoder, valid_ranking
from recforge.methods.onerec.reward import RolloutBeamReward
from recforge.methods.onerec.stages import _valid, _work, load_model
from recforge.methods.onerec.tasks import subsample
from recforge.methods.onerec.vocab import SidIndex
from recforge.train.arguments import trainer_arguments
from recforge.train.progress import log_progress
from recforge.train.save import save_stage
from recforge.train.select import BestOnValid

log = logging.getLogger(__name__)


def grpo_dataset(tokenizer: Any, rows: pd.DataFrame):
    from datasets import Dataset

    return Dataset.from_dict({
        "prompt": [P.render_prompt(tokenizer, s, u) + P.think_prefix() for s, u in zip(rows["system"], rows["user"])],
        "target": [str(t) for t in rows["target"]],
    })


def grpo_args(cfg: GRPOSettings, work_dir: str | Path, dtype: str, resumable: bool = False):
    """TRL GRPOConfig from the stage's `args`; no evaluation loop (BestOnValid ranks every eval_steps)."""
    from trl import GRPOConfig

    return trainer_arguments(GRPOConfig, dict(cfg.args), work_dir, eval_steps=cfg.eval_steps, evaluate=False,
                             resumable=resumable, dtype=dtype)


def enhance(stage3_path: str | Path, sids: SidIndex, reasoning: pd.DataFrame, cfg: GRPOSettings,
            rank_cfg: RankEvalConfig, out_dir: str | Path, *, dtype: str = "float32",
            attn_implementation: str = "sdpa", work_dir: str | Path | None = None,
            decoder: SidDecoder | None = None) -> dict:
    from trl import GRPOTrainer

    started = time.perf_counter()
    model, tokenizer = load_model(stage3_path, dtype, attn_implementation)
    decoder = decoder or SidDecoder.build(tokenizer, sids)
    valid = subsample(_valid(reasoning, None, 0), rank_cfg.valid_samples, rank_cfg.seed)
    selector = BestOnValid("hr", rank_fn=lambda m: valid_ranking(m, tokenizer, valid, decoder, rank_cfg, cot=True),
                           k=rank_cfg.k, every_steps=cfg.eval_steps, state_dir=work_dir,
                           patience=cfg.patience)
    if not selector.records:
        selector.consider(model, 0, 0.0)  # the starting model is a candidate (unless resumed)
    rows = subsample(reasoning[reasoning["split"] == "train"], cfg.max_train_samples, cfg.seed)
    reward = RolloutBeamReward(tokenizer, decoder, k=cfg.reward_k, num_beams=cfg.num_beams)
    work, resumable = _work(work_dir), work_dir is not None
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=grpo_args(cfg, work, dtype, resumable),
                          train_dataset=grpo_dataset(tokenizer, rows), processing_class=tokenizer, callbacks=[selector])
    log_progress(trainer, "onerec grpo")
    reward.model = trainer.model
    resume = resumable and any(Path(work).glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    tokenizer.padding_side = "left"
    model = trainer.model
    selector.restore_best(model)
    history = [{k: v for k, v in e.items() if isinstance(v, (int, float, str))} for e in trainer.state.log_history]
    report = {"stage": "grpo", "config": cfg.__dict__, "selection": selector.report(), "train_rows": len(rows),
              "train_metrics": result.metrics, "log_history": history, "wall_time_s": time.perf_counter() - started}
    save_stage(model, tokenizer, out_dir, report)
    return report
