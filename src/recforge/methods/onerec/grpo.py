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
from recforge.methods.onerec.select import BestOnValid
from recforge.methods.onerec.stages import _valid, _work, load_model, resolve_device, save_stage, unwrap
from recforge.methods.onerec.tasks import subsample
from recforge.methods.onerec.vocab import SidIndex

log = logging.getLogger(__name__)


def grpo_dataset(tokenizer: Any, rows: pd.DataFrame):
    from datasets import Dataset

    return Dataset.from_dict({
        "prompt": [P.render_prompt(tokenizer, s, u) + P.think_prefix() for s, u in zip(rows["system"], rows["user"])],
        "target": [str(t) for t in rows["target"]],
    })


def grpo_args(cfg: GRPOSettings, work_dir: str | Path, dtype: str):
    from trl import GRPOConfig

    cuda = resolve_device() == "cuda"
    return GRPOConfig(
        output_dir=str(work_dir),
        max_steps=cfg.steps,
        per_device_train_batch_size=cfg.num_generations * cfg.prompts_per_step,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        learning_rate=cfg.lr,
        beta=cfg.beta,
        temperature=cfg.temperature,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=cfg.seed,
        bf16=cuda and dtype == "bfloat16",
        use_cpu=not cuda,
        disable_tqdm=True,
    )


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
                           k=rank_cfg.k, every_steps=cfg.eval_every_steps)
    selector.consider(model, 0, 0.0)  # the starting model is a candidate
    rows = subsample(reasoning[reasoning["split"] == "train"], cfg.max_rows, cfg.seed)
    reward = RolloutBeamReward(tokenizer, decoder, k=cfg.reward_k, num_beams=cfg.num_beams)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=grpo_args(cfg, _work(work_dir), dtype),
                          train_dataset=grpo_dataset(tokenizer, rows), processing_class=tokenizer, callbacks=[selector])
    reward.model = trainer.model
    result = trainer.train()
    tokenizer.padding_side = "left"
    model = trainer.model
    selector.restore_best(model)
    history = [{k: v for k, v in e.items() if isinstance(v, (int, float, str))} for e in trainer.state.log_history]
    report = {"stage": "grpo", "config": cfg.__dict__, "selection": selector.report(), "train_rows": len(rows),
              "train_metrics": result.metrics, "log_history": history, "wall_time_s": time.perf_counter() - started}
    save_stage(unwrap(model), tokenizer, out_dir, report)
    return report
