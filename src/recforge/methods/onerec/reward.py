"""The ranking reward of reasoning enhancement ("Rollout-Beam", seed notes 1.5).

For a sampled reasoning path, constrained beam search over SIDs runs after the reasoning; the reward is
computed from the resulting ranked list with recforge.train.rewards.ranking_reward (hit@k + NDCG@k of
the target), so any rank of the target earns credit. `RolloutBeamReward` wraps it as a TRL GRPO reward
function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recforge.methods.onerec import prompts as P
from recforge.train.rewards import ranking_reward


class RolloutBeamReward:
    """TRL reward function: prompts end with the think prefix, completions are sampled reasoning (and
    whatever followed it); the reasoning is closed, <|sid_begin|> appended, and `decoder` ranks items
    with the policy itself. `model` is set once the trainer exists (trainer.model)."""

    __name__ = "rollout_beam"

    def __init__(self, tokenizer: Any, decoder: Any, k: int = 10, num_beams: int = 10, batch_size: int = 16):
        self.tokenizer, self.decoder = tokenizer, decoder
        self.k, self.num_beams, self.batch_size = k, num_beams, batch_size
        self.model = None

    def beam_prompts(self, prompts: Sequence[str], completions: Sequence[str]) -> list[str]:
        # prompts end with P.think_prefix(); answer_prefix re-opens the think block, so strip it once
        return [p[: -len(P.think_prefix())] + P.answer_prefix(P.think_text(c)) if p.endswith(P.think_prefix())
                else p + P.answer_prefix(P.think_text(c)) for p, c in zip(prompts, completions)]

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], target: Sequence[str], **_: Any) -> list[float]:
        if self.model is None:
            raise RuntimeError("RolloutBeamReward.model is not set")
        import torch

        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                ranked = self.decoder.rank(self.model, self.tokenizer, self.beam_prompts(prompts, completions),
                                           k=self.k, num_beams=self.num_beams, batch_size=self.batch_size)
        finally:
            self.model.train(was_training)
        return [ranking_reward(r, t, self.k) for r, t in zip(ranked, target)]
